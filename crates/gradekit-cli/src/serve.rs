//! `gradekit serve`: the OpenAI-compatible graders API over HTTP (DESIGN.md §6; the server is
//! `crates/gradekit-server`).

use crate::engine_flags::{EngineFlags, Serve};
use anyhow::{Context, Result};
use gradekit_server::{ApiKey, AppState, ConfiguredGraders, ServeOptions, ServerConfig};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Routes:\n  POST /v1/fine_tuning/alpha/graders/run       OpenAI wire\n  POST /v1/fine_tuning/alpha/graders/validate  OpenAI wire\n  GET  /health                                 no key needed\n  POST /v1/graders/run_batch                   extension: many samples, one grader\n  POST /v1/endpoint_graders/NAME               extension: Azure endpoint-grader protocol\n  POST /get_reward                             extension: OpenRLHF remote reward\n  /v1/files, /v1/fine_tuning/jobs[/ID[/cancel|pause|resume|events|checkpoints]],\n  /v1/fine_tuning/checkpoints/CKPT/permissions[/ID], /v1/models[/ID]\n                                               fine-tuning jobs API (DESIGN.md section 8)\n\nExample (the official SDK):\n  gradekit serve --port 8080 &\n  python -c 'import openai; c = openai.OpenAI(base_url=\"http://127.0.0.1:8080/v1\", api_key=\"x\"); print(c.fine_tuning.alpha.graders.validate(grader={\"type\": \"string_check\", \"name\": \"s\", \"input\": \"a\", \"reference\": \"a\", \"operation\": \"eq\"}))'"
)]
pub struct Args {
    /// Address to bind. Anything but a loopback address needs --api-key.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port (0 = any free port; the address is printed on stderr).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Require `Authorization: Bearer KEY` on every route but /health. Never logged.
    #[arg(
        long,
        env = "GRADEKIT_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    api_key: Option<String>,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = gradekit_server::DEFAULT_MAX_BODY, value_name = "BYTES")]
    max_body: usize,
    /// Deadline of one request, in seconds (408 while the body is still arriving, 504 after).
    #[arg(long, default_value_t = gradekit_server::DEFAULT_TIMEOUT.as_secs_f64(), value_name = "SECS")]
    timeout: f64,
    /// Requests in flight (from the last byte of their body to their answer) before new ones
    /// are answered 429 with retry-after. A client still sending its body holds no slot.
    #[arg(long, default_value_t = gradekit_server::DEFAULT_CONCURRENCY, value_name = "N")]
    concurrency: usize,
    /// Seconds a client gets to send a request's headers (408 and the connection closed after
    /// it); also how long an idle keep-alive connection stays open.
    #[arg(long, env = "GRADEKIT_HEADER_TIMEOUT", default_value_t = gradekit_server::serve::DEFAULT_HEADER_TIMEOUT.as_secs_f64(), value_name = "SECS")]
    header_timeout: f64,
    /// Seconds a request body gets from the end of its headers, plus one second for every
    /// --body-min-rate bytes received; a body behind that pace is cut with 408.
    #[arg(long, env = "GRADEKIT_BODY_TIMEOUT", default_value_t = gradekit_server::DEFAULT_BODY_TIMEOUT.as_secs_f64(), value_name = "SECS")]
    body_timeout: f64,
    /// Bytes per second that earn a request body one more second past --body-timeout (0 = the
    /// timeout alone). Every body must still arrive within --timeout.
    #[arg(long, env = "GRADEKIT_BODY_MIN_RATE", default_value_t = gradekit_server::DEFAULT_BODY_MIN_RATE, value_name = "BYTES")]
    body_min_rate: u64,
    /// Open connections at most; further clients wait in the kernel's accept queue. Lowered,
    /// with a warning, to what the open-file limit allows.
    #[arg(long, env = "GRADEKIT_MAX_CONNECTIONS", default_value_t = gradekit_server::serve::DEFAULT_MAX_CONNECTIONS, value_name = "N")]
    max_connections: usize,
    /// Compiled graders kept in memory (keyed by content hash; 0 = compile every request).
    #[arg(long, default_value_t = gradekit_server::DEFAULT_CACHE_CAPACITY, value_name = "N")]
    cache_size: usize,
    /// After SIGTERM/SIGINT, seconds in-flight requests get to finish; requests cut after it
    /// make the exit status 1 (and are counted in the log).
    #[arg(long, default_value_t = ServeOptions::default().drain_timeout.as_secs_f64(), value_name = "SECS")]
    drain_timeout: f64,
    /// Bytes of JSON request bodies held at once (what has arrived, reserved in steps of at
    /// most 1 MiB; not the declared content-length); past it requests get 429 with
    /// retry-after. Bounds parsing memory.
    #[arg(long, default_value_t = gradekit_server::DEFAULT_MAX_INFLIGHT_BODY, value_name = "BYTES")]
    max_inflight_body: usize,
    /// Most samples in one POST /v1/graders/run_batch request (400 with the limit beyond).
    #[arg(long, default_value_t = gradekit_server::DEFAULT_MAX_BATCH, value_name = "N")]
    max_batch_samples: usize,
    /// Allow --python-mode process/embedded: python graders from any client then run without
    /// the sandbox. Only when every client is trusted.
    #[arg(long, alias = "allow-unsandboxed-python")]
    allow_untrusted_python: bool,
    /// Serve Azure's endpoint-grader protocol for this grader at POST /v1/endpoint_graders/NAME
    /// (repeatable).
    #[arg(long = "endpoint-grader", value_name = "NAME=FILE")]
    endpoint_graders: Vec<String>,
    /// Serve OpenRLHF's remote reward protocol (POST /get_reward) with this grader.
    #[arg(long, value_name = "FILE")]
    openrlhf_grader: Option<PathBuf>,
    #[command(flatten)]
    jobs: crate::jobs_flags::JobsFlags,
    #[command(flatten)]
    engine: EngineFlags<Serve>,
}

fn read_grader(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read grader {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("grader {} is not valid JSON", path.display()))
}

pub fn main(a: Args) -> Result<ExitCode> {
    if !(a.timeout.is_finite() && a.timeout > 0.0) {
        anyhow::bail!("--timeout must be a positive number of seconds");
    }
    let timeout = Duration::try_from_secs_f64(a.timeout)
        .map_err(|_| anyhow::anyhow!("--timeout is out of range"))?;
    let seconds = |flag: &str, v: f64| {
        if !(v.is_finite() && v > 0.0) {
            anyhow::bail!("{flag} must be a positive number of seconds");
        }
        Duration::try_from_secs_f64(v).map_err(|_| anyhow::anyhow!("{flag} is out of range"))
    };
    let header_timeout = seconds("--header-timeout", a.header_timeout)?;
    let body_timeout = seconds("--body-timeout", a.body_timeout)?;
    if a.max_connections == 0 {
        anyhow::bail!("--max-connections must be at least 1");
    }
    let mut graders = ConfiguredGraders::default();
    for spec in &a.endpoint_graders {
        let (name, file) = spec
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--endpoint-grader takes NAME=FILE, got {spec:?}"))?;
        graders
            .endpoint
            .push((name.to_string(), read_grader(Path::new(file))?));
    }
    if let Some(p) = &a.openrlhf_grader {
        graders.openrlhf = Some(read_grader(p)?);
    }
    let config = ServerConfig {
        api_key: a.api_key.filter(|k| !k.is_empty()).map(ApiKey::new),
        max_body: a.max_body,
        timeout,
        concurrency: a.concurrency,
        body_timeout,
        body_min_rate: a.body_min_rate,
        cache_capacity: a.cache_size,
        max_batch: a.max_batch_samples,
        max_inflight_body: a.max_inflight_body,
        allow_untrusted_python: a.allow_untrusted_python,
        project_keys: a.jobs.project_keys()?,
        max_upload: a.jobs.max_upload(),
        jobs: None,
        jobs_off: None,
    };
    let engine = a.engine.to_options()?;
    if let Some(n) = a.engine.spec.threads {
        // The server grades CPU-bound graders on rayon's global pool (`gradekit_server::work`).
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("gradekit-grade-{i}"))
            .build_global()
            .map_err(|e| anyhow::anyhow!("--threads {n}: cannot start the grading threads: {e}"))?;
    }
    let config = match a.jobs.open(engine.clone())? {
        Ok(jobs) => ServerConfig {
            jobs: Some(jobs),
            ..config
        },
        Err(why) => {
            eprintln!("gradekit serve: warning: {why}");
            ServerConfig {
                jobs_off: Some(why),
                ..config
            }
        }
    };
    let state = AppState::new(config, engine, graders)?;
    if !(a.drain_timeout.is_finite() && a.drain_timeout >= 0.0) {
        anyhow::bail!("--drain-timeout must be a number of seconds");
    }
    let opts = ServeOptions {
        host: a.host,
        port: a.port,
        drain_timeout: Duration::try_from_secs_f64(a.drain_timeout)
            .map_err(|_| anyhow::anyhow!("--drain-timeout is out of range"))?,
        header_read_timeout: header_timeout,
        max_connections: a.max_connections,
    };
    let cut = gradekit_server::serve_until_signal(opts, state)?;
    // Requests cut by the drain deadline lost their answers: say so in the exit status.
    Ok(if cut > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
