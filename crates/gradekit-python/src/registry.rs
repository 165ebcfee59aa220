//! Process-wide bookkeeping of python workers, so that no caller can make them pile up.
//!
//! * **Shared pools.** A pool is keyed by (source hash, options, scope) for the whole process,
//!   not per [`crate::PythonRuntime`]: two runtimes built from equal options and the same scope
//!   (the Python bindings make one per `Grader`) share warm workers, and a runtime holds no
//!   resources of its own. The scope ([`crate::PythonRuntime::scoped`]; the server's project)
//!   keeps tenants apart: byte-identical code of two projects runs in two pools, so module
//!   globals never carry one project's samples to another's. The map holds
//!   pools *weakly*: the last [`crate::PythonProgram`] of a pool going away (a dropped `Grader`, a
//!   compiled grader evicted from the server's cache) ends its workers at once.
//! * **A budget of live workers** ([`max_workers`], default max(4, 2 × cores), env
//!   `GRADEKIT_PYTHON_MAX_WORKERS`, or [`set_max_workers`]) shared by every pool: a pool that needs
//!   a worker when the budget is spent takes the oldest idle worker of the least recently used
//!   other pool (LRU eviction), or waits for one to be checked in. A pool asking for more workers
//!   than the budget (`workers = N`) may grow to its own size, evicting others.
//! * **The reaper thread** (one per process, started with the first pool) visits idle workers
//!   twice a second: a worker idle past its pool's `idle_timeout` exits; one that burns CPU while
//!   idle (threads the grader left running after its reply) is killed, since it would otherwise
//!   spin forever; one whose scratch directory grew past its quota is killed. Every 30 s it also
//!   sweeps scratch roots left by dead processes (`scratch.rs`).
//!
//! State is per process: after `fork()` the child starts with a fresh, empty registry (the
//! parent's is leaked, never touched — its threads and workers belong to the parent), and no lock
//! held by a thread that did not survive the fork can block it.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::pool::Pool;
use crate::PythonOptions;

/// A pool's identity across runtimes: the source's SHA-256, the options it runs with and the
/// scope (tenant) whose samples it may see.
pub(crate) type PoolKey = ([u8; 32], PythonOptions, Option<Arc<str>>);

const REAP_EVERY: Duration = Duration::from_millis(500);
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// The interpreter a `python` option resolved to (resolving a pyenv shim costs ~150 ms).
pub(crate) type Interpreters = HashMap<Option<PathBuf>, PathBuf>;

#[derive(Default)]
struct Global {
    live: usize,
    pids: HashSet<i32>,
    pools: Vec<Weak<Pool>>,
    shared: HashMap<PoolKey, Weak<Pool>>,
    interpreters: Interpreters,
    reaper: bool,
}

/// The registry of one process.
pub(crate) struct Proc {
    pid: u32,
    state: Mutex<Global>,
    /// 0 = untried, 1 = user+net namespace works, 2 = it does not (then workers start without).
    pub netns: AtomicU8,
}

impl std::fmt::Debug for Proc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proc").field("pid", &self.pid).finish()
    }
}

static PROC: AtomicPtr<Proc> = AtomicPtr::new(std::ptr::null_mut());
static MAX_WORKERS: AtomicUsize = AtomicUsize::new(0);
static TICK: AtomicU64 = AtomicU64::new(0);

/// The current process's registry.
pub(crate) fn current() -> &'static Proc {
    let pid = std::process::id();
    loop {
        let cur = PROC.load(Ordering::Acquire);
        // SAFETY: PROC holds null or a pointer from `Box::leak`, never freed.
        if let Some(p) = unsafe { cur.as_ref() } {
            if p.pid == pid {
                return p;
            }
        }
        let new: &'static Proc = Box::leak(Box::new(Proc {
            pid,
            state: Mutex::new(Global::default()),
            netns: AtomicU8::new(0),
        }));
        let ptr = new as *const Proc as *mut Proc;
        if PROC
            .compare_exchange(cur, ptr, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return new;
        }
    }
}

impl Proc {
    fn lock(&self) -> MutexGuard<'_, Global> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live pool for `key`, if any.
    pub(crate) fn shared_pool(&self, key: &PoolKey) -> Option<Arc<Pool>> {
        self.lock().shared.get(key).and_then(Weak::upgrade)
    }

    /// Offers `pool` (weakly) to later compiles of the same source with the same options.
    pub(crate) fn share(&self, key: PoolKey, pool: &Arc<Pool>) {
        let mut g = self.lock();
        g.shared.retain(|_, w| w.strong_count() > 0);
        g.shared.insert(key, Arc::downgrade(pool));
    }

    /// Records `pool` (weakly) for eviction and the reaper.
    pub(crate) fn register(&'static self, pool: &Arc<Pool>) {
        let mut g = self.lock();
        g.pools.retain(|w| w.strong_count() > 0);
        g.pools.push(Arc::downgrade(pool));
        if !g.reaper {
            let started = std::thread::Builder::new()
                .name("gradekit-python-reaper".into())
                .spawn(move || reaper(self));
            g.reaper = started.is_ok();
        }
    }

    /// The resolved interpreter for `requested`, resolving it with `resolve` on first use.
    pub(crate) fn interpreter(
        &self,
        requested: &Option<PathBuf>,
        resolve: impl FnOnce() -> Result<PathBuf, String>,
    ) -> Result<PathBuf, String> {
        if let Some(p) = self.lock().interpreters.get(requested) {
            return Ok(p.clone());
        }
        let p = resolve()?;
        self.lock()
            .interpreters
            .insert(requested.clone(), p.clone());
        Ok(p)
    }

    /// A place in the budget for one more worker of `requester` (whose own size is `size`), when
    /// there is room or an idle worker of another pool can be evicted to make some; `None`
    /// otherwise (the caller waits for a check-in and asks again).
    pub(crate) fn try_acquire(&'static self, requester: &Pool, size: usize) -> Option<Slot> {
        let cap = max_workers().max(size);
        loop {
            let victims: Vec<Arc<Pool>> = {
                let mut g = self.lock();
                if g.live < cap {
                    g.live += 1;
                    return Some(Slot {
                        proc: self,
                        pid: None,
                    });
                }
                g.pools.iter().filter_map(Weak::upgrade).collect()
            };
            let mut victims: Vec<Arc<Pool>> = victims
                .into_iter()
                .filter(|p| !std::ptr::eq(Arc::as_ptr(p), requester))
                .collect();
            victims.sort_by_key(|p| p.last_used());
            let evicted = victims.iter().find_map(|p| p.evict_oldest_idle());
            drop(victims);
            match evicted {
                // Dropping it kills the worker and frees its place; then try again.
                Some(w) => drop(w),
                None => return None,
            }
        }
    }
}

/// One worker's place in the budget; released when the worker is dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    proc: &'static Proc,
    pid: Option<i32>,
}

impl Slot {
    pub(crate) fn set_pid(&mut self, pid: u32) {
        if let Ok(p) = i32::try_from(pid) {
            self.pid = Some(p);
            self.proc.lock().pids.insert(p);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut g = self.proc.lock();
        g.live = g.live.saturating_sub(1);
        if let Some(p) = self.pid {
            g.pids.remove(&p);
        }
    }
}

/// A monotonically increasing tick for LRU order.
pub(crate) fn tick() -> u64 {
    TICK.fetch_add(1, Ordering::Relaxed)
}

/// Live python workers of this process (all pools, all runtimes).
pub fn live_workers() -> usize {
    current().lock().live
}

/// Sets the process-wide budget of live python workers (`None`: back to the default). A pool
/// configured with more workers than the budget may still grow to its own size.
pub fn set_max_workers(n: Option<usize>) {
    MAX_WORKERS.store(n.unwrap_or(0), Ordering::Relaxed);
}

/// The process-wide budget of live workers: [`set_max_workers`], else
/// `GRADEKIT_PYTHON_MAX_WORKERS`, else max(4, 2 × cores).
pub fn max_workers() -> usize {
    let set = MAX_WORKERS.load(Ordering::Relaxed);
    if set > 0 {
        return set;
    }
    if let Some(n) = std::env::var("GRADEKIT_PYTHON_MAX_WORKERS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return n;
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    (2 * cores).max(4)
}

/// SIGKILLs every live worker of this process (its process group). For the exit handler: it
/// gives up rather than wait on a lock another thread holds.
pub(crate) fn kill_all_workers() {
    // SAFETY: see `current`.
    let Some(p) = (unsafe { PROC.load(Ordering::Acquire).as_ref() }) else {
        return;
    };
    if p.pid != std::process::id() {
        return;
    }
    for _ in 0..50 {
        match p.state.try_lock() {
            Ok(g) => {
                for &pid in &g.pids {
                    // SAFETY: plain syscalls; each pid is a live worker's own process group.
                    unsafe {
                        libc::kill(-pid, libc::SIGKILL);
                        libc::kill(pid, libc::SIGKILL);
                    }
                }
                for &pid in &g.pids {
                    // SAFETY: reaps our own child; WNOHANG never blocks.
                    unsafe {
                        libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG);
                    }
                }
                return;
            }
            Err(std::sync::TryLockError::Poisoned(_)) => return,
            Err(std::sync::TryLockError::WouldBlock) => {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

fn reaper(proc: &'static Proc) {
    let mut last_sweep = Instant::now();
    loop {
        std::thread::sleep(REAP_EVERY);
        if proc.pid != std::process::id() {
            return;
        }
        let pools: Vec<Arc<Pool>> = {
            let mut g = proc.lock();
            g.pools.retain(|w| w.strong_count() > 0);
            g.pools.iter().filter_map(Weak::upgrade).collect()
        };
        let now = Instant::now();
        for p in &pools {
            p.reap(now);
        }
        drop(pools);
        if last_sweep.elapsed() >= SWEEP_EVERY {
            last_sweep = Instant::now();
            crate::scratch::sweep_stale(&std::env::temp_dir());
        }
    }
}

/// Clock ticks of CPU (user + system, all threads) used so far by process `pid`; `None` when it
/// is gone or has exited (a zombie waiting to be reaped).
pub(crate) fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    // After the comm: state(3) ppid … utime is field 14, stime 15 → 11th and 12th here.
    if matches!(f.next(), Some("Z" | "X") | None) {
        return None;
    }
    let utime: u64 = f.nth(10)?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
pub(crate) fn ticks_per_second() -> u64 {
    // SAFETY: sysconf takes no pointers.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|t| *t > 0).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_cpu_time_of_a_process() {
        let me = std::process::id();
        let t0 = cpu_ticks(me).unwrap();
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(120) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_ticks(me).unwrap() > t0);
        assert!(cpu_ticks(u32::MAX).is_none());
        // An exited child not yet reaped is a zombie: gone for the reaper.
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let t = Instant::now();
        while cpu_ticks(c.id()).is_some() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(cpu_ticks(c.id()).is_none());
        c.wait().unwrap();
    }
}
