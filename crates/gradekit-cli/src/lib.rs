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

pub mod arena;
mod engine_flags;
mod http;
mod io;
mod jobs;
mod jobs_flags;
mod lint;
mod run;
mod score;
mod serve;
#[cfg(target_os = "linux")]
mod start;
mod validate;

#[cfg(target_os = "linux")]
pub use start::main_without_runtime;

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

const ABOUT: &str = "Run OpenAI-style fine-tuning graders locally: validate, run, score, serve.";
const AFTER_HELP: &str = "Examples:\n  gradekit validate fixtures/examples/string_check.json\n  gradekit run fixtures/examples/run_request.json\n  gradekit score --grader fixtures/examples/multi.json fixtures/examples/outputs.jsonl -o scored.jsonl";

#[derive(Debug, Parser)]
#[command(
    name = "gradekit",
    version,
    about = ABOUT,
    after_help = AFTER_HELP
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

/// `gradekit score …` alone: the same `gradekit` command with only its `score` subcommand.
///
/// Why: clap builds every subcommand's flags before it parses, and the engine flags of `run`,
/// `lint` and `serve` with their help texts were ~40 % of the instructions `gradekit score`
/// spent before reading its input (#17: a one-pass run of a few thousand lines is a few
/// milliseconds). The variant's attributes and documentation are [`Command::Score`]'s: the
/// unit test `score_alone_is_the_same_command` holds the help and errors of the two together.
#[derive(Debug, Parser)]
#[command(
    name = "gradekit",
    version,
    about = ABOUT,
    after_help = AFTER_HELP
)]
struct ScoreCli {
    #[command(subcommand)]
    command: ScoreOnly,
}

#[derive(Debug, Subcommand)]
enum ScoreOnly {
    /// Grade every line of a JSONL file; one output line per input line, in order.
    Score(score::Args),
}

/// The command line parsed: a plain `gradekit score …` directly (see `score::argv`: the
/// same reading without building clap's command), any other `gradekit score …` through
/// [`ScoreCli`], anything else through [`Cli`] (help, version, other commands, flags before
/// the command).
fn parse() -> Command {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "score") {
        if let Some(a) = score::Args::plain(&argv) {
            return Command::Score(a);
        }
        let ScoreOnly::Score(a) = ScoreCli::parse_from(argv).command;
        return Command::Score(a);
    }
    Cli::parse_from(argv).command
}

/// Parses the command line and runs it; the process exit code.
pub fn main() -> ExitCode {
    let command = parse();
    io::install_stdout_panic_hook();
    let result = match command {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::CommandFactory;

    /// `gradekit score …` parsed by [`ScoreCli`] is what [`Cli`] makes of it: the same help
    /// (short and long), the same errors, the same arguments.
    #[test]
    fn score_alone_is_the_same_command() {
        let mut full = Cli::command();
        let mut alone = ScoreCli::command();
        full.build();
        alone.build();
        let (f, a) = (
            full.find_subcommand_mut("score").unwrap(),
            alone.find_subcommand_mut("score").unwrap(),
        );
        assert_eq!(f.render_help().to_string(), a.render_help().to_string());
        assert_eq!(
            f.render_long_help().to_string(),
            a.render_long_help().to_string()
        );
        assert_eq!(f.render_usage().to_string(), a.render_usage().to_string());
        for argv in [
            vec!["gradekit", "score"],
            vec!["gradekit", "score", "--help"],
            vec!["gradekit", "score", "-h"],
            vec!["gradekit", "score", "-g", "g.json"],
            vec!["gradekit", "score", "in.jsonl", "--nope"],
            vec![
                "gradekit",
                "score",
                "-g",
                "g.json",
                "in.jsonl",
                "--threads",
                "x",
            ],
            vec![
                "gradekit",
                "score",
                "-g",
                "g.json",
                "in.jsonl",
                "-q",
                "--progress",
            ],
            vec!["gradekit", "score", "-g", "g.json", "in.jsonl", "--version"],
        ] {
            let f = Cli::try_parse_from(&argv).map(|c| format!("{:?}", c.command));
            let a = ScoreCli::try_parse_from(&argv).map(|c| {
                let ScoreOnly::Score(a) = c.command;
                format!("{:?}", Command::Score(a))
            });
            match (f, a) {
                (Ok(f), Ok(a)) => assert_eq!(f, a, "{argv:?}"),
                (Err(f), Err(a)) => {
                    assert_eq!(f.kind(), a.kind(), "{argv:?}");
                    assert_eq!(f.to_string(), a.to_string(), "{argv:?}");
                }
                (f, a) => panic!("{argv:?}: {f:?} against {a:?}"),
            }
        }
        let ok = [
            "gradekit", "score", "-g", "g.json", "in.jsonl", "-o", "o.jsonl",
        ];
        assert!(matches!(
            ScoreCli::try_parse_from(ok).unwrap().command,
            ScoreOnly::Score(_)
        ));
    }
}
