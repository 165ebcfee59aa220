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
