//! The hash of OUT that checkpoints record, computed only when a checkpoint may need it.
//!
//! A checkpoint holds the XXH3 of every byte of OUT before it ([`super::resume`]). Hashing
//! each row as it is written cost a pass over the output, ~1.1 KB a row, on the thread that
//! writes it — the thread that bounds a cheap grader's run (#17). But a run that ends before
//! its next checkpoint is due never uses that hash: a plain run saves its first checkpoint
//! after the first chunk written [`super::sink::FIRST_CHECKPOINT_AFTER`] into the run, the next
//! one [`super::sink::CHECKPOINT_EVERY`] later, and removes
//! the checkpoint when it completes. So while the input left (a plain file of known size), at
//! the pace the run has kept so far, would be read well before the next checkpoint is due,
//! rows are written unhashed; when a checkpoint is saved after all (the run slowed down, or a
//! `--resume` run keeps its last one), the bytes not hashed yet are read back from OUT and
//! hashed first. The checkpoint is the same either way; only OUT being a regular file allows
//! the reading back (otherwise everything is hashed as written).

use super::resume::InputHash;
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Least time the pace is measured over before rows may go unhashed.
const PACE_AFTER: Duration = Duration::from_micros(500);

/// Bytes read back from OUT at once.
const READ_BACK: usize = 64 << 10;

/// The hash of OUT's first `hashed` bytes, and what is needed to hash the rest later.
pub(super) struct OutHash {
    pub(super) hash: InputHash,
    /// Bytes of OUT that `hash` covers.
    pub(super) hashed: u64,
    /// OUT, to read back (`None`: it is not a regular file; every byte is hashed as written).
    back: Option<ReadBack>,
    /// End offset of the input when known (a plain file).
    input_end: Option<u64>,
    /// When the first chunk was written, and the input offset after it.
    first: Option<(Instant, u64)>,
}

struct ReadBack {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
}

impl OutHash {
    /// The hash of OUT's first `hashed` bytes; `out`: OUT's path when it is a regular file
    /// (its unhashed bytes can then be read back, if it can be opened for reading now:
    /// otherwise every byte is hashed as written); `input_end`: where the input ends.
    pub(super) fn new(
        hash: InputHash,
        hashed: u64,
        out: Option<PathBuf>,
        input_end: Option<u64>,
    ) -> OutHash {
        OutHash {
            hash,
            hashed,
            back: out.and_then(|path| {
                let file = File::open(&path).ok()?;
                Some(ReadBack {
                    path,
                    file,
                    buf: Vec::new(),
                })
            }),
            input_end,
            first: None,
        }
    }

    /// Whether the rows of the chunk that ends at input offset `end` should be hashed as
    /// they are written: unless the run looks like it will end before its next checkpoint
    /// (due in `due_in`; the first chunk's rows are always hashed: the pace is not known yet).
    pub(super) fn hash_chunk(&mut self, end: u64, due_in: Duration) -> bool {
        let Some((t0, at)) = self.first else {
            self.first = Some((Instant::now(), end));
            return true;
        };
        let (Some(_), Some(input_end)) = (&self.back, self.input_end) else {
            return true;
        };
        !ends_before(
            t0.elapsed(),
            end.saturating_sub(at),
            input_end.saturating_sub(end),
            due_in,
        )
    }

    /// Hashes `text`, the next bytes of OUT, written at offset `at` (after the bytes not
    /// hashed yet, when there are some: they are read back first).
    pub(super) fn update(&mut self, at: u64, text: &[u8]) -> Result<()> {
        self.catch_up(at)?;
        self.hash.update(text);
        self.hashed += text.len() as u64;
        Ok(())
    }

    /// The hash of OUT's first `len` bytes, in hex (reading back the bytes written unhashed).
    pub(super) fn hex_at(&mut self, len: u64) -> Result<String> {
        self.catch_up(len)?;
        Ok(self.hash.hex())
    }

    /// Hashes OUT's bytes from `hashed` to `len`, read back from the file.
    fn catch_up(&mut self, len: u64) -> Result<()> {
        if self.hashed >= len {
            return Ok(());
        }
        let Some(back) = &mut self.back else {
            anyhow::bail!("internal: output bytes were written unhashed");
        };
        let name = back.path.display().to_string();
        let file = &mut back.file;
        file.seek(SeekFrom::Start(self.hashed))
            .with_context(|| format!("cannot read {name} back to checkpoint it"))?;
        back.buf.resize(READ_BACK, 0);
        while self.hashed < len {
            let want = usize::try_from(len - self.hashed).map_or(READ_BACK, |n| n.min(READ_BACK));
            let buf = &mut back.buf[..want];
            file.read_exact(buf)
                .with_context(|| format!("cannot read {name} back to checkpoint it"))?;
            self.hash.update(buf);
            self.hashed += want as u64;
        }
        Ok(())
    }
}

/// True when a run that read `done` input bytes in `elapsed` and has `left` to read will, at
/// that pace, be done in less than half the time `due_in` until its next checkpoint.
fn ends_before(elapsed: Duration, done: u64, left: u64, due_in: Duration) -> bool {
    if elapsed < PACE_AFTER || done == 0 {
        return false;
    }
    let finish_in = elapsed.as_secs_f64() * (left as f64 / done as f64);
    2.0 * finish_in < due_in.as_secs_f64()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write;

    #[test]
    fn rows_go_unhashed_only_when_the_run_ends_well_before_its_next_checkpoint() {
        let ms = Duration::from_millis;
        // 1 MB in 10 ms, 2 MB left: 20 ms to go, the checkpoint in 100 ms.
        assert!(ends_before(ms(10), 1 << 20, 2 << 20, ms(100)));
        // 60 ms to go: not twice as soon as the checkpoint.
        assert!(!ends_before(ms(10), 1 << 20, 6 << 20, ms(100)));
        // A checkpoint due now, a pace not measured yet, nothing read yet.
        assert!(!ends_before(ms(10), 1 << 20, 1, Duration::ZERO));
        assert!(!ends_before(
            Duration::from_micros(100),
            1 << 20,
            1,
            ms(100)
        ));
        assert!(!ends_before(ms(10), 0, 1, ms(100)));
        // Nothing left: no checkpoint will be needed.
        assert!(ends_before(ms(1), 1, 0, ms(1)));
    }

    /// Bytes written unhashed are read back from OUT: the hash is the one of every byte, and
    /// the first chunk or an input of unknown size are always hashed as written.
    #[test]
    fn bytes_written_unhashed_are_read_back_for_the_checkpoint() {
        let path = std::env::temp_dir().join(format!("gk-outhash-{}.jsonl", std::process::id()));
        let mut out = File::create(&path).unwrap();
        let rows: Vec<Vec<u8>> = (0..200)
            .map(|i| {
                format!("{{\"line\":{i},\"x\":\"{}\"}}\n", "y".repeat(i * 37 % 900)).into_bytes()
            })
            .collect();
        let every = Duration::from_millis(100);
        let mut h = OutHash::new(InputHash::default(), 0, Some(path.clone()), Some(1 << 30));
        assert!(h.hash_chunk(10, every), "the first chunk");
        let mut written = 0u64;
        for (i, row) in rows.iter().enumerate() {
            out.write_all(row).unwrap();
            if i % 3 == 0 {
                h.update(written, row).unwrap();
            }
            written += row.len() as u64;
            if i == 120 {
                let mut all = InputHash::default();
                rows[..=i].iter().for_each(|r| all.update(r));
                assert_eq!(h.hex_at(written).unwrap(), all.hex());
            }
        }
        let mut all = InputHash::default();
        rows.iter().for_each(|r| all.update(r));
        assert_eq!(h.hex_at(written).unwrap(), all.hex());
        assert_eq!(h.hashed, written);

        // No file to read back: every chunk is hashed.
        let mut h = OutHash::new(InputHash::default(), 0, None, Some(1 << 30));
        assert!(h.hash_chunk(10, every));
        std::thread::sleep(Duration::from_millis(2));
        assert!(h.hash_chunk(1 << 29, every));
        assert!(h.update(0, b"x").is_ok());
        assert!(
            h.hex_at(2).is_err(),
            "a byte written unhashed cannot be hashed"
        );
        // With one, a run nearly done goes unhashed; one of unknown size does not.
        let mut h = OutHash::new(InputHash::default(), 0, Some(path.clone()), Some(1 << 20));
        assert!(h.hash_chunk(10, every));
        std::thread::sleep(Duration::from_millis(2));
        assert!(!h.hash_chunk((1 << 20) - 10, every));
        // OUT that cannot be opened for reading: hashed as written.
        let gone = path.with_extension("gone");
        let mut h = OutHash::new(InputHash::default(), 0, Some(gone), Some(1 << 20));
        assert!(h.hash_chunk(10, every));
        std::thread::sleep(Duration::from_millis(2));
        assert!(h.hash_chunk((1 << 20) - 10, every));
        let mut h = OutHash::new(InputHash::default(), 0, Some(path), None);
        assert!(h.hash_chunk(10, every));
        std::thread::sleep(Duration::from_millis(2));
        assert!(h.hash_chunk((1 << 20) - 10, every));
        let _ = std::fs::remove_file(
            std::env::temp_dir().join(format!("gk-outhash-{}.jsonl", std::process::id())),
        );
    }
}
