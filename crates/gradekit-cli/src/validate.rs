use crate::io::{read_grader, report};
use anyhow::Result;
use gradekit_engine::{ConfigError, ConfigErrorKind, ConfigErrors, EngineOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Grader JSON file (`-` = stdin); a validate request body {"grader": …} works too.
    #[arg(required_unless_present = "job", conflicts_with = "job")]
    grader: Option<PathBuf>,
    /// Validate a whole fine-tuning job-create body instead (the JSON you would POST to
    /// /v1/fine_tuning/jobs: model, training_file, method with its grader, hyperparameters,
    /// suffix, seed, metadata, integrations), offline; errors name their path
    /// (`method.reinforcement.grader.calculate_output`). Prints {"job": …} with the method as
    /// the server would echo it.
    #[arg(long, value_name = "BODY.json")]
    job: Option<PathBuf>,
    /// Print the result as JSON on stdout: the echo `{"grader": …}`, or `{"errors": [{"path",
    /// "code", "message"}, …]}` (exit 2) — codes are stable, messages are for people.
    #[arg(long)]
    json: bool,
}

pub fn main(a: Args) -> Result<ExitCode> {
    if let Some(job) = &a.job {
        return validate_job(job, a.json);
    }
    let Some(path) = &a.grader else {
        anyhow::bail!("give a grader file or --job BODY.json");
    };
    let grader = match read_grader(path) {
        Ok(g) => g,
        Err(e) if a.json && e.to_string().contains("is not valid JSON") => {
            let err = ConfigError::with(ConfigErrorKind::InvalidJson, "", e.to_string());
            return print_errors(&ConfigErrors::from(err));
        }
        Err(e) => return Err(e),
    };
    match gradekit_engine::validate(&grader, &EngineOptions::default()) {
        Err(errs) if a.json => print_errors(&errs),
        Ok(echo) => {
            let out = serde_json::json!({ "grader": echo });
            crate::io::print_stdout(&serde_json::to_string_pretty(&out)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(errs) => {
            report(&errs, "grader");
            Ok(ExitCode::from(2))
        }
    }
}

/// `--json` for an invalid grader: every fault as `{"path", "code", "message"}`, exit 2.
fn print_errors(errs: &ConfigErrors) -> Result<ExitCode> {
    let out = serde_json::json!({ "errors": errs.0 });
    crate::io::print_stdout(&serde_json::to_string_pretty(&out)?)?;
    Ok(ExitCode::from(2))
}

/// `--job`: a job-create body checked as `POST /v1/fine_tuning/jobs` checks it before it
/// looks at the model registry and the files.
fn validate_job(path: &std::path::Path, json: bool) -> Result<ExitCode> {
    let body = match crate::io::read_json(path) {
        Ok(b) => b,
        Err(e) if json => {
            let err = ConfigError::with(ConfigErrorKind::InvalidJson, "", e.to_string());
            return print_errors(&ConfigErrors::from(err));
        }
        Err(e) => return Err(e),
    };
    match gradekit_jobs::request::parse(&body, &EngineOptions::default()) {
        Ok(req) => {
            let (method, _) = gradekit_jobs::request::resolve(&req.method, req.method_type, None);
            let mut echo = body.as_object().cloned().unwrap_or_default();
            echo.remove("hyperparameters");
            echo.insert("method".into(), method);
            let out = serde_json::json!({ "job": echo });
            crate::io::print_stdout(&serde_json::to_string_pretty(&out)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(errs) if json => print_errors(&errs),
        Err(errs) => {
            report(&errs, "job");
            Ok(ExitCode::from(2))
        }
    }
}
