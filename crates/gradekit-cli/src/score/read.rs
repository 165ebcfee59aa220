//! The reader thread of `score`: splits the input into chunks of lines, hashing every byte for
//! `--resume`, while the grading threads work on the chunk before.
//!
//! A chunk keeps its lines in one buffer (one allocation per chunk, not per line) with the
//! byte range and physical line number of each non-blank line.

use super::line;
use super::resume::InputHash;
use anyhow::Result;
use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::sync::mpsc;

/// Lines per chunk; with [`CHUNK_BYTES`] the bound on input held in memory.
pub const CHUNK_LINES: usize = 2048;
/// Bytes per chunk, so that huge lines do not pile up.
pub const CHUNK_BYTES: usize = 8 << 20;

/// Lines of input ready to grade, with where the input stands after them.
pub struct Chunk {
    data: Vec<u8>,
    /// Physical line number (1-based) and byte range in `data` of each non-blank line.
    lines: Vec<(u64, Range<usize>)>,
    pub last_line: u64,
    pub end_offset: u64,
    pub end_hash: String,
    pub eof: bool,
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

    /// Every line as (number, bytes).
    pub fn lines(&self) -> Vec<(u64, &[u8])> {
        (0..self.len()).map(|i| self.line(i)).collect()
    }
}

/// Reads chunks until the end of input, an error, or the receiver hanging up.
pub fn read_chunks(
    mut reader: BufReader<Box<dyn Read + Send>>,
    mut line_no: u64,
    mut offset: u64,
    mut hash: InputHash,
    tx: &mpsc::SyncSender<Result<Chunk>>,
    input_name: &str,
) {
    loop {
        let mut data = Vec::with_capacity(1 << 20);
        let mut lines = Vec::with_capacity(CHUNK_LINES);
        let mut eof = false;
        while lines.len() < CHUNK_LINES && data.len() < CHUNK_BYTES {
            let start = data.len();
            let n = match reader.read_until(b'\n', &mut data) {
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
            hash.update(&data[start..]);
            let mut end = data.len();
            if data[end - 1] == b'\n' {
                end -= 1;
                if end > start && data[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            if line::is_blank(&data[start..end]) {
                data.truncate(start);
                continue;
            }
            lines.push((line_no, start..end));
        }
        let chunk = Chunk {
            data,
            lines,
            last_line: line_no,
            end_offset: offset,
            end_hash: hash.hex(),
            eof,
        };
        if tx.send(Ok(chunk)).is_err() || eof {
            return;
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
