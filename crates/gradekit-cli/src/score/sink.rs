//! The writer stage of `gradekit score`: rows out in input order, the checkpoint that
//! `--resume` trusts (output length and hash after whole chunks), the summary and the progress
//! display.

use super::{plan, progress, read, resume, row, Batch, Summary};
use crate::io;
use anyhow::{Context, Result};
use read::Chunk;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Rows written at once by the writer: small enough to stay in the cache between being
/// formatted, hashed and copied by `write`.
const WRITE_BYTES: usize = 64 << 10;

/// Least time between two checkpoints. Replacing the checkpoint costs a file write and a
/// rename (which ext4 follows with a flush of the new file): after every chunk that was a
/// visible share of a fast run. A crash redoes at most this much work more.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

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
    pub(super) grader_sha256: String,
    pub(super) input: String,
    /// Keep the checkpoint of a complete run (`--resume` runs: resuming again is a no-op).
    /// A plain run that completes removes it: nothing is left to resume.
    pub(super) keep_when_complete: bool,
    /// When the last checkpoint was saved (`None`: none yet).
    pub(super) saved: Option<Instant>,
    /// The state after the last chunk written, when it was not saved yet.
    pub(super) pending: Option<resume::Checkpoint>,
}

/// The writer stage: writes each chunk's rows in order, then its checkpoint (after the first
/// chunk, then at most every [`CHECKPOINT_EVERY`], and at the end of a `--resume` run); keeps
/// the summary and the progress display.
pub(super) struct Sink {
    pub(super) rows: row::RowWriter,
    /// Rows of a [`Batch::Graded`] chunk on their way out (kept between chunks).
    pub(super) buf: Vec<u8>,
    pub(super) out: io::Output,
    pub(super) out_bytes: u64,
    /// Hash of every byte of OUT so far (checkpoints record it for `--resume`).
    pub(super) out_hash: resume::InputHash,
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
    pub(super) fn write(&mut self, batch: Batch, end: ChunkEnd) -> Result<read::Spare> {
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
    pub(super) fn finish(mut self) -> Result<(Summary, progress::Progress)> {
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
