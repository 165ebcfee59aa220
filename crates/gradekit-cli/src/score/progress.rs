//! Progress on stderr: a one-line bar on a terminal, plain periodic lines with `--progress`.

use std::io::Write;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    Bar,
    Lines,
}

pub struct Progress {
    mode: Mode,
    start: Instant,
    last: Instant,
    every: Duration,
    total_bytes: Option<u64>,
    /// Rows and input bytes already done before this run (`--resume`): rates and the ETA
    /// count only this run's work.
    base_rows: u64,
    base_bytes: u64,
}

/// What the progress line shows.
pub struct Snapshot {
    pub rows: u64,
    pub bytes: u64,
    pub mean: Option<f64>,
    pub errors: u64,
    pub invalid: u64,
}

fn human_bytes(b: u64) -> String {
    const U: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut x = b as f64;
    let mut i = 0;
    while x >= 1000.0 && i < U.len() - 1 {
        x /= 1000.0;
        i += 1;
    }
    format!("{x:.1} {}", U[i])
}

fn hms(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

impl Progress {
    pub fn new(mode: Mode, total_bytes: Option<u64>) -> Progress {
        let now = Instant::now();
        Progress {
            mode,
            start: now,
            last: now,
            every: match mode {
                Mode::Lines => Duration::from_secs(5),
                _ => Duration::from_millis(200),
            },
            total_bytes,
            base_rows: 0,
            base_bytes: 0,
        }
    }

    /// Work done before this run started (a resumed run).
    pub fn resumed_from(mut self, rows: u64, bytes: u64) -> Progress {
        self.base_rows = rows;
        self.base_bytes = bytes;
        self
    }

    fn line(&self, s: &Snapshot) -> String {
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let rate = s.rows.saturating_sub(self.base_rows) as f64 / secs;
        let mut out = String::new();
        if let Some(total) = self.total_bytes.filter(|t| *t > 0) {
            let frac = (s.bytes as f64 / total as f64).min(1.0);
            if self.mode == Mode::Bar {
                let filled = (frac * 24.0) as usize;
                out.push_str(&format!(
                    "[{}{}] ",
                    "#".repeat(filled),
                    "-".repeat(24 - filled)
                ));
            }
            // Time per byte of this run, times the bytes left.
            let done = s.bytes.saturating_sub(self.base_bytes) as f64;
            let left = total.saturating_sub(s.bytes) as f64;
            let eta = if done > 0.0 { secs / done * left } else { 0.0 };
            out.push_str(&format!(
                "{:>3.0}% {} / {}, ETA {} | ",
                frac * 100.0,
                human_bytes(s.bytes),
                human_bytes(total),
                hms(eta)
            ));
        } else {
            out.push_str(&format!("{} read | ", human_bytes(s.bytes)));
        }
        out.push_str(&format!("{} rows, {:.0} rows/s", s.rows, rate));
        if let Some(m) = s.mean {
            out.push_str(&format!(", mean reward {m:.4}"));
        }
        out.push_str(&format!(
            ", {} with errors, {} invalid lines",
            s.errors, s.invalid
        ));
        out
    }

    /// Shows `s` unless the last update was too recent.
    pub fn tick(&mut self, s: &Snapshot) {
        if self.mode == Mode::Off || self.last.elapsed() < self.every {
            return;
        }
        self.last = Instant::now();
        let text = self.line(s);
        let mut err = std::io::stderr().lock();
        let _ = match self.mode {
            Mode::Bar => write!(err, "\r\x1b[2K{text}"),
            _ => writeln!(err, "progress: {text}"),
        };
        let _ = err.flush();
    }

    /// Clears the bar before the summary is printed.
    pub fn finish(&self) {
        if self.mode == Mode::Bar {
            eprint!("\r\x1b[2K");
        }
    }
}
