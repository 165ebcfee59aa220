//! Who reads, grades and writes in `gradekit score`: everything on the calling thread (small
//! files), the calling thread grading beside one I/O thread (`--threads 1`), or a pool of
//! grading threads between a reader and a writer; and the grading stage they share.

use super::*;

/// A plain input file at most this large is read, graded and written by one thread: starting
/// a thread and handing chunks between two costs more than overlapping reading and writing
/// with grading saves (measured: ~0.5 ms; the two cross near 1,000 lines of 530 bytes for
/// rouge_l, later for cheaper graders).
pub(super) const INLINE_BYTES: u64 = 256 << 10;

/// A plain input file at most this large is graded inline whatever `--threads` says: starting
/// a pool of grading threads and a reader and a writer costs ≈ 1 ms, more than spreading a
/// few dozen lines over the cores saves.
pub(super) const POOLLESS_BYTES: u64 = 64 << 10;

/// A wait for a chunk at least this long (ns) means the I/O thread is behind grading (see
/// [`Grading::rows_here`]); shorter ones are the channel's own hand-over.
pub(super) const STARVED_NS: u64 = 10_000;

/// Chunks read ahead of the writer with one I/O thread: one being graded, the next ones ready.
pub(super) const AHEAD: usize = 3;

/// Chunks over which the one I/O thread measures how long grading waits for it (the first
/// window is not counted: the chunks are still growing).
pub(super) const SPLIT_WINDOW: usize = 8;

/// Share of the time the grading thread waits for the one I/O thread past which writing gets
/// a thread of its own: with a cheap grader, reading and writing in turn on one thread is
/// what bounds the run, and a third thread on two cores costs less than it gains.
pub(super) const SPLIT_IDLE: f64 = 1.0 / 3.0;

/// Largest chunk with one I/O thread: a chunk's input, plans and rows then stay in the
/// cache between being read, scanned and written (one grading thread needs no more lines
/// at once to stay busy). Each chunk buffer in flight is fresh memory once, at a page fault
/// per 4 KiB, most of them while the chunks grow at the start, when grading waits for them:
/// 256 lines instead of 512 made one pass over 2,000 distinct rouge_l pairs ~8 % faster and
/// over 10,000 ~3 %, 100,000 lines ~1 % slower (BENCHMARKS.md, #17 "startup"); 128 instead
/// of 256 again ~7 % and ~4 % (a fifth fewer page faults; 96 was slower than 128), and past
/// [`ONE_IO_LONG_AFTER`] lines chunks grow to 256 again (#17 "warm5").
pub(super) const ONE_IO_CHUNK_LINES: usize = 128;

/// Lines read with one I/O thread past which chunks grow to [`ONE_IO_LONG_CHUNK_LINES`]: a
/// long run of a cheap grader hands over fewer chunks (128-line chunks throughout made
/// 100,000 lines ~2–4 % slower than 256; see `read::Source::later`).
pub(super) const ONE_IO_LONG_AFTER: u64 = 16_384;

/// Largest chunk with one I/O thread past [`ONE_IO_LONG_AFTER`] lines.
pub(super) const ONE_IO_LONG_CHUNK_LINES: usize = 256;

/// Who reads, grades and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stages {
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
    pub(super) fn choose(
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
pub(super) fn planner(
    grader: &CompiledGrader,
    sample_key: Option<&str>,
    report: bool,
) -> Option<Planner> {
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
pub(super) enum Batch {
    Parts(Chunk, Vec<Part>),
    Graded(Chunk, Vec<Option<row::Outcome>>),
    /// Graded from its plans, its rows already in `chunk.rows` (see [`Grading::rows_here`]).
    Rows(Chunk, Vec<Option<row::Outcome>>),
}

/// The grading stage, and the three ways of running the stages around it (see [`Stages`]).
pub(super) struct Grading<'g> {
    pub(super) grader: &'g CompiledGrader,
    pub(super) rows: row::RowWriter,
    pub(super) planner: Option<Planner>,
    /// `None`: grade on the calling thread.
    pub(super) pool: Option<rayon::ThreadPool>,
    pub(super) sample_key: Option<&'g str>,
    pub(super) collector: Option<report::Collector>,
    /// With one I/O thread: a chunk graded from its plans that this thread had to wait for
    /// gets its rows written here ([`Batch::Rows`]), not by the I/O thread, which is then the
    /// one that bounds the run (a cheap grader such as rouge_l: reading, planning, writing
    /// and the kernel's copies cost about what grading does). A chunk that was ready when
    /// asked for leaves them to the I/O thread (a costlier grader bounds the run itself).
    /// Measured in BENCHMARKS.md, #17 "startup".
    pub(super) rows_here: bool,
    /// With one I/O thread: raised while this thread waits for chunks, so that the reader
    /// leaves the next chunk's planning to it (see [`read::Source::plan_elsewhere`]).
    pub(super) plan_here: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// This thread and the I/O thread each have a CPU of their own for the start of the run
    /// (see `pin`); meanwhile waits poll a little before they sleep (see `spin`).
    pub(super) pinning: Option<Arc<pin::Pinning>>,
}

/// The chunk, or `None` once the error that stopped the reading is reported (the run then
/// stops after the rows before it are written, and exits with 2).
pub(super) fn readable(chunk: Result<Chunk>) -> Option<Chunk> {
    chunk.map_err(|e| eprintln!("error: {e:#}")).ok()
}

/// What a run of the stages ends with: whether every line was read, the summary, the bar.
pub(super) type Finished = (bool, Summary, progress::Progress);

impl Grading<'_> {
    /// Grades a chunk; `rows_here`: write its rows too, when graded from plans.
    pub(super) fn grade(&mut self, mut chunk: Chunk, rows_here: bool) -> Batch {
        let grader = self.grader;
        if let Some(p) = &self.planner {
            chunk.plan(p);
        }
        let parallel = self.pool.is_some();
        let install = |f: &mut (dyn FnMut() + Send)| match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        };
        match (&self.planner, &chunk.plans) {
            (Some(p), Some(plans)) => {
                let mut results = std::mem::take(&mut chunk.results);
                install(&mut || process::grade_plans(grader, p, plans, &mut results, parallel));
                if rows_here {
                    sink::plan_rows(&self.rows, &mut chunk, &results);
                    Batch::Rows(chunk, results)
                } else {
                    Batch::Graded(chunk, results)
                }
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
    pub(super) fn serve(
        &mut self,
        rx: mpsc::Receiver<Result<Chunk>>,
        tx: mpsc::SyncSender<(Batch, ChunkEnd)>,
        idle: Option<&AtomicU64>,
    ) -> bool {
        let pinned = self.pinning.is_some();
        let (mut recv, mut send) = (spin::Waiter::new(pinned), spin::Waiter::new(pinned));
        loop {
            if let Some(p) = self.pinning.take_if(|p| p.expired()) {
                p.release_here();
                recv.stop();
                send.stop();
            }
            let waiting = idle.map(|_| Instant::now());
            let Ok(chunk) = recv.recv(&rx) else { break };
            let mut starved = false;
            if let (Some(idle), Some(t)) = (idle, waiting) {
                let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
                idle.fetch_add(ns, Ordering::Relaxed);
                starved = ns >= STARVED_NS;
            }
            if let Some(flag) = &self.plan_here {
                flag.store(starved, Ordering::Relaxed);
            }
            let Some(chunk) = readable(chunk) else {
                return false;
            };
            let end = ChunkEnd::of(&chunk);
            let batch = self.grade(chunk, self.rows_here && starved);
            if send.send(&tx, (batch, end)).is_err() {
                break; // the writer stopped on an error, reported by the caller
            }
        }
        true
    }

    /// [`Stages::Inline`].
    pub(super) fn inline(&mut self, mut source: read::Source, mut sink: Sink) -> Result<Finished> {
        let mut spare = read::Spare::default();
        let mut ok = true;
        while let Some(chunk) = source.next_chunk(spare) {
            let Some(chunk) = readable(chunk) else {
                ok = false;
                break;
            };
            let end = ChunkEnd::of(&chunk);
            spare = sink.write(self.grade(chunk, false), end)?;
        }
        let (summary, bar) = sink.finish()?;
        Ok((ok, summary, bar))
    }

    /// [`Stages::Pool`]: a reader thread keeps the next chunks ready, this thread has the pool
    /// grade one, and a writer thread writes the one before, in order.
    pub(super) fn with_reader_and_writer(
        &mut self,
        source: read::Source,
        mut sink: Sink,
    ) -> Result<Finished> {
        let (tx, rx) = mpsc::sync_channel::<Result<Chunk>>(2);
        // As many as chunks can be in flight (reader, two queued, grading, two queued, writer):
        // buffers are then reused, never dropped and allocated again.
        let (spare_tx, spare_rx) = mpsc::sync_channel::<read::Spare>(8);
        let reader = std::thread::spawn(move || read::read_chunks(source, &tx, Some(&spare_rx), 0));
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
