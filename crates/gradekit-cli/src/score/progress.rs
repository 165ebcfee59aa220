//! Progress on stderr: a one-line bar on a terminal, plain periodic lines with `--progress`.
//!
//! A bar redraws in place with `\r`; a line longer than the terminal wraps, and every redraw
//! then leaves a new line behind (an 80-column tmux pane filled with copies). So the bar is
//! built from fields ranked by importance and the least important are dropped until the line
//! fits the terminal's width, read at every redraw (windows get resized). `--progress` lines
//! go to logs, not terminals: they always carry every field.

use std::io::Write;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    Bar,
    Lines,
}

#[derive(Debug)]
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
#[derive(Debug)]
pub struct Snapshot {
    pub rows: u64,
    pub bytes: u64,
    pub mean: Option<f64>,
    pub errors: u64,
    pub invalid: u64,
}

/// One field of the line: its text, the separator written before it, and its rank (0 = the
/// most important, dropped last).
#[derive(Debug)]
struct Field {
    text: String,
    sep: &'static str,
    rank: u8,
}

/// Width assumed when the terminal does not say (the classic default).
const FALLBACK_WIDTH: usize = 80;

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

/// The columns of the terminal stderr is attached to (`COLUMNS` when it cannot be asked).
fn terminal_width() -> usize {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size_of(std::io::stderr()) {
        if w > 0 {
            return usize::from(w);
        }
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w > 0)
        .unwrap_or(FALLBACK_WIDTH)
}

/// Joins `fields` in order, leaving out the least important ones until the text is shorter
/// than `width` columns (one column stays free: a line that exactly fills the terminal makes
/// some terminals wrap). If even the most important field alone is too long, it is cut.
fn fit(fields: &[Field], width: usize) -> String {
    let limit = width.saturating_sub(1).max(1);
    let mut keep: Vec<bool> = vec![true; fields.len()];
    loop {
        let text = join(fields, &keep);
        if text.chars().count() <= limit {
            return text;
        }
        // Drop the kept field with the largest rank; stop at the last one.
        let worst = (0..fields.len())
            .filter(|&i| keep[i])
            .max_by_key(|&i| fields[i].rank);
        match worst {
            Some(i) if keep.iter().filter(|k| **k).count() > 1 => keep[i] = false,
            _ => return text.chars().take(limit).collect(),
        }
    }
}

fn join(fields: &[Field], keep: &[bool]) -> String {
    let mut out = String::new();
    for (f, _) in fields.iter().zip(keep).filter(|(_, k)| **k) {
        if !out.is_empty() {
            out.push_str(f.sep);
        }
        out.push_str(&f.text);
    }
    out
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

    /// The fields of a progress line, in display order, each ranked: percentage and ETA first,
    /// then rows and rate, the mean reward, error counts, byte counts, the bar graphic last.
    fn fields(&self, s: &Snapshot, elapsed: Duration) -> Vec<Field> {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let rate = s.rows.saturating_sub(self.base_rows) as f64 / secs;
        let mut out = Vec::with_capacity(9);
        let mut push =
            |text: String, sep: &'static str, rank: u8| out.push(Field { text, sep, rank });
        if let Some(total) = self.total_bytes.filter(|t| *t > 0) {
            let frac = (s.bytes as f64 / total as f64).min(1.0);
            if self.mode == Mode::Bar {
                let filled = (frac * 24.0) as usize;
                push(
                    format!("[{}{}]", "#".repeat(filled), "-".repeat(24 - filled)),
                    " ",
                    8,
                );
            }
            // Time per byte of this run, times the bytes left.
            let done = s.bytes.saturating_sub(self.base_bytes) as f64;
            let left = total.saturating_sub(s.bytes) as f64;
            let eta = if done > 0.0 { secs / done * left } else { 0.0 };
            push(format!("{:>3.0}%", frac * 100.0), " ", 0);
            push(
                format!("{} / {}", human_bytes(s.bytes), human_bytes(total)),
                " ",
                7,
            );
            push(format!("ETA {}", hms(eta)), ", ", 1);
        } else {
            push(format!("{} read", human_bytes(s.bytes)), " ", 7);
        }
        push(format!("{} rows", s.rows), " | ", 2);
        push(format!("{rate:.0} rows/s"), ", ", 3);
        if let Some(m) = s.mean {
            push(format!("mean reward {m:.4}"), ", ", 4);
        }
        push(format!("{} with errors", s.errors), ", ", 5);
        push(format!("{} invalid lines", s.invalid), ", ", 6);
        out
    }

    /// Shows `s` unless the last update was too recent.
    pub fn tick(&mut self, s: &Snapshot) {
        if self.mode == Mode::Off || self.last.elapsed() < self.every {
            return;
        }
        self.last = Instant::now();
        let fields = self.fields(s, self.start.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = match self.mode {
            Mode::Bar => write!(err, "\r\x1b[2K{}", fit(&fields, terminal_width())),
            _ => writeln!(err, "progress: {}", fit(&fields, usize::MAX)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            rows: 123_456_789,
            bytes: 987_654_321_000,
            mean: Some(0.123_456),
            errors: 12_345_678,
            invalid: 9_876_543,
        }
    }

    fn bar(total: Option<u64>) -> Progress {
        Progress::new(Mode::Bar, total)
    }

    #[test]
    fn full_line_keeps_every_field_in_order() {
        let p = bar(Some(1_000_000_000_000));
        let line = fit(&p.fields(&snapshot(), Duration::from_secs(100)), usize::MAX);
        assert_eq!(
            line,
            "[#######################-]  99% 987.7 GB / 1.0 TB, ETA 0:00:01 | 123456789 rows, \
             1234568 rows/s, mean reward 0.1235, 12345678 with errors, 9876543 invalid lines"
        );
    }

    #[test]
    fn narrow_terminals_drop_the_least_important_fields_first() {
        let p = bar(Some(1_000_000_000_000));
        let fields = p.fields(&snapshot(), Duration::from_secs(100));
        for width in [20, 40, 60, 80, 100, 120, 160] {
            let line = fit(&fields, width);
            assert!(line.chars().count() < width, "{width}: {line:?}");
            assert!(line.starts_with(" 99%"), "{width}: {line:?}");
        }
        let at80 = fit(&fields, 80);
        assert!(
            at80.contains("ETA 0:00:01") && at80.contains("rows/s"),
            "{at80}"
        );
        assert!(!at80.contains('#'), "the bar graphic goes first: {at80}");
        let at120 = fit(&fields, 120);
        assert!(at120.contains("with errors"), "{at120}");
    }

    #[test]
    fn a_single_field_wider_than_the_terminal_is_cut() {
        let p = bar(None);
        let fields = p.fields(&snapshot(), Duration::from_secs(1));
        let line = fit(&fields, 5);
        assert_eq!(line.chars().count(), 4);
    }

    #[test]
    fn without_a_total_the_line_still_fits() {
        let p = bar(None);
        let fields = p.fields(&snapshot(), Duration::from_secs(1));
        let line = fit(&fields, 80);
        assert!(line.chars().count() < 80, "{line}");
        assert!(line.contains("rows"), "{line}");
    }
}
