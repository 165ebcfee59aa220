//! One CPU each for the grading thread and the I/O thread of `score --threads 1`.
//!
//! The two threads hand chunks to each other every few hundred microseconds, and each
//! sleeps while it waits. On an otherwise idle machine the scheduler may then run both on the
//! same CPU for a while — it places a woken thread near the one that woke it, and some
//! virtual machines pack runnable threads onto few CPUs on purpose — and the two stages that
//! were to overlap take turns instead. On the machines measured in BENCHMARKS.md ("#17
//! lines3") that made a one-pass rouge_l run over 10,000 lines vary from 11.5 to 18 ms on a
//! quiet machine; with each thread kept on a CPU of its own it took ~12 ms every time. So a
//! run with one I/O thread asks for two CPUs of the ones it may use (its affinity, as
//! `taskset` or a container set it), when it may use two or more: this thread keeps the one
//! it is on, the I/O thread takes another. A thread started later by either (the writer, when
//! it splits off) may use them all again, and the calling thread gets its whole set back
//! when the stages end. Elsewhere than Linux, nothing is pinned; nor on a busy machine (more
//! threads running at the start than leave two of the process's CPUs free: `/proc/loadavg`'s
//! running count): a pinned thread cannot move off a CPU that other work holds, and the
//! scheduler places threads better than a fixed choice there.
//!
//! Pinning is for the start of a run only ([`PIN_FOR`]): after it each thread takes its whole
//! set back (and stops polling, see `spin`). A short run — the case the pinning is for — ends
//! inside it; a long one is left to the scheduler, which balances it over time and moves it
//! off a CPU that other work takes later (several `score` runs started at once, a trainer
//! that starts its own threads). The I/O thread's CPU is the next one of the set after the
//! grading thread's, not a fixed one, so runs started at once on different CPUs do not all
//! send their I/O threads to the same CPU.

/// How many CPUs the calling thread may use (its affinity; 1 if it cannot be read).
pub(super) fn cpus() -> usize {
    #[cfg(target_os = "linux")]
    {
        rustix::thread::sched_getaffinity(None).map_or(1, |s| s.count() as usize)
    }
    #[cfg(not(target_os = "linux"))]
    {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }
}

/// How long the two threads stay pinned, from the start of the stages.
pub(super) const PIN_FOR: std::time::Duration = std::time::Duration::from_millis(200);

/// The CPUs of the two threads, and the whole set the process may use.
pub(super) struct Pinning {
    /// When the threads take their whole set back.
    #[cfg(target_os = "linux")]
    until: std::time::Instant,
    #[cfg(target_os = "linux")]
    grading: rustix::thread::CpuSet,
    #[cfg(target_os = "linux")]
    io: rustix::thread::CpuSet,
    #[cfg(target_os = "linux")]
    all: rustix::thread::CpuSet,
}

#[cfg(target_os = "linux")]
impl Pinning {
    /// Two CPUs of this thread's affinity, the one it runs on first; `None` when it may use
    /// only one (or the affinity cannot be read).
    /// Called just after the I/O thread's spawn.
    pub(super) fn choose() -> Option<Pinning> {
        use rustix::thread::{sched_getaffinity, sched_getcpu};
        let all = sched_getaffinity(None).ok()?;
        let loadavg = std::fs::read_to_string("/proc/loadavg").ok();
        Pinning::after_spawn(all, sched_getcpu(), loadavg.as_deref())
    }

    /// [`Pinning::pick`] with the running count of `loadavg` (`/proc/loadavg`, read just after
    /// the I/O thread's spawn; unknown: taken as idle). That count holds the I/O thread too:
    /// it is on a run queue then, not yet run or making its first buffers. Counted as one
    /// more thread of other work, it turned the pinning off on an idle two-CPU machine, and
    /// there the new thread is often queued behind this one on this CPU — the scheduler puts
    /// a new thread on the CPU with the least recent load, and the other CPU's may still be
    /// the parent's (a Python loop that ran up to the spawn) — until a scheduler tick moves
    /// it, 0.1–4 ms later (#17 "gap17").
    fn after_spawn(
        all: rustix::thread::CpuSet,
        here: usize,
        loadavg: Option<&str>,
    ) -> Option<Pinning> {
        let running = loadavg.and_then(running).unwrap_or(2);
        Pinning::pick(all, here, running.saturating_sub(1).max(1))
    }

    /// The CPUs for a thread on CPU `here` that may use `all`, with `running` threads running
    /// (itself included): `None` unless two CPUs of `all` are free.
    fn pick(all: rustix::thread::CpuSet, here: usize, running: u32) -> Option<Pinning> {
        use rustix::thread::CpuSet;
        if running.saturating_add(1) > all.count() {
            return None;
        }
        let allowed = |c: usize| c < CpuSet::MAX_CPU && all.is_set(c);
        let first = match allowed(here) {
            true => here,
            false => (0..CpuSet::MAX_CPU).find(|&c| allowed(c))?,
        };
        // The next CPU of the set after `first`, wrapping around.
        let second = (first + 1..CpuSet::MAX_CPU)
            .chain(0..first)
            .find(|&c| allowed(c))?;
        let one = |c: usize| {
            let mut s = CpuSet::new();
            s.set(c);
            s
        };
        Some(Pinning {
            until: std::time::Instant::now() + PIN_FOR,
            grading: one(first),
            io: one(second),
            all,
        })
    }

    /// Keeps the calling (grading) thread on its CPU.
    pub(super) fn grading_here(&self) {
        let _ = rustix::thread::sched_setaffinity(None, &self.grading);
    }

    /// Keeps the calling (I/O) thread on the other CPU.
    #[cfg(test)]
    pub(super) fn io_here(&self) {
        let _ = rustix::thread::sched_setaffinity(None, &self.io);
    }

    /// Puts the I/O thread `thread`, just started, on the other CPU: it then first runs
    /// there. (It running first here — the scheduler may place a new thread beside the one
    /// that started it — and moving itself cost ~0.1–1 ms of the start of a run.)
    pub(super) fn place_io<T>(&self, thread: &std::thread::JoinHandle<T>) {
        use std::os::unix::thread::JoinHandleExt;
        let Some(cpu) = (0..rustix::thread::CpuSet::MAX_CPU).find(|&c| self.io.is_set(c)) else {
            return;
        };
        set_thread_cpu(thread.as_pthread_t(), cpu);
    }

    /// Lets the calling thread run on every CPU of the set again.
    pub(super) fn release_here(&self) {
        let _ = rustix::thread::sched_setaffinity(None, &self.all);
    }

    /// The pinning's time ([`PIN_FOR`]) is over.
    pub(super) fn expired(&self) -> bool {
        std::time::Instant::now() >= self.until
    }
}

/// Keeps `thread` on CPU `cpu` (failures ignored: the thread then runs where the scheduler
/// puts it).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn set_thread_cpu(thread: libc::pthread_t, cpu: usize) {
    if cpu >= libc::CPU_SETSIZE as usize {
        return;
    }
    // SAFETY: `cpu_set_t` is a plain array of bits, for which all zeroes is a valid (empty)
    // value; `CPU_SET` sets the bit of `cpu`, which is in range (checked above).
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `thread` is the `pthread_t` of a thread whose `JoinHandle` the caller holds:
    // neither joined nor detached, so glibc's handle for it is alive; the set is a valid
    // `cpu_set_t` of the size passed, read only during the call. There is no safe interface
    // for setting another thread's affinity in std or rustix (which needs its thread id).
    unsafe {
        libc::pthread_setaffinity_np(thread, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The threads running now, of a `/proc/loadavg` line (`0.52 1.03 2.50 2/345 6789`: 2).
#[cfg(target_os = "linux")]
fn running(line: &str) -> Option<u32> {
    let field = line.split_ascii_whitespace().nth(3)?;
    field.split('/').next()?.parse().ok()
}

#[cfg(not(target_os = "linux"))]
impl Pinning {
    pub(super) fn choose() -> Option<Pinning> {
        None
    }
    pub(super) fn grading_here(&self) {}
    pub(super) fn place_io<T>(&self, _: &std::thread::JoinHandle<T>) {}
    pub(super) fn release_here(&self) {}
    pub(super) fn expired(&self) -> bool {
        true
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// On a machine with two CPUs or more the two threads get different CPUs of the set, and
    /// a released thread has the whole set back.
    #[test]
    fn the_threads_get_two_cpus_of_the_set_and_get_it_back() {
        use rustix::thread::{sched_getaffinity, CpuSet};
        assert_eq!(running("0.52 1.03 2.50 2/345 6789\n"), Some(2));
        assert_eq!(running(""), None);
        assert_eq!(running("1 2 3 x/4 5"), None);
        let set = |cpus: &[usize]| {
            let mut s = CpuSet::new();
            cpus.iter().for_each(|&c| s.set(c));
            s
        };
        let cpu = |s: &CpuSet| (0..CpuSet::MAX_CPU).find(|&c| s.is_set(c)).unwrap();
        let two = |p: Option<Pinning>| p.map(|p| (cpu(&p.grading), cpu(&p.io)));
        assert_eq!(two(Pinning::pick(set(&[0, 1]), 1, 1)), Some((1, 0)));
        assert_eq!(two(Pinning::pick(set(&[2, 5, 7]), 0, 2)), Some((2, 5)));
        // The I/O thread's CPU follows the grading thread's, wrapping around the set.
        assert_eq!(two(Pinning::pick(set(&[0, 1, 2, 3]), 2, 1)), Some((2, 3)));
        assert_eq!(two(Pinning::pick(set(&[0, 1, 2, 3]), 3, 1)), Some((3, 0)));
        assert_eq!(two(Pinning::pick(set(&[1, 4, 6]), 4, 1)), Some((4, 6)));
        assert_eq!(two(Pinning::pick(set(&[0, 1]), 0, 2)), None, "busy");
        assert_eq!(two(Pinning::pick(set(&[3]), 3, 1)), None, "one CPU");
        // Read after the spawn, the running count holds the I/O thread: two running on two
        // CPUs are this thread and it.
        let after = |line| two(Pinning::after_spawn(set(&[0, 1]), 1, line));
        assert_eq!(after(Some("0.5 1.0 2.0 2/345 6789")), Some((1, 0)));
        assert_eq!(after(Some("0.5 1.0 2.0 1/345 6789")), Some((1, 0)));
        assert_eq!(after(None), Some((1, 0)), "unknown: idle");
        assert_eq!(after(Some("0.5 1.0 2.0 3/345 6789")), None, "busy");
        let before = sched_getaffinity(None).unwrap();
        let Some(p) = Pinning::pick(before, rustix::thread::sched_getcpu(), 1) else {
            assert!(before.count() < 2);
            return;
        };
        assert_eq!((p.grading.count(), p.io.count()), (1, 1));
        assert_ne!(cpu(&p.grading), cpu(&p.io));
        assert!(!p.expired(), "pinned for {PIN_FOR:?} from the choice");
        assert!(before.is_set(cpu(&p.grading)) && before.is_set(cpu(&p.io)));
        let p = std::sync::Arc::new(p);
        let q = std::sync::Arc::clone(&p);
        std::thread::spawn(move || {
            q.io_here();
            assert_eq!(sched_getaffinity(None).unwrap(), q.io);
            q.release_here();
            assert_eq!(sched_getaffinity(None).unwrap(), before);
        })
        .join()
        .unwrap();
        // Placed by the thread that started it, before it looks.
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let q = std::sync::Arc::clone(&p);
        let placed = std::thread::spawn(move || {
            go_rx.recv().unwrap();
            let mine = sched_getaffinity(None).unwrap();
            q.release_here();
            (mine, sched_getaffinity(None).unwrap())
        });
        p.place_io(&placed);
        go_tx.send(()).unwrap();
        let (mine, released) = placed.join().unwrap();
        assert_eq!(mine, p.io, "placed on the I/O thread's CPU");
        assert_eq!(released, before);
    }
}
