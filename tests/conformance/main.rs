//! The conformance suite (`fixtures/suite/*.json`) through every Rust entry point: the engine
//! (`CompiledGrader::run` and `grade_batch`, `gradekit::run`), `gradekit run`, `gradekit
//! score` (the case as a one-line JSONL file), and the server's `/run`, `/run_batch`,
//! endpoint-grader route and `/get_reward`. One named test per case
//! (`cargo test --test conformance -- 'templates#27'`): each entry point's answer is checked
//! against the case's `expected` *and* against the engine's, byte for byte (everything but
//! `execution_time`) and against the wire's shape rules ([`case::check_shape`]); a graded
//! case's grader is also validated everywhere, the echo and its name matching the run answers'
//! ([`echo`]). An entry point whose wire cannot carry a case is skipped with its reason,
//! counted in the summary printed at the end. Model-grader cases get canned judge replies from
//! a loopback stub ([`judge`]); the Python bindings run the same cases in
//! crates/gradekit-py/tests/test_conformance.py.
#![allow(clippy::unwrap_used)]

mod case;
mod cli;
#[path = "../common/mod.rs"]
mod common;
mod echo;
mod judge;
mod server;

use case::{
    any_flag, check_expected, check_shape, has_validate_error, projection, text, Case, Expect,
};
use gradekit::engine::model::SampleParts;
use gradekit::engine::{read_entry, EntryRules};
use gradekit_server::{ConfiguredGraders, StartError};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// Everything a case runs against, started once per test binary on first use.
struct Env {
    cases: Vec<Case>,
    judge: judge::Judge,
    server: server::Server,
    /// (entry point, reason) → cases skipped.
    skips: Mutex<BTreeMap<(&'static str, &'static str), usize>>,
    dir: tempfile::TempDir,
}

static ENV: OnceLock<Env> = OnceLock::new();

fn env() -> &'static Env {
    ENV.get_or_init(|| {
        let cases = case::load();
        let judge = judge::Judge::start(&cases);
        let shared = judge.base_url(&Case {
            key: "-".into(),
            ..cases[0].clone()
        });
        let server = server::Server::start(&cases, shared);
        Env {
            cases,
            judge,
            server,
            skips: Mutex::new(BTreeMap::new()),
            dir: tempfile::tempdir().unwrap(),
        }
    })
}

impl Env {
    fn skip(&self, entry_point: &'static str, reason: &'static str) {
        *self
            .skips
            .lock()
            .unwrap()
            .entry((entry_point, reason))
            .or_default() += 1;
    }

    fn judge_url(&self, case: &Case) -> String {
        self.judge.base_url(case)
    }
}

fn main() {
    let args = Arguments::from_args();
    let cases = case::load();
    assert!(cases.len() >= 500, "suite has only {} cases", cases.len());
    let trials = cases
        .iter()
        .enumerate()
        .map(|(i, c)| Trial::test(c.name.clone(), move || run_case(i)))
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if let Some(env) = ENV.get() {
        let skips = env.skips.lock().unwrap();
        if !skips.is_empty() {
            println!("entry points skipped (the wire cannot carry the case):");
            for ((entry, reason), n) in skips.iter() {
                println!("  {entry}: {n} cases: {reason}");
            }
        }
    }
    conclusion.exit();
}

fn run_case(i: usize) -> Result<(), Failed> {
    let env = env();
    let case = &env.cases[i];
    let bad = match case.expect() {
        Expect::Graded => graded(env, case),
        Expect::Invalid => invalid(env, case),
        Expect::BadEntry => bad_entry(env, case),
    };
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("\n").into())
    }
}

/// The answers of every entry point: each matches `expected`, and each is the engine's.
fn graded(env: &Env, case: &Case) -> Vec<String> {
    let mut bad = Vec::new();
    let url = env.judge_url(case);
    let opts = server::engine_for(case, &url);
    let grader = match gradekit::compile_for_run(&case.grader, &opts) {
        Ok(g) => g,
        Err(e) => return vec![format!("engine: the grader does not compile: {e}")],
    };
    // The engine with every sample part derived; the edges derive only what the grader reads.
    let ctx = match read_entry(case.entry(), &EntryRules::BATCH_ENTRY, "", SampleParts::ALL) {
        Ok(c) => c,
        Err(e) => return vec![format!("engine: the entry is rejected: {e:?}")],
    };
    let reference = serde_json::to_value(grader.run(&ctx)).unwrap();
    let want = text(&projection(&reference));
    let want_full = text(&without_time(&reference));
    let answer = |bad: &mut Vec<String>, who: &str, resp: &Value, full: bool| {
        bad.extend(
            check_expected(resp, &case.expected)
                .into_iter()
                .chain(check_shape(resp, &case.grader))
                .map(|b| format!("{who}: {b}")),
        );
        if who != "engine" && text(&projection(resp)) != want {
            bad.push(format!(
                "{who} differs from the engine:\n    {who}: {}\n    engine: {want}",
                projection(resp)
            ));
        } else if full && text(&without_time(resp)) != want_full {
            bad.push(format!(
                "{who}'s response differs from the engine's:\n    {who}: {}\n    engine: {want_full}",
                without_time(resp)
            ));
        }
        if let Some(w) = case.expected.get("model_grader_token_usage_per_model") {
            if full && resp["model_grader_token_usage_per_model"] != *w {
                bad.push(format!(
                    "{who}: model_grader_token_usage_per_model: want {w}, got {}",
                    resp["model_grader_token_usage_per_model"]
                ));
            }
        }
    };
    answer(&mut bad, "engine", &reference, true);

    // The Rust batch API: the entry twice around a neighbour, answered in input order.
    let neighbour = read_entry(
        json!({"model_sample": "", "item": {"other": [1]}}),
        &EntryRules::BATCH_ENTRY,
        "",
        SampleParts::ALL,
    )
    .unwrap();
    let (name, kind) = (
        reference["metadata"]["name"].as_str().unwrap_or(""),
        reference["metadata"]["type"].as_str().unwrap_or(""),
    );
    let batch = grader.grade_batch(&[ctx.clone(), neighbour, ctx.clone()]);
    for i in [0, 2] {
        let resp = serde_json::to_value(batch[i].to_response(name, kind)).unwrap();
        answer(&mut bad, &format!("grade_batch[{i}]"), &resp, true);
    }

    // gradekit::run (the Rust API of the run wire), gradekit run and /run.
    let run_req = case.run_request();
    match &run_req {
        Ok(req) => {
            match gradekit::run(req, &opts) {
                Ok(resp) => {
                    let resp = serde_json::to_value(resp).unwrap();
                    answer(&mut bad, "gradekit::run", &resp, true);
                }
                Err(e) => bad.push(format!("gradekit::run: rejected the request: {e}")),
            }
            match cli::run(case, req, &url) {
                Ok(resp) => answer(&mut bad, "gradekit run", &resp, true),
                Err((code, err)) => bad.push(format!("gradekit run: exit {code}: {err}")),
            }
        }
        Err(reason) => {
            env.skip("gradekit::run", reason);
            env.skip("gradekit run", reason);
        }
    }

    // gradekit score: the entry as a line, every field verbatim.
    match cli::score(case, env.dir.path(), &url) {
        Ok(row) if row.get("error").is_some() => bad.push(format!("gradekit score: {row}")),
        Ok(row) => {
            answer(&mut bad, "gradekit score", &row, false);
            let passed = case
                .pass_threshold()
                .map(|t| json!(row["reward"].as_f64().unwrap_or(f64::NAN) >= t));
            if row.get("passed") != passed.as_ref() {
                bad.push(format!(
                    "gradekit score: passed {:?}, want {passed:?}",
                    row.get("passed")
                ));
            }
        }
        Err((code, err)) => bad.push(format!("gradekit score: exit {code}: {err}")),
    }

    let get_reward = case.get_reward_body();
    let app = match env.server.app_for(case, &env.judge, get_reward.is_ok()) {
        Ok(a) => a,
        Err(e) => {
            bad.push(format!("server: cannot start with the case's grader: {e}"));
            return bad;
        }
    };
    let srv = &env.server;
    match &run_req {
        Ok(req) => match srv.post(&app, server::RUN, req) {
            (200, resp) => answer(&mut bad, "/run", &resp, true),
            (s, resp) => bad.push(format!("/run: {s} {resp}")),
        },
        Err(reason) => env.skip("/run", reason),
    }

    // run_batch: the entry twice around a neighbour, which must not change its answer.
    let neighbour = json!({"model_sample": "", "item": {"other": [1]}});
    let batch = json!({"grader": case.grader, "samples": [case.entry(), neighbour, case.entry()]});
    match srv.post(&app, server::BATCH, &batch) {
        (200, resp) => {
            for i in [0, 2] {
                answer(
                    &mut bad,
                    &format!("/run_batch[{i}]"),
                    &resp["results"][i],
                    true,
                );
            }
        }
        (s, resp) => bad.push(format!("/run_batch: {s} {resp}")),
    }

    // The endpoint-grader route answers {"score": reward}, a grader whose only fault is its
    // formula aside (it must compile at start-up).
    let formula_only = gradekit::compile(&case.grader, &opts).is_err();

    // validate's echo and name, the same as the run answers' (a formula-only fault is checked
    // by `invalid` when the case expects the validate error).
    if !formula_only {
        bad.extend(echo::check(case, &opts, &reference, srv, &app));
    }
    match case.endpoint_body() {
        Ok(_) if formula_only => env.skip(
            "endpoint route",
            "a grader whose only fault is its formula is rejected at start-up",
        ),
        Ok(body) => {
            let path = format!("/v1/endpoint_graders/{}", case.key);
            let (s, resp) = srv.post(&app, &path, &body);
            let want = json!({"score": reference["reward"]});
            if s != 200 || text(&resp) != text(&want) {
                bad.push(format!("endpoint route: {s} {resp}, want {want}"));
            }
        }
        Err(reason) => env.skip("endpoint route", reason),
    }

    // /get_reward: rewards, grader_error and the sub-rewards in extra_logs.
    match get_reward {
        Ok(_) if formula_only => env.skip(
            "/get_reward",
            "a grader whose only fault is its formula is rejected at start-up",
        ),
        Ok(body) => {
            let (s, resp) = srv.post(&app, "/get_reward", &body);
            let mut want = json!({
                "rewards": [reference["reward"]],
                "scores": [reference["reward"]],
                "extra_logs": {"grader_error": [if any_flag(&reference) { 1.0 } else { 0.0 }]}
            });
            for (k, v) in reference["sub_rewards"].as_object().into_iter().flatten() {
                want["extra_logs"][k] = json!([v]);
            }
            if s != 200 || text(&resp) != text(&want) {
                bad.push(format!("/get_reward {body}: {s} {resp}, want {want}"));
            }
        }
        Err(reason) => env.skip("/get_reward", reason),
    }
    bad
}

fn without_time(resp: &Value) -> Value {
    let mut v = resp.clone();
    if let Some(m) = v["metadata"].as_object_mut() {
        m.remove("execution_time");
    }
    v
}

/// A grader every entry point must reject with the case's `{code, path}` (or, when its only
/// fault is the formula, answer on the run wire with `formula_parse_error`).
fn invalid(env: &Env, case: &Case) -> Vec<String> {
    let mut bad = Vec::new();
    let want = &case.expected["validate_error"];
    let path = want["path"].as_str().unwrap_or("");
    let url = env.judge_url(case);
    let opts = server::engine_for(case, &url);
    match gradekit::compile(&case.grader, &opts) {
        Ok(_) => bad.push("engine: compile accepted the grader".into()),
        Err(errs) => {
            let errs = serde_json::to_value(&errs.0).unwrap();
            if !has_validate_error(&errs, want) {
                bad.push(format!("engine: no error matches {want}: {errs}"));
            }
        }
    }
    let (code, out, err) = cli::validate(&case.grader);
    if code != 2 || !has_validate_error(&out["errors"], want) {
        bad.push(format!(
            "gradekit validate --json: exit {code}, {out} {err}"
        ));
    }
    let srv = &env.server;
    let app = match srv.app_for(case, &env.judge, false) {
        Ok(a) => a,
        Err(e) => return vec![format!("server: {e}")],
    };
    let (s, resp) = srv.post(&app, server::VALIDATE, &json!({"grader": case.grader}));
    let message = resp["error"]["message"].as_str().unwrap_or("");
    if s != 400 || resp["error"]["code"] != "invalid_grader" || !message.contains(path) {
        bad.push(format!("/validate: {s} {resp}"));
    }
    // The run wire: 400 (exit 2), or a formula-only fault answered with formula_parse_error.
    let formula_only = gradekit::compile_for_run(&case.grader, &opts).is_ok();
    let check_formula = |who: &str, resp: &Value, bad: &mut Vec<String>| {
        if resp["reward"] != json!(0.0)
            || resp["metadata"]["errors"]["formula_parse_error"] != json!(true)
        {
            bad.push(format!(
                "{who}: a formula-only fault must answer formula_parse_error: {resp}"
            ));
        }
    };
    let run_path = if path.is_empty() {
        "grader".to_string()
    } else {
        format!("grader.{path}")
    };
    // A validation case may give no sample; the run wire needs one to reach the grader.
    let run_req = case.run_request().map(|mut r| {
        if r.get("model_sample").is_none() {
            r["model_sample"] = json!("");
        }
        r
    });
    match run_req {
        Ok(req) => {
            match (cli::run(case, &req, &url), formula_only) {
                (Ok(resp), true) => check_formula("gradekit run", &resp, &mut bad),
                (Err((2, err)), false) if err.contains(path) => {}
                (r, _) => bad.push(format!("gradekit run: {r:?}")),
            }
            match (srv.post(&app, server::RUN, &req), formula_only) {
                ((200, resp), true) => check_formula("/run", &resp, &mut bad),
                ((400, resp), false)
                    if resp["error"]["code"] == "invalid_grader"
                        && resp["error"]["message"]
                            .as_str()
                            .is_some_and(|m| m.contains(&run_path)) => {}
                ((s, resp), _) => bad.push(format!("/run: {s} {resp}")),
            }
        }
        Err(reason) => env.skip("gradekit run", reason),
    }
    // score and run_batch read the grader as the run wire does.
    let entry = json!({"model_sample": ""});
    match (
        cli::score_entry(case, &entry, env.dir.path(), &url),
        formula_only,
    ) {
        (Ok(row), true) => check_formula("gradekit score", &row, &mut bad),
        (Err((2, _)), false) => {}
        (r, _) => bad.push(format!("gradekit score: {r:?}")),
    }
    let batch = json!({"grader": case.grader, "samples": [entry]});
    match (srv.post(&app, server::BATCH, &batch), formula_only) {
        ((200, resp), true) => check_formula("/run_batch", &resp["results"][0], &mut bad),
        ((400, resp), false) if resp["error"]["code"] == "invalid_grader" => {}
        ((s, resp), _) => bad.push(format!("/run_batch: {s} {resp}")),
    }
    // An endpoint or OpenRLHF grader is compiled at start-up: the server refuses to start.
    let started = srv.state_with(
        server::engine_for(case, &url),
        ConfiguredGraders {
            endpoint: vec![(case.key.clone(), case.grader.clone())],
            openrlhf: None,
        },
    );
    match started {
        Err(StartError::InvalidGrader { errors, .. }) => {
            let errs = serde_json::to_value(&errors.0).unwrap();
            if !has_validate_error(&errs, want) {
                bad.push(format!(
                    "endpoint start-up: no error matches {want}: {errs}"
                ));
            }
        }
        Err(e) => bad.push(format!("endpoint start-up: {e}")),
        Ok(_) => bad.push("endpoint start-up accepted the grader".into()),
    }
    bad
}

/// An entry the readers must reject with the case's code at its path; the run wire (when it
/// can carry the case) and the endpoint route reject it too.
fn bad_entry(env: &Env, case: &Case) -> Vec<String> {
    let mut bad = Vec::new();
    let want = &case.expected["entry_error"];
    let code = want["code"].as_str().unwrap_or("");
    let path = want["path"].as_str().unwrap_or("");
    match read_entry(case.entry(), &EntryRules::BATCH_ENTRY, "", SampleParts::ALL) {
        Ok(_) => bad.push("engine: the entry reader accepted the entry".into()),
        Err(errs) => {
            if !errs.iter().any(|e| e.code() == code && e.path == path) {
                bad.push(format!("engine: no {code} at {path:?}: {errs:?}"));
            }
        }
    }
    let url = env.judge_url(case);
    match cli::score(case, env.dir.path(), &url) {
        Ok(row) if row["error"]["code"] == code && row["reward"].is_null() => {}
        r => bad.push(format!("gradekit score: want an error row {code}: {r:?}")),
    }
    let srv = &env.server;
    let app = match srv.app_for(case, &env.judge, false) {
        Ok(a) => a,
        Err(e) => return vec![format!("server: {e}")],
    };
    let batch = json!({"grader": case.grader, "samples": [case.entry()]});
    let param = if path.is_empty() {
        "samples[0]".to_string()
    } else {
        format!("samples[0].{path}")
    };
    match srv.post(&app, server::BATCH, &batch) {
        (400, resp) if resp["error"]["param"] == json!(param) => {}
        (s, resp) => bad.push(format!("/run_batch: want 400 naming {param}: {s} {resp}")),
    }
    match case.run_request() {
        Ok(req) => {
            // The config-error channel (Python's GraderError, validate-style lists) carries the
            // same code as the score row.
            match gradekit::run(&req, &server::engine_for(case, &url)) {
                Ok(_) => bad.push("engine run accepted the entry".into()),
                Err(errs) if errs.iter().any(|e| e.kind.code() == code) => {}
                Err(errs) => bad.push(format!("engine run: no {code}: {errs}")),
            }
            if let Ok(resp) = cli::run(case, &req, &url) {
                bad.push(format!("gradekit run accepted the entry: {resp}"));
            }
            match srv.post(&app, server::RUN, &req) {
                (400, _) => {}
                (s, resp) => bad.push(format!("/run: want 400: {s} {resp}")),
            }
        }
        Err(reason) => {
            env.skip("gradekit::run", reason);
            env.skip("gradekit run", reason);
            env.skip("/run", reason);
        }
    }
    // The endpoint route rejects it too, except a bad sample-object field, which its lenient
    // rules drop (Azure discards a rollout after three failed calls).
    match case.endpoint_body() {
        Ok(_) if path.starts_with("sample.") => env.skip(
            "endpoint route",
            "drops unknown sample-object fields by design (Azure discards a rollout after three failed calls)",
        ),
        Ok(body) => {
            let route = format!("/v1/endpoint_graders/{}", case.key);
            match srv.post(&app, &route, &body) {
                (400, _) => {}
                (s, resp) => bad.push(format!("endpoint route: want 400: {s} {resp}")),
            }
        }
        Err(reason) => env.skip("endpoint route", reason),
    }
    bad
}
