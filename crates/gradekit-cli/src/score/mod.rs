//! `gradekit score`: grade every line of a JSONL file, streaming, in input order.
//!
//! Lines are read in chunks, graded (on the calling thread, or in parallel on a rayon pool:
//! [`stages`]) and written in input order by the writer stage ([`sink`]) with a few chunks in
//! flight at most — memory is bounded by the chunk, not the file. Every non-blank line yields
//! exactly one output line: a result, or an error line naming what was wrong with it. Nothing
//! is dropped.

mod argv;
mod blocks;
mod chunk;
pub(crate) mod line;
mod one_io;
mod outhash;
mod pin;
mod plan;
mod prefault;
mod process;
mod progress;
mod read;
mod report;
mod resume;
mod row;
mod scan;
mod sink;
mod spin;
mod stages;
mod strict;
mod summary;

use crate::engine_flags::{EngineFlags, Score};
use crate::io;
use anyhow::{Context, Result};
use gradekit_engine::{CompiledGrader, GradeResult};
use plan::Planner;
use process::Part;
pub(crate) use process::Slot;
use read::Chunk;
use sink::{CheckpointTarget, ChunkEnd, Sink};
use stages::*;
use std::io::{BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use summary::Summary;

/// One line through parse, grade and row serialisation (see `crate::fuzz_score_line`); when
/// the run would read the line lean (see `plan`), that reading must write the same row (timing
/// aside) — it panics otherwise, which is what a fuzzer looks for.
pub(crate) fn fuzz_line(grader: &CompiledGrader, bytes: &[u8], sample_key: Option<&str>) -> bool {
    let rows = row::RowWriter::new(grader);
    let steady = |mut r: GradeResult| {
        r.execution_time = 0.0;
        r
    };
    let mut out = Vec::new();
    let graded = match line::parse(bytes, sample_key, grader.sample_parts()) {
        line::Parsed::Grade { id, ctx } => {
            rows.graded(&mut out, 1, id.as_ref(), &steady(grader.grade(&ctx)));
            true
        }
        line::Parsed::Invalid { id, code, message } => {
            row::RowWriter::invalid(&mut out, 1, id.as_ref(), code, &message);
            false
        }
    };
    if let Some(p) = planner(grader, sample_key, false) {
        let mut plans = plan::Plans::default();
        plans.push_line(bytes, &p);
        let r = plans.grade(0, &p, |l| grader.grade_input(l), |c| grader.grade(c));
        let mut lean = Vec::new();
        match (r, plans.plans.first()) {
            (Some(r), _) => rows.graded_raw(&mut lean, 1, plans.id(0), &steady(r)),
            (None, Some(plan::Plan::Invalid { code, message, .. })) => {
                row::RowWriter::invalid_raw(&mut lean, 1, plans.id(0), code, message)
            }
            (None, _) => {}
        }
        assert_eq!(
            String::from_utf8_lossy(&lean),
            String::from_utf8_lossy(&out),
            "the lean reading of a score line differs from the established one"
        );
    }
    graded
}

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
    /// Longest input line read, in bytes; a longer line becomes an error row (line_too_long).
    #[arg(long, default_value_t = read::DEFAULT_MAX_LINE_BYTES, value_name = "BYTES")]
    max_line_bytes: usize,
    /// Write a self-contained HTML report (plots, slowest and failed rows) to FILE.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineFlags<Score>,
}

pub fn main(a: Args) -> Result<ExitCode> {
    // A run likely to grade beside one I/O thread starts it first (see `one_io::IoThread`):
    // what this thread does until it reads the input (the checks below, the engine options,
    // the grader) overlaps the new thread's start. Dropped unused on an error.
    let early_io = (a.engine.spec.threads == Some(1)
        && a.report.is_none()
        && !io::is_stdio(&a.input)
        && io::codec_of(&a.input) == io::Codec::Plain)
        .then(|| std::fs::metadata(&a.input).ok())
        .flatten()
        .filter(|m| m.is_file() && m.len() > INLINE_BYTES)
        .map(|m| one_io::IoThread::start(Some(m.len())));
    let stdout = std::path::Path::new("-");
    let out_name = a.output.as_deref().unwrap_or(stdout);
    let ckpt = a
        .output
        .as_deref()
        .filter(|p| !io::is_stdio(p) && io::codec_of(p) == io::Codec::Plain)
        .map(resume::path_for);
    let mut outputs = vec![(out_name, "output")];
    outputs.extend(ckpt.as_deref().map(|p| (p, "checkpoint")));
    outputs.extend(a.summary_json.as_deref().map(|p| (p, "summary file")));
    outputs.extend(a.report.as_deref().map(|p| (p, "report")));
    if io::is_stdio(out_name) {
        io::require_stdout()?;
    }
    if io::is_stdio(&a.input) {
        io::require_stdin()?;
    }
    io::refuse_overlaps(
        &[(a.input.as_path(), "input"), (a.grader.as_path(), "grader")],
        &outputs,
    )?;
    for p in [&a.summary_json, &a.report].into_iter().flatten() {
        io::require_writable(p)?;
    }
    // A usage error before anything is read.
    let threads = grading_threads(a.engine.spec.threads, a.quiet)?;
    if a.max_line_bytes == 0 {
        anyhow::bail!("--max-line-bytes must be at least 1");
    }
    let opts = a.engine.to_options()?;
    let grader_json = io::read_grader(&a.grader)?;
    let grader = match gradekit_engine::compile_for_run(&grader_json, &opts) {
        Ok(g) => g,
        Err(errs) => {
            io::report(&errs, &format!("grader {}", a.grader.display()));
            return Ok(ExitCode::from(2));
        }
    };
    let threshold = grader.pass_threshold();
    let mut grader_sha = resume::GraderSha::new(grader_json);
    let (input, total_bytes) = io::open_input(&a.input)?;
    // Only `--resume` reads through this buffer (to skip the graded part); chunks are read
    // straight into their own buffers, and the untouched allocation costs nothing.
    let mut reader = BufReader::with_capacity(64 << 10, input);

    // Checkpoints exist only for a plain output file (resume needs to truncate and append).
    let out_path = a.output.as_deref().filter(|p| !io::is_stdio(p));
    let ckpt_path = out_path
        .filter(|p| io::codec_of(p) == io::Codec::Plain)
        .map(resume::path_for);
    let mut summary = Summary::default();
    let mut start_line = 0u64;
    let mut in_offset = 0u64;
    let mut in_hash = resume::InputHash::default();
    let mut out_bytes = 0u64;
    let mut out_hash = resume::InputHash::default();
    let mut last_row_line = 0u64;
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
                if c.grader_sha256 != grader_sha.hex() {
                    anyhow::bail!(
                        "cannot resume {}: it was written with a different grader",
                        out.display()
                    );
                }
                if c.sample_key != a.sample_key {
                    let how = |k: &Option<String>| match k {
                        Some(k) => format!("with --sample-key {k:?}"),
                        None => "without --sample-key".to_string(),
                    };
                    anyhow::bail!(
                        "cannot resume {}: it was written {}, and this run is {}; nothing was changed",
                        out.display(),
                        how(&c.sample_key),
                        how(&a.sample_key)
                    );
                }
                // Verify everything before touching anything.
                out_hash = resume::verify_output(out, &c, threshold, &mut summary)?;
                last_row_line = c.last_row_line;
                read::skip_input(&mut reader, c.input_offset, &mut in_hash).with_context(|| {
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
                truncate(out, c.output_bytes)?;
                summary.resumed_rows = summary.count();
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
    let out = io::Output::create(out_path, append)?;
    let planner = planner(&grader, a.sample_key.as_deref(), a.report.is_some());
    let stages = Stages::choose(
        threads,
        &grader,
        a.report.is_some(),
        total_bytes.map(|t| t.saturating_sub(in_offset)),
    );
    // Unused when the run has other stages (a grader grading in batches, a resumed run with
    // little left): it ends, and this thread gets its CPUs back before a pool starts.
    let early_io = early_io.filter(|_| stages == Stages::OneIo);
    let pool = match stages {
        Stages::Pool => Some(build_pool(threads, &grader)?),
        Stages::Inline | Stages::OneIo => None,
    };

    let mode = if a.quiet {
        progress::Mode::Off
    } else if std::io::stderr().is_terminal() {
        progress::Mode::Bar
    } else if a.progress {
        progress::Mode::Lines
    } else {
        progress::Mode::Off
    };
    let bar = progress::Progress::new(mode, total_bytes)
        .resumed_from(summary.resumed_rows as u64, in_offset);
    let start = Instant::now();

    let source = read::Source::new(
        reader,
        start_line,
        in_offset,
        in_hash,
        &a.input.display().to_string(),
        a.max_line_bytes,
        planner.clone(),
        total_bytes.map(|t| t.saturating_sub(in_offset)),
        match stages {
            Stages::OneIo => read::FIRST_CHUNK_LINES,
            Stages::Inline | Stages::Pool => read::CHUNK_LINES,
        },
    )
    .max_chunk_lines(match stages {
        Stages::OneIo => ONE_IO_CHUNK_LINES,
        Stages::Inline | Stages::Pool => read::CHUNK_LINES,
    })
    .later(
        match stages {
            Stages::OneIo => ONE_IO_LONG_AFTER,
            Stages::Inline | Stages::Pool => u64::MAX,
        },
        match stages {
            Stages::OneIo => ONE_IO_LONG_CHUNK_LINES,
            Stages::Inline | Stages::Pool => read::CHUNK_LINES,
        },
    )
    .taper(stages == Stages::OneIo);
    let rows = row::RowWriter::new(&grader);
    // With one I/O thread the grading thread may write a chunk's rows into its input buffer.
    let source = match stages {
        Stages::OneIo => source.rows_in_buffers(rows.clean_row_bytes()),
        Stages::Inline | Stages::Pool => source,
    };
    // OUT when it is a regular file (not a pipe, a device or a standard stream).
    let out_file = out_path.filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()));
    let sink = Sink {
        rows: rows.clone(),
        // Made when first needed (see `Sink::graded`).
        buf: Vec::new(),
        // Written in aligned blocks when OUT is a plain regular file (see `blocks`).
        out: blocks::BlockOut::new(
            out,
            out_bytes,
            match out_file.is_some_and(|p| io::codec_of(p) == io::Codec::Plain) {
                true => blocks::BLOCK_BYTES,
                false => 0,
            },
        ),
        out_bytes,
        // Rows may go unhashed (read back when a checkpoint needs them) only into a regular
        // file (see `outhash`).
        out_hash: outhash::OutHash::new(
            out_hash,
            out_bytes,
            ckpt_path
                .as_ref()
                .and(out_file)
                .map(std::path::Path::to_path_buf),
            total_bytes,
        ),
        hash_now: true,
        last_row_line,
        summary,
        bar,
        threshold,
        checkpoint: ckpt_path.map(|path| CheckpointTarget {
            path,
            grader_sha,
            input: a.input.display().to_string(),
            sample_key: a.sample_key.clone(),
            keep_when_complete: a.resume,
            started: Instant::now(),
            saved: None,
            pending: None,
            reached_end: false,
        }),
    };
    let mut grading = Grading {
        grader: &grader,
        rows,
        planner,
        pool,
        sample_key: a.sample_key.as_deref(),
        collector: a.report.as_ref().map(|_| report::Collector::new()),
        rows_here: stages == Stages::OneIo,
        plan_here: None,
        pinning: None,
    };
    let (done_ok, summary, bar) = match stages {
        Stages::Inline => grading.inline(source, sink)?,
        Stages::OneIo => grading.with_io_thread(source, sink, early_io)?,
        Stages::Pool => grading.with_reader_and_writer(source, sink)?,
    };
    bar.finish();
    let elapsed = start.elapsed().as_secs_f64();
    if !a.quiet {
        eprintln!("{}", summary.human(threshold, elapsed));
    }
    if let (Some(p), Some(c)) = (&a.report, &grading.collector) {
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

/// Grading threads allowed per core: `--threads` above this only adds switching (the work is
/// CPU-bound; judge calls have their own width, `--judge-concurrency`).
const MAX_THREADS_PER_CORE: usize = 4;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// `--threads` checked: 0 is a usage error; more than [`MAX_THREADS_PER_CORE`] × cores is
/// clamped with a warning (thousands of threads would spend the run being created). The cores
/// are counted only when that can matter (counting them reads cgroup files).
fn grading_threads(asked: Option<usize>, quiet: bool) -> Result<Option<usize>> {
    match asked {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(t) if t > MAX_THREADS_PER_CORE => {
            let cores = cores();
            let max = cores * MAX_THREADS_PER_CORE;
            if t <= max {
                return Ok(Some(t));
            }
            if !quiet {
                eprintln!(
                    "warning: --threads {t} is more than {MAX_THREADS_PER_CORE} per core; using {max} \
                     ({cores} cores)"
                );
            }
            Ok(Some(max))
        }
        other => Ok(other),
    }
}

fn build_pool(threads: Option<usize>, grader: &CompiledGrader) -> Result<rayon::ThreadPool> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        builder = builder.num_threads(t);
    }
    if let Some(width) = grader.io_width() {
        // Judge calls are I/O: keep --judge-concurrency samples in flight, whatever the cores.
        let cpu = threads.unwrap_or_else(cores);
        builder = builder.num_threads(cpu.max(width));
    }
    builder.build().context("cannot start the grading threads")
}

/// Cuts OUT back to its last checkpoint (after [`resume::verify_output`] accepted it).
fn truncate(out: &std::path::Path, len: u64) -> Result<()> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(out)
        .with_context(|| format!("cannot open {}", out.display()))?;
    f.set_len(len)
        .with_context(|| format!("cannot truncate {}", out.display()))
}
