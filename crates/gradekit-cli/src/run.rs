use crate::engine_flags::{EngineFlags, Run};
use crate::io::{read_json, report};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run request JSON: {"grader", "model_sample", "item"?} (`-` = stdin).
    request: PathBuf,
    #[command(flatten)]
    engine: EngineFlags<Run>,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let opts = a.engine.to_options()?;
    let request = read_json(&a.request)?;
    match gradekit_engine::run(&request, &opts) {
        Ok(resp) => {
            crate::io::print_stdout(&serde_json::to_string_pretty(&resp)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(errs) => {
            report(&errs, "run request");
            Ok(ExitCode::from(2))
        }
    }
}
