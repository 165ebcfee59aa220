//! `gradekit score`: grade every line of a JSONL file, streaming, in input order.
//!
//! Lines are read in chunks, parsed and graded in parallel on a rayon pool, serialised in
//! parallel too, and written in input order before the next chunk is read — memory is bounded
//! by the chunk, not the file. Every non-blank line yields exactly one output line: a result,
//! or an error line naming what was wrong with it. Nothing is dropped.

pub(crate) mod line;
mod plan;
mod process;
mod progress;
mod read;
mod report;
mod resume;
mod row;
mod scan;
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
use std::io::{BufReader, IsTerminal, Write};
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
    let (input, total_bytes) = io::open_input(&a.input)?;
    // Only `--resume` reads through this buffer (to skip the graded part); chunks are read
    // straight into their own buffers, and the untouched allocation costs nothing.
    let mut reader = BufReader::with_capacity(64 << 10, input);

    // Checkpoints exist only for a plain output file (resume needs to truncate and append).
    let out_path = a.output.as_deref().filter(|p| !io::is_stdio(p));
    let ckpt_path = out_path
        .filter(|p| io::codec_of(p) == io::Codec::Plain)
        .map(resume::path_for);
    let grader_sha = resume::grader_hash(&grader_json);
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
                if c.grader_sha256 != grader_sha {
                    anyhow::bail!(
                        "cannot resume {}: it was written with a different grader",
                        out.display()
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
    });
    let sink = Sink {
        rows: row::RowWriter::new(&grader),
        buf: Vec::new(),
        out,
        out_bytes,
        out_hash,
        last_row_line,
        summary,
        bar,
        threshold,
        checkpoint: ckpt_path.map(|path| CheckpointTarget {
            path,
            grader_sha256: grader_sha.clone(),
            input: a.input.display().to_string(),
            keep_when_complete: a.resume,
            saved: None,
            pending: None,
        }),
    };
    let mut grading = Grading {
        grader: &grader,
        rows: row::RowWriter::new(&grader),
        planner,
        pool,
        sample_key: a.sample_key.as_deref(),
        collector: a.report.as_ref().map(|_| report::Collector::new()),
    };
    let (done_ok, summary, bar) = match stages {
        Stages::Inline => grading.inline(source, sink)?,
        Stages::OneIo => grading.with_io_thread(source, sink)?,
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

/// A plain input file at most this large is read, graded and written by one thread: starting
/// a thread and handing chunks between two costs more than overlapping reading and writing
/// with grading saves (measured: ~0.5 ms; the two cross near 1,000 lines of 530 bytes for
/// rouge_l, later for cheaper graders).
const INLINE_BYTES: u64 = 256 << 10;

/// A plain input file at most this large is graded inline whatever `--threads` says: starting
/// a pool of grading threads and a reader and a writer costs ≈ 1 ms, more than spreading a
/// few dozen lines over the cores saves.
const POOLLESS_BYTES: u64 = 64 << 10;

/// Chunks read ahead of the writer with one I/O thread: one being graded, the next ones ready.
const AHEAD: usize = 3;

/// Chunks over which the one I/O thread measures how long grading waits for it (the first
/// window is not counted: the chunks are still growing).
const SPLIT_WINDOW: usize = 8;

/// Share of the time the grading thread waits for the one I/O thread past which writing gets
/// a thread of its own: with a cheap grader, reading and writing in turn on one thread is
/// what bounds the run, and a third thread on two cores costs less than it gains.
const SPLIT_IDLE: f64 = 1.0 / 3.0;

/// Largest chunk with one I/O thread: a chunk's input, plans and rows then stay in the
/// cache between being read, scanned and written (one grading thread needs no more lines
/// at once to stay busy).
const ONE_IO_CHUNK_LINES: usize = 512;

/// Who reads, grades and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stages {
    /// One thread does everything in turn: a CPU-bound grader and a small file (see
    /// [`INLINE_BYTES`], [`POOLLESS_BYTES`]).
    Inline,
    /// `--threads 1` and a CPU-bound grader: this thread grades, one I/O thread reads the
    /// input and writes the rows. Two threads for the two stages that matter, instead of
    /// three (reader, writer, grading pool) on top of this waiting one.
    OneIo,
    /// A grading pool, a reader thread and a writer thread (several grading threads, python
    /// graders, judges, `--report`).
    Pool,
}

impl Stages {
    fn choose(
        threads: Option<usize>,
        grader: &CompiledGrader,
        report: bool,
        input_left: Option<u64>,
    ) -> Stages {
        let one = threads == Some(1);
        let small = if one { INLINE_BYTES } else { POOLLESS_BYTES };
        if grader.grades_in_batches() || report {
            Stages::Pool
        } else if input_left.is_some_and(|b| b <= small) {
            Stages::Inline
        } else if one {
            Stages::OneIo
        } else {
            Stages::Pool
        }
    }
}

/// The reader-side reading for this run, when lines can be read lean: a CPU-bound grader
/// observing only named item keys and the sample text, without `--sample-key` or `--report`
/// (which read lines their own way).
fn planner(grader: &CompiledGrader, sample_key: Option<&str>, report: bool) -> Option<Planner> {
    let parts = gradekit_model::SampleParts::TEXT;
    if sample_key.is_some()
        || report
        || grader.grades_in_batches()
        || grader.sample_parts() != parts
    {
        return None;
    }
    Some(Planner {
        keys: grader.item_keys()?.to_vec(),
        parts,
    })
}

/// A chunk on its way to the writer: rows written on the grading threads, or the chunk's
/// plans with their results, whose rows the writer writes; with the chunk itself (its
/// buffers go back to the reader once written).
#[allow(clippy::large_enum_variant)] // one per chunk, moved once
enum Batch {
    Parts(Chunk, Vec<Part>),
    Graded(Chunk, Vec<Option<row::Outcome>>),
}

/// The grading stage, and the three ways of running the stages around it (see [`Stages`]).
struct Grading<'g> {
    grader: &'g CompiledGrader,
    rows: row::RowWriter,
    planner: Option<Planner>,
    /// `None`: grade on the calling thread.
    pool: Option<rayon::ThreadPool>,
    sample_key: Option<&'g str>,
    collector: Option<report::Collector>,
}

/// What a run of the stages ends with: whether every line was read, the summary, the bar.
type Finished = (bool, Summary, progress::Progress);

impl Grading<'_> {
    fn grade(&mut self, mut chunk: Chunk) -> Batch {
        let grader = self.grader;
        let parallel = self.pool.is_some();
        let install = |f: &mut (dyn FnMut() + Send)| match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        };
        match (&self.planner, &chunk.plans) {
            (Some(p), Some(plans)) => {
                let mut results = std::mem::take(&mut chunk.results);
                install(&mut || process::grade_plans(grader, p, plans, &mut results, parallel));
                Batch::Graded(chunk, results)
            }
            _ => {
                let mut parts = Vec::new();
                let collector = &mut self.collector;
                let (rows, key) = (&self.rows, self.sample_key);
                install(&mut || {
                    parts = process::process_chunk(
                        grader,
                        rows,
                        &chunk,
                        key,
                        collector.as_mut(),
                        parallel,
                    );
                });
                Batch::Parts(chunk, parts)
            }
        }
    }

    /// Grades chunks from `rx` into `tx` until either closes; false when a chunk was an
    /// error (reported here: the run stops after the rows before it are written). The time
    /// spent waiting for chunks is added to `idle` (nanoseconds).
    fn serve(
        &mut self,
        rx: mpsc::Receiver<Result<Chunk>>,
        tx: mpsc::SyncSender<(Batch, ChunkEnd)>,
        idle: Option<&AtomicU64>,
    ) -> bool {
        loop {
            let waiting = idle.map(|_| Instant::now());
            let Ok(chunk) = rx.recv() else { break };
            if let (Some(idle), Some(t)) = (idle, waiting) {
                let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
                idle.fetch_add(ns, Ordering::Relaxed);
            }
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return false;
                }
            };
            let end = ChunkEnd::of(&chunk);
            if tx.send((self.grade(chunk), end)).is_err() {
                break; // the writer stopped on an error, reported by the caller
            }
        }
        true
    }

    /// [`Stages::Inline`].
    fn inline(&mut self, mut source: read::Source, mut sink: Sink) -> Result<Finished> {
        let mut spare = read::Spare::default();
        let mut ok = true;
        while let Some(chunk) = source.next_chunk(spare) {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ok = false;
                    break;
                }
            };
            let end = ChunkEnd::of(&chunk);
            spare = sink.write(self.grade(chunk), end)?;
        }
        let (summary, bar) = sink.finish()?;
        Ok((ok, summary, bar))
    }

    /// [`Stages::OneIo`]: the I/O thread keeps up to [`AHEAD`] chunks read ahead, and writes
    /// each graded chunk as soon as it is back. When grading turns out to wait for the I/O
    /// thread (a cheap grader: this thread idle more than [`SPLIT_IDLE`] of the time over
    /// [`SPLIT_WINDOW`] chunks), the writing moves to a thread of its own: reading, grading
    /// and writing then run at once, as with a pool.
    fn with_io_thread(&mut self, mut source: read::Source, mut sink: Sink) -> Result<Finished> {
        let (tx, rx) = mpsc::sync_channel::<Result<Chunk>>(AHEAD);
        let (wtx, wrx) = mpsc::sync_channel::<(Batch, ChunkEnd)>(AHEAD);
        let idle = Arc::new(AtomicU64::new(0));
        let grading_idle = Arc::clone(&idle);
        let io = std::thread::spawn(move || -> Result<(Summary, progress::Progress)> {
            let mut io = OneIo::new(grading_idle);
            let mut tx = Some(tx);
            let mut split = false;
            while !split {
                if let Some(to_grade) = tx.as_ref().filter(|_| io.in_flight < AHEAD) {
                    match source.next_chunk(io.spares.pop().unwrap_or_default()) {
                        Some(chunk) => {
                            let last = chunk.as_ref().map_or(true, |c| c.eof);
                            if to_grade.send(chunk).is_err() || last {
                                tx = None;
                            }
                            io.in_flight += 1;
                        }
                        None => tx = None,
                    }
                    // Rows graded meanwhile are written before the next chunk is read.
                    while let Ok(graded) = wrx.try_recv() {
                        split |= io.write(&mut sink, graded)?;
                    }
                } else {
                    match wrx.recv() {
                        Ok(graded) => split = io.write(&mut sink, graded)?,
                        // Grading ended: every chunk it graded was received.
                        Err(_) => return sink.finish(),
                    }
                }
                // Only worth it while there is input left to read.
                split &= tx.is_some();
            }
            let Some(tx) = tx else {
                return Err(anyhow::anyhow!("internal: split with nothing left to read"));
            };
            let (spare_tx, spare_rx) = mpsc::sync_channel::<read::Spare>(8);
            for s in io.spares.drain(..) {
                let _ = spare_tx.try_send(s);
            }
            let writer = std::thread::spawn(move || {
                for (batch, end) in wrx {
                    let _ = spare_tx.try_send(sink.write(batch, end)?);
                }
                sink.finish()
            });
            read::read_chunks(source, &tx, Some(&spare_rx));
            drop(tx);
            writer
                .join()
                .map_err(|_| anyhow::anyhow!("the output writer thread failed"))?
        });
        let ok = self.serve(rx, wtx, Some(&idle));
        let (summary, bar) = io
            .join()
            .map_err(|_| anyhow::anyhow!("the input and output thread failed"))??;
        Ok((ok, summary, bar))
    }

    /// [`Stages::Pool`]: a reader thread keeps the next chunks ready, this thread has the pool
    /// grade one, and a writer thread writes the one before, in order.
    fn with_reader_and_writer(&mut self, source: read::Source, mut sink: Sink) -> Result<Finished> {
        let (tx, rx) = mpsc::sync_channel::<Result<Chunk>>(2);
        // As many as chunks can be in flight (reader, two queued, grading, two queued, writer):
        // buffers are then reused, never dropped and allocated again.
        let (spare_tx, spare_rx) = mpsc::sync_channel::<read::Spare>(8);
        let reader = std::thread::spawn(move || read::read_chunks(source, &tx, Some(&spare_rx)));
        let (wtx, wrx) = mpsc::sync_channel::<(Batch, ChunkEnd)>(2);
        let writer = std::thread::spawn(move || {
            for (batch, end) in wrx {
                let _ = spare_tx.try_send(sink.write(batch, end)?);
            }
            sink.finish()
        });
        let ok = self.serve(rx, wtx, None);
        let _ = reader.join();
        let (summary, bar) = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the output writer thread failed"))??;
        Ok((ok, summary, bar))
    }
}

/// The state of the one I/O thread of [`Stages::OneIo`].
struct OneIo {
    /// Nanoseconds the grading thread waited for chunks.
    grading_idle: Arc<AtomicU64>,
    /// Start of the current window of [`SPLIT_WINDOW`] chunks: when, and the grading thread's
    /// waits by then.
    window: (Instant, u64),
    /// Buffers of written chunks, for the next chunks read.
    spares: Vec<read::Spare>,
    /// Chunks read and not written yet.
    in_flight: usize,
    written: usize,
}

impl OneIo {
    fn new(grading_idle: Arc<AtomicU64>) -> OneIo {
        OneIo {
            grading_idle,
            window: (Instant::now(), 0),
            spares: Vec::new(),
            in_flight: 0,
            written: 0,
        }
    }

    /// Writes a graded chunk; true when writing should move to a thread of its own: the
    /// grading thread waited more than [`SPLIT_IDLE`] of a window of [`SPLIT_WINDOW`] chunks
    /// (windows start after the first ones, read while the chunks grow and the caches fill).
    fn write(&mut self, sink: &mut Sink, (batch, end): (Batch, ChunkEnd)) -> Result<bool> {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.spares.push(sink.write(batch, end)?);
        self.written += 1;
        if !self.written.is_multiple_of(SPLIT_WINDOW) {
            return Ok(false);
        }
        let idle = self.grading_idle.load(Ordering::Relaxed);
        let (since, idle_then) = std::mem::replace(&mut self.window, (Instant::now(), idle));
        let waited = Duration::from_nanos(idle.saturating_sub(idle_then));
        Ok(self.written > SPLIT_WINDOW && waited > since.elapsed().mul_f64(SPLIT_IDLE))
    }
}

/// Rows written at once by the writer: small enough to stay in the cache between being
/// formatted, hashed and copied by `write`.
const WRITE_BYTES: usize = 64 << 10;

/// Least time between two checkpoints. Replacing the checkpoint costs a file write and a
/// rename (which ext4 follows with a flush of the new file): after every chunk that was a
/// visible share of a fast run. A crash redoes at most this much work more.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Where the input stands after a chunk, for its checkpoint and the progress line.
#[derive(Clone)]
struct ChunkEnd {
    last_line: u64,
    end_offset: u64,
    end_hash: u64,
    eof: bool,
}

impl ChunkEnd {
    fn of(c: &Chunk) -> ChunkEnd {
        ChunkEnd {
            last_line: c.last_line,
            end_offset: c.end_offset,
            end_hash: c.end_hash,
            eof: c.eof,
        }
    }
}

struct CheckpointTarget {
    path: PathBuf,
    grader_sha256: String,
    input: String,
    /// Keep the checkpoint of a complete run (`--resume` runs: resuming again is a no-op).
    /// A plain run that completes removes it: nothing is left to resume.
    keep_when_complete: bool,
    /// When the last checkpoint was saved (`None`: none yet).
    saved: Option<Instant>,
    /// The state after the last chunk written, when it was not saved yet.
    pending: Option<resume::Checkpoint>,
}

/// The writer stage: writes each chunk's rows in order, then its checkpoint (after the first
/// chunk, then at most every [`CHECKPOINT_EVERY`], and at the end of a `--resume` run); keeps
/// the summary and the progress display.
struct Sink {
    rows: row::RowWriter,
    /// Rows of a [`Batch::Graded`] chunk on their way out (kept between chunks).
    buf: Vec<u8>,
    out: io::Output,
    out_bytes: u64,
    /// Hash of every byte of OUT so far (checkpoints record it for `--resume`).
    out_hash: resume::InputHash,
    last_row_line: u64,
    summary: Summary,
    bar: progress::Progress,
    threshold: Option<f64>,
    checkpoint: Option<CheckpointTarget>,
}

impl Sink {
    /// Writes rows (their results are counted by the caller).
    fn emit(&mut self, text: &[u8]) -> Result<()> {
        self.out
            .write_all(text)
            .context("cannot write the output")?;
        self.out_bytes += text.len() as u64;
        if self.checkpoint.is_some() {
            self.out_hash.update(text);
            if let Some(l) = resume::last_row_line(text) {
                self.last_row_line = l;
            }
        }
        Ok(())
    }

    /// Writes the rows of a chunk graded from its plans, [`WRITE_BYTES`] at a time (rows are
    /// written while they are still in the cache), and hands its buffers back to the reader.
    fn graded(
        &mut self,
        chunk: Chunk,
        mut results: Vec<Option<row::Outcome>>,
    ) -> Result<read::Spare> {
        let mut buf = std::mem::take(&mut self.buf);
        if let Some(plans) = &chunk.plans {
            for (i, r) in results.iter().enumerate() {
                let n = chunk.line(i).0;
                match (r, plans.plans.get(i)) {
                    (Some(r), _) => {
                        self.rows.outcome_raw(&mut buf, n, plans.id(i), r);
                        self.summary.add_outcome(r, self.threshold);
                    }
                    (None, Some(plan::Plan::Invalid { code, message, .. })) => {
                        row::RowWriter::invalid_raw(&mut buf, n, plans.id(i), code, message);
                        self.summary.invalid_lines += 1;
                    }
                    (None, _) => self.summary.invalid_lines += 1, // not expected: see `Plans::grade`
                }
                if buf.len() >= WRITE_BYTES || i + 1 == results.len() {
                    self.emit(&buf)?;
                    buf.clear();
                }
            }
        }
        self.buf = buf;
        results.clear();
        Ok(chunk.into_spare(results))
    }

    /// Writes one chunk's rows (and maybe its checkpoint); returns its buffers for reuse.
    fn write(&mut self, batch: Batch, end: ChunkEnd) -> Result<read::Spare> {
        let spare = match batch {
            Batch::Parts(chunk, parts) => {
                for part in parts {
                    self.emit(&part.text)?;
                    for r in &part.results {
                        match r {
                            Some(r) => self.summary.add(r, self.threshold),
                            None => self.summary.invalid_lines += 1,
                        }
                    }
                }
                chunk.into_spare(Vec::new())
            }
            Batch::Graded(chunk, results) => self.graded(chunk, results)?,
        };
        self.out.flush().context("cannot write the output")?;
        if let Some(cp) = &mut self.checkpoint {
            let state = resume::Checkpoint {
                version: resume::VERSION,
                grader_sha256: cp.grader_sha256.clone(),
                input: cp.input.clone(),
                input_offset: end.end_offset,
                input_hash: resume::hex(end.end_hash),
                line: end.last_line,
                output_bytes: self.out_bytes,
                output_hash: self.out_hash.hex(),
                last_row_line: self.last_row_line,
                complete: end.eof,
            };
            // The last one of a plain run is not saved: the run removes it when it completes.
            let due = (cp.keep_when_complete || !end.eof)
                && cp.saved.is_none_or(|t| t.elapsed() >= CHECKPOINT_EVERY);
            if due {
                resume::save(&cp.path, &state)?;
                cp.saved = Some(Instant::now());
                cp.pending = None;
            } else {
                cp.pending = Some(state);
            }
        }
        self.bar.tick(&progress::Snapshot {
            rows: self.summary.count() as u64,
            bytes: end.end_offset,
            mean: self.summary.running_mean(),
            errors: self.summary.rows_with_errors,
            invalid: self.summary.invalid_lines,
        });
        Ok(spare)
    }

    /// Completes the output; then removes the checkpoint of a plain run (nothing is left to
    /// resume), or saves the last state of a `--resume` run.
    fn finish(mut self) -> Result<(Summary, progress::Progress)> {
        self.out.finish().context("cannot write the output")?;
        if let Some(cp) = self.checkpoint.as_mut() {
            if !cp.keep_when_complete {
                match std::fs::remove_file(&cp.path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(e).context(format!("cannot remove {}", cp.path.display()));
                    }
                    _ => {}
                }
            } else if let Some(state) = cp.pending.take() {
                resume::save(&cp.path, &state)?;
            }
        }
        Ok((self.summary, self.bar))
    }
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
