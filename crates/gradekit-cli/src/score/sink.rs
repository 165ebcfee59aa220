//! The writer stage of `gradekit score`: rows out in input order, the checkpoint that
//! `--resume` trusts (output length and hash after whole chunks), the summary and the progress
//! display.

use super::blocks::BlockOut;
use super::{outhash, plan, progress, read, resume, row, Batch, Summary};
use anyhow::{Context, Result};
use read::Chunk;
use std::path::PathBuf;
use std::time::Instant;

/// Rows written at once by the writer: small enough to stay in the cache between being
/// formatted, hashed and copied by `write`.
pub(super) const WRITE_BYTES: usize = 64 << 10;

/// Least time between two checkpoints. Replacing the checkpoint costs a file write and a
/// rename (which ext4 follows with a flush of the new file): after every chunk that was a
/// visible share of a fast run. A crash redoes at most this much work more.
pub(super) const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Least time a run lasts before its first checkpoint (saved after the first chunk written
/// from then on). A run over a few thousand lines ends in a few milliseconds: its first
/// checkpoint (the grader's sha256 with sha2's CPU probing, the file's creation and rename,
/// its removal at the end) was ~4 % of such a run, paid on the I/O thread while grading
/// waited for it (#17 "warm5"). A run killed before this leaves rows and no checkpoint, as a
/// run killed between its first rows and its first checkpoint always did: `--resume` then
/// refuses it, and running it again costs at most this much.
pub(super) const FIRST_CHECKPOINT_AFTER: std::time::Duration = std::time::Duration::from_millis(5);

/// Where the input stands after a chunk, for its checkpoint and the progress line.
#[derive(Clone)]
pub(super) struct ChunkEnd {
    pub(super) last_line: u64,
    pub(super) end_offset: u64,
    pub(super) end_hash: u64,
    pub(super) eof: bool,
}

impl ChunkEnd {
    pub(super) fn of(c: &Chunk) -> ChunkEnd {
        ChunkEnd {
            last_line: c.last_line,
            end_offset: c.end_offset,
            end_hash: c.end_hash,
            eof: c.eof,
        }
    }
}

pub(super) struct CheckpointTarget {
    pub(super) path: PathBuf,
    pub(super) grader_sha: resume::GraderSha,
    pub(super) input: String,
    /// `--sample-key` of the run (recorded: a resume must use the same).
    pub(super) sample_key: Option<String>,
    /// Keep the checkpoint of a complete run (`--resume` runs: resuming again is a no-op).
    /// A plain run that completes removes it: nothing is left to resume.
    pub(super) keep_when_complete: bool,
    /// When the run started (its first checkpoint is due [`FIRST_CHECKPOINT_AFTER`] later).
    pub(super) started: Instant,
    /// When the last checkpoint was saved (`None`: none yet).
    pub(super) saved: Option<Instant>,
    /// The state after the last chunk written, when it was not saved yet.
    pub(super) pending: Option<resume::Checkpoint>,
    /// The last chunk of the input was written. A run cut before it (an input that could not
    /// be read to its end) keeps its checkpoint: `--resume` continues it.
    pub(super) reached_end: bool,
}

impl CheckpointTarget {
    /// Time until the next checkpoint is due (zero: due now): [`FIRST_CHECKPOINT_AFTER`] after
    /// the start, then [`CHECKPOINT_EVERY`] after the last one saved.
    pub(super) fn due_in(&self) -> std::time::Duration {
        let at = match self.saved {
            Some(t) => t + CHECKPOINT_EVERY,
            None => self.started + FIRST_CHECKPOINT_AFTER,
        };
        at.saturating_duration_since(Instant::now())
    }
}

/// The writer stage: writes each chunk's rows in order, then its checkpoint (after the first
/// chunk written [`FIRST_CHECKPOINT_AFTER`] into the run, then at most every
/// [`CHECKPOINT_EVERY`], and at the end of a `--resume` run); keeps
/// the summary and the progress display.
pub(super) struct Sink {
    pub(super) rows: row::RowWriter,
    /// Rows of a [`Batch::Graded`] chunk on their way out (kept between chunks).
    pub(super) buf: Vec<u8>,
    /// OUT; rows given to it may be held until a later write (see `super::blocks`): it is
    /// settled before OUT is read back or a checkpoint saved.
    pub(super) out: BlockOut,
    pub(super) out_bytes: u64,
    /// Hash of OUT (checkpoints record it for `--resume`), kept up to date only while a
    /// checkpoint may need it (see [`outhash`]).
    pub(super) out_hash: outhash::OutHash,
    /// Hash the rows of the chunk being written as they are written.
    pub(super) hash_now: bool,
    pub(super) last_row_line: u64,
    pub(super) summary: Summary,
    pub(super) bar: progress::Progress,
    pub(super) threshold: Option<f64>,
    pub(super) checkpoint: Option<CheckpointTarget>,
}

impl Sink {
    /// Writes rows (their results are counted by the caller).
    pub(super) fn emit(&mut self, text: &[u8]) -> Result<()> {
        self.out
            .write_all(text)
            .context("cannot write the output")?;
        let at = self.out_bytes;
        self.out_bytes += text.len() as u64;
        if self.checkpoint.is_some() {
            if self.hash_now {
                if self.out_hash.hashed < at {
                    // The bytes not hashed yet are read back from OUT first.
                    self.out.settle().context("cannot write the output")?;
                }
                self.out_hash.update(at, text)?;
            }
            if let Some(l) = resume::last_row_line(text) {
                self.last_row_line = l;
            }
        }
        Ok(())
    }

    /// Counts a result of a chunk graded from its plans in the summary (`None`: an error row).
    fn count(&mut self, r: Option<&row::Outcome>) {
        match r {
            Some(r) => self.summary.add_outcome(r, self.threshold),
            None => self.summary.invalid_lines += 1,
        }
    }

    /// Writes the rows of a chunk graded from its plans, [`WRITE_BYTES`] at a time (rows are
    /// written while they are still in the cache), and hands its buffers back to the reader.
    fn graded(
        &mut self,
        chunk: Chunk,
        mut results: Vec<Option<row::Outcome>>,
    ) -> Result<read::Spare> {
        let mut buf = std::mem::take(&mut self.buf);
        // Filled to `WRITE_BYTES` and a row before each write: not grown on the way. Made
        // here, on the thread that writes, not when the run starts on the calling thread,
        // while the I/O thread maps its first buffers: the calling thread's first chunk came
        // ~50 µs later with it (#17 "start9").
        if buf.capacity() == 0 {
            buf.reserve(WRITE_BYTES + self.rows.clean_row_bytes());
        }
        if let Some(plans) = &chunk.plans {
            for (i, r) in results.iter().enumerate() {
                plan_row(&self.rows, &mut buf, &chunk, plans, i, r.as_ref());
                self.count(r.as_ref());
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

    /// Writes the rows of a chunk that the grading thread wrote ([`plan_rows`]) at once.
    fn rows(
        &mut self,
        chunk: Chunk,
        mut results: Vec<Option<row::Outcome>>,
    ) -> Result<read::Spare> {
        for r in &results {
            self.count(r.as_ref());
        }
        if !chunk.rows.is_empty() {
            self.emit(&chunk.rows)?;
        }
        results.clear();
        Ok(chunk.into_spare(results))
    }

    /// Writes one chunk's rows (and maybe its checkpoint); returns its buffers for reuse.
    pub(super) fn write(&mut self, batch: Batch, end: ChunkEnd) -> Result<read::Spare> {
        if end.eof {
            self.out.last_rows();
        }
        if let Some(cp) = &self.checkpoint {
            self.hash_now = self.out_hash.hash_chunk(end.end_offset, cp.due_in());
        }
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
            Batch::Rows(chunk, results) => self.rows(chunk, results)?,
        };
        self.out.flush().context("cannot write the output")?;
        if let Some(cp) = &mut self.checkpoint {
            cp.reached_end |= end.eof;
            // The last one of a plain run is not saved: the run removes it when it completes.
            let due = (cp.keep_when_complete || !end.eof) && cp.due_in().is_zero();
            // A pending state gets its output hash when it is saved (see `finish`).
            if due {
                // What the checkpoint records is in OUT when it is saved (and read back to
                // hash, when some of it was written unhashed).
                self.out.settle().context("cannot write the output")?;
            }
            let output_hash = match due {
                true => self.out_hash.hex_at(self.out_bytes)?,
                false => String::new(),
            };
            let state = resume::Checkpoint {
                version: resume::VERSION,
                // Filled in when the state is saved (see [`resume::GraderSha`]).
                grader_sha256: String::new(),
                input: cp.input.clone(),
                sample_key: cp.sample_key.clone(),
                input_offset: end.end_offset,
                input_hash: resume::hex(end.end_hash),
                line: end.last_line,
                output_bytes: self.out_bytes,
                output_hash,
                last_row_line: self.last_row_line,
                complete: end.eof,
            };
            if due {
                let mut state = state;
                state.grader_sha256 = cp.grader_sha.hex().to_owned();
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

    /// Completes the output; then removes the checkpoint of a plain run that read its input to
    /// the end (nothing is left to resume), or saves the last state of a `--resume` run or of a
    /// run cut by an input error (it is resumed from there).
    ///
    /// Only `score`'s `main` finishes a sink, once, and the process exits after it: the row
    /// buffers (this one's and the held rows of `BlockOut`, up to ~200 KB) go back to the
    /// system with the process instead of being freed here, after the run's last rows, while
    /// the calling thread waits for this one's result. Freed, they were ~20 µs of the end of
    /// a one-pass run (#17 "rouge13": `finish` 40 → 20 µs in the timeline).
    pub(super) fn finish(mut self) -> Result<(Summary, progress::Progress)> {
        std::mem::forget(std::mem::take(&mut self.buf));
        self.out.finish().context("cannot write the output")?;
        if let Some(cp) = self.checkpoint.as_mut() {
            if cp.reached_end && !cp.keep_when_complete {
                match std::fs::remove_file(&cp.path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(e).context(format!("cannot remove {}", cp.path.display()));
                    }
                    _ => {}
                }
            } else if let Some(mut state) = cp.pending.take() {
                state.output_hash = self.out_hash.hex_at(state.output_bytes)?;
                state.grader_sha256 = cp.grader_sha.hex().to_owned();
                resume::save(&cp.path, &state)?;
            }
        }
        Ok((self.summary, self.bar))
    }
}

/// Appends the row of line `i` of a chunk graded from its plans, whose result is `r` (`None`:
/// the line's plan is an error row).
fn plan_row(
    rows: &row::RowWriter,
    buf: &mut Vec<u8>,
    chunk: &Chunk,
    plans: &plan::Plans,
    i: usize,
    r: Option<&row::Outcome>,
) {
    let n = chunk.line_no(i);
    match (r, plans.plans.get(i)) {
        (Some(r), _) => rows.outcome_raw(buf, n, plans.id(i), r),
        (None, Some(plan::Plan::Invalid { code, message, .. })) => {
            row::RowWriter::invalid_raw(buf, n, plans.id(i), code, message);
        }
        (None, _) => {} // not expected: see `Plans::grade`
    }
}

/// Writes the rows of a chunk graded from its plans into `chunk.rows`, where [`Batch::Rows`]
/// takes them: the bytes the writer writes for [`Batch::Graded`], on the grading thread.
///
/// The rows go into the chunk's input buffer: once planned, a chunk's input bytes are not
/// read again (the plans hold what grading and the rows need), and that buffer is memory
/// already in use, where a buffer of its own for the rows was ~270 KB of fresh memory (a
/// page fault per 4 KiB) for each chunk in flight.
pub(super) fn plan_rows(
    rows: &row::RowWriter,
    chunk: &mut Chunk,
    results: &[Option<row::Outcome>],
) {
    if chunk.plans.is_some() && !chunk.unplanned {
        chunk.take_input_for_rows();
    }
    let mut buf = std::mem::take(&mut chunk.rows);
    buf.clear();
    buf.reserve(results.len().saturating_mul(rows.clean_row_bytes()));
    if let Some(plans) = &chunk.plans {
        for (i, r) in results.iter().enumerate() {
            plan_row(rows, &mut buf, chunk, plans, i, r.as_ref());
        }
    }
    chunk.rows = buf;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::{BufReader, Read, Write};
    use std::sync::{Arc, Mutex};

    /// The first checkpoint is due [`FIRST_CHECKPOINT_AFTER`] into the run, the next ones
    /// [`CHECKPOINT_EVERY`] after the last one saved.
    #[test]
    fn checkpoints_are_due_after_the_first_interval_then_every_interval() {
        let now = Instant::now();
        let mut cp = CheckpointTarget {
            path: PathBuf::from("unused.gkresume"),
            grader_sha: resume::GraderSha::new(serde_json::json!({})),
            input: String::new(),
            sample_key: None,
            keep_when_complete: false,
            started: now,
            saved: None,
            pending: None,
            reached_end: false,
        };
        let first = cp.due_in();
        assert!(
            !first.is_zero() && first <= FIRST_CHECKPOINT_AFTER,
            "{first:?}"
        );
        cp.started = now - FIRST_CHECKPOINT_AFTER;
        assert!(cp.due_in().is_zero());
        cp.saved = Some(Instant::now());
        let next = cp.due_in();
        assert!(
            next > FIRST_CHECKPOINT_AFTER && next <= CHECKPOINT_EVERY,
            "{next:?}"
        );
        cp.saved = Some(Instant::now() - CHECKPOINT_EVERY);
        assert!(cp.due_in().is_zero());
        // The grader's hash is computed when asked for, and is `grader_hash`'s.
        assert_eq!(
            cp.grader_sha.hex(),
            resume::grader_hash(&serde_json::json!({}))
        );
    }

    /// Bytes written to an `Output`, kept for the test.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn sink(grader: &gradekit_engine::CompiledGrader, out: Shared) -> Sink {
        sink_in_blocks(grader, out, 0)
    }

    fn sink_in_blocks(grader: &gradekit_engine::CompiledGrader, out: Shared, block: u64) -> Sink {
        Sink {
            rows: row::RowWriter::new(grader),
            buf: Vec::new(),
            out: BlockOut::new(crate::io::Output::Plain(Box::new(out)), 0, block),
            out_bytes: 0,
            out_hash: outhash::OutHash::new(resume::InputHash::default(), 0, None, None),
            hash_now: true,
            last_row_line: 0,
            summary: Summary::default(),
            bar: progress::Progress::new(progress::Mode::Off, None),
            threshold: grader.pass_threshold(),
            checkpoint: None,
        }
    }

    /// Rows written on the grading thread ([`Batch::Rows`]) are the bytes the writer writes
    /// for the same graded chunk ([`Batch::Graded`]), with the same counts: clean rows, an id,
    /// a line with an error, blank lines and a line too long to keep; and so are the rows of
    /// chunks the reader left for the grading thread to plan ([`read::Source::plan_elsewhere`]).
    #[test]
    fn rows_written_on_the_grading_thread_are_the_writers_bytes() {
        let grader = gradekit_engine::compile(
            &serde_json::json!({"type": "text_similarity", "name": "r",
                "evaluation_metric": "rouge_l", "pass_threshold": 0.5,
                "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}"}),
            &Default::default(),
        )
        .unwrap();
        let planner = super::super::planner(&grader, None, false).unwrap();
        let mut input = String::new();
        for i in 0..300 {
            match i % 50 {
                7 => input.push_str("{\"item\": {\"reference\": \"x\"}, \"model_sample\": 3}\n"),
                9 => input.push('\n'),
                11 => input.push_str(&format!("{{\"item\": {{\"reference\": \"{}\"}}}}\n", "y".repeat(400))),
                13 => input.push_str("not json\n"),
                _ => input.push_str(&format!(
                    "{{\"id\": {i}, \"item\": {{\"reference\": \"the cat {i} sat\"}}, \"model_sample\": \"a cat {} sat\"}}\n",
                    i * 7
                )),
            }
        }
        let chunks = |input: &str, elsewhere: bool| {
            let inner: Box<dyn Read + Send> =
                Box::new(std::io::Cursor::new(input.as_bytes().to_vec()));
            let mut source = read::Source::new(
                BufReader::new(inner),
                0,
                0,
                resume::InputHash::default(),
                "in",
                300,
                Some(planner.clone()),
                None,
                read::FIRST_CHUNK_LINES,
            );
            let flag = Arc::new(std::sync::atomic::AtomicBool::new(elsewhere));
            source.plan_elsewhere(flag);
            let (tx, rx) = std::sync::mpsc::sync_channel(64);
            read::read_chunks(source, &tx, None, 0);
            drop(tx);
            rx.iter().map(|c| c.unwrap()).collect::<Vec<_>>()
        };
        let mut outs = Vec::new();
        let cases = [(false, false), (true, false), (false, true), (true, true)];
        // The same with OUT written in blocks (see `super::super::blocks`), every chunk's
        // checkpoint due: each one saved describes bytes that are in OUT when it is saved.
        let dir = std::env::temp_dir().join(format!("gk-sink-blocks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (k, (here, elsewhere)) in cases.into_iter().chain(cases).enumerate() {
            let out = Shared::default();
            let blocks = k >= cases.len();
            let mut s = match blocks {
                false => sink(&grader, out.clone()),
                true => sink_in_blocks(&grader, out.clone(), 4096),
            };
            let cp = dir.join("out.gkresume");
            if blocks {
                s.checkpoint = Some(CheckpointTarget {
                    path: cp.clone(),
                    grader_sha: resume::GraderSha::new(serde_json::json!({})),
                    input: String::new(),
                    sample_key: None,
                    keep_when_complete: true,
                    started: Instant::now() - FIRST_CHECKPOINT_AFTER,
                    saved: None,
                    pending: None,
                    reached_end: false,
                });
            }
            for mut chunk in chunks(&input, elsewhere) {
                assert_eq!(chunk.unplanned, elsewhere);
                chunk.plan(&planner);
                assert!(!chunk.unplanned);
                let mut results = std::mem::take(&mut chunk.results);
                let plans = chunk.plans.take().unwrap();
                super::super::process::grade_plans(&grader, &planner, &plans, &mut results, false);
                chunk.plans = Some(plans);
                let end = ChunkEnd::of(&chunk);
                let batch = if here {
                    plan_rows(&s.rows, &mut chunk, &results);
                    Batch::Rows(chunk, results)
                } else {
                    Batch::Graded(chunk, results)
                };
                s.write(batch, end).unwrap();
                if blocks {
                    let saved = resume::load(&cp).unwrap().unwrap();
                    let written = out.0.lock().unwrap().clone();
                    let mut h = resume::InputHash::default();
                    h.update(&written);
                    assert_eq!(saved.output_bytes, written.len() as u64);
                    assert_eq!(saved.output_hash, h.hex());
                    // Due again at the next chunk.
                    s.checkpoint.as_mut().unwrap().saved = Some(Instant::now() - CHECKPOINT_EVERY);
                }
            }
            let (summary, _) = s.finish().unwrap();
            let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
            let rows: Vec<String> = text
                .lines()
                .map(|l| {
                    let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                    if let Some(m) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                        m.remove("execution_time");
                    }
                    v.to_string()
                })
                .collect();
            outs.push((rows, summary.count(), summary.invalid_lines));
        }
        assert_eq!(outs[0].0.len(), 294, "one row per non-blank line");
        assert!(outs[0].0.iter().any(|r| r.contains("line_too_long")));
        for o in &outs[1..] {
            assert_eq!(&outs[0], o);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
