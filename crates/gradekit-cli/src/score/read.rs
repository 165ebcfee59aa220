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

/// Bytes asked of the input per read, straight into the chunk's buffer. Small enough that
/// the bytes read past a chunk's last line (copied to the next chunk) stay a few per cent.
const READ_BYTES: usize = 64 << 10;

/// Reads chunks until the end of input, an error, or the receiver hanging up. With a
/// `planner`, every line is read into its plan here (see [`Plans`]); `spares` are buffers of
/// chunks already written, reused when there are some.
///
/// The input is read straight into the chunk's buffer (no copy through a `BufReader`): a
/// chunk's `data` is a zero-filled buffer whose first `filled` bytes were read; lines are
/// split in place, and the bytes after the chunk's last line are carried to the next chunk.
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
    // What the `BufReader` already holds (after `skip_input`) comes first.
    let mut carry = reader.buffer().to_vec();
    let held = carry.len();
    reader.consume(held);
    let mut input = reader.into_inner();
    let mut at_eof = false;
    loop {
        let spare = spares.and_then(|s| s.try_recv().ok()).unwrap_or_default();
        let mut data = spare.data;
        // Zero-filled once per buffer: `data` keeps its length between chunks.
        if data.len() < (1 << 20) + READ_BYTES {
            data.resize((1 << 20) + READ_BYTES, 0);
        }
        if data.len() < carry.len() + READ_BYTES {
            data.resize(carry.len() + READ_BYTES, 0);
        }
        data[..carry.len()].copy_from_slice(&carry);
        let mut filled = carry.len();
        let mut pos = 0usize;
        let mut lines = spare.lines;
        lines.clear();
        lines.reserve(CHUNK_LINES);
        let mut too_long = Vec::new();
        let mut eof = false;
        // Bytes of `data` not hashed yet: kept lines are hashed in one piece at the end of the
        // chunk (blank lines stay in `data` for that), a too-long line as it streams by.
        let mut hashed = 0;
        while lines.len() < CHUNK_LINES && pos < CHUNK_BYTES {
            let start = pos;
            let read = next_line(
                &mut input,
                &mut data,
                &mut filled,
                &mut pos,
                &mut at_eof,
                max_line,
                &mut hash,
                &mut hashed,
            );
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
                lines.push((line_no, pos..pos));
                continue;
            }
            let mut end = pos;
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
        hash.update(&data[hashed..pos]);
        carry.clear();
        carry.extend_from_slice(&data[pos..filled]);
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

/// One read into `data[filled..]` (at most [`READ_BYTES`], growing `data` when it is nearly
/// full); returns how many bytes came (0: end of input).
fn fill(input: &mut impl Read, data: &mut Vec<u8>, filled: &mut usize) -> std::io::Result<usize> {
    if data.len() - *filled < READ_BYTES {
        let grow = (data.len() / 2).max(READ_BYTES);
        data.resize(data.len() + grow, 0);
    }
    let end = (*filled + READ_BYTES).min(data.len());
    loop {
        match input.read(&mut data[*filled..end]) {
            Ok(n) => {
                *filled += n;
                return Ok(n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Takes the next line (through its `\n`, or to the end of input) starting at `data[*pos]`,
/// reading more input when the line is not all in `data[..*filled]` yet. A line with at most
/// `max` bytes before its line break is kept: `*pos` moves past it (it is hashed later, from
/// `data`). A longer one is consumed without being kept: `data[*hashed..]` up to the line is
/// hashed, then the line as it streams by, and `*pos` stays (so the hash covers the input in
/// order). Returns the line's size in the input (0: end of input) and whether it was kept.
#[allow(clippy::too_many_arguments)]
fn next_line(
    input: &mut impl Read,
    data: &mut Vec<u8>,
    filled: &mut usize,
    pos: &mut usize,
    at_eof: &mut bool,
    max: usize,
    hash: &mut InputHash,
    hashed: &mut usize,
) -> std::io::Result<(usize, bool)> {
    let start = *pos;
    // Bytes of the line already searched for a line break.
    let mut searched = start;
    loop {
        // memchr: a line is ~0.5–1 KB, a byte-at-a-time search was a visible share of the
        // reader thread
        if let Some(i) = memchr::memchr(b'\n', &data[searched..*filled]) {
            let nl = searched + i;
            if nl - start <= max {
                *pos = nl + 1;
                return Ok((nl + 1 - start, true));
            }
            // Too long, though all in memory: hashed from `data` later like any other bytes
            // (the line is skipped, not kept).
            *pos = nl + 1;
            return Ok((nl + 1 - start, false));
        }
        searched = *filled;
        if *filled - start > max {
            return skip_long_line(input, data, filled, start, at_eof, hash, hashed);
        }
        if *at_eof || fill(input, data, filled)? == 0 {
            *at_eof = true;
            *pos = *filled;
            return Ok((*filled - start, true));
        }
    }
}

/// Streams past the rest of a line too long to keep whose first bytes are `data[start..
/// *filled]`, hashing everything up to its end in order; the bytes after it are moved to
/// `data[start..]`. Returns the line's size and `false` (not kept).
fn skip_long_line(
    input: &mut impl Read,
    data: &mut Vec<u8>,
    filled: &mut usize,
    start: usize,
    at_eof: &mut bool,
    hash: &mut InputHash,
    hashed: &mut usize,
) -> std::io::Result<(usize, bool)> {
    let mut n = *filled - start;
    hash.update(&data[*hashed..*filled]);
    *hashed = start;
    *filled = start;
    loop {
        if *at_eof || fill(input, data, filled)? == 0 {
            *at_eof = true;
            return Ok((n, false));
        }
        let got = &data[start..*filled];
        match memchr::memchr(b'\n', got) {
            Some(i) => {
                hash.update(&got[..=i]);
                n += i + 1;
                data.copy_within(start + i + 1..*filled, start);
                *filled -= i + 1;
                return Ok((n, false));
            }
            None => {
                hash.update(got);
                n += got.len();
                *filled = start;
            }
        }
    }
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

    /// Gives at most a few bytes per read (sizes cycle through 1..=`max`), so that lines
    /// straddle reads.
    struct Trickle {
        bytes: std::io::Cursor<Vec<u8>>,
        max: usize,
        next: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.next = self.next % self.max + 1;
            let n = buf.len().min(self.next);
            self.bytes.read(&mut buf[..n])
        }
    }

    /// Every chunk's hash is the hash of the input up to its end, whatever the lines: blank,
    /// CRLF, too long to keep (streamed past, or all read at once), across chunk boundaries,
    /// whatever the sizes the input comes in; the kept lines are the input's lines.
    #[test]
    fn chunk_hashes_cover_the_input_in_order() {
        let mut input = Vec::new();
        let mut want_lines = Vec::new();
        for i in 0..5000usize {
            let line = match i % 7 {
                0 => b"   ".to_vec(),
                1 => b"\r".to_vec(),
                2 => std::iter::repeat_n(b'x', 60 + i % 50).collect(),
                _ => format!("{{\"n\": {i}}}").into_bytes(),
            };
            input.extend_from_slice(&line);
            // The limit counts a CRLF's `\r`.
            let body = line.len() + usize::from(i % 3 == 0);
            if i % 7 > 2 || (i % 7 == 2 && body <= 64) {
                want_lines.push((i as u64 + 1, line));
            }
            input.extend_from_slice(if i % 3 == 0 { b"\r\n" } else { b"\n" });
        }
        input.extend_from_slice(b"{\"last\": true}"); // no final line break
        want_lines.push((5001, b"{\"last\": true}".to_vec()));
        for max_read in [1, 7, 97, 1000, usize::MAX] {
            // Something already buffered, as after `skip_input`.
            let inner: Box<dyn Read + Send> = Box::new(Trickle {
                bytes: std::io::Cursor::new(input.clone()),
                max: max_read,
                next: 0,
            });
            let mut reader = BufReader::with_capacity(97, inner);
            reader.fill_buf().unwrap();
            let (tx, rx) = mpsc::sync_channel(64);
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
            let mut lines = Vec::new();
            let mut too_long = 0;
            let mut last = 0;
            for chunk in rx {
                let chunk = chunk.unwrap();
                let mut want = InputHash::default();
                want.update(&input[..chunk.end_offset as usize]);
                assert_eq!(
                    chunk.end_hash,
                    want.hex(),
                    "chunk ending at {} (reads of {max_read})",
                    chunk.end_offset
                );
                for i in 0..chunk.len() {
                    if chunk.too_long.iter().all(|(k, _)| *k != i) {
                        let (n, l) = chunk.line(i);
                        lines.push((n, l.to_vec()));
                    }
                }
                too_long += chunk.too_long.len();
                last = chunk.end_offset;
            }
            assert_eq!(last, input.len() as u64);
            // Blank lines give no line; the x-lines over 64 bytes are too long to keep.
            assert_eq!(lines, want_lines, "reads of {max_read}");
            assert!(too_long > 500, "{too_long}");
        }
    }
}
