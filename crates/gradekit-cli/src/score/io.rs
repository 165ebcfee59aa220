//! Opening `score`'s input and output: files or stdin/stdout, with gzip (`.gz`) and zstd
//! (`.zst`) chosen by extension.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

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

/// The input stream (decompressed) and, for a plain file, its size in bytes.
pub fn open_input(path: &Path) -> Result<(Box<dyn Read + Send>, Option<u64>)> {
    if is_stdio(path) {
        return Ok((Box::new(std::io::stdin()), None));
    }
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = f.metadata().ok().map(|m| m.len());
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
