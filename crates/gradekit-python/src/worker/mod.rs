//! One worker process: spawn + init handshake, one batch at a time, watchdog, kill.
//!
//! The engine never blocks on a worker without a deadline: replies are read after `poll()` with
//! a timeout. The hard deadline is per *sample*: the harness bumps a sequence number in the
//! shared `progress` file before each `grade()` call, and the watchdog restarts its clock when it
//! sees the number move. When a worker dies or misses the deadline, the same file says which
//! sample was in flight — a hint the pool verifies (pool.rs), since the page is in the worker's
//! memory where the grader can reach it.
//!
//! Each worker has its own scratch directory (`scratch.rs`), its own progress page (a memfd,
//! inherited as fd 3, not a file anyone can open), its own log, and a random nonce that every
//! reply must start with, followed by the reply's batch number: bytes a grader writes to the
//! protocol channel are not taken for a reply.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::protocol::{self, Record};
use crate::registry::{self, Slot};
pub(crate) use crate::watch::FAR_FUTURE;
use crate::watch::{describe_exit, Watch};
use crate::{marshal, sandbox, scratch, seccomp};

mod health;
use health::quota_message;

/// The harness, written once per process into its scratch root.
pub(crate) const HARNESS: &str = include_str!("../worker.py");

/// The fd number the progress page has in the worker (the harness maps and closes it).
const PROGRESS_FD: i32 = 3;

/// How often a busy worker's scratch usage is measured (and an idle one's, after CPU use).
const QUOTA_EVERY: Duration = Duration::from_secs(1);

/// Everything the workers of one pool share.
#[derive(Debug)]
pub(crate) struct Spec {
    pub python: PathBuf,
    pub source: Arc<str>,
    pub sandboxed: bool,
    pub timeout: Duration,
    pub init_timeout: Duration,
    pub memory_mib: u64,
    pub file_mib: u64,
    pub landlock_min_abi: u32,
    pub read_paths: Vec<PathBuf>,
    /// An idle worker exits after this long without work.
    pub idle_timeout: Duration,
    /// Bytes (allocated) a worker's scratch directory may hold; past it the worker is killed.
    pub scratch_bytes: u64,
}

impl Spec {
    /// Engine-side deadline for one `grade()` call: the soft timeout plus a grace period in
    /// which the in-worker alarm should have fired.
    pub fn hard_deadline(&self) -> Duration {
        let grace = (self.timeout / 2).clamp(Duration::from_millis(500), Duration::from_secs(10));
        self.timeout.saturating_add(grace)
    }
}

/// Why a worker could not be started.
#[derive(Debug)]
pub(crate) enum SpawnError {
    /// The source is invalid (syntax, no `grade`, top-level exception): kind + message.
    Compile(String, String),
    /// A requested sandbox layer is unavailable.
    Sandbox(String),
    /// Python could not be started or died during the handshake.
    Spawn(String),
    /// Not an error: a worker of the pool became idle while this one waited for room.
    Busy,
}

/// What the progress page says about a lost frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// No `grade()` call of this frame had started.
    NotStarted,
    /// The sample at this index was inside `grade()` (sequence number and index agree).
    InFlight(usize),
    /// The page does not make sense (overwritten by the grader): nobody can be blamed.
    Unknown,
}

/// The result of running one frame.
#[derive(Debug)]
pub(crate) enum BatchEnd {
    Done(Vec<Record>),
    /// The worker died, missed the hard deadline (`trusted`: the engine itself watched the
    /// hinted sample run past it), went over its scratch quota or answered something that is
    /// not a valid reply; it has been killed.
    Lost {
        hint: Hint,
        details: String,
        trusted: bool,
    },
    /// The request could not be sent (frame too large); the worker is untouched.
    Refused(String),
    /// The caller's `stop` fired while the frame ran; the worker has been killed.
    Cancelled,
}

#[derive(Debug)]
pub(crate) struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
    progress: File,
    scratch: PathBuf,
    seq: u32,
    /// What the progress page holds between batches: (seq, index of the last sample).
    idle_page: (u32, u32),
    nonce: [u8; 8],
    batches: u32,
    pid: u32,
    pub calls: u64,
    pub recycle: bool,
    /// When it last went idle (reset by the pool at check-in).
    pub idle_since: Instant,
    /// (when, CPU ticks) of the reaper's first look at this idle period.
    pub cpu_mark: Option<(Instant, u64)>,
    quota_at: Instant,
    _slot: Slot,
}

enum ReadFail {
    Eof,
    Deadline,
    Io(io::Error),
    TooLarge(usize),
    Quota(u64),
    Cancelled,
}

impl Worker {
    /// Starts a worker in a fresh scratch directory, runs the init handshake (sandbox + compile
    /// + checks) and returns it idle. `slot` is its place in the process budget.
    pub fn spawn(spec: &Spec, slot: Slot) -> Result<Worker, SpawnError> {
        let root = scratch::root(HARNESS).map_err(SpawnError::Spawn)?;
        let scratch = scratch::worker_dir(root)
            .map_err(|e| SpawnError::Spawn(format!("cannot create a scratch dir: {e}")))?;
        match Self::start_in(spec, root, scratch.clone(), slot) {
            Ok(mut w) => {
                w.handshake(spec, root)?;
                Ok(w)
            }
            Err(e) => {
                scratch::remove_tree(&scratch);
                Err(e)
            }
        }
    }

    fn start_in(
        spec: &Spec,
        root: &scratch::Root,
        scratch: PathBuf,
        mut slot: Slot,
    ) -> Result<Worker, SpawnError> {
        let setup = |e: io::Error| SpawnError::Spawn(format!("cannot prepare scratch dir: {e}"));
        let progress = progress_page().map_err(setup)?;
        let stderr = File::create(scratch.join("stderr.log")).map_err(setup)?;
        let netns = &registry::current().netns;
        let want_netns = spec.sandboxed && netns.load(Ordering::Relaxed) != 2;
        let pfd = progress.as_raw_fd();
        let mut child = match Self::start(spec, root, &scratch, &stderr, pfd, want_netns) {
            Ok(c) => {
                if want_netns {
                    netns.store(1, Ordering::Relaxed);
                }
                c
            }
            Err(e) if want_netns && e.raw_os_error() == Some(sandbox::UNSHARE_FAILED) => {
                // No user namespaces here (e.g. AppArmor or a container profile): the network
                // stays closed through seccomp (no socket()) and Landlock, so go on without.
                netns.store(2, Ordering::Relaxed);
                Self::start(spec, root, &scratch, &stderr, pfd, false)
                    .map_err(|e| spawn_err(spec, e))?
            }
            Err(e) => return Err(spawn_err(spec, e)),
        };
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SpawnError::Spawn("worker pipes missing".into()));
        };
        slot.set_pid(child.id());
        let now = Instant::now();
        Ok(Worker {
            pid: child.id(),
            child,
            stdin,
            stdout,
            rbuf: Vec::with_capacity(1 << 16),
            rpos: 0,
            wbuf: Vec::with_capacity(1 << 16),
            progress,
            scratch,
            seq: 0,
            idle_page: (0, 0),
            nonce: nonce(),
            batches: 0,
            calls: 0,
            recycle: false,
            idle_since: now,
            cpu_mark: None,
            quota_at: now,
            _slot: slot,
        })
    }

    fn start(
        spec: &Spec,
        root: &scratch::Root,
        scratch: &Path,
        stderr: &File,
        progress_fd: i32,
        netns: bool,
    ) -> io::Result<Child> {
        let mut cmd = Command::new(&spec.python);
        cmd.arg("-I").arg("-B").arg(&root.harness);
        cmd.current_dir(scratch).env_clear();
        for (k, v) in [
            ("PATH", "/usr/local/bin:/usr/bin:/bin"),
            ("LANG", "C.UTF-8"),
            ("LC_ALL", "C.UTF-8"),
            ("OPENBLAS_NUM_THREADS", "1"),
            ("OMP_NUM_THREADS", "1"),
            ("MKL_NUM_THREADS", "1"),
            ("NUMEXPR_NUM_THREADS", "1"),
        ] {
            cmd.env(k, v);
        }
        cmd.env("HOME", scratch).env("TMPDIR", scratch);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.try_clone()?);
        // No single file may be larger than the whole scratch quota.
        let file_bytes = match (spec.file_mib.saturating_mul(1 << 20), spec.scratch_bytes) {
            (0, q) => q,
            (f, 0) => f,
            (f, q) => f.min(q),
        };
        sandbox::install(
            &mut cmd,
            sandbox::PreExec {
                memory_bytes: spec.memory_mib.saturating_mul(1 << 20),
                file_bytes,
                no_new_privs: spec.sandboxed,
                netns,
                progress_fd,
                progress_target: PROGRESS_FD,
            },
        );
        sandbox::spawn(cmd)
    }

    fn handshake(&mut self, spec: &Spec, root: &scratch::Root) -> Result<(), SpawnError> {
        let pid = self.child.id();
        let mut read_paths = spec.read_paths.clone();
        read_paths.push(root.harness.clone());
        let init = serde_json::json!({
            "source": &*spec.source,
            "timeout": spec.timeout.as_secs_f64(),
            "init_timeout": spec.init_timeout.as_secs_f64(),
            "memory_mib": spec.memory_mib,
            "sandbox": spec.sandboxed,
            "seccomp": hex(&seccomp::filter_bytes(pid)),
            "landlock_min_abi": spec.landlock_min_abi,
            "read_paths": read_paths,
            "scratch": self.scratch,
            "progress_fd": PROGRESS_FD,
            "nonce": hex(&self.nonce),
        });
        protocol::begin_frame(&mut self.wbuf, protocol::OP_INIT);
        let encoded = serde_json::to_writer(&mut self.wbuf, &init);
        if encoded.is_err() || protocol::finish_frame(&mut self.wbuf).is_none() {
            return Err(SpawnError::Spawn("cannot encode the init frame".into()));
        }
        if let Err(e) = self.stdin.write_all(&self.wbuf) {
            return Err(SpawnError::Spawn(
                self.death_note(&format!("cannot start worker: {e}")),
            ));
        }
        let deadline = spec.init_timeout.saturating_add(spec.hard_deadline());
        let mut watch = Watch::new(deadline, 1, 0);
        let frame = self.read_frame(&mut watch, None);
        match frame {
            Ok((protocol::OP_READY, body)) if body.starts_with(&self.nonce) => Ok(()),
            Ok((protocol::OP_ERROR, body)) => {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let kind = v["kind"].as_str().unwrap_or("init").to_string();
                let msg = v["message"]
                    .as_str()
                    .unwrap_or("worker rejected the grader")
                    .to_string();
                self.kill();
                if kind == "sandbox_unavailable" {
                    Err(SpawnError::Sandbox(msg))
                } else {
                    Err(SpawnError::Compile(kind, msg))
                }
            }
            Ok((op, _)) => {
                self.kill();
                Err(SpawnError::Spawn(format!("unexpected init reply op {op}")))
            }
            Err(ReadFail::Deadline) => {
                self.kill();
                Err(SpawnError::Compile(
                    "module".into(),
                    format!("loading the grader exceeded {} s", deadline.as_secs_f64()),
                ))
            }
            Err(ReadFail::Eof) => {
                let note = self.death_note("worker died while loading the grader");
                Err(SpawnError::Spawn(note))
            }
            Err(ReadFail::Io(e)) => {
                self.kill();
                Err(SpawnError::Spawn(format!("reading from worker: {e}")))
            }
            // Not watched for a stop (`track` is None): the handshake runs to its deadline.
            Err(ReadFail::Cancelled) => {
                self.kill();
                Err(SpawnError::Spawn("worker start cancelled".into()))
            }
            Err(ReadFail::TooLarge(n)) => {
                self.kill();
                Err(SpawnError::Spawn(format!(
                    "oversize init reply ({n} bytes)"
                )))
            }
            Err(ReadFail::Quota(_)) => {
                self.kill();
                Err(SpawnError::Spawn(
                    "scratch quota exceeded while loading".into(),
                ))
            }
        }
    }

    /// Reaps the (dead) worker and describes its end plus the tail of its stderr.
    fn death_note(&mut self, what: &str) -> String {
        self.kill();
        let status = self.child.try_wait().ok().flatten();
        let mut note = format!("{what}: {}", describe_exit(status));
        if let Some(tail) = stderr_tail(&self.scratch.join("stderr.log")) {
            note.push_str("; stderr: ");
            note.push_str(&tail);
        }
        note
    }

    /// Runs one frame of pairs to completion, death or deadline.
    pub fn run_batch(
        &mut self,
        pairs: &[(&Value, &Value)],
        spec: &Spec,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> BatchEnd {
        protocol::begin_frame(&mut self.wbuf, protocol::OP_BATCH);
        marshal::write_list_header(&mut self.wbuf, pairs.len());
        let mut enc = marshal::Encoder::default();
        for (sample, item) in pairs {
            enc.write_pair(&mut self.wbuf, sample, item);
        }
        if protocol::finish_frame(&mut self.wbuf).is_none() {
            return BatchEnd::Refused("request frame too large".into());
        }
        let n = pairs.len();
        let start_seq = self.seq;
        self.batches = self.batches.wrapping_add(1);
        if self.stdin.write_all(&self.wbuf).is_err() {
            return self.lost(start_seq, n, None, false);
        }
        let mut watch = Watch::new(spec.hard_deadline(), n, start_seq);
        match self.read_frame(&mut watch, Some((spec, stop))) {
            Ok((protocol::OP_BATCH, body)) => {
                let mut tag = [0u8; 12];
                tag[..8].copy_from_slice(&self.nonce);
                tag[8..].copy_from_slice(&self.batches.to_le_bytes());
                let records = body
                    .strip_prefix(&tag[..])
                    .and_then(|rest| protocol::parse_records(rest, n));
                match records {
                    Some(r) => {
                        self.seq = start_seq.wrapping_add(n as u32);
                        self.idle_page = (self.seq, n.saturating_sub(1) as u32);
                        self.calls += n as u64;
                        BatchEnd::Done(r)
                    }
                    None => self.lost(start_seq, n, Some(FORGED.into()), false),
                }
            }
            Ok((op, _)) => {
                let why = format!("{FORGED} (reply op {op})");
                self.lost(start_seq, n, Some(why), false)
            }
            Err(ReadFail::Deadline) => {
                let t = spec.timeout.as_secs_f64();
                let h = spec.hard_deadline().as_secs_f64();
                let why = format!(
                    "grade() exceeded the time limit of {t} s and did not stop within the hard \
                     deadline of {h} s; worker killed"
                );
                self.lost(start_seq, n, Some(why), true)
            }
            Err(ReadFail::Eof) | Err(ReadFail::Io(_)) => self.lost(start_seq, n, None, false),
            Err(ReadFail::TooLarge(len)) => {
                let why = format!("{FORGED} (announced {len} bytes)");
                self.lost(start_seq, n, Some(why), false)
            }
            Err(ReadFail::Cancelled) => {
                self.kill();
                BatchEnd::Cancelled
            }
            Err(ReadFail::Quota(used)) => {
                let why = quota_message(used, spec.scratch_bytes);
                self.lost(start_seq, n, Some(why), false)
            }
        }
    }

    /// Kills the worker and reads which sample its progress page says was in flight.
    fn lost(&mut self, start_seq: u32, n: usize, why: Option<String>, trusted: bool) -> BatchEnd {
        self.kill();
        let hint = match self.read_progress() {
            Some(page) if page == self.idle_page => Hint::NotStarted,
            Some((seq, idx))
                if (idx as usize) < n && seq == start_seq.wrapping_add(idx).wrapping_add(1) =>
            {
                Hint::InFlight(idx as usize)
            }
            _ => Hint::Unknown,
        };
        let details = match why {
            Some(w) => w,
            None => {
                let status = self.child.try_wait().ok().flatten();
                describe_exit(status)
            }
        };
        BatchEnd::Lost {
            hint,
            details,
            trusted: trusted && matches!(hint, Hint::InFlight(_)),
        }
    }

    fn read_progress(&self) -> Option<(u32, u32)> {
        let mut b = [0u8; 8];
        self.progress.read_exact_at(&mut b, 0).ok()?;
        Some((
            u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        ))
    }

    /// Reads one frame before the watch's deadline; with `track` (a batch), also follows the
    /// progress page and the scratch quota, and gives up when its `stop` fires.
    fn read_frame(
        &mut self,
        watch: &mut Watch,
        track: Option<(&Spec, &(dyn Fn() -> bool + Sync))>,
    ) -> Result<(u8, Vec<u8>), ReadFail> {
        let fd = self.stdout.as_raw_fd();
        let mut seq = None;
        loop {
            match protocol::split_frame(&self.rbuf, self.rpos) {
                Err(n) => return Err(ReadFail::TooLarge(n)),
                Ok(Some((op, range, next))) => {
                    let body = self.rbuf[range].to_vec();
                    self.rpos = next;
                    if self.rpos == self.rbuf.len() {
                        self.rbuf.clear();
                        self.rpos = 0;
                    }
                    return Ok((op, body));
                }
                Ok(None) => {}
            }
            let wait = watch.next_wait(seq.take()).ok_or(ReadFail::Deadline)?;
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = libc::c_int::try_from(wait.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
            // SAFETY: one valid pollfd on the stack, count 1.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(ReadFail::Io(e));
            }
            if r == 0 {
                if let Some((spec, stop)) = track {
                    if stop() {
                        return Err(ReadFail::Cancelled);
                    }
                    seq = self.read_progress().map(|p| p.0);
                    if spec.scratch_bytes > 0 && self.quota_at.elapsed() >= QUOTA_EVERY {
                        self.quota_at = Instant::now();
                        if let Some(used) = self.scratch_used(spec) {
                            return Err(ReadFail::Quota(used));
                        }
                    }
                }
                continue;
            }
            if self.rpos > 0 {
                self.rbuf.drain(..self.rpos);
                self.rpos = 0;
            }
            let old = self.rbuf.len();
            self.rbuf.resize(old + (1 << 16), 0);
            match self.stdout.read(&mut self.rbuf[old..]) {
                Ok(0) => {
                    self.rbuf.truncate(old);
                    return Err(ReadFail::Eof);
                }
                Ok(n) => self.rbuf.truncate(old + n),
                Err(e) => {
                    self.rbuf.truncate(old);
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(ReadFail::Io(e));
                    }
                }
            }
        }
    }

    /// SIGKILLs the worker's process group (it is a session leader) and reaps it.
    pub fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
                // SAFETY: plain syscall; the group id is the worker's own pid (setsid).
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
        scratch::remove_tree(&self.scratch);
    }
}

/// Details of a sample whose worker sent bytes that are not its harness's reply.
const FORGED: &str = "the worker's reply was not a valid frame from the harness (grader code \
                      writing to the protocol channel?); worker killed";

/// An 8-byte page shared with the worker (memfd, close-on-exec here; the child gets it as
/// [`PROGRESS_FD`]).
fn progress_page() -> io::Result<File> {
    // SAFETY: memfd_create with a static NUL-terminated name; returns a new fd or -1.
    let fd = unsafe { libc::memfd_create(c"gradekit-progress".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor owned by nobody else.
    let f = unsafe { File::from_raw_fd(fd) };
    f.set_len(8)?;
    Ok(f)
}

/// 8 random bytes from the kernel (falls back to time and pid, which only an attacker inside
/// the worker could guess — and it can read the real nonce anyway).
fn nonce() -> [u8; 8] {
    let mut b = [0u8; 8];
    // SAFETY: writes at most 8 bytes into `b`.
    let r = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if r != 8 {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        b = (t ^ (u64::from(std::process::id()) << 32)).to_le_bytes();
    }
    b
}

fn spawn_err(spec: &Spec, e: io::Error) -> SpawnError {
    SpawnError::Spawn(format!("cannot start {}: {e}", spec.python.display()))
}

fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(D[(x >> 4) as usize] as char);
        s.push(D[(x & 15) as usize] as char);
    }
    s
}

fn stderr_tail(path: &Path) -> Option<String> {
    let f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let take = len.min(1500);
    let mut b = vec![0u8; take as usize];
    f.read_exact_at(&mut b, len - take).ok()?;
    let s = String::from_utf8_lossy(&b).trim().to_string();
    (!s.is_empty()).then_some(s)
}
