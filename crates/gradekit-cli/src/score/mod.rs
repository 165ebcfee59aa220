//! `gradekit score`: grade every line of a JSONL file, streaming, in input order.
//!
//! Lines are read in chunks, parsed and graded in parallel on a rayon pool, serialised in
//! parallel too, and written in input order before the next chunk is read — memory is bounded
//! by the chunk, not the file. Every non-blank line yields exactly one output line: a result,
//! or an error line naming what was wrong with it. Nothing is dropped.

mod line;
mod summary;

use crate::engine_flags::EngineFlags;
use anyhow::{Context, Result};
use gradekit_engine::{CompiledGrader, GradeResult, RunMetadata};
use indexmap::IndexMap;
use line::Parsed;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use summary::Summary;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Grader JSON file.
    #[arg(long, short = 'g', value_name = "GRADER.json")]
    grader: PathBuf,
    /// Input JSONL (`-` = stdin). Lines: {"item"?, "model_sample": str} or {"item"?, "sample": obj|str}, optional "id".
    #[arg(value_name = "INPUT.jsonl")]
    input: PathBuf,
    /// Output JSONL (default: stdout).
    #[arg(long, short = 'o', value_name = "OUT.jsonl")]
    output: Option<PathBuf>,
    /// Grading threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Take the sample text from this field of each line and use the whole line as the item.
    #[arg(long, value_name = "K")]
    sample_key: Option<String>,
    /// Write the run summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    summary_json: Option<PathBuf>,
    /// No progress and no summary on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    engine: EngineFlags,
}

/// Lines per parallel chunk; also the bound on lines held in memory.
const CHUNK_LINES: usize = 2048;
/// Bytes per chunk, so that huge lines do not pile up.
const CHUNK_BYTES: usize = 8 << 20;

#[derive(Serialize)]
struct OutLine<'a> {
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    reward: f64,
    sub_rewards: &'a IndexMap<String, f64>,
    metadata: RunMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    passed: Option<bool>,
}

#[derive(Serialize)]
struct ErrLine<'a> {
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    reward: Option<f64>,
    error: ErrBody<'a>,
}

#[derive(Serialize)]
struct ErrBody<'a> {
    code: &'a str,
    message: &'a str,
}

/// One processed line: its output text and, when graded, its result for the summary.
type Processed = (String, Option<GradeResult>);

fn process(grader: &CompiledGrader, n: u64, bytes: &[u8], sample_key: Option<&str>) -> Processed {
    match line::parse(bytes, sample_key) {
        Parsed::Grade { id, ctx } => {
            let r = grader.grade(&ctx);
            let resp = r.to_response(grader.name(), grader.kind());
            let out = OutLine {
                line: n,
                id: id.as_ref(),
                reward: r.reward,
                sub_rewards: &r.sub_rewards,
                metadata: resp.metadata,
                passed: grader.pass_threshold().map(|t| r.reward >= t),
            };
            (serde_json::to_string(&out).unwrap_or_default(), Some(r))
        }
        Parsed::Invalid { id, code, message } => {
            let out = ErrLine {
                line: n,
                id: id.as_ref(),
                reward: None,
                error: ErrBody {
                    code,
                    message: &message,
                },
            };
            (serde_json::to_string(&out).unwrap_or_default(), None)
        }
    }
}

pub fn main(a: Args) -> Result<ExitCode> {
    let opts = a.engine.to_options()?;
    let grader_json = crate::io::read_json(&a.grader)?;
    let grader = match gradekit_engine::compile_for_run(&grader_json, &opts) {
        Ok(g) => g,
        Err(errs) => {
            crate::io::report(&errs, &format!("grader {}", a.grader.display()));
            return Ok(ExitCode::from(2));
        }
    };
    let input: Box<dyn Read> = if a.input.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&a.input)
                .with_context(|| format!("cannot open {}", a.input.display()))?,
        )
    };
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let output: Box<dyn Write> = match &a.output {
        Some(p) if p.as_os_str() != "-" => Box::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ),
        _ => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, output);
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = a.threads {
        if t == 0 {
            anyhow::bail!("--threads must be at least 1");
        }
        builder = builder.num_threads(t);
    }
    if let Some(width) = grader.io_width() {
        // Judge calls are I/O: keep --judge-concurrency samples in flight, whatever the cores.
        let cpu = a.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        builder = builder.num_threads(cpu.max(width));
    }
    let pool = builder
        .build()
        .context("cannot start the grading threads")?;

    let progress = !a.quiet && std::io::stderr().is_terminal();
    let start = Instant::now();
    let mut summary = Summary::default();
    let mut line_no: u64 = 0;
    let mut chunk: Vec<(u64, Vec<u8>)> = Vec::with_capacity(CHUNK_LINES);
    let sample_key = a.sample_key.as_deref();
    let mut eof = false;
    while !eof {
        let mut bytes = 0;
        while chunk.len() < CHUNK_LINES && bytes < CHUNK_BYTES {
            let mut buf = Vec::new();
            let n = reader.read_until(b'\n', &mut buf).with_context(|| {
                format!("cannot read {} after line {line_no}", a.input.display())
            })?;
            if n == 0 {
                eof = true;
                break;
            }
            line_no += 1;
            if buf.last() == Some(&b'\n') {
                buf.pop();
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
            }
            if line::is_blank(&buf) {
                continue;
            }
            bytes += buf.len();
            chunk.push((line_no, buf));
        }
        let done: Vec<Processed> = pool.install(|| {
            chunk
                .par_iter()
                .map(|(n, b)| process(&grader, *n, b, sample_key))
                .collect()
        });
        for (text, result) in done {
            out.write_all(text.as_bytes())?;
            out.write_all(b"\n")?;
            match result {
                Some(r) => summary.add(&r, grader.pass_threshold()),
                None => summary.invalid_lines += 1,
            }
        }
        chunk.clear();
        if progress {
            let secs = start.elapsed().as_secs_f64();
            eprint!(
                "\r{} lines graded, {} invalid, {:.0} lines/s",
                summary.count(),
                summary.invalid_lines,
                summary.count() as f64 / secs.max(1e-9)
            );
        }
    }
    out.flush().context("cannot write the output")?;
    let elapsed = start.elapsed().as_secs_f64();
    if progress {
        eprintln!();
    }
    if !a.quiet {
        eprintln!("{}", summary.human(grader.pass_threshold(), elapsed));
    }
    if let Some(p) = &a.summary_json {
        let j = summary.to_json(grader.pass_threshold(), elapsed);
        std::fs::write(p, serde_json::to_string_pretty(&j)? + "\n")
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
