//! Process-level set-up of a worker: what happens between `fork` and `exec` (`pre_exec`), the
//! capability probe, and the long-lived spawner thread.
//!
//! Why a spawner thread: `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits,
//! not the process. Workers are spawned from short-lived scoped threads (`grade_batch`), so they
//! would be killed as soon as that thread ended. All spawns therefore go through one thread that
//! lives as long as the process (one per process: a forked child starts its own).
//!
//! Only async-signal-safe calls run in `pre_exec` (the engine is multi-threaded): `setsid`,
//! `prctl`, `getppid`, `dup2`/`fcntl`, `setrlimit`, `unshare`. Landlock and seccomp are applied later by the
//! harness itself (see `worker.py`), because a seccomp filter that forbids `execve` cannot be
//! installed before the interpreter is exec'd.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::{mpsc, Mutex, TryLockError};
use std::time::{Duration, Instant};

/// What the process-level set-up applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PreExec {
    pub memory_bytes: u64,
    pub file_bytes: u64,
    /// `PR_SET_NO_NEW_PRIVS` (needed by Landlock and seccomp without privileges).
    pub no_new_privs: bool,
    /// `unshare(CLONE_NEWUSER | CLONE_NEWNET)`: no network interfaces but a down loopback.
    pub netns: bool,
    /// An fd of the engine (close-on-exec) the worker inherits as `progress_target`; -1 = none.
    pub progress_fd: i32,
    pub progress_target: i32,
}

/// Error code marking "unshare failed" so the caller can retry without the namespace layer.
pub(crate) const UNSHARE_FAILED: i32 = 0x6b70_7900;

pub(crate) fn install(cmd: &mut Command, cfg: PreExec) {
    let parent = std::process::id();
    let closure = move || -> io::Result<()> {
        // SAFETY: only async-signal-safe libc calls on plain integers; no allocation, no locks.
        unsafe {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The engine may have died between fork and prctl: then nobody would kill us.
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            if cfg.progress_fd >= 0 {
                // dup2 clears close-on-exec on the copy; onto itself it would not, so clear it.
                if cfg.progress_fd == cfg.progress_target {
                    if libc::fcntl(cfg.progress_fd, libc::F_SETFD, 0) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                } else if libc::dup2(cfg.progress_fd, cfg.progress_target) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            set_limit(libc::RLIMIT_CORE, 0)?;
            if cfg.memory_bytes > 0 {
                set_limit(libc::RLIMIT_AS, cfg.memory_bytes)?;
            }
            if cfg.file_bytes > 0 {
                set_limit(libc::RLIMIT_FSIZE, cfg.file_bytes)?;
            }
            if cfg.no_new_privs && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if cfg.netns && libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                return Err(io::Error::from_raw_os_error(UNSHARE_FAILED));
            }
        }
        Ok(())
    };
    // SAFETY: the closure above only performs async-signal-safe operations.
    unsafe {
        cmd.pre_exec(closure);
    }
}

/// # Safety
/// Async-signal-safe; called in the forked child.
unsafe fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: value as libc::rlim_t,
        rlim_max: value as libc::rlim_t,
    };
    if libc::setrlimit(resource, &lim) != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

type Job = Box<dyn FnOnce() + Send>;

/// The spawner thread of the process whose pid it records.
struct Spawner {
    pid: u32,
    tx: mpsc::Sender<Job>,
}

static SPAWNER: Mutex<Option<Spawner>> = Mutex::new(None);

/// Hands `job` to this process's spawner thread, starting one on first use — and again in a
/// child forked after the parent started its own: fork copies the thread's channel but not the
/// thread, so a job sent there would never run. `Err(job)` when no spawner thread is available.
fn send_to_spawner(job: Job) -> Result<(), Job> {
    let pid = std::process::id();
    // A lock held by another thread of the parent at the moment of fork() is never released
    // in the child: wait a little for it, then do without the spawner rather than hang.
    let deadline = Instant::now() + Duration::from_millis(250);
    let mut guard = loop {
        match SPAWNER.try_lock() {
            Ok(g) => break g,
            Err(TryLockError::Poisoned(p)) => break p.into_inner(),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(TryLockError::WouldBlock) => return Err(job),
        }
    };
    if guard.as_ref().is_none_or(|s| s.pid != pid) {
        // The parent's sender (if any) belongs to a thread that is not in this process and to
        // a channel whose state was copied mid-flight: leak it rather than touch it.
        std::mem::forget(guard.take());
        let (tx, rx) = mpsc::channel::<Job>();
        let started = std::thread::Builder::new()
            .name("gradekit-python-spawner".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                }
            });
        if started.is_err() {
            return Err(job);
        }
        *guard = Some(Spawner { pid, tx });
    }
    match guard.as_ref() {
        Some(s) => s.tx.send(job).map_err(|e| e.0),
        None => Err(job),
    }
}

/// Spawns `cmd` from the process-lifetime spawner thread (see the module docs).
pub(crate) fn spawn(cmd: Command) -> io::Result<Child> {
    let (tx, rx) = mpsc::channel();
    let job: Job = Box::new(move || {
        let mut cmd = cmd;
        let _ = tx.send(cmd.spawn());
    });
    if let Err(job) = send_to_spawner(job) {
        // No spawner thread: spawn here (PDEATHSIG then follows this thread's lifetime).
        job();
    }
    rx.recv()
        .unwrap_or_else(|_| Err(io::Error::other("spawner thread stopped")))
}

/// Which sandbox layers the running kernel offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxSupport {
    /// `unshare(CLONE_NEWUSER | CLONE_NEWNET)` works for this user.
    pub user_netns: bool,
    /// Landlock ABI version, 0 when unavailable.
    pub landlock_abi: u32,
    /// seccomp filters are available and this build has a filter for the architecture.
    pub seccomp: bool,
}

/// Landlock ABI version of the running kernel (0 = unavailable).
pub(crate) fn landlock_abi() -> u32 {
    // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) only returns a number.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    u32::try_from(r).unwrap_or(0)
}

pub(crate) fn seccomp_available() -> bool {
    // SAFETY: PR_GET_SECCOMP takes no pointer arguments.
    let r = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    r >= 0 && crate::seccomp::SUPPORTED
}

/// Probes the kernel for each layer of the sandboxed mode (spawns `true` once for the namespace).
pub fn sandbox_support() -> SandboxSupport {
    let mut cmd = Command::new("true");
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    install(
        &mut cmd,
        PreExec {
            memory_bytes: 0,
            file_bytes: 0,
            no_new_privs: true,
            netns: true,
            progress_fd: -1,
            progress_target: -1,
        },
    );
    let user_netns = match spawn(cmd) {
        Ok(mut c) => c.wait().map(|s| s.success()).unwrap_or(false),
        Err(_) => false,
    };
    SandboxSupport {
        user_netns,
        landlock_abi: landlock_abi(),
        seccomp: seccomp_available(),
    }
}
