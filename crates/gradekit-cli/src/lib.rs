//! `gradekit`: validate, run and score OpenAI-style graders from the command line.
//!
//! The command-line code lives here as a library; the `gradekit` binary target is declared by
//! the workspace's root package (`src/main.rs` there calls [`main`]) so that `cargo run` from
//! the project root and the root `tests/` reach it directly.
//!
//! Exit codes: 0 success (even when samples errored — their flags say so); 2 for a fatal
//! problem: an invalid grader or request, an unreadable file, bad flags, a closed or failing
//! standard stream. A reader that closes the pipe (`gradekit … | head`) ends the run quietly
//! with 0, as ripgrep does.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod engine_flags;
mod http;
mod io;
mod jobs;
mod jobs_flags;
mod lint;
mod run;
mod score;
mod serve;
mod validate;

/// For the fuzz target (`fuzz/fuzz_targets/score_line.rs`): reads one `score` input line the
/// way `score` does and grades it with `grader`, writing its output row; true when it graded.
#[doc(hidden)]
pub fn fuzz_score_line(
    grader: &gradekit_engine::CompiledGrader,
    bytes: &[u8],
    sample_key: Option<&str>,
) -> bool {
    score::fuzz_line(grader, bytes, sample_key)
}

#[derive(Debug, Parser)]
#[command(
    name = "gradekit",
    version,
    about = "Run OpenAI-style fine-tuning graders locally: validate, run, score, serve.",
    after_help = "Examples:\n  gradekit validate fixtures/examples/string_check.json\n  gradekit run fixtures/examples/run_request.json\n  gradekit score --grader fixtures/examples/multi.json fixtures/examples/outputs.jsonl -o scored.jsonl"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a grader config; print {"grader": …} (the normalised echo) or every error.
    Validate(validate::Args),
    /// Answer a /fine_tuning/alpha/graders/run request body; print the run response.
    Run(run::Args),
    /// Grade every line of a JSONL file; one output line per input line, in order.
    Score(score::Args),
    /// Check a grader against real rows: template paths, formula keys, constant rewards, flat groups.
    Lint(lint::Args),
    /// Fine-tuning jobs of a `gradekit serve`: list, show, events [--follow], cancel, export.
    Jobs(jobs::Args),
    /// Serve the OpenAI-compatible graders API (run/validate) over HTTP.
    Serve(serve::Args),
}

/// Parses the command line and runs it; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    io::install_stdout_panic_hook();
    let result = match cli.command {
        Command::Validate(a) => io::require_stdout().and_then(|()| validate::main(a)),
        Command::Run(a) => io::require_stdout().and_then(|()| run::main(a)),
        Command::Score(a) => score::main(a),
        Command::Serve(a) => serve::main(a),
        Command::Jobs(a) => jobs::main(a),
        Command::Lint(a) => io::require_stdout().and_then(|()| lint::main(a)),
    };
    match result {
        Ok(code) => code,
        // The reader of our output went away (`| head`): nothing left to say.
        Err(e) if io::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
