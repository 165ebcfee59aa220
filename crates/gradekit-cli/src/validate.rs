use crate::io::{read_grader, report};
use anyhow::Result;
use gradekit_engine::{ConfigError, ConfigErrorKind, ConfigErrors, EngineOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Grader JSON file (`-` = stdin); a validate request body {"grader": …} works too.
    grader: PathBuf,
    /// Print the result as JSON on stdout: the echo `{"grader": …}`, or `{"errors": [{"path",
    /// "code", "message"}, …]}` (exit 2) — codes are stable, messages are for people.
    #[arg(long)]
    json: bool,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let grader = match read_grader(&a.grader) {
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
