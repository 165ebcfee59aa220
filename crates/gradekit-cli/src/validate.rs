use crate::io::{read_grader, report};
use anyhow::Result;
use gradekit_engine::EngineOptions;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Grader JSON file (`-` = stdin); a validate request body {"grader": …} works too.
    grader: PathBuf,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let grader = read_grader(&a.grader)?;
    match gradekit_engine::validate(&grader, &EngineOptions::default()) {
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
