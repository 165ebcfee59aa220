//! The server's routes, called in-process (the router `gradekit serve` serves, without the
//! socket). One app per test binary serves every case that needs no judge, with each
//! compilable case's grader configured as an endpoint grader; a case with canned judge replies,
//! or one that fits `/get_reward` (whose grader is fixed at start-up), gets its own app.

use crate::case::Case;
use crate::judge::Judge;
use axum::body::Body;
use axum::http::{header, Method, Request};
use axum::Router;
use gradekit::engine::judge::{ClientConfig, OpenAiClient};
use gradekit::engine::options::{EngineSpec, OptionValue};
use gradekit::engine::python::PythonRuntime;
use gradekit::EngineOptions;
use gradekit_server::{app, AppState, ConfiguredGraders, ServerConfig};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

pub const RUN: &str = "/v1/fine_tuning/alpha/graders/run";
pub const VALIDATE: &str = "/v1/fine_tuning/alpha/graders/validate";
pub const BATCH: &str = "/v1/graders/run_batch";

/// Engine options whose judge (chat and embeddings) is `base_url`.
pub fn engine(base_url: &str) -> EngineOptions {
    let client = Arc::new(
        OpenAiClient::new(ClientConfig {
            timeout: Duration::from_secs(20),
            ..ClientConfig::for_base_url(base_url)
        })
        .expect("judge client"),
    );
    let mut opts = EngineOptions::default();
    opts.judge = Some(client.clone());
    opts.embedder = Some(client);
    opts
}

/// [`engine`] with the case's `engine` (python) options, when it sets some.
pub fn engine_for(case: &Case, base_url: &str) -> EngineOptions {
    let mut opts = engine(base_url);
    if !case.engine.is_empty() {
        let mut spec = EngineSpec::default();
        for (name, value) in &case.engine {
            spec.set(name, OptionValue::Text(value.clone()))
                .unwrap_or_else(|e| panic!("engine option {name}: {e:?}"));
        }
        opts.python = PythonRuntime::new(spec.python_options().expect("python options"));
    }
    opts
}

pub struct Server {
    rt: tokio::runtime::Runtime,
    shared: Router,
    /// The judge URL of the shared app: a case key the stub does not know (it answers 400).
    shared_judge: String,
}

impl Server {
    /// The shared app: every case without judge replies whose grader compiles is also its
    /// endpoint grader, named by the case key.
    pub fn start(cases: &[Case], shared_judge: String) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let opts = engine(&shared_judge);
        let endpoint = cases
            .iter()
            .filter(|c| c.judge.is_empty() && gradekit::compile(&c.grader, &opts).is_ok())
            .map(|c| (c.key.clone(), c.grader.clone()))
            .collect();
        let state = AppState::new(
            ServerConfig::default(),
            opts,
            ConfiguredGraders {
                endpoint,
                openrlhf: None,
            },
        )
        .expect("shared server state");
        Server {
            rt,
            shared: app(state),
            shared_judge,
        }
    }

    /// The app that serves `case` on `/run`, `/run_batch` and its endpoint route; `openrlhf`:
    /// also serve its grader on `/get_reward` (then the case always gets its own app).
    pub fn app_for(
        &self,
        case: &Case,
        judge: &Judge,
        openrlhf: bool,
    ) -> Result<Router, gradekit_server::StartError> {
        if case.judge.is_empty() && !openrlhf && case.engine.is_empty() {
            return Ok(self.shared.clone());
        }
        let url = if case.judge.is_empty() {
            self.shared_judge.clone()
        } else {
            judge.base_url(case)
        };
        let opts = engine_for(case, &url);
        let compiles = gradekit::compile(&case.grader, &opts).is_ok();
        let graders = ConfiguredGraders {
            endpoint: if compiles {
                vec![(case.key.clone(), case.grader.clone())]
            } else {
                Vec::new()
            },
            openrlhf: (openrlhf && compiles).then(|| case.grader.clone()),
        };
        AppState::new(ServerConfig::default(), opts, graders).map(app)
    }

    /// Starts an app configured with `graders` (for rejections at start-up).
    pub fn state_with(
        &self,
        opts: EngineOptions,
        graders: ConfiguredGraders,
    ) -> Result<AppState, gradekit_server::StartError> {
        AppState::new(ServerConfig::default(), opts, graders)
    }

    /// POSTs `body` to `path`; the status and the body as JSON (`Null` when not JSON).
    pub fn post(&self, router: &Router, path: &str, body: &Value) -> (u16, Value) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        self.rt.block_on(async {
            let resp = router.clone().oneshot(req).await.expect("infallible");
            let status = resp.status().as_u16();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        })
    }
}
