//! The reader thread of `score`: splits the input into chunks of lines, hashing every byte for
//! `--resume`, while the grading threads work on the chunk before
//! (the chunks themselves: [`super::chunk`]).
//!
//! A line longer than `--max-line-bytes` (default [`DEFAULT_MAX_LINE_BYTES`]) is not kept: its
//! bytes are read, hashed and dropped as they arrive, and the line becomes an error row
//! (`line_too_long`, naming its size and the limit), so memory never follows a line's length.

use super::chunk::too_long_message;
pub use super::chunk::{Chunk, Spare, CHUNK_BYTES, CHUNK_LINES, DEFAULT_MAX_LINE_BYTES};
use super::line;
use super::plan::Planner;
use super::resume::InputHash;
use anyhow::Result;
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

/// Bytes asked of the input per read, straight into the chunk's buffer. Small enough that
/// the bytes read past a chunk's last line (copied to the next chunk) stay a few per cent.
const READ_BYTES: usize = 64 << 10;

/// Fewest bytes asked per read when the input's end is near (see [`Source::read_bytes`]).
const MIN_READ_BYTES: usize = 4 << 10;

/// Lines in the first chunk of a pipelined run; each next chunk doubles, up to
/// [`CHUNK_LINES`]. Grading starts after a few dozen lines instead of a whole chunk, and the
/// last rows are written right after they are graded: on a file of a few thousand lines,
/// reading, grading and writing overlap instead of following one another.
pub const FIRST_CHUNK_LINES: usize = 64;

/// Bytes hashed at once while a chunk is read: the lines just read and scanned are still in
/// the cache (hashing a whole chunk at its end read it from memory again).
const HASH_BYTES: usize = 32 << 10;

/// The input, split into chunks of lines (see the module docs), with the position and the
/// hash of what was read so far.
pub struct Source {
    input: Box<dyn Read + Send>,
    /// Bytes read past the last chunk's last line: the start of the next chunk.
    carry: Vec<u8>,
    at_eof: bool,
    /// The last chunk (or an error) was handed out.
    done: bool,
    /// A read error met after some lines of a chunk: that chunk is handed out with the lines
    /// read before it (their rows are written), and the error with the next call.
    failed: Option<anyhow::Error>,
    line_no: u64,
    offset: u64,
    hash: InputHash,
    input_name: String,
    max_line: usize,
    planner: Option<Planner>,
    /// Line number and offset this source started at (the lines read since size buffers).
    first: (u64, u64),
    /// Lines of the next chunk (doubles up to `max_lines`).
    chunk_lines: usize,
    max_lines: usize,
    /// Lines read past which chunks may grow to a larger size (see [`Source::later`]).
    later: Option<(u64, usize)>,
    /// Take at most half the lines left in each chunk near the end of input (see
    /// [`Source::taper`]).
    taper: bool,
    /// Offset of the end of the input when its size is known (a plain file).
    end: Option<u64>,
    /// When set, a chunk read while it is true is left for the grading thread to plan (see
    /// [`Source::plan_elsewhere`]).
    plan_elsewhere: Option<Arc<AtomicBool>>,
    /// The next chunk read is left unplanned whatever `plan_elsewhere` says (see
    /// [`Source::leave_next_unplanned`]).
    next_unplanned: bool,
    /// Bytes of a row per line, when rows may be written into a chunk's input buffer (see
    /// [`Source::rows_in_buffers`]).
    row_bytes: usize,
}

/// Size of a chunk buffer of [`CHUNK_LINES`] lines (it grows for longer lines).
const FULL_BYTES: usize = (1 << 20) + READ_BYTES;
/// Bytes per line a chunk buffer is first sized for, before the lines read tell better.
const LINE_BYTES_GUESS: usize = 1 << 10;
/// Lines read past which chunk buffers are sized for their mean length (plus an eighth).
const LINES_TO_MEASURE: u64 = 64;
/// Bytes per line the reads of a run's first lines ask for, before their mean is known (see
/// [`read_ask`]). With one I/O thread the calling thread reads the first [`FIRST_CHUNK_LINES`]
/// lines itself, into fresh memory, while grading waits for them: a read of a whole
/// [`READ_BYTES`] for 64 lines of ~530 bytes faulted in ~30 KB more of its buffer than the
/// lines fill, then copied those bytes into a fresh carry buffer and back into the next
/// chunk's (~35 µs of a one-pass 2,000-line run, #17 "rouge15"). Longer lines take another
/// read or a few (a system call each).
const ASK_LINE_GUESS: usize = 512;

/// Bytes of a chunk buffer made before a run's first line is read (see `Spare::ahead`): what
/// [`Source`] makes for a chunk of `lines` lines of an input of `size` bytes (when known)
/// before line lengths are known — room for the lines at [`LINE_BYTES_GUESS`], no more than
/// the input, and one read more — which is also room for `lines` rows of up to ~1.5 KB.
pub fn ahead_bytes(size: Option<u64>, lines: usize) -> usize {
    let want = lines
        .saturating_mul(LINE_BYTES_GUESS)
        .saturating_add(READ_BYTES)
        .min(FULL_BYTES);
    let left = size.map_or(usize::MAX, |s| usize::try_from(s).unwrap_or(usize::MAX));
    want.min(left.saturating_add(READ_BYTES))
}

impl Source {
    /// The chunks of `reader` from input line `line_no` (0-based count of lines already
    /// consumed), byte `offset` and hash state `hash` on (a resumed run starts past the graded
    /// part; what `reader` already buffered comes first). `size` is what is left of the input
    /// when known (a plain file): buffers are no larger than it needs. `first_lines`: lines of
    /// the first chunk (doubling up to [`CHUNK_LINES`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        mut reader: BufReader<Box<dyn Read + Send>>,
        line_no: u64,
        offset: u64,
        hash: InputHash,
        input_name: &str,
        max_line: usize,
        planner: Option<Planner>,
        size: Option<u64>,
        first_lines: usize,
    ) -> Source {
        let carry = reader.buffer().to_vec();
        let held = carry.len();
        reader.consume(held);
        Source {
            input: reader.into_inner(),
            carry,
            at_eof: false,
            done: false,
            failed: None,
            line_no,
            offset,
            hash,
            input_name: input_name.to_string(),
            max_line,
            planner,
            first: (line_no, offset),
            chunk_lines: first_lines.clamp(1, CHUNK_LINES),
            max_lines: CHUNK_LINES,
            later: None,
            taper: false,
            end: size.map(|s| offset.saturating_add(s)),
            plan_elsewhere: None,
            next_unplanned: false,
            row_bytes: 0,
        }
    }

    /// Chunks read while `flag` is true leave their lines unplanned ([`Chunk::unplanned`]):
    /// the grading thread reads them into their plans itself ([`Chunk::plan`]). With one I/O
    /// thread and a cheap grader the I/O thread bounds the run (reading, planning and writing
    /// cost about what grading does); the grading thread raises the flag while it waits for
    /// chunks, so planning moves to it then, a chunk at a time, until the two are even.
    pub fn plan_elsewhere(&mut self, flag: Arc<AtomicBool>) {
        self.plan_elsewhere = Some(flag);
    }

    /// The next chunk read (only that one) leaves its lines unplanned, as with
    /// [`Source::plan_elsewhere`]: the reader knows the grading thread will want it before
    /// it has waited for it (see `super::one_io`).
    pub fn leave_next_unplanned(&mut self) {
        self.next_unplanned = true;
    }

    /// The rows of a chunk may be written into its input buffer (`sink::plan_rows`), at about
    /// `bytes` a line: a new buffer is made large enough for them (and for a chunk of the
    /// most lines), so that it is not grown while the buffers go round between the threads.
    /// Growing one (by `mremap`) cost a system call and, while the other thread runs, the
    /// flush of its CPU's address translations (an interrupt it must answer).
    pub fn rows_in_buffers(mut self, bytes: usize) -> Source {
        self.row_bytes = bytes;
        self
    }

    /// Chunks of at most `max` lines (at most [`CHUNK_LINES`]).
    pub fn max_chunk_lines(mut self, max: usize) -> Source {
        self.max_lines = max.clamp(1, CHUNK_LINES);
        self.chunk_lines = self.chunk_lines.min(self.max_lines);
        self
    }

    /// Once `after` lines are read, chunks may double up to `max` lines (at most
    /// [`CHUNK_LINES`]) instead of the [`Source::max_chunk_lines`] they started with: small
    /// chunks while the run is young (each buffer in flight is fresh memory, paid at a page
    /// fault per 4 KiB while grading waits), larger ones for a long run (fewer hand-overs).
    pub fn later(mut self, after: u64, max: usize) -> Source {
        self.later = Some((after, max.clamp(1, CHUNK_LINES)));
        self
    }

    /// Near the end of an input of known size, each chunk takes at most half of the lines left
    /// (at least [`FIRST_CHUNK_LINES`]), as estimated from the mean line read so far. With one
    /// grading thread beside one I/O thread, the last chunk's rows are written after
    /// everything else is done: a full last chunk of [`super::ONE_IO_CHUNK_LINES`] lines made
    /// the run that much longer, a chunk of a few dozen lines costs a few microseconds.
    pub fn taper(mut self, on: bool) -> Source {
        self.taper = on;
        self
    }

    /// Lines of the chunk about to be read: [`Self::chunk_lines`], or fewer near the end of
    /// input when tapering.
    fn lines_now(&self) -> usize {
        let lines = self.line_no - self.first.0;
        let (Some(end), true) = (self.end.filter(|_| self.taper), lines >= LINES_TO_MEASURE) else {
            return self.chunk_lines;
        };
        let bytes = self.offset.saturating_sub(self.first.1);
        let per_line = (bytes / lines).max(1);
        let left = end.saturating_sub(self.offset) / per_line;
        let half = usize::try_from(left / 2).unwrap_or(usize::MAX);
        self.chunk_lines.min(half.max(FIRST_CHUNK_LINES))
    }

    /// Bytes asked per read: [`READ_BYTES`], or, when the input's size is known and less than
    /// that is left to read, what is left and one byte more (the end of input is a read of 0
    /// bytes), at least [`MIN_READ_BYTES`]. A buffer has room for a read at its end: an empty
    /// or small input then gets a page or a few, not 64 KiB zeroed (by `calloc`, from the
    /// heap) for nothing. An input that grows while it is read is still read to its end, a
    /// few KiB at a time.
    fn read_bytes(&self) -> usize {
        let Some(end) = self.end else {
            return READ_BYTES;
        };
        let read = self.offset.saturating_add(self.carry.len() as u64);
        let left = usize::try_from(end.saturating_sub(read)).unwrap_or(usize::MAX);
        left.saturating_add(1).clamp(MIN_READ_BYTES, READ_BYTES)
    }

    /// The mean length of the lines read so far, once there are [`LINES_TO_MEASURE`].
    fn mean_line(&self) -> Option<usize> {
        let lines = self.line_no - self.first.0;
        let bytes = self.offset.saturating_sub(self.first.1);
        (lines >= LINES_TO_MEASURE).then(|| usize::try_from(bytes / lines).unwrap_or(usize::MAX))
    }

    /// The size a chunk buffer starts at: room for the chunk's lines at a guessed length, for
    /// no more than what is left of the input, and for one more read (the end of input is a
    /// read of 0 bytes). Zeroing memory that is never used costs a page fault per 4 KiB: a
    /// small input does not get a megabyte.
    fn buffer_bytes(&self, chunk_lines: usize) -> usize {
        let (lines, bytes) = (
            self.line_no - self.first.0,
            self.offset.saturating_sub(self.first.1),
        );
        let per_line = match lines >= LINES_TO_MEASURE {
            true => usize::try_from(bytes / lines + bytes / lines / 8).unwrap_or(usize::MAX),
            false => LINE_BYTES_GUESS,
        };
        let room = self.read_bytes();
        let want = chunk_lines
            .saturating_mul(per_line)
            .saturating_add(room)
            .min(FULL_BYTES);
        match self.end {
            Some(end) => {
                let left = usize::try_from(end.saturating_sub(self.offset)).unwrap_or(usize::MAX);
                want.min(left.saturating_add(room))
            }
            None => want,
        }
    }

    /// The next chunk, in buffers taken from `spare` when it has some; `None` after the last
    /// chunk (the one with `eof`) or after an error.
    pub fn next_chunk(&mut self, spare: Spare) -> Option<Result<Chunk>> {
        if let Some(e) = self.failed.take() {
            self.done = true;
            return Some(Err(e));
        }
        if self.done {
            return None;
        }
        let r = self.read_chunk(spare);
        self.done = r.as_ref().map_or(true, |c| c.eof);
        Some(r)
    }

    fn read_chunk(&mut self, spare: Spare) -> Result<Chunk> {
        let want = self.lines_now();
        let mut data = spare.data;
        // Zero-filled once per buffer: `data` keeps its length between chunks.
        let size = self.buffer_bytes(self.chunk_lines);
        // Room for the largest chunk to come (see [`Source::rows_in_buffers`]); memory not
        // written costs nothing.
        let (most_input, most) = match self.row_bytes {
            0 => (size, size),
            row => {
                let input = self.buffer_bytes(self.max_lines).max(size);
                (input, input.max(self.max_lines.saturating_mul(row)))
            }
        };
        if data.capacity() == 0 {
            // Fresh memory comes zeroed from the kernel (`calloc`): zeroing it again here was
            // a pass over every new buffer while the chunks grow, when grading waits for them.
            data = vec![0; most];
            data.truncate(size);
        } else if data.len() < size {
            data.resize(size, 0);
        }
        let room = self.read_bytes();
        let per_line = self.mean_line();
        let carry = &mut self.carry;
        if data.len() < carry.len() + room {
            data.resize(carry.len() + room, 0);
        }
        data[..carry.len()].copy_from_slice(carry);
        let mut filled = carry.len();
        let mut pos = 0usize;
        // Room for the chunk's lines, but no more than the input left can hold (a line is at
        // least a byte): an empty or small input does not get room for 2,048 lines and plans
        // (~150 KB, a fresh mapping).
        let room_for = match self.end {
            Some(end) => want.min(
                usize::try_from(end.saturating_sub(self.offset))
                    .unwrap_or(usize::MAX)
                    .saturating_add(1),
            ),
            None => want,
        };
        let mut lines = spare.lines;
        lines.clear();
        lines.reserve(room_for);
        let mut too_long = Vec::new();
        let mut eof = false;
        // Each line is read into its plan as soon as it is split, while it is in the cache
        // (unless the grading thread is to do that: `plan_elsewhere`).
        let unplanned = self.planner.is_some()
            && (std::mem::take(&mut self.next_unplanned)
                || self
                    .plan_elsewhere
                    .as_ref()
                    .is_some_and(|f| f.load(Ordering::Relaxed)));
        let planner = self.planner.as_ref().filter(|_| !unplanned);
        // The plans' buffers go with the chunk either way.
        let mut for_later = spare.plans;
        let mut plans = planner.map(|_| {
            let mut p = for_later.take().unwrap_or_default();
            p.clear(room_for);
            // The chunk's texts are a part of its bytes: room for them at once, not grown
            // (and copied) a doubling at a time; memory reserved and not written costs nothing.
            p.text.reserve(most_input);
            p
        });
        // Bytes of `data` not hashed yet: kept lines are hashed a few dozen kilobytes at a
        // time, while still in the cache (blank lines stay in `data` for that), a too-long
        // line as it streams by.
        let mut hashed = 0;
        while lines.len() < want && pos < CHUNK_BYTES {
            let start = pos;
            let ask = read_ask(room, per_line, want - lines.len(), filled - pos);
            let read = next_line(
                &mut self.input,
                &mut data,
                &mut filled,
                &mut pos,
                &mut self.at_eof,
                self.max_line,
                (ask, room),
                &mut self.hash,
                &mut hashed,
            );
            let (n, kept) = match read {
                Ok(x) => x,
                Err(e) => {
                    let e = anyhow::anyhow!(
                        "cannot read {} after line {}: {e}",
                        self.input_name,
                        self.line_no
                    );
                    if lines.is_empty() {
                        return Err(e);
                    }
                    // The lines read before the error are not lost: this chunk ends with
                    // them (and the bytes read of the next line are never graded).
                    self.failed = Some(e);
                    break;
                }
            };
            if n == 0 {
                eof = true;
                break;
            }
            self.line_no += 1;
            self.offset += n as u64;
            if !kept {
                too_long.push((lines.len(), n as u64));
                lines.push((self.line_no, pos..pos));
                if let Some(p) = &mut plans {
                    p.push_invalid("line_too_long", too_long_message(n as u64, self.max_line));
                }
                continue;
            }
            if pos - hashed >= HASH_BYTES {
                self.hash.update(&data[hashed..pos]);
                hashed = pos;
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
            if let (Some(p), Some(planner)) = (&mut plans, planner) {
                p.push_line(&data[start..end], planner);
            }
            lines.push((self.line_no, start..end));
        }
        self.hash.update(&data[hashed..pos]);
        carry.clear();
        carry.extend_from_slice(&data[pos..filled]);
        let mut chunk = Chunk {
            data,
            lines,
            too_long,
            max_line: self.max_line,
            last_line: self.line_no,
            end_offset: self.offset,
            end_hash: self.hash.digest(),
            eof,
            plans: match unplanned {
                true => Some(for_later.unwrap_or_default()),
                false => plans,
            },
            unplanned,
            results: spare.results,
            rows: spare.rows,
        };
        chunk.results.clear();
        chunk.rows.clear();
        if let Some((after, max)) = self.later {
            if self.line_no - self.first.0 >= after {
                self.max_lines = max;
                self.later = None;
            }
        }
        self.chunk_lines = (self.chunk_lines * 2).min(self.max_lines);
        Ok(chunk)
    }
}

/// Most chunk buffers a reader with spares makes ([`read_chunks`]): one being read, one being
/// graded, one being written and two queued. Past them it waits for a written chunk's buffers
/// instead of making more: reading further ahead gains nothing, and each buffer of a megabyte
/// or two costs its page faults (with seven or more in flight they were ~2 % of a run's CPU).
pub const MAX_BUFFERS: usize = 5;

/// Reads chunks until the end of input, an error, or the receiver hanging up (the reader
/// thread of a run with a grading pool); `spares` are buffers of chunks already written,
/// reused when there are some, and waited for once `made` (the buffers made so far for this
/// input, counting those made before) reaches [`MAX_BUFFERS`]: every buffer made is then in
/// a chunk on its way to the writer, which hands it back (or stops, and the wait ends).
pub fn read_chunks(
    mut source: Source,
    tx: &mpsc::SyncSender<Result<Chunk>>,
    spares: Option<&mpsc::Receiver<Spare>>,
    mut made: usize,
) {
    loop {
        let spare = match spares.map(mpsc::Receiver::try_recv) {
            Some(Ok(spare)) => spare,
            Some(Err(mpsc::TryRecvError::Empty)) if made >= MAX_BUFFERS => {
                spares.and_then(|s| s.recv().ok()).unwrap_or_default()
            }
            _ => {
                made += 1;
                Spare::default()
            }
        };
        match source.next_chunk(spare) {
            Some(c) => {
                if tx.send(c).is_err() {
                    return;
                }
            }
            None => return,
        }
    }
}

/// Bytes asked of the next read of a chunk that still needs `lines` lines, `held` bytes of
/// input read and not split yet: what the lines likely hold beyond `held` (an eighth more)
/// at the mean line so far (`per_line`; before it is known, [`ASK_LINE_GUESS`]), at least
/// [`MIN_READ_BYTES`]; at most `room` (see [`Source::read_bytes`]). Bytes read past a
/// chunk's last line are copied out of its buffer and into the next chunk's: reads of `room`
/// left ~30 KB a chunk to copy twice (128-line chunks of ~530-byte lines, 64 KiB reads); a
/// read too short for the line it ends in is followed by another.
fn read_ask(room: usize, per_line: Option<usize>, lines: usize, held: usize) -> usize {
    let per_line = per_line.unwrap_or(ASK_LINE_GUESS);
    let likely = lines.saturating_mul(per_line);
    likely
        .saturating_add(likely / 8)
        .saturating_sub(held)
        .max(MIN_READ_BYTES)
        .min(room)
}

/// One read into `data[filled..]` (at most `room` bytes, growing `data` when it has less
/// room; see [`Source::read_bytes`]); returns how many bytes came (0: end of input).
fn fill(
    input: &mut impl Read,
    data: &mut Vec<u8>,
    filled: &mut usize,
    room: usize,
) -> std::io::Result<usize> {
    if data.len() - *filled < room {
        let grow = (data.len() / 2).max(room);
        data.resize(data.len() + grow, 0);
    }
    let end = (*filled + room).min(data.len());
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
/// reading more input when the line is not all in `data[..*filled]` yet (`ask` bytes at a
/// time, see [`read_ask`]; a line too long to keep streams by `room` bytes at a time). A line
/// with at most `max` bytes before its line break is kept: `*pos` moves past it (it is hashed
/// later, from `data`). A longer one is consumed without being kept: `data[*hashed..]` up to
/// the line is hashed, then the line as it streams by, and `*pos` stays (so the hash covers
/// the input in order). Returns the line's size in the input (0: end of input) and whether it was kept.
#[allow(clippy::too_many_arguments)]
fn next_line(
    input: &mut impl Read,
    data: &mut Vec<u8>,
    filled: &mut usize,
    pos: &mut usize,
    at_eof: &mut bool,
    max: usize,
    (ask, room): (usize, usize),
    hash: &mut InputHash,
    hashed: &mut usize,
) -> std::io::Result<(usize, bool)> {
    let start = *pos;
    // Bytes of the line already searched for a line break.
    let mut searched = start;
    loop {
        // memchr: a line is ~0.5–1 KB, a byte-at-a-time search was a visible share of the
        // reader thread. Not asked of nothing: its first call probes the CPU (~60 µs in a
        // virtual machine), which an empty input need not pay.
        let unsearched = &data[searched..*filled];
        if let Some(i) = (!unsearched.is_empty())
            .then(|| memchr::memchr(b'\n', unsearched))
            .flatten()
        {
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
            return skip_long_line(input, data, filled, start, at_eof, room, hash, hashed);
        }
        if *at_eof || fill(input, data, filled, ask)? == 0 {
            *at_eof = true;
            *pos = *filled;
            return Ok((*filled - start, true));
        }
    }
}

/// Streams past the rest of a line too long to keep whose first bytes are `data[start..
/// *filled]`, hashing everything up to its end in order; the bytes after it are moved to
/// `data[start..]`. Returns the line's size and `false` (not kept).
#[allow(clippy::too_many_arguments)]
fn skip_long_line(
    input: &mut impl Read,
    data: &mut Vec<u8>,
    filled: &mut usize,
    start: usize,
    at_eof: &mut bool,
    room: usize,
    hash: &mut InputHash,
    hashed: &mut usize,
) -> std::io::Result<(usize, bool)> {
    let mut n = *filled - start;
    hash.update(&data[*hashed..start]);
    // The hash as of the line's start: a read error inside the line leaves it there, so that
    // the lines before it keep a hash that matches their end (the checkpoint of a run cut
    // by the error).
    let at_start = hash.clone();
    hash.update(&data[start..*filled]);
    *hashed = start;
    *filled = start;
    loop {
        let more = match *at_eof {
            true => 0,
            false => fill(input, data, filled, room).inspect_err(|_| *hash = at_start.clone())?,
        };
        if more == 0 {
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
mod tests;
