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
use std::sync::mpsc;
use std::time::Instant;
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
    grading_threads(a.engine.spec.threads, true)?; // a usage error before anything is read
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
    let bar = progress::Progress::new(mode, total_bytes)
        .resumed_from(summary.resumed_rows as u64, in_offset);
    let start = Instant::now();

    // Three stages run at once: a reader thread keeps the next chunks ready, this thread has
    // the pool grade one, and a writer thread writes the one before, in order.
    // Lines in the common shape are read on the reader thread and their rows written on the
    // writer thread, so the grading threads only grade (see `plan`).
    let planner = planner(&grader, a.sample_key.as_deref(), a.report.is_some());
    let (tx, rx) = mpsc::sync_channel::<Result<Chunk>>(2);
    let input_name = a.input.display().to_string();
    let max_line = a.max_line_bytes;
    let reader_planner = planner.clone();
    // As many as chunks can be in flight (reader, two queued, grading, two queued, writer):
    // buffers are then reused, never dropped and allocated again.
    let (spare_tx, spare_rx) = mpsc::sync_channel::<read::Spare>(8);
    let reader_thread = std::thread::spawn(move || {
        read::read_chunks(
            reader,
            start_line,
            in_offset,
            in_hash,
            &tx,
            &input_name,
            max_line,
            reader_planner.as_ref(),
            Some(&spare_rx),
        );
    });
    let (wtx, wrx) = mpsc::sync_channel::<(Batch, ChunkEnd)>(2);
    let sink = Sink {
        rows: row::RowWriter::new(&grader),
        buf: Vec::with_capacity(WRITE_BYTES + (64 << 10)),
        spares: spare_tx,
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
        }),
    };
    let writer_thread = std::thread::spawn(move || sink.run(wrx));
    let rows = row::RowWriter::new(&grader);
    let sample_key = a.sample_key.as_deref();
    let mut done_ok = true;
    let mut collector = a.report.as_ref().map(|_| report::Collector::new());
    for chunk in rx {
        let mut chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                done_ok = false;
                eprintln!("error: {e:#}");
                break;
            }
        };
        let end = ChunkEnd {
            last_line: chunk.last_line,
            end_offset: chunk.end_offset,
            end_hash: chunk.end_hash.clone(),
            eof: chunk.eof,
        };
        let batch = match (&planner, &chunk.plans) {
            (Some(p), Some(plans)) => {
                let mut results = std::mem::take(&mut chunk.results);
                pool.install(|| process::grade_plans(&grader, p, plans, &mut results));
                Batch::Graded(chunk, results)
            }
            _ => Batch::Parts(pool.install(|| {
                process::process_chunk(&grader, &rows, &chunk, sample_key, collector.as_mut())
            })),
        };
        if wtx.send((batch, end)).is_err() {
            break; // the writer stopped on an error, reported below
        }
    }
    drop(wtx);
    let _ = reader_thread.join();
    let (summary, bar) = writer_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the output writer thread failed"))??;
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

/// Grading threads allowed per core: `--threads` above this only adds switching (the work is
/// CPU-bound; judge calls have their own width, `--judge-concurrency`).
const MAX_THREADS_PER_CORE: usize = 4;

/// `--threads` checked: 0 is a usage error; more than [`MAX_THREADS_PER_CORE`] × cores is
/// clamped with a warning (thousands of threads would spend the run being created).
fn grading_threads(asked: Option<usize>, quiet: bool) -> Result<Option<usize>> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let max = cores * MAX_THREADS_PER_CORE;
    match asked {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(t) if t > max => {
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

fn build_pool(a: &Args, grader: &CompiledGrader) -> Result<rayon::ThreadPool> {
    let threads = grading_threads(a.engine.spec.threads, a.quiet)?;
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        builder = builder.num_threads(t);
    }
    if let Some(width) = grader.io_width() {
        // Judge calls are I/O: keep --judge-concurrency samples in flight, whatever the cores.
        let cpu = threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        builder = builder.num_threads(cpu.max(width));
    }
    builder.build().context("cannot start the grading threads")
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
/// plans with their results, whose rows the writer writes.
#[allow(clippy::large_enum_variant)] // one per chunk, moved once
enum Batch {
    Parts(Vec<Part>),
    Graded(Chunk, Vec<Option<GradeResult>>),
}

/// Rows written at once by the writer: small enough to stay in the cache between being
/// formatted, hashed and copied by `write`.
const WRITE_BYTES: usize = 64 << 10;

/// Where the input stands after a chunk, for its checkpoint and the progress line.
struct ChunkEnd {
    last_line: u64,
    end_offset: u64,
    end_hash: String,
    eof: bool,
}

struct CheckpointTarget {
    path: PathBuf,
    grader_sha256: String,
    input: String,
    /// Keep the checkpoint of a complete run (`--resume` runs: resuming again is a no-op).
    /// A plain run that completes removes it: nothing is left to resume.
    keep_when_complete: bool,
}

/// The writer stage: writes each chunk's rows in order, then its checkpoint; keeps the
/// summary and the progress display.
struct Sink {
    rows: row::RowWriter,
    /// Rows of a [`Batch::Graded`] chunk on their way out (kept between chunks).
    buf: Vec<u8>,
    /// Buffers of written chunks, back to the reader.
    spares: mpsc::SyncSender<read::Spare>,
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
    /// Writes rows and counts their results (`None`: an error row).
    fn emit<'r>(
        &mut self,
        text: &[u8],
        results: impl Iterator<Item = Option<&'r GradeResult>>,
    ) -> Result<()> {
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
        for r in results {
            match r {
                Some(r) => self.summary.add(r, self.threshold),
                None => self.summary.invalid_lines += 1,
            }
        }
        Ok(())
    }

    /// Writes the rows of a chunk graded from its plans, [`WRITE_BYTES`] at a time (rows are
    /// written while they are still in the cache), and hands its buffers back to the reader.
    fn graded(&mut self, chunk: Chunk, mut results: Vec<Option<GradeResult>>) -> Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        let mut from = 0;
        if let Some(plans) = &chunk.plans {
            for (i, r) in results.iter().enumerate() {
                let n = chunk.line(i).0;
                match (r, plans.plans.get(i)) {
                    (Some(r), _) => self.rows.graded_raw(&mut buf, n, plans.id(i), r),
                    (None, Some(plan::Plan::Invalid { code, message, .. })) => {
                        row::RowWriter::invalid_raw(&mut buf, n, plans.id(i), code, message)
                    }
                    (None, _) => {} // every plan but an error row has a result
                }
                if buf.len() >= WRITE_BYTES || i + 1 == results.len() {
                    self.emit(&buf, results[from..=i].iter().map(Option::as_ref))?;
                    buf.clear();
                    from = i + 1;
                }
            }
        }
        self.buf = buf;
        results.clear();
        let _ = self.spares.try_send(chunk.into_spare(results));
        Ok(())
    }

    fn run(
        mut self,
        rx: mpsc::Receiver<(Batch, ChunkEnd)>,
    ) -> Result<(Summary, progress::Progress)> {
        for (batch, end) in rx {
            match batch {
                Batch::Parts(parts) => {
                    for part in parts {
                        self.emit(&part.text, part.results.iter().map(Option::as_ref))?;
                    }
                }
                Batch::Graded(chunk, results) => self.graded(chunk, results)?,
            }
            self.out.flush().context("cannot write the output")?;
            if let Some(cp) = &self.checkpoint {
                resume::save(
                    &cp.path,
                    &resume::Checkpoint {
                        version: resume::VERSION,
                        grader_sha256: cp.grader_sha256.clone(),
                        input: cp.input.clone(),
                        input_offset: end.end_offset,
                        input_hash: end.end_hash,
                        line: end.last_line,
                        output_bytes: self.out_bytes,
                        output_hash: self.out_hash.hex(),
                        last_row_line: self.last_row_line,
                        complete: end.eof,
                    },
                )?;
            }
            self.bar.tick(&progress::Snapshot {
                rows: self.summary.count() as u64,
                bytes: end.end_offset,
                mean: self.summary.running_mean(),
                errors: self.summary.rows_with_errors,
                invalid: self.summary.invalid_lines,
            });
        }
        self.out.finish().context("cannot write the output")?;
        if let Some(cp) = self.checkpoint.as_ref().filter(|c| !c.keep_when_complete) {
            match std::fs::remove_file(&cp.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).context(format!("cannot remove {}", cp.path.display()));
                }
                _ => {}
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
