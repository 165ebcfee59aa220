//! A worker's health between and during batches: the scratch quota (measured at most once per
//! [`QUOTA_EVERY`]) and the reaper's verdict on an idle worker (idle too long, burning CPU while
//! it should be blocked reading its next frame, over its quota, or gone).

use std::time::{Duration, Instant};

use super::{Spec, Worker, QUOTA_EVERY};
use crate::{registry, scratch};

impl Worker {
    /// Whether the scratch directory is over quota, measured at most once per
    /// [`QUOTA_EVERY`] (the pool asks at every check-in).
    pub fn over_quota_due(&mut self, spec: &Spec) -> bool {
        if spec.scratch_bytes == 0 || self.quota_at.elapsed() < QUOTA_EVERY {
            return false;
        }
        self.quota_at = Instant::now();
        self.scratch_used(spec).is_some()
    }

    /// `Some(bytes)` when the scratch directory holds more than the quota allows (bytes or
    /// [`scratch::MAX_ENTRIES`] entries).
    pub(super) fn scratch_used(&self, spec: &Spec) -> Option<u64> {
        let (bytes, entries) = scratch::usage(&self.scratch, scratch::MAX_ENTRIES);
        (bytes > spec.scratch_bytes || entries > scratch::MAX_ENTRIES).then_some(bytes)
    }

    /// The reaper's verdict on an idle worker: `true` = end it (idle too long, burning CPU
    /// while it should be blocked reading its next frame, or over its scratch quota).
    pub fn idle_verdict(&mut self, now: Instant, spec: &Spec) -> bool {
        if now.saturating_duration_since(self.idle_since) >= spec.idle_timeout {
            return true;
        }
        let Some(cpu) = registry::cpu_ticks(self.pid) else {
            return true; // gone
        };
        let Some((at, base)) = self.cpu_mark else {
            self.cpu_mark = Some((now, cpu));
            return false;
        };
        let window = now.saturating_duration_since(at);
        if window < Duration::from_millis(900) {
            return false;
        }
        let used = cpu.saturating_sub(base);
        // An idle harness is blocked in read(): any real CPU use is the grader's threads.
        let hz = registry::ticks_per_second();
        let allowed = (hz / 10).max(window.as_millis() as u64 * hz / 10_000);
        if used > allowed {
            return true;
        }
        self.cpu_mark = Some((now, cpu));
        used > 0 && self.over_quota_due(spec)
    }
}

pub(super) fn quota_message(used: u64, quota: u64) -> String {
    format!(
        "scratch space limit exceeded: {} MiB used, the limit is {} MiB (or {} files); worker killed",
        used >> 20,
        quota >> 20,
        scratch::MAX_ENTRIES
    )
}
