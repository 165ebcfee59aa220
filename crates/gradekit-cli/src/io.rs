//! The CLI's input and output, in one place: JSON documents read whole (a grader, a `run` or
//! `validate` request) with messages that name the file and position; `score`'s streams —
//! input and output files or stdin/stdout, gzip (`.gz`) and zstd (`.zst`) chosen by extension,
//! and the refusal to write over an input; and the rules for standard streams (a closed one is
//! an error, a closed pipe a quiet exit).

use anyhow::{Context, Result};
use serde_json::Value;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

/// Largest JSON document read by `run`, `validate` and for a grader (a run request, a grader
/// file): 256 MiB. Past it the command fails with a message instead of reading without bound.
pub const MAX_DOCUMENT_BYTES: u64 = 256 << 20;

/// Reads a whole file (`-` = stdin), at most [`MAX_DOCUMENT_BYTES`].
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    let (name, reader): (String, Box<dyn Read>) = if is_stdio(path) {
        require_stdin()?;
        ("standard input".into(), Box::new(std::io::stdin()))
    } else {
        let f =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        (path.display().to_string(), Box::new(f))
    };
    let mut buf = Vec::new();
    reader
        .take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {name}"))?;
    if buf.len() as u64 > MAX_DOCUMENT_BYTES {
        anyhow::bail!(
            "{name} is larger than the limit of {MAX_DOCUMENT_BYTES} bytes for one JSON document"
        );
    }
    Ok(buf)
}

/// Reads and parses one JSON document.
pub fn read_json(path: &Path) -> Result<Value> {
    let bytes = read_input(path)?;
    let name = if is_stdio(path) {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{name} is not valid JSON: {} at line {}, column {}{}",
            strip_position(&e.to_string()),
            e.line(),
            e.column(),
            bom_hint(&bytes)
        )
    })
}

/// A hint for a JSON document or line that fails to parse because it starts with a UTF-8
/// byte-order mark (some Windows editors write one): serde_json only says "expected value at
/// column 1". JSON forbids the mark, so it stays an error; the message says what to fix.
pub fn bom_hint(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        " (it starts with a UTF-8 byte-order mark, which JSON does not allow: save it as UTF-8 without BOM)"
    } else {
        ""
    }
}

/// serde_json appends " at line L column C"; we print our own position.
pub fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// Prints every config error on stderr, one per line.
pub fn report(errs: &gradekit_engine::ConfigErrors, what: &str) {
    eprintln!("error: invalid {what}:");
    for e in errs.iter() {
        eprintln!("  {e}");
    }
}

/// Reads a grader file: the grader object itself, or a validate request body
/// `{"grader": {...}}` (a grader has no `grader` field, so the two cannot be confused).
pub fn read_grader(path: &Path) -> Result<Value> {
    let v = read_json(path)?;
    match v {
        Value::Object(mut m) if m.len() == 1 && m.contains_key("grader") => {
            Ok(m.remove("grader").unwrap_or(Value::Null))
        }
        other => Ok(other),
    }
}

/// Writes `text` and a newline to standard output, reporting failure as an error instead of
/// panicking as `println!` does (a closed pipe is then a quiet exit, see [`is_broken_pipe`]).
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}

/// True when `e` comes from writing to a reader that went away (EPIPE): like ripgrep,
/// `gradekit … | head` then ends quietly with exit 0.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// True when standard stream `fd` (0, 1 or 2) was closed when gradekit started.
///
/// Rust's runtime reopens a closed standard descriptor on `/dev/null` before `main` (so that
/// a later `open` cannot take its number); it opens it read-write, which no shell redirection
/// does (`>/dev/null` is write-only, `</dev/null` read-only). So a standard stream on
/// `/dev/null` opened read-write means the parent closed it (`>&-`, `<&-`): writing there would
/// silently lose every row, reading it would look like an empty input.
pub fn stdio_closed(fd: u8) -> bool {
    if !cfg!(target_os = "linux") {
        return false;
    }
    let Ok(target) = std::fs::read_link(format!("/proc/self/fd/{fd}")) else {
        return false;
    };
    if target != Path::new("/dev/null") {
        return false;
    }
    let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else {
        return false;
    };
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|flags| flags & 0o3 == 0o2) // O_ACCMODE == O_RDWR
}

/// Fails when standard output was closed (see [`stdio_closed`]).
pub fn require_stdout() -> Result<()> {
    if stdio_closed(1) {
        anyhow::bail!("standard output is closed: the results would be lost");
    }
    Ok(())
}

/// Fails when standard input was closed (see [`stdio_closed`]).
pub fn require_stdin() -> Result<()> {
    if stdio_closed(0) {
        anyhow::bail!("standard input is closed: there is nothing to read");
    }
    Ok(())
}

/// A last resort for writes to standard output that still go through `println!` (which panics
/// when the write fails): a closed pipe ends the process quietly with 0, any other failure
/// with a one-line error and exit 2 — never a panic message.
pub fn install_stdout_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") {
            if msg.contains("Broken pipe") {
                std::process::exit(0);
            }
            eprintln!("error: cannot write to standard output: {msg}");
            std::process::exit(2);
        }
        default(info);
    }));
}

// ---- `score`'s streams ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Plain,
    Gzip,
    Zstd,
}

pub fn codec_of(path: &Path) -> Codec {
    match path.extension().and_then(|e| e.to_str()) {
        Some("gz") | Some("gzip") => Codec::Gzip,
        Some("zst") | Some("zstd") => Codec::Zstd,
        _ => Codec::Plain,
    }
}

pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The input stream (decompressed) and, for a plain regular file, its size in bytes.
pub fn open_input(path: &Path) -> Result<(Box<dyn Read + Send>, Option<u64>)> {
    if is_stdio(path) {
        return Ok((Box::new(std::io::stdin()), None));
    }
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    // Only a regular file's length is its size (a named pipe or `<(…)` says 0).
    let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    Ok(match codec_of(path) {
        Codec::Plain => (Box::new(f), size),
        Codec::Gzip => (
            Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(f))),
            None,
        ),
        Codec::Zstd => (
            Box::new(
                zstd::stream::read::Decoder::new(f)
                    .with_context(|| format!("cannot read {} as zstd", path.display()))?,
            ),
            None,
        ),
    })
}

/// A sink that knows how to finish its compressed stream.
pub enum Output {
    Plain(Box<dyn Write + Send>),
    Gzip(flate2::write::GzEncoder<File>),
    Zstd(zstd::stream::write::Encoder<'static, File>),
}

impl Output {
    pub fn create(path: Option<&Path>, append: bool) -> Result<Output> {
        let Some(path) = path.filter(|p| !is_stdio(p)) else {
            return Ok(Output::Plain(Box::new(std::io::stdout())));
        };
        let f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(match codec_of(path) {
            Codec::Plain => Output::Plain(Box::new(f)),
            Codec::Gzip => Output::Gzip(flate2::write::GzEncoder::new(
                f,
                flate2::Compression::default(),
            )),
            Codec::Zstd => {
                Output::Zstd(zstd::stream::write::Encoder::new(f, 3).context("cannot start zstd")?)
            }
        })
    }

    /// Completes a compressed stream (its trailer) and flushes.
    pub fn finish(self) -> Result<()> {
        match self {
            Output::Plain(mut w) => w.flush()?,
            Output::Gzip(w) => {
                w.finish()?.flush()?;
            }
            Output::Zstd(w) => {
                w.finish()?.flush()?;
            }
        }
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Plain(w) => w.write(buf),
            Output::Gzip(w) => w.write(buf),
            Output::Zstd(w) => w.write(buf),
        }
    }
    fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        match self {
            Output::Plain(w) => w.write_vectored(bufs),
            Output::Gzip(w) => w.write_vectored(bufs),
            Output::Zstd(w) => w.write_vectored(bufs),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Plain(w) => w.write_all(buf),
            Output::Gzip(w) => w.write_all(buf),
            Output::Zstd(w) => w.write_all(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Plain(w) => w.flush(),
            Output::Gzip(w) => w.flush(),
            Output::Zstd(w) => w.flush(),
        }
    }
}

/// What a file is, for "is this the same file": device and inode (symlinks followed), so that
/// two names, a symlink or a redirected stdin all compare equal to the file they reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

#[cfg(unix)]
fn id_of(m: &std::fs::Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    // Only regular files can be destroyed by being written: two ends of /dev/null or of a
    // terminal are not a conflict.
    m.is_file().then(|| FileId {
        dev: m.dev(),
        ino: m.ino(),
    })
}

#[cfg(not(unix))]
fn id_of(_: &std::fs::Metadata) -> Option<FileId> {
    None
}

/// The id of a standard stream (`0` stdin, `1` stdout) when it is a regular file.
fn stdio_id(stdout: bool) -> Option<FileId> {
    use std::os::fd::AsFd;
    let fd = if stdout {
        std::io::stdout().as_fd().try_clone_to_owned().ok()?
    } else {
        std::io::stdin().as_fd().try_clone_to_owned().ok()?
    };
    id_of(&File::from(fd).metadata().ok()?)
}

/// A named input or output: its display name and, when it exists, its id.
struct Named {
    name: String,
    id: Option<FileId>,
    /// Absolute path for outputs that do not exist yet (two such outputs may still collide).
    path: Option<std::path::PathBuf>,
}

fn named(path: &Path, what: &str) -> Named {
    if is_stdio(path) {
        let stdout = what != "input" && what != "grader";
        return Named {
            name: format!(
                "the {what} (standard {})",
                if stdout { "output" } else { "input" }
            ),
            id: stdio_id(stdout),
            path: None,
        };
    }
    Named {
        name: format!("the {what} {}", path.display()),
        id: std::fs::metadata(path).ok().and_then(|m| id_of(&m)),
        path: std::path::absolute(path).ok(),
    }
}

/// Refuses (before anything is opened for writing) when an output of `score` is the same file
/// as one of its inputs or as another output: `-o` equal to the input (directly, through a
/// symlink, or with stdin redirected from it) would truncate the input to nothing, and `-o`
/// equal to the grader would overwrite it. Files are compared by device and inode.
pub fn refuse_overlaps(inputs: &[(&Path, &str)], outputs: &[(&Path, &str)]) -> Result<()> {
    let ins: Vec<Named> = inputs.iter().map(|(p, w)| named(p, w)).collect();
    let outs: Vec<Named> = outputs.iter().map(|(p, w)| named(p, w)).collect();
    for (i, o) in outs.iter().enumerate() {
        for x in &ins {
            if o.id.is_some() && o.id == x.id {
                anyhow::bail!(
                    "{} is the same file as {}: writing it would destroy the input; \
                     choose another output file (nothing was written)",
                    o.name,
                    x.name
                );
            }
        }
        for other in &outs[..i] {
            let same_id = o.id.is_some() && o.id == other.id;
            let same_path = o.path.is_some() && o.path == other.path;
            if same_id || same_path {
                anyhow::bail!(
                    "{} and {} are the same file; give them different names (nothing was written)",
                    other.name,
                    o.name
                );
            }
        }
    }
    Ok(())
}

/// Checks, before a run starts, that a file written at its end (`score --summary-json`,
/// `--report`) can be written: a run of hours must not end in "cannot write" with the file it
/// was asked for lost. An existing file is opened for appending (not truncated); a new one is
/// created and removed again. The error is the one the write at the end would give.
pub fn require_writable(path: &Path) -> Result<()> {
    let probe = match path.exists() {
        true => std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop),
        // (A dangling symlink "exists" for `create_new`: the write at the end follows it.)
        false => match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(_) => std::fs::remove_file(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        },
    };
    probe.with_context(|| format!("cannot write {} (nothing was graded)", path.display()))
}
