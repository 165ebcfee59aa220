//! One worker process: spawn + init handshake, one batch at a time, watchdog, kill.
//!
//! The engine never blocks on a worker without a deadline: replies are read after `poll()` with
//! a timeout. The hard deadline is per *sample*: the harness bumps a sequence number in the
//! shared `progress` file before each `grade()` call, and the watchdog restarts its clock when it
//! sees the number move. When a worker dies or misses the deadline, the same file says which
//! sample was in flight: that one fails, the rest of the frame is resubmitted (pool.rs).

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::protocol::{self, Record};
use crate::{marshal, sandbox, seccomp};

/// Everything the workers of one pool share.
#[derive(Debug)]
pub(crate) struct Spec {
    pub python: PathBuf,
    pub harness: PathBuf,
    pub root: PathBuf,
    pub source: Arc<str>,
    pub sandboxed: bool,
    pub timeout: Duration,
    pub init_timeout: Duration,
    pub memory_mib: u64,
    pub file_mib: u64,
    pub landlock_min_abi: u32,
    pub read_paths: Vec<PathBuf>,
    /// Shared per runtime: 0 = untried, 1 = user+net namespace works, 2 = it does not.
    pub netns: Arc<AtomicU8>,
    /// Keeps the runtime's scratch root (and harness) alive as long as a pool uses it.
    pub _keep: Option<Arc<dyn std::fmt::Debug + Send + Sync>>,
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
}

/// The result of running one frame.
#[derive(Debug)]
pub(crate) enum BatchEnd {
    Done(Vec<Record>),
    /// The worker died (`details`) or missed the hard deadline; `in_flight` = the index of the
    /// sample inside `grade()` at that moment, if any.
    Lost {
        in_flight: Option<usize>,
        details: String,
    },
    /// The worker answered something that is not a valid reply.
    Protocol(String),
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
    pub calls: u64,
    pub recycle: bool,
}

enum ReadFail {
    Eof,
    Deadline,
    Io(io::Error),
    TooLarge(usize),
}

/// Longest deadline the watchdog computes with (timeouts are clamped to it, see runtime.rs).
pub(crate) const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365);

struct Watch {
    last_change: Instant,
    last_seq: u32,
    per_sample: Duration,
    cap: Instant,
    tick: Duration,
}

impl Watch {
    fn new(per_sample: Duration, samples: usize, seq: u32) -> Self {
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
            tick: (per_sample / 4).max(Duration::from_millis(10)),
        }
    }

    /// How long to wait for more bytes, or `None` when a deadline passed.
    fn next_wait(&mut self, seq: Option<u32>) -> Option<Duration> {
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

fn describe_exit(status: Option<ExitStatus>) -> String {
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

impl Worker {
    /// Starts a worker, runs the init handshake (sandbox + compile + checks) and returns it idle.
    pub fn spawn(spec: &Spec, id: u64) -> Result<Worker, SpawnError> {
        let scratch = spec.root.join(format!("w{id}"));
        let setup = |e: io::Error| SpawnError::Spawn(format!("cannot prepare scratch dir: {e}"));
        std::fs::create_dir_all(&scratch).map_err(setup)?;
        std::fs::write(scratch.join("progress"), [0u8; 8]).map_err(setup)?;
        let progress = File::open(scratch.join("progress")).map_err(setup)?;
        let stderr = File::create(scratch.join("stderr.log")).map_err(setup)?;

        let want_netns = spec.sandboxed && spec.netns.load(Ordering::Relaxed) != 2;
        let mut child = match Self::start(spec, &scratch, &stderr, want_netns) {
            Ok(c) => {
                if want_netns {
                    spec.netns.store(1, Ordering::Relaxed);
                }
                c
            }
            Err(e) if want_netns && e.raw_os_error() == Some(sandbox::UNSHARE_FAILED) => {
                // No user namespaces here (e.g. AppArmor or a container profile): the network
                // stays closed through seccomp (no socket()) and Landlock, so go on without.
                spec.netns.store(2, Ordering::Relaxed);
                Self::start(spec, &scratch, &stderr, false).map_err(|e| spawn_err(spec, e))?
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&scratch);
                return Err(spawn_err(spec, e));
            }
        };
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SpawnError::Spawn("worker pipes missing".into()));
        };
        let mut w = Worker {
            child,
            stdin,
            stdout,
            rbuf: Vec::with_capacity(1 << 16),
            rpos: 0,
            wbuf: Vec::with_capacity(1 << 16),
            progress,
            scratch,
            seq: 0,
            calls: 0,
            recycle: false,
        };
        w.handshake(spec)?;
        Ok(w)
    }

    fn start(spec: &Spec, scratch: &Path, stderr: &File, netns: bool) -> io::Result<Child> {
        let mut cmd = Command::new(&spec.python);
        cmd.arg("-I").arg("-B").arg(&spec.harness);
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
        sandbox::install(
            &mut cmd,
            sandbox::PreExec {
                memory_bytes: spec.memory_mib.saturating_mul(1 << 20),
                file_bytes: spec.file_mib.saturating_mul(1 << 20),
                no_new_privs: spec.sandboxed,
                netns,
            },
        );
        sandbox::spawn(cmd)
    }

    fn handshake(&mut self, spec: &Spec) -> Result<(), SpawnError> {
        let pid = self.child.id();
        let init = serde_json::json!({
            "source": &*spec.source,
            "timeout": spec.timeout.as_secs_f64(),
            "init_timeout": spec.init_timeout.as_secs_f64(),
            "memory_mib": spec.memory_mib,
            "sandbox": spec.sandboxed,
            "seccomp": hex(&seccomp::filter_bytes(pid)),
            "landlock_min_abi": spec.landlock_min_abi,
            "read_paths": spec.read_paths,
            "scratch": self.scratch,
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
        let frame = self.read_frame(&mut watch, false);
        match frame {
            Ok((protocol::OP_READY, _)) => Ok(()),
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
            Err(ReadFail::TooLarge(n)) => {
                self.kill();
                Err(SpawnError::Spawn(format!(
                    "oversize init reply ({n} bytes)"
                )))
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
    pub fn run_batch(&mut self, pairs: &[(&Value, &Value)], spec: &Spec) -> BatchEnd {
        protocol::begin_frame(&mut self.wbuf, protocol::OP_BATCH);
        marshal::write_list_header(&mut self.wbuf, pairs.len());
        let mut enc = marshal::Encoder::default();
        for (sample, item) in pairs {
            enc.write_pair(&mut self.wbuf, sample, item);
        }
        if protocol::finish_frame(&mut self.wbuf).is_none() {
            return BatchEnd::Protocol("request frame too large".into());
        }
        let start_seq = self.seq;
        if self.stdin.write_all(&self.wbuf).is_err() {
            return self.lost(start_seq, pairs.len(), None);
        }
        let mut watch = Watch::new(spec.hard_deadline(), pairs.len(), start_seq);
        match self.read_frame(&mut watch, true) {
            Ok((protocol::OP_BATCH, body)) => {
                self.seq = start_seq.wrapping_add(pairs.len() as u32);
                self.calls += pairs.len() as u64;
                match protocol::parse_records(&body, pairs.len()) {
                    Some(r) => BatchEnd::Done(r),
                    None => {
                        self.kill();
                        BatchEnd::Protocol("malformed reply from worker".into())
                    }
                }
            }
            Ok((op, _)) => {
                self.kill();
                BatchEnd::Protocol(format!("unexpected reply op {op}"))
            }
            Err(ReadFail::Deadline) => {
                self.kill();
                let t = spec.timeout.as_secs_f64();
                let h = spec.hard_deadline().as_secs_f64();
                let why = format!(
                    "grade() exceeded the time limit of {t} s and did not stop within the hard \
                     deadline of {h} s; worker killed"
                );
                self.lost(start_seq, pairs.len(), Some(why))
            }
            Err(ReadFail::Eof) | Err(ReadFail::Io(_)) => self.lost(start_seq, pairs.len(), None),
            Err(ReadFail::TooLarge(n)) => {
                self.kill();
                BatchEnd::Protocol(format!("oversize reply frame ({n} bytes)"))
            }
        }
    }

    fn lost(&mut self, start_seq: u32, n: usize, why: Option<String>) -> BatchEnd {
        self.kill();
        let (seq, idx) = self.read_progress().unwrap_or((start_seq, 0));
        let in_flight = (seq != start_seq && (idx as usize) < n).then_some(idx as usize);
        let details = match why {
            Some(w) => w,
            None => {
                let status = self.child.try_wait().ok().flatten();
                describe_exit(status)
            }
        };
        BatchEnd::Lost { in_flight, details }
    }

    fn read_progress(&self) -> Option<(u32, u32)> {
        let mut b = [0u8; 8];
        self.progress.read_exact_at(&mut b, 0).ok()?;
        Some((
            u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        ))
    }

    fn read_frame(&mut self, watch: &mut Watch, track: bool) -> Result<(u8, Vec<u8>), ReadFail> {
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
                if track {
                    seq = self.read_progress().map(|p| p.0);
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
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
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
