//! The reader stage: chunk hashes and lines against the input, chunk sizes, buffer reuse.

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
/// whatever the sizes the input comes in, the first chunk's size and the size the input
/// was said to have; the kept lines are the input's lines.
#[test]
fn chunk_hashes_cover_the_input_in_order() {
    let mut input = Vec::new();
    // (line number, line, body length with a CRLF's `\r`)
    let mut all_lines = Vec::new();
    for i in 0..5000usize {
        let line = match i % 7 {
            0 => b"   ".to_vec(),
            1 => b"\r".to_vec(),
            2 => std::iter::repeat_n(b'x', 60 + (i % 50) * 40).collect(),
            _ => format!("{{\"n\": {i}}}").into_bytes(),
        };
        input.extend_from_slice(&line);
        // The limit counts a CRLF's `\r`.
        let body = line.len() + usize::from(i % 3 == 0);
        if i % 7 > 1 {
            all_lines.push((i as u64 + 1, line, body));
        }
        input.extend_from_slice(if i % 3 == 0 { b"\r\n" } else { b"\n" });
    }
    input.extend_from_slice(b"{\"last\": true}"); // no final line break
    all_lines.push((5001, b"{\"last\": true}".to_vec(), 14));
    let sizes = [None, Some(0), Some(100), Some(input.len() as u64)];
    for (k, max_read) in [1, 7, 97, 1000, usize::MAX].into_iter().enumerate() {
        for max_line in [64, 1 << 20] {
            // Something already buffered, as after `skip_input`.
            let inner: Box<dyn Read + Send> = Box::new(Trickle {
                bytes: std::io::Cursor::new(input.clone()),
                max: max_read,
                next: 0,
            });
            let mut reader = BufReader::with_capacity(97, inner);
            reader.fill_buf().unwrap();
            let first = [1, 64, CHUNK_LINES][k % 3];
            let source = Source::new(
                reader,
                0,
                0,
                InputHash::default(),
                "in",
                max_line,
                None,
                sizes[k % sizes.len()],
                first,
            );
            let (tx, rx) = mpsc::sync_channel(64);
            read_chunks(source, &tx, None, 0);
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
                    want.digest(),
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
            // Blank lines give no line; the x-lines over the limit are too long to keep.
            let want_lines: Vec<(u64, Vec<u8>)> = all_lines
                .iter()
                .filter(|(_, _, body)| *body <= max_line)
                .map(|(n, l, _)| (*n, l.clone()))
                .collect();
            assert_eq!(lines, want_lines, "reads of {max_read}, limit {max_line}");
            assert_eq!(too_long, all_lines.len() - want_lines.len());
            if max_line == 64 {
                assert!(too_long > 500, "{too_long}");
            }
        }
    }
}

/// Chunks start small and double up to [`CHUNK_LINES`].
#[test]
fn chunks_grow_from_the_first_size() {
    let input: Vec<u8> = (0..10_000)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect();
    let inner: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(input));
    let source = Source::new(
        BufReader::new(inner),
        0,
        0,
        InputHash::default(),
        "in",
        100,
        None,
        None,
        FIRST_CHUNK_LINES,
    );
    let (tx, rx) = mpsc::sync_channel(64);
    read_chunks(source, &tx, None, 0);
    drop(tx);
    let sizes: Vec<usize> = rx.iter().map(|c| c.unwrap().len()).collect();
    assert_eq!(sizes, [64, 128, 256, 512, 1024, 2048, 2048, 2048, 1872]);
}

/// Chunks of at most [`Source::max_chunk_lines`] until [`Source::later`]'s count of lines is
/// read, then doubling up to its larger size; every line comes once and in order.
#[test]
fn chunks_grow_larger_later() {
    let input: Vec<u8> = (0..3_000)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect();
    let inner: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(input));
    let source = Source::new(
        BufReader::new(inner),
        0,
        0,
        InputHash::default(),
        "in",
        100,
        None,
        None,
        FIRST_CHUNK_LINES,
    )
    .max_chunk_lines(128)
    .later(1_000, 512);
    let (tx, rx) = mpsc::sync_channel(64);
    read_chunks(source, &tx, None, 0);
    drop(tx);
    let chunks: Vec<Chunk> = rx.iter().map(|c| c.unwrap()).collect();
    let sizes: Vec<usize> = chunks.iter().map(Chunk::len).collect();
    // 64 + 128 × 7 = 960 lines, then 128 more reach 1,088: from there 256, then 512.
    assert_eq!(
        sizes,
        [64, 128, 128, 128, 128, 128, 128, 128, 128, 256, 512, 512, 512, 120]
    );
    let numbers: Vec<u64> = chunks
        .iter()
        .flat_map(|c| (0..c.len()).map(move |i| c.line_no(i)))
        .collect();
    assert_eq!(numbers, (1..=3_000).collect::<Vec<u64>>());
}

/// Tapering near the end of an input of known size: each chunk takes at most half of the
/// lines left (at least [`FIRST_CHUNK_LINES`]), every line still comes once and in order.
#[test]
fn chunks_taper_near_the_end_of_a_known_size() {
    // 10,000 lines of 6 bytes: the mean line read so far is exact.
    let input: Vec<u8> = (0..10_000)
        .flat_map(|i| format!("{i:05}\n").into_bytes())
        .collect();
    let size = input.len() as u64;
    let inner: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(input));
    let source = Source::new(
        BufReader::new(inner),
        0,
        0,
        InputHash::default(),
        "in",
        100,
        None,
        Some(size),
        FIRST_CHUNK_LINES,
    )
    .max_chunk_lines(512)
    .taper(true);
    let (tx, rx) = mpsc::sync_channel(64);
    read_chunks(source, &tx, None, 0);
    drop(tx);
    let chunks: Vec<Chunk> = rx.iter().map(|c| c.unwrap()).collect();
    let sizes: Vec<usize> = chunks.iter().map(Chunk::len).collect();
    // 64, 128, 256, then 512 while at least 1,024 lines are left (17 chunks: 1,360 left
    // before the 17th); then half of 848, 424, 212, 106 left; then 64 of 42 left.
    let mut want = vec![64, 128, 256];
    want.extend([512; 17]);
    want.extend([424, 212, 106, 64, 42]);
    assert_eq!(sizes, want);
    let lines: Vec<u64> = chunks
        .iter()
        .flat_map(|c| (0..c.len()).map(|i| c.line(i).0))
        .collect();
    assert_eq!(lines, (1..=10_000).collect::<Vec<u64>>());
    assert!(chunks.last().unwrap().eof);
}

/// Counts the bytes read through it.
struct Counted(
    std::io::Cursor<Vec<u8>>,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
);

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Small reads: the reader's progress is seen to within a line.
        let n = buf.len().min(100);
        let n = self.0.read(&mut buf[..n])?;
        self.1
            .fetch_add(n as u64, std::sync::atomic::Ordering::SeqCst);
        Ok(n)
    }
}

/// With spares, a reader runs at most [`MAX_BUFFERS`] chunks ahead of the writer (however
/// much room the channel has), hands every line over in order, and does not wait for spares
/// once the writer is gone.
#[test]
fn a_reader_with_spares_stays_a_few_buffers_ahead() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    const LINE: usize = 100;
    const LINES: usize = 64;
    let input: Vec<u8> = (0..LINES * 40)
        .flat_map(|i| {
            let mut l = format!("{i:0w$}", w = LINE - 1).into_bytes();
            l.push(b'\n');
            l
        })
        .collect();
    for stop_after in [None, Some(3)] {
        let read = Arc::new(AtomicU64::new(0));
        let inner: Box<dyn Read + Send> = Box::new(Counted(
            std::io::Cursor::new(input.clone()),
            Arc::clone(&read),
        ));
        let source = Source::new(
            BufReader::with_capacity(1, inner),
            0,
            0,
            InputHash::default(),
            "in",
            1000,
            None,
            None,
            LINES,
        )
        .max_chunk_lines(LINES);
        let (tx, rx) = mpsc::sync_channel(64);
        let (spare_tx, spare_rx) = mpsc::sync_channel::<Spare>(8);
        let reader = std::thread::spawn(move || read_chunks(source, &tx, Some(&spare_rx), 0));
        let mut next = 0u64;
        for (k, chunk) in rx.iter().enumerate() {
            let chunk = chunk.unwrap();
            std::thread::sleep(std::time::Duration::from_millis(3));
            let ahead = read.load(Ordering::SeqCst);
            let bound = ((k + MAX_BUFFERS) * LINES * LINE + 2 * LINE) as u64;
            assert!(
                ahead <= bound,
                "chunk {k}: {ahead} bytes read, more than {bound}"
            );
            for i in 0..chunk.len() {
                let (n, l) = chunk.line(i);
                next += 1;
                assert_eq!(n, next);
                assert_eq!(l, format!("{:0w$}", n - 1, w = LINE - 1).as_bytes());
            }
            if stop_after == Some(k) {
                break;
            }
            // (The reader drops its end after the last chunk.)
            let _ = spare_tx.send(chunk.into_spare(Vec::new()));
        }
        drop(spare_tx);
        drop(rx);
        reader.join().unwrap();
        if stop_after.is_none() {
            assert_eq!(next, (LINES * 40) as u64);
        }
    }
}

/// Chunks read into buffers made ahead (`Spare::ahead`: at their full length, their pages
/// mapped, of any size, larger or smaller than a chunk needs) are the chunks read into
/// fresh buffers: the same lines, offsets and hashes.
#[test]
fn chunks_read_into_buffers_made_ahead_are_the_same() {
    let mut input = Vec::new();
    for i in 0..3000usize {
        match i % 11 {
            0 => input.extend_from_slice(b"\n"),
            1 => input.extend_from_slice(&vec![b'y'; 3000 + i]),
            _ => input.extend_from_slice(
                format!("{{\"n\": {i}, \"s\": \"{}\"}}", "z".repeat(i % 700)).as_bytes(),
            ),
        }
        input.push(b'\n');
    }
    let size = Some(input.len() as u64);
    let read = |ahead: Option<usize>| {
        let inner: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(input.clone()));
        let source = Source::new(
            BufReader::new(inner),
            0,
            0,
            InputHash::default(),
            "in",
            2048,
            None,
            size,
            FIRST_CHUNK_LINES,
        )
        .max_chunk_lines(128);
        let (tx, rx) = mpsc::sync_channel(1024);
        let (spare_tx, spare_rx) = mpsc::sync_channel(8);
        if let Some(bytes) = ahead {
            for _ in 0..MAX_BUFFERS {
                spare_tx.send(Spare::ahead(bytes, 128)).unwrap();
            }
        }
        // Fresh buffers once these are used (none come back: the chunks are kept here).
        drop(spare_tx);
        read_chunks(source, &tx, Some(&spare_rx), 0);
        drop(tx);
        rx.iter()
            .map(|c| {
                let c = c.unwrap();
                let lines: Vec<(u64, Vec<u8>)> = c
                    .lines()
                    .into_iter()
                    .map(|(n, l)| (n, l.to_vec()))
                    .collect();
                (lines, c.too_long.clone(), c.end_offset, c.end_hash, c.eof)
            })
            .collect::<Vec<_>>()
    };
    let fresh = read(None);
    assert!(fresh.len() > 20 && fresh.iter().any(|c| !c.1.is_empty()));
    for bytes in [
        0,
        100,
        4096,
        ahead_bytes(size, 128),
        ahead_bytes(None, 128),
        1 << 20,
    ] {
        assert_eq!(read(Some(bytes)), fresh, "buffers of {bytes} bytes");
    }
    assert_eq!(ahead_bytes(None, 128), 128 * LINE_BYTES_GUESS + READ_BYTES);
    assert_eq!(ahead_bytes(Some(1000), 128), 1000 + READ_BYTES);
}

/// Reads ask for what the chunk's remaining lines likely hold ([`read_ask`]; at a guessed
/// length until the mean line is known): the bytes read past a chunk's last line, copied out of its buffer and into
/// the next chunk's, stay a few KiB instead of up to a whole read; the chunks are the same.
#[test]
fn reads_ask_for_the_lines_left() {
    // Before the mean line is known: the guess, an eighth more.
    assert_eq!(
        read_ask(READ_BYTES, None, 64, 0),
        64 * ASK_LINE_GUESS * 9 / 8
    );
    assert_eq!(
        read_ask(READ_BYTES, None, 64, 30_000),
        64 * ASK_LINE_GUESS * 9 / 8 - 30_000
    );
    assert_eq!(read_ask(READ_BYTES, None, 2048, 0), READ_BYTES);
    assert_eq!(read_ask(READ_BYTES, Some(500), 1, 0), MIN_READ_BYTES);
    assert_eq!(read_ask(READ_BYTES, Some(500), 1000, 0), READ_BYTES);
    assert_eq!(read_ask(READ_BYTES, Some(500), 64, 10_000), 36_000 - 10_000);
    assert_eq!(read_ask(READ_BYTES, Some(500), 64, 90_000), MIN_READ_BYTES);
    assert_eq!(
        read_ask(MIN_READ_BYTES, Some(usize::MAX), usize::MAX, 0),
        MIN_READ_BYTES
    );
    let line = format!("{{\"x\": \"{}\"}}\n", "y".repeat(520));
    let input = line.repeat(3000).into_bytes();
    for size in [None, Some(input.len() as u64)] {
        let inner: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(input.clone()));
        let mut source = Source::new(
            BufReader::new(inner),
            0,
            0,
            InputHash::default(),
            "in",
            1 << 20,
            None,
            size,
            FIRST_CHUNK_LINES,
        )
        .max_chunk_lines(128);
        let mut lines = 0;
        while let Some(chunk) = source.next_chunk(Spare::default()) {
            let chunk = chunk.unwrap();
            let mut want = InputHash::default();
            want.update(&input[..chunk.end_offset as usize]);
            assert_eq!(chunk.end_hash, want.digest());
            assert_eq!(
                chunk.end_offset,
                (lines + chunk.len()) as u64 * line.len() as u64
            );
            // The first chunk's lines are read before their mean length is known.
            if lines >= LINES_TO_MEASURE as usize {
                assert!(
                    source.carry.len() <= 12 << 10,
                    "{} bytes read past line {}",
                    source.carry.len(),
                    chunk.last_line
                );
            }
            lines += chunk.len();
        }
        assert_eq!(lines, 3000);
    }
}

/// `leave_next_unplanned` leaves exactly the next chunk's lines unplanned (the reader's own
/// `plan_elsewhere` flag down), and that chunk, planned afterwards by the grading thread
/// (`Chunk::plan`), holds the plans the reader would have made.
#[test]
fn the_next_chunk_only_is_left_unplanned() {
    let grader = gradekit_engine::compile(
        &serde_json::json!({"type": "text_similarity", "name": "r",
            "evaluation_metric": "rouge_l", "input": "{{ sample.output_text }}",
            "reference": "{{ item.reference }}"}),
        &Default::default(),
    )
    .unwrap();
    let planner = super::super::planner(&grader, None, false).unwrap();
    let mut input = String::new();
    for i in 0..400 {
        input.push_str(&format!(
            "{{\"id\": {i}, \"item\": {{\"reference\": \"the cat {i}\"}}, \"model_sample\": \"a cat {}\"}}\n",
            i * 3
        ));
    }
    let source = || {
        let inner: Box<dyn Read + Send> =
            Box::new(std::io::Cursor::new(input.clone().into_bytes()));
        let mut s = Source::new(
            BufReader::new(inner),
            0,
            0,
            InputHash::default(),
            "in",
            1 << 20,
            Some(planner.clone()),
            None,
            FIRST_CHUNK_LINES,
        )
        .max_chunk_lines(64);
        s.plan_elsewhere(Arc::new(AtomicBool::new(false)));
        s
    };
    let plans_of = |c: &Chunk| {
        let p = c.plans.as_ref().unwrap();
        (p.text.clone(), p.plans.len())
    };
    let mut planned = source();
    let mut left = source();
    let mut unplanned_seen = Vec::new();
    for k in 0..4 {
        if k == 1 {
            left.leave_next_unplanned();
        }
        let a = planned.next_chunk(Spare::default()).unwrap().unwrap();
        let mut b = left.next_chunk(Spare::default()).unwrap().unwrap();
        assert!(!a.unplanned);
        unplanned_seen.push(b.unplanned);
        b.plan(&planner);
        assert_eq!(plans_of(&a), plans_of(&b), "chunk {k}");
    }
    assert_eq!(unplanned_seen, [false, true, false, false]);
}
