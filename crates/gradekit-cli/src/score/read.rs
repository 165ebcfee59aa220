//! The reader thread of `score`: splits the input into chunks of lines, hashing every byte for
//! `--resume`, while the grading threads work on the chunk before.
//!
//! A chunk keeps its lines in one buffer (one allocation per chunk, not per line) with the
//! byte range and physical line number of each non-blank line.
//!
//! A line longer than `--max-line-bytes` (default [`DEFAULT_MAX_LINE_BYTES`]) is not kept: its
//! bytes are read, hashed and dropped as they arrive, and the line becomes an error row
//! (`line_too_long`, naming its size and the limit), so memory never follows a line's length.

use super::line;
use super::plan::{Planner, Plans};
use super::resume::InputHash;
use anyhow::Result;
use gradekit_engine::GradeResult;
use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::sync::mpsc;

/// Lines per chunk; with [`CHUNK_BYTES`] the bound on input held in memory.
pub const CHUNK_LINES: usize = 2048;
/// Bytes per chunk, so that huge lines do not pile up.
pub const CHUNK_BYTES: usize = 8 << 20;

/// Default longest input line kept (`--max-line-bytes`).
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 20;

/// Lines of input ready to grade, with where the input stands after them.
pub struct Chunk {
    data: Vec<u8>,
    /// Physical line number (1-based) and byte range in `data` of each non-blank line.
    lines: Vec<(u64, Range<usize>)>,
    /// Index in `lines` and size of each line that was too long to keep (its range is empty).
    too_long: Vec<(usize, u64)>,
    max_line: usize,
    pub last_line: u64,
    pub end_offset: u64,
    pub end_hash: String,
    pub eof: bool,
    /// What each line grades as, read on the reader thread (when the run reads lines lean).
    pub plans: Option<Plans>,
    /// An empty vector for the chunk's results (reused from an earlier chunk when possible).
    pub results: Vec<Option<GradeResult>>,
}

fn too_long_message(size: u64, max: usize) -> String {
    format!(
        "the line is {size} bytes long, over the limit of {max} bytes (--max-line-bytes); it was not read"
    )
}

impl Chunk {
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// The `i`th non-blank line: its number and its bytes (without the line break).
    pub fn line(&self, i: usize) -> (u64, &[u8]) {
        let (n, r) = &self.lines[i];
        (*n, &self.data[r.clone()])
    }

    /// The `i`th non-blank line, parsed (a line too long to keep is an error row).
    pub fn parse(
        &self,
        i: usize,
        sample_key: Option<&str>,
        parts: gradekit_model::SampleParts,
    ) -> line::Parsed {
        if let Ok(k) = self.too_long.binary_search_by_key(&i, |(k, _)| *k) {
            return line::Parsed::Invalid {
                id: None,
                code: "line_too_long",
                message: too_long_message(self.too_long[k].1, self.max_line),
            };
        }
        line::parse(self.line(i).1, sample_key, parts)
    }

    /// Every line as (number, bytes).
    /// The chunk's buffers, for the reader to fill again (see [`Spare`]), with the results
    /// vector the chunk's results came in.
    pub fn into_spare(self, results: Vec<Option<GradeResult>>) -> Spare {
        // A chunk that held a huge line does not keep its memory for the rest of the run.
        let keep = |cap: usize| cap <= 2 * CHUNK_BYTES;
        Spare {
            data: Some(self.data)
                .filter(|d| keep(d.capacity()))
                .unwrap_or_default(),
            lines: self.lines,
            plans: self.plans.filter(|p| keep(p.text.capacity())),
            results,
        }
    }

    pub fn lines(&self) -> Vec<(u64, &[u8])> {
        (0..self.len()).map(|i| self.line(i)).collect()
    }

    /// Reads every line into its plan (see [`Plans`]).
    fn plan(&self, planner: &Planner, mut plans: Plans) -> Plans {
        plans.clear(self.len());
        let mut too_long = self.too_long.iter().peekable();
        for i in 0..self.len() {
            match too_long.next_if(|(k, _)| *k == i) {
                Some((_, size)) => {
                    plans.push_invalid("line_too_long", too_long_message(*size, self.max_line))
                }
                None => plans.push_line(self.line(i).1, planner),
            }
        }
        plans
    }
}

/// The buffers of a written chunk, handed back to the reader: a chunk is a megabyte or more,
/// and fresh memory for every chunk costs a page fault per 4 KiB.
#[derive(Default)]
pub struct Spare {
    data: Vec<u8>,
    lines: Vec<(u64, Range<usize>)>,
    plans: Option<Plans>,
    results: Vec<Option<GradeResult>>,
}

/// Reads chunks until the end of input, an error, or the receiver hanging up. With a
/// `planner`, every line is read into its plan here (see [`Plans`]); `spares` are buffers of
/// chunks already written, reused when there are some.
#[allow(clippy::too_many_arguments)]
pub fn read_chunks(
    mut reader: BufReader<Box<dyn Read + Send>>,
    mut line_no: u64,
    mut offset: u64,
    mut hash: InputHash,
    tx: &mpsc::SyncSender<Result<Chunk>>,
    input_name: &str,
    max_line: usize,
    planner: Option<&Planner>,
    spares: Option<&mpsc::Receiver<Spare>>,
) {
    loop {
        let spare = spares.and_then(|s| s.try_recv().ok()).unwrap_or_default();
        let mut data = spare.data;
        data.clear();
        data.reserve(1 << 20);
        let mut lines = spare.lines;
        lines.clear();
        lines.reserve(CHUNK_LINES);
        let mut too_long = Vec::new();
        let mut eof = false;
        // Bytes of `data` not hashed yet: kept lines are hashed in one piece at the end of the
        // chunk (blank lines stay in `data` for that), a too-long line as it streams by.
        let mut hashed = 0;
        while lines.len() < CHUNK_LINES && data.len() < CHUNK_BYTES {
            let start = data.len();
            let read = read_line(&mut reader, &mut data, max_line, &mut hash, &mut hashed);
            let (n, kept) = match read {
                Ok(x) => x,
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
            if !kept {
                too_long.push((lines.len(), n as u64));
                lines.push((line_no, start..start));
                continue;
            }
            let mut end = data.len();
            if data[end - 1] == b'\n' {
                end -= 1;
                if end > start && data[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            if line::is_blank(&data[start..end]) {
                continue;
            }
            lines.push((line_no, start..end));
        }
        hash.update(&data[hashed..]);
        let mut chunk = Chunk {
            data,
            lines,
            too_long,
            max_line,
            last_line: line_no,
            end_offset: offset,
            end_hash: hash.hex(),
            eof,
            plans: None,
            results: spare.results,
        };
        chunk.results.clear();
        chunk.plans = planner.map(|p| chunk.plan(p, spare.plans.unwrap_or_default()));
        if tx.send(Ok(chunk)).is_err() || eof {
            return;
        }
    }
}

/// Reads one line (through its `\n`, or to the end of input). The line is appended to `data`
/// when it has at most `max` bytes before its line break (and hashed later, from `data`); a
/// longer one is consumed without being kept, hashed as it goes after `data[hashed..]` (the
/// bytes before it not hashed yet), so the hash always covers the input in order.
fn read_line(
    reader: &mut impl BufRead,
    data: &mut Vec<u8>,
    max: usize,
    hash: &mut InputHash,
    hashed: &mut usize,
) -> std::io::Result<(usize, bool)> {
    let start = data.len();
    let mut n = 0usize;
    let mut kept = true;
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            break;
        }
        // memchr: a line is ~0.5–1 KB, a byte-at-a-time search was a visible share of the
        // reader thread
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if kept {
            let body = data.len() - start + take - usize::from(done);
            if body <= max {
                data.extend_from_slice(&buf[..take]);
            } else {
                kept = false;
                hash.update(&data[*hashed..]);
                data.truncate(start);
                *hashed = start;
            }
        }
        if !kept {
            hash.update(&buf[..take]);
        }
        reader.consume(take);
        n += take;
        if done {
            break;
        }
    }
    Ok((n, kept))
}

/// Reads and hashes the first `n` bytes of the input.
pub fn skip_input(reader: &mut impl BufRead, mut n: u64, hash: &mut InputHash) -> Result<()> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every chunk's hash is the hash of the input up to its end, whatever the lines: blank,
    /// CRLF, too long to keep (streamed past), across chunk boundaries.
    #[test]
    fn chunk_hashes_cover_the_input_in_order() {
        let mut input = Vec::new();
        for i in 0..5000usize {
            match i % 7 {
                0 => input.extend_from_slice(b"   \n"),
                1 => input.extend_from_slice(b"\r\n"),
                2 => input.extend(std::iter::repeat_n(b'x', 70 + i % 50)),
                _ => input.extend_from_slice(format!("{{\"n\": {i}}}").as_bytes()),
            }
            input.extend_from_slice(if i % 3 == 0 { b"\r\n" } else { b"\n" });
        }
        input.extend_from_slice(b"{\"last\": true}"); // no final line break
        let (tx, rx) = mpsc::sync_channel(64);
        let reader: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(input.clone()));
        // A small buffer: lines straddle refills.
        let reader = BufReader::with_capacity(97, reader);
        read_chunks(
            reader,
            0,
            0,
            InputHash::default(),
            &tx,
            "in",
            64,
            None,
            None,
        );
        drop(tx);
        let mut lines = 0;
        let mut too_long = 0;
        let mut last = 0;
        for chunk in rx {
            let chunk = chunk.unwrap();
            let mut want = InputHash::default();
            want.update(&input[..chunk.end_offset as usize]);
            assert_eq!(
                chunk.end_hash,
                want.hex(),
                "chunk ending at {}",
                chunk.end_offset
            );
            lines += chunk.len();
            too_long += chunk.too_long.len();
            last = chunk.end_offset;
        }
        assert_eq!(last, input.len() as u64);
        // Blank lines give no line; the x-lines over 64 bytes are too long to keep.
        assert_eq!(lines, 5000 - 2 * 715 + 1);
        assert!(too_long > 500, "{too_long}");
    }
}
