//! Reading JSON documents from files or stdin with messages that name the file and position.

use anyhow::{Context, Result};
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// Largest JSON document read by `run`, `validate` and for a grader (a run request, a grader
/// file): 256 MiB. Past it the command fails with a message instead of reading without bound.
pub const MAX_DOCUMENT_BYTES: u64 = 256 << 20;

/// Reads a whole file (`-` = stdin), at most [`MAX_DOCUMENT_BYTES`].
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    let (name, reader): (String, Box<dyn Read>) = if path.as_os_str() == "-" {
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
    let name = if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{name} is not valid JSON: {} at line {}, column {}",
            strip_position(&e.to_string()),
            e.line(),
            e.column()
        )
    })
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
    use std::io::Write;
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
