//! `gradekit score`: grade every line of a JSONL file, streaming, in input order.
//!
//! Lines are read in chunks, parsed and graded in parallel on a rayon pool, serialised in
//! parallel too, and written in input order before the next chunk is read — memory is bounded
//! by the chunk, not the file. Every non-blank line yields exactly one output line: a result,
//! or an error line naming what was wrong with it. Nothing is dropped.

mod io;
pub(crate) use io::open_input as io_open;
pub(crate) mod line;
mod progress;
mod report;
mod report_svg;
mod resume;
mod strict;
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
use std::sync::mpsc;
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
    #[arg(long, short = 'q', conflicts_with = "progress")]
    quiet: bool,
    /// Plain progress lines on stderr every few seconds even when it is not a terminal.
    #[arg(long)]
    progress: bool,
    /// Continue an interrupted run from the rows already in OUT (needs -o OUT, uncompressed).
    #[arg(long, requires = "output")]
    resume: bool,
    /// Write a self-contained HTML report (plots, slowest and failed rows) to FILE.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
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

/// What one non-blank line became before grading.
enum Slot {
    /// Index into the batch of contexts handed to the grader.
    Graded(Option<Value>, usize),
    Invalid(Option<Value>, &'static str, String),
}

/// Parses, grades and serialises one chunk; outputs in input order. Parsing and
/// serialisation run in parallel; grading goes through `CompiledGrader::grade_batch`, which
/// sends python graders to their worker pool in frames and model graders onto an I/O-wide pool.
fn process_chunk(
    grader: &CompiledGrader,
    lines: &[(u64, Vec<u8>)],
    sample_key: Option<&str>,
    report: Option<&mut report::Collector>,
) -> Vec<Processed> {
    let parsed: Vec<Parsed> = lines
        .par_iter()
        .map(|(_, b)| line::parse(b, sample_key))
        .collect();
    let mut ctxs = Vec::with_capacity(parsed.len());
    let slots: Vec<Slot> = parsed
        .into_iter()
        .map(|p| match p {
            Parsed::Grade { id, ctx } => {
                ctxs.push(ctx);
                Slot::Graded(id, ctxs.len() - 1)
            }
            Parsed::Invalid { id, code, message } => Slot::Invalid(id, code, message),
        })
        .collect();
    let results = grader.grade_batch(&ctxs);
    let texts: Vec<String> = slots
        .par_iter()
        .zip(lines.par_iter())
        .map(|(slot, (n, _))| match slot {
            Slot::Graded(id, i) => {
                let r = &results[*i];
                let resp = r.to_response(grader.name(), grader.kind());
                let out = OutLine {
                    line: *n,
                    id: id.as_ref(),
                    reward: r.reward,
                    sub_rewards: &r.sub_rewards,
                    metadata: resp.metadata,
                    passed: grader.pass_threshold().map(|t| r.reward >= t),
                };
                serde_json::to_string(&out).unwrap_or_default()
            }
            Slot::Invalid(id, code, message) => {
                let out = ErrLine {
                    line: *n,
                    id: id.as_ref(),
                    reward: None,
                    error: ErrBody { code, message },
                };
                serde_json::to_string(&out).unwrap_or_default()
            }
        })
        .collect();
    if let Some(rep) = report {
        rep.observe(lines, &slots, &ctxs, &results);
    }
    let mut results = results.into_iter();
    texts
        .into_iter()
        .zip(slots)
        .map(|(t, slot)| match slot {
            Slot::Graded(..) => (t, results.next()),
            Slot::Invalid(..) => (t, None),
        })
        .collect()
}

pub fn main(a: Args) -> Result<ExitCode> {
    let opts = a.engine.to_options()?;
    let grader_json = crate::io::read_grader(&a.grader)?;
    let grader = match gradekit_engine::compile_for_run(&grader_json, &opts) {
        Ok(g) => g,
        Err(errs) => {
            crate::io::report(&errs, &format!("grader {}", a.grader.display()));
            return Ok(ExitCode::from(2));
        }
    };
    let threshold = grader.pass_threshold();
    let (input, total_bytes) = io::open_input(&a.input)?;
    let mut reader = BufReader::with_capacity(1 << 20, input);

    // Checkpoints exist only for a plain output file (resume needs to truncate and append).
    let out_path = a.output.as_deref().filter(|p| !io::is_stdio(p));
    let ckpt_path = out_path
        .filter(|p| io::codec_of(p) == io::Codec::Plain)
        .map(resume::path_for);
    let grader_sha = resume::grader_hash(&grader_json);
    let mut summary = Summary::default();
    let mut start_line = 0u64;
    let mut in_offset = 0u64;
    let mut in_hash = resume::Fnv::default();
    let mut out_bytes = 0u64;
    let mut append = false;
    if a.resume {
        let (Some(out), Some(cp)) = (out_path, ckpt_path.as_deref()) else {
            anyhow::bail!("--resume needs -o OUT.jsonl (an uncompressed file)");
        };
        match resume::load(cp)? {
            None if out.exists() && std::fs::metadata(out)?.len() > 0 => anyhow::bail!(
                "cannot resume {}: it has no checkpoint ({}); remove it or drop --resume",
                out.display(),
                cp.display()
            ),
            None => {}
            Some(c) => {
                if c.grader_sha256 != grader_sha {
                    anyhow::bail!(
                        "cannot resume {}: it was written with a different grader",
                        out.display()
                    );
                }
                skip_input(&mut reader, c.input_offset, &mut in_hash).with_context(|| {
                    format!(
                        "cannot resume: {} is shorter than the part already graded",
                        a.input.display()
                    )
                })?;
                if in_hash.hex() != c.input_hash {
                    anyhow::bail!(
                        "cannot resume {}: {} is not the input it was made from (its first {} bytes differ)",
                        out.display(),
                        a.input.display(),
                        c.input_offset
                    );
                }
                truncate_and_reload(out, c.output_bytes, threshold, &mut summary)?;
                start_line = c.line;
                in_offset = c.input_offset;
                out_bytes = c.output_bytes;
                append = true;
                if !a.quiet {
                    eprintln!(
                        "resuming after input line {} ({} rows already in {})",
                        c.line,
                        summary.count() + summary.invalid_lines as usize,
                        out.display()
                    );
                }
            }
        }
    }
    let mut out = BufWriter::with_capacity(1 << 20, io::Output::create(out_path, append)?);
    let pool = build_pool(&a, &grader)?;

    let mode = if a.quiet {
        progress::Mode::Off
    } else if std::io::stderr().is_terminal() {
        progress::Mode::Bar
    } else if a.progress {
        progress::Mode::Lines
    } else {
        progress::Mode::Off
    };
    let mut bar = progress::Progress::new(mode, total_bytes);
    let start = Instant::now();

    // A reader thread keeps the next chunks ready while this one is graded.
    let (tx, rx) = mpsc::sync_channel::<Result<Chunk>>(2);
    let input_name = a.input.display().to_string();
    let reader_thread = std::thread::spawn(move || {
        read_chunks(reader, start_line, in_offset, in_hash, &tx, &input_name);
    });
    let sample_key = a.sample_key.as_deref();
    let mut done_ok = true;
    let mut collector = a.report.as_ref().map(|_| report::Collector::new());
    for chunk in rx {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                done_ok = false;
                eprintln!("error: {e:#}");
                break;
            }
        };
        let processed =
            pool.install(|| process_chunk(&grader, &chunk.lines, sample_key, collector.as_mut()));
        for (text, result) in processed {
            out.write_all(text.as_bytes())?;
            out.write_all(b"\n")?;
            out_bytes += text.len() as u64 + 1;
            match result {
                Some(r) => summary.add(&r, threshold),
                None => summary.invalid_lines += 1,
            }
        }
        out.flush().context("cannot write the output")?;
        if let Some(cp) = &ckpt_path {
            resume::save(
                cp,
                &resume::Checkpoint {
                    version: 1,
                    grader_sha256: grader_sha.clone(),
                    input: a.input.display().to_string(),
                    input_offset: chunk.end_offset,
                    input_hash: chunk.end_hash.hex(),
                    line: chunk.last_line,
                    output_bytes: out_bytes,
                    complete: chunk.eof,
                },
            )?;
        }
        bar.tick(&progress::Snapshot {
            rows: summary.count() as u64,
            bytes: chunk.end_offset,
            mean: summary.running_mean(),
            errors: summary.rows_with_errors,
            invalid: summary.invalid_lines,
        });
    }
    let _ = reader_thread.join();
    let out = out
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write the output: {}", e.error()))?;
    out.finish().context("cannot write the output")?;
    bar.finish();
    let elapsed = start.elapsed().as_secs_f64();
    if !a.quiet {
        eprintln!("{}", summary.human(threshold, elapsed));
    }
    if let (Some(p), Some(c)) = (&a.report, &collector) {
        let info = report::PageInfo {
            grader_name: grader.name(),
            grader_kind: grader.kind(),
            input: &a.input.display().to_string(),
            threshold,
            elapsed,
        };
        c.write(p, &info, &summary)?;
    }
    if let Some(p) = &a.summary_json {
        let j = summary.to_json(threshold, elapsed);
        std::fs::write(p, serde_json::to_string_pretty(&j)? + "\n")
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(if done_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn build_pool(a: &Args, grader: &CompiledGrader) -> Result<rayon::ThreadPool> {
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
    builder.build().context("cannot start the grading threads")
}

/// Lines of input ready to grade, with where the input stands after them.
struct Chunk {
    lines: Vec<(u64, Vec<u8>)>,
    last_line: u64,
    end_offset: u64,
    end_hash: resume::Fnv,
    eof: bool,
}

fn read_chunks(
    mut reader: BufReader<Box<dyn Read + Send>>,
    mut line_no: u64,
    mut offset: u64,
    mut hash: resume::Fnv,
    tx: &mpsc::SyncSender<Result<Chunk>>,
    input_name: &str,
) {
    loop {
        let mut lines = Vec::with_capacity(CHUNK_LINES);
        let mut bytes = 0;
        let mut eof = false;
        while lines.len() < CHUNK_LINES && bytes < CHUNK_BYTES {
            let mut buf = Vec::new();
            let n = match reader.read_until(b'\n', &mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.send(Err(anyhow::anyhow!(
                        "cannot read {input_name} after line {line_no}: {e}"
                    )));
                    return;
                }
            };
            if n == 0 {
                eof = true;
                break;
            }
            line_no += 1;
            offset += n as u64;
            hash.update(&buf);
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
            lines.push((line_no, buf));
        }
        let chunk = Chunk {
            lines,
            last_line: line_no,
            end_offset: offset,
            end_hash: hash,
            eof,
        };
        if tx.send(Ok(chunk)).is_err() || eof {
            return;
        }
    }
}

/// Reads and hashes the first `n` bytes of the input.
fn skip_input(reader: &mut impl BufRead, mut n: u64, hash: &mut resume::Fnv) -> Result<()> {
    while n > 0 {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            anyhow::bail!("unexpected end of input");
        }
        let take = buf.len().min(n as usize);
        hash.update(&buf[..take]);
        reader.consume(take);
        n -= take as u64;
    }
    Ok(())
}

/// Cuts OUT back to its last checkpoint and rebuilds the summary from the rows kept.
fn truncate_and_reload(
    out: &std::path::Path,
    len: u64,
    threshold: Option<f64>,
    summary: &mut Summary,
) -> Result<()> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(out)
        .with_context(|| format!("cannot open {}", out.display()))?;
    if f.metadata()?.len() < len {
        anyhow::bail!(
            "cannot resume {}: it is shorter than its checkpoint says",
            out.display()
        );
    }
    f.set_len(len)?;
    drop(f);
    let text = BufReader::new(std::fs::File::open(out)?);
    for (i, l) in text.lines().enumerate() {
        let l = l?;
        let v: Value = serde_json::from_str(&l).with_context(|| {
            format!(
                "cannot resume: line {} of {} is not a gradekit row",
                i + 1,
                out.display()
            )
        })?;
        match v.get("reward").and_then(Value::as_f64) {
            None => summary.invalid_lines += 1,
            Some(r) => {
                let errs = v.pointer("/metadata/errors").and_then(Value::as_object);
                let flags = errs
                    .into_iter()
                    .flatten()
                    .filter(|(_, on)| on.as_bool() == Some(true))
                    .map(|(k, _)| k.as_str());
                let subs = v
                    .get("sub_rewards")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, x)| x.as_f64().map(|x| (k.as_str(), x)));
                summary.add_parts(r, flags, subs, threshold);
            }
        }
    }
    Ok(())
}
