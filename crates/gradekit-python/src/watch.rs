//! The engine's clock on a worker: the per-sample hard deadline (restarted whenever the
//! progress page shows the next sample starting, capped for the whole frame), and how a worker's
//! end is described to the user.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

/// How often a busy worker's page and scratch usage are looked at, at most.
const MAX_TICK: Duration = Duration::from_secs(1);

/// Longest deadline the watchdog computes with (timeouts are clamped to it, see runtime.rs).
pub(crate) const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365);

pub(crate) struct Watch {
    last_change: Instant,
    last_seq: u32,
    per_sample: Duration,
    cap: Instant,
    tick: Duration,
}

impl Watch {
    pub(crate) fn new(per_sample: Duration, samples: usize, seq: u32) -> Self {
        let now = Instant::now();
        let n = u32::try_from(samples.max(1)).unwrap_or(u32::MAX);
        let total = per_sample.checked_mul(n).unwrap_or(FAR_FUTURE);
        Watch {
            last_change: now,
            last_seq: seq,
            per_sample,
            cap: now
                .checked_add(total.saturating_add(per_sample))
                .unwrap_or(now + FAR_FUTURE),
            tick: (per_sample / 4).clamp(Duration::from_millis(10), MAX_TICK),
        }
    }

    /// How long to wait for more bytes, or `None` when a deadline passed.
    pub(crate) fn next_wait(&mut self, seq: Option<u32>) -> Option<Duration> {
        let now = Instant::now();
        if let Some(s) = seq {
            if s != self.last_seq {
                self.last_seq = s;
                self.last_change = now;
            }
        }
        let deadline = match self.last_change.checked_add(self.per_sample) {
            Some(d) => d.min(self.cap),
            None => self.cap,
        };
        if now >= deadline {
            return None;
        }
        Some((deadline - now).min(self.tick))
    }
}

pub(crate) fn describe_exit(status: Option<ExitStatus>) -> String {
    match status {
        Some(s) => match (s.code(), s.signal()) {
            (_, Some(sig)) => {
                format!(
                    "grader process terminated by signal {sig} ({})",
                    signal_name(sig)
                )
            }
            (Some(code), None) => format!("grader process exited with status {code}"),
            _ => "grader process ended".to_string(),
        },
        None => "grader process ended".to_string(),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGSYS => "SIGSYS",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => "signal",
    }
}
