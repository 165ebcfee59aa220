//! Checkpoints that make `score --resume` safe.
//!
//! After the first chunk of output lines written and flushed once the run has lasted
//! [`FIRST_CHECKPOINT_AFTER`](super::sink::FIRST_CHECKPOINT_AFTER), then after the chunk that
//! ends each [`CHECKPOINT_EVERY`](super::CHECKPOINT_EVERY) or so, `OUT.gkresume` is replaced
//! atomically (write a temporary file, rename it) with: how many output bytes are complete,
//! how many input bytes they cover, a hash of those input bytes and a hash of the grader. A
//! crash can leave output *after* the last checkpoint — possibly half a line — but never a
//! checkpoint that trusts it: `--resume` truncates OUT back to the checkpoint, checks that
//! the input still starts with the same bytes and the grader is the same, and continues.
//!
//! Nothing is touched before everything is verified ([`verify_output`]): OUT must be at least
//! as long as the checkpoint says, its kept bytes must hash to the checkpoint's `output_hash`
//! (an edited or deleted row changes it), end on a row boundary, and their last row must be
//! the one the checkpoint names. Otherwise `--resume` refuses with a message and leaves OUT,
//! the checkpoint and the input as they were.

use super::summary::Summary;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub version: u32,
    pub grader_sha256: String,
    pub input: String,
    /// `--sample-key` of the run: it decides what every row graded, so a resume must use the
    /// same one (absent: none; checkpoints of runs without it read the same as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_key: Option<String>,
    /// Bytes of the (decompressed) input consumed by the rows in OUT.
    pub input_offset: u64,
    /// XXH3-64 of those bytes, in hex.
    pub input_hash: String,
    /// Last physical input line covered.
    pub line: u64,
    /// Length of OUT that holds complete lines.
    pub output_bytes: u64,
    /// XXH3-64 of those `output_bytes` bytes of OUT, in hex.
    pub output_hash: String,
    /// `line` of the last row within `output_bytes` (0 when there is none).
    pub last_row_line: u64,
    pub complete: bool,
}

pub fn path_for(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".gkresume");
    out.with_file_name(name)
}

pub fn load(path: &Path) -> Result<Option<Checkpoint>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let c: Checkpoint = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a gradekit checkpoint", path.display()))?;
            if c.version != VERSION {
                anyhow::bail!(
                    "{} is a version {} checkpoint; this gradekit resumes only version {VERSION} \
                     (score the input again without --resume)",
                    path.display(),
                    c.version
                );
            }
            Ok(Some(c))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

pub fn save(path: &Path, c: &Checkpoint) -> Result<()> {
    let tmp = path.with_extension("gkresume.tmp");
    std::fs::write(&tmp, serde_json::to_vec(c)?)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// The checkpoint format written by this version; others are refused with a clear message.
pub const VERSION: u32 = 3;

/// XXH3-64 over the input bytes, streamed: cheap enough to run over every byte on the reader
/// thread. `twox-hash` picks its AVX2 loop at run time where the CPU has it (the x86_64
/// baseline the binary is built for has only SSE2, which `xxhash-rust` is then compiled
/// for): a one-pass 2,000-line run hashes its 1 MB input in ~26 instead of ~48 µs (#17
/// "rouge14"). The digests are XXH3-64's either way (checkpoints of older runs resume).
#[derive(Clone, Default)]
pub struct InputHash(twox_hash::XxHash3_64);

impl InputHash {
    pub fn update(&mut self, bytes: &[u8]) {
        std::hash::Hasher::write(&mut self.0, bytes);
    }

    pub fn hex(&self) -> String {
        hex(self.digest())
    }

    pub fn digest(&self) -> u64 {
        std::hash::Hasher::finish(&self.0)
    }
}

/// A hash as checkpoints write it.
pub fn hex(digest: u64) -> String {
    format!("{digest:016x}")
}

/// The grader's hash ([`grader_hash`]) when something asks for it: a checkpoint being saved,
/// a `--resume` comparing its own. A run that saves none (an empty input, one chunk, stdout)
/// never computes it: hashing was ~5 % of the instructions of an empty run, and sha2's first
/// use probes the CPU (`cpuid`, which traps to the hypervisor in a virtual machine).
pub struct GraderSha {
    json: Option<serde_json::Value>,
    hex: String,
}

impl GraderSha {
    pub fn new(grader: serde_json::Value) -> GraderSha {
        GraderSha {
            json: Some(grader),
            hex: String::new(),
        }
    }

    /// [`grader_hash`] of the grader, computed the first time.
    pub fn hex(&mut self) -> &str {
        if let Some(j) = self.json.take() {
            self.hex = grader_hash(&j);
        }
        &self.hex
    }
}

/// sha256 of the grader's canonical JSON (key order and whitespace do not matter).
pub fn grader_hash(grader: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(gradekit_engine::canonical_json(grader).as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `line` of the last row in `text` (rows start with `{"line":N`), if any.
pub fn last_row_line(text: &[u8]) -> Option<u64> {
    let body = text.strip_suffix(b"\n")?;
    // memrchr: the writer asks this of every block of rows it writes, a row is ~1 KB.
    let start = memchr::memrchr(b'\n', body).map_or(0, |i| i + 1);
    let rest = body[start..].strip_prefix(b"{\"line\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// Checks, without writing anything, that the first `c.output_bytes` bytes of `out` are the
/// rows the checkpoint describes; rebuilds the summary from them and returns the hash state
/// of those bytes (the writer continues it). See the module docs.
pub fn verify_output(
    out: &Path,
    c: &Checkpoint,
    threshold: Option<f64>,
    summary: &mut Summary,
) -> Result<InputHash> {
    let refuse = |why: String| {
        anyhow::anyhow!(
            "cannot resume {}: {why}; nothing was changed (score the input again without --resume, \
             or restore the output)",
            out.display()
        )
    };
    let f = std::fs::File::open(out).with_context(|| format!("cannot open {}", out.display()))?;
    let len = f.metadata()?.len();
    if len < c.output_bytes {
        return Err(refuse(format!(
            "it is {len} bytes long but its checkpoint covers {} bytes (rows were removed)",
            c.output_bytes
        )));
    }
    let mut hash = InputHash::default();
    let mut reader = BufReader::with_capacity(1 << 20, f.take(c.output_bytes));
    let mut buf = Vec::new();
    let mut last = 0u64;
    let mut n = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        n += 1;
        hash.update(&buf);
        if buf.last() != Some(&b'\n') {
            return Err(refuse(format!(
                "its checkpoint offset {} falls inside row {n}",
                c.output_bytes
            )));
        }
        let v: Value = serde_json::from_slice(&buf)
            .map_err(|_| refuse(format!("line {n} is not a gradekit row")))?;
        last = v
            .get("line")
            .and_then(Value::as_u64)
            .ok_or_else(|| refuse(format!("line {n} has no \"line\" number")))?;
        reload_row(&v, threshold, summary);
    }
    if hash.hex() != c.output_hash {
        return Err(refuse(format!(
            "its first {} bytes are not the ones its checkpoint recorded (rows were edited)",
            c.output_bytes
        )));
    }
    if last != c.last_row_line {
        return Err(refuse(format!(
            "its last kept row is line {last}, but its checkpoint says {}",
            c.last_row_line
        )));
    }
    Ok(hash)
}

/// Counts one kept row into the summary, as if it had just been graded.
fn reload_row(v: &Value, threshold: Option<f64>, summary: &mut Summary) {
    match v.get("reward").and_then(Value::as_f64) {
        None => summary.invalid_lines += 1,
        Some(r) => {
            let errs = v.pointer("/metadata/errors").and_then(Value::as_object);
            let flags = errs
                .into_iter()
                .flatten()
                .filter(|(_, on)| on.as_bool() == Some(true))
                .map(|(k, _)| k.as_str());
            let subs = v
                .get("sub_rewards")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(k, x)| x.as_f64().map(|x| (k.as_str(), x)));
            summary.add_parts(r, flags, subs, threshold);
            // Rows carry the summed usage and the model only when one model answered.
            let model = v
                .pointer("/metadata/sampled_model_name")
                .and_then(Value::as_str);
            let usage = v.pointer("/metadata/token_usage").and_then(|u| {
                serde_json::from_value::<gradekit_engine::TokenUsage>(u.clone()).ok()
            });
            if let (Some(m), Some(u)) = (model, usage) {
                summary.add_usage(m, &u);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_row_line_reads_the_last_row() {
        assert_eq!(last_row_line(b""), None);
        assert_eq!(last_row_line(b"{\"line\":7,\"reward\":1}\n"), Some(7));
        assert_eq!(
            last_row_line(b"{\"line\":1,\"x\":2}\n{\"line\":12,\"reward\":null}\n"),
            Some(12)
        );
        assert_eq!(last_row_line(b"{\"line\":3"), None);
    }

    /// The streamed hash is XXH3-64 (the reference implementation's, which wrote the
    /// checkpoints of earlier versions) for any length and any way the bytes are split: both
    /// sides of its 240-byte short/long cut-off, its 256-byte buffer and its 1,024-byte blocks.
    #[test]
    fn input_hash_is_xxh3_64_however_the_bytes_come() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let bytes: Vec<u8> = (0..70_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let lens = (0..1_100).chain([4_095, 4_096, 32_768, 65_537, 70_000]);
        for len in lens {
            let data = &bytes[..len];
            let want = xxhash_rust::xxh3::xxh3_64(data);
            for step in [1, 3, 64, 240, 241, 256, 1_000, 1_024, 32_768] {
                if len > 5_000 && step < 64 {
                    continue;
                }
                let mut h = InputHash::default();
                for part in data.chunks(step) {
                    h.update(part);
                    // Digests mid-stream (one per chunk read) leave the state as it was.
                    let _ = h.digest();
                }
                assert_eq!(h.digest(), want, "{len} bytes in steps of {step}");
            }
        }
        assert_eq!(
            InputHash::default().hex(),
            format!("{:016x}", xxhash_rust::xxh3::xxh3_64(b""))
        );
    }
}
