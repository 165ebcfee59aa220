//! Where trainers run: the [`Backend`] trait and the `local` backend (a child process).
//!
//! A backend starts `TRAINER SPEC_PATH` somewhere and hands back a [`Run`]: the trainer's
//! stdout (the protocol lines, read by the service until EOF), a way to ask it to stop
//! (SIGTERM: save a checkpoint, print it, exit 0 — pause and the first step of cancel), a
//! way to kill it (cancel after the grace), and its exit. Everything else — the spec file,
//! the protocol, the job's state — is the service's, so a backend is small:
//!
//! - [`LocalBackend`] runs the trainer as a child process in its own process group (so a
//!   kill reaches its data-loader workers too), stderr kept in `trainer.log` in the job's
//!   directory with the last lines in memory for `error.message`;
//! - a `ray` backend (DESIGN §8) submits the same command as a Ray Job: `start` submits and
//!   streams the job's logs as `stdout`, `stop`/`kill` go through Ray's job API, `wait`
//!   polls its status; `handle` is whatever identifies the submission for
//!   [`Backend::reap_orphan`] after a server restart.
//!
//! Contract for implementors: `stdout` is taken once; `stop`, `kill` and `wait` may be called
//! from other threads while it is being read; `wait` returns once the trainer has ended and
//! may be called more than once; none of them may panic.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Lines of stderr kept for a failed job's `error.message`.
pub const STDERR_TAIL: usize = 20;
/// Largest `trainer.log` written per run.
const MAX_LOG: u64 = 64 * 1024 * 1024;
/// How long what a trainer started may keep its stdout open after the trainer itself exited,
/// before the rest of its process group is killed (so the job ends, DESIGN §8).
const LEFTOVER_GRACE: Duration = Duration::from_secs(2);

/// What a backend needs to start one run of a trainer.
#[derive(Debug, Clone)]
pub struct Launch {
    pub job_id: String,
    /// The spec JSON file (the trainer's only argument).
    pub spec_path: PathBuf,
    /// The job's directory (working directory; logs go here).
    pub job_dir: PathBuf,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// The last lines the trainer wrote to stderr.
    pub stderr_tail: Vec<String>,
}

/// A started trainer.
pub trait Run: Send + Sync {
    /// The protocol stream; `None` after the first call.
    fn stdout(&self) -> Option<Box<dyn Read + Send>>;
    /// What identifies the run across server restarts (local: the process group id).
    fn handle(&self) -> Option<i64>;
    /// Asks the trainer to checkpoint and exit (SIGTERM).
    fn stop(&self);
    /// Ends the trainer and everything it started, now (SIGKILL of the process group).
    fn kill(&self);
    /// Waits for the end.
    fn wait(&self) -> Exit;
}

/// Where trainers run.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// `local`, `ray`, …
    fn name(&self) -> &'static str;
    /// Starts `TRAINER launch.spec_path`.
    fn start(&self, launch: &Launch) -> io::Result<Box<dyn Run>>;
    /// A run recorded by an earlier server process (killed without a chance to stop its
    /// trainers): end it if it is still going, so a resumed run does not race it.
    fn reap_orphan(&self, handle: i64, launch: &Launch);
}

/// Splits a `--trainer` command line into words: whitespace separates, single and double
/// quotes group, a backslash escapes the next character (outside single quotes).
pub fn split_command(cmd: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') => quote = None,
            (Some('"'), '"') => quote = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') => match chars.next() {
                Some(n) => {
                    cur.push(n);
                    in_word = true;
                }
                None => return Err("the command ends with a lone backslash".into()),
            },
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("the command has an unclosed quote".into());
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err("the trainer command is empty".into());
    }
    Ok(words)
}

/// The words of a command line with their relative paths made absolute (see
/// [`LocalBackend::new`]); a word the working directory cannot resolve stays as it is.
fn anchor_paths(words: Vec<String>) -> Vec<String> {
    words
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            let p = Path::new(&w);
            let path_like = if i == 0 {
                w.contains('/')
            } else {
                !w.starts_with('-') && p.is_file()
            };
            if path_like && p.is_relative() {
                if let Ok(abs) = std::path::absolute(p) {
                    return abs.to_string_lossy().into_owned();
                }
            }
            w
        })
        .collect()
}

/// Sends `sig` to the process group `pgid`.
#[allow(unsafe_code)]
fn signal_group(pgid: i64, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pgid) {
        if pid > 1 {
            // SAFETY: a plain syscall with integer arguments; a negative pid addresses the
            // group whose id is the trainer's own pid (it was started as a group leader).
            unsafe {
                libc::kill(-pid, sig);
            }
        }
    }
}

/// The `local` backend: trainers as child processes of the server.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    argv: Vec<String>,
}

impl LocalBackend {
    /// `command` is the `--trainer` command line (split with [`split_command`]). Trainers run
    /// in their job's directory, so the paths of the command line that are relative to the
    /// server's working directory (as a shell would read them: `python3 my_trainer.py`,
    /// `./train.sh`) are made absolute first — the program when it names a path, and each
    /// argument that names an existing file.
    pub fn new(command: &str) -> Result<Self, String> {
        Ok(LocalBackend {
            argv: anchor_paths(split_command(command)?),
        })
    }
}

struct LocalRun {
    pid: i64,
    child: Arc<Mutex<Option<Child>>>,
    exit: Mutex<Option<Exit>>,
    stdout: Mutex<Option<Box<dyn Read + Send>>>,
    tail: Arc<Mutex<VecDeque<String>>>,
    stderr_done: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

impl Backend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    fn start(&self, launch: &Launch) -> io::Result<Box<dyn Run>> {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..])
            .arg(&launch.spec_path)
            .current_dir(&launch.job_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn()?;
        let pid = i64::from(child.id());
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        if let Some(err) = child.stderr.take() {
            let tail = tail.clone();
            let log_path = launch.job_dir.join("trainer.log");
            std::thread::Builder::new()
                .name(format!("stderr-{}", launch.job_id))
                .spawn(move || {
                    keep_stderr(err, &log_path, &tail);
                    let _ = done_tx.send(());
                })?;
        }
        let child = Arc::new(Mutex::new(Some(child)));
        let watched = child.clone();
        std::thread::Builder::new()
            .name(format!("leftovers-{}", launch.job_id))
            .spawn(move || end_leftovers(pid, &watched))?;
        Ok(Box::new(LocalRun {
            pid,
            child,
            exit: Mutex::new(None),
            stdout: Mutex::new(stdout),
            tail,
            stderr_done: Mutex::new(Some(done_rx)),
        }))
    }

    fn reap_orphan(&self, handle: i64, launch: &Launch) {
        // Only a process whose command line names this job's spec file is ours: the pid may
        // have been reused since.
        let cmdline = std::fs::read(format!("/proc/{handle}/cmdline")).unwrap_or_default();
        let spec = launch.spec_path.to_string_lossy();
        let ours = cmdline.split(|b| *b == 0).any(|a| a == spec.as_bytes());
        if ours {
            signal_group(handle, libc::SIGKILL);
        }
    }
}

/// True once the process `pid` (a child of ours) has exited; it is left unreaped (a zombie),
/// so its pid — the id of its process group — cannot be reused meanwhile.
#[allow(unsafe_code)]
fn exited_unreaped(pid: i64) -> bool {
    let Ok(id) = libc::id_t::try_from(pid) else {
        return false;
    };
    loop {
        // SAFETY: `siginfo_t` is plain data that `waitid` fills in; WNOWAIT leaves the child
        // to `Child::wait`.
        let r = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(libc::P_PID, id, &mut info, libc::WEXITED | libc::WNOWAIT)
        };
        if r == 0 {
            return true;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return false; // already reaped by `wait`
        }
    }
}

/// Once the trainer has exited, gives the processes it leaves behind (a background helper, a
/// worker pool) [`LEFTOVER_GRACE`] to close its stdout; if the trainer is still unreaped then,
/// the service is still reading that stdout and would wait for them forever: SIGKILL its
/// group. (Unreaped, the leader keeps the group id ours, so the kill reaches no one else.)
fn end_leftovers(pid: i64, child: &Mutex<Option<Child>>) {
    if !exited_unreaped(pid) {
        return;
    }
    std::thread::sleep(LEFTOVER_GRACE);
    // The lock is held across the kill: `wait` cannot reap the leader (freeing its id) between
    // the check and the signal.
    let slot = child.lock();
    if slot.as_ref().map(|c| c.is_some()).unwrap_or(false) {
        signal_group(pid, libc::SIGKILL);
    }
}

/// Copies stderr to the log (bounded) and keeps its last lines.
fn keep_stderr(err: impl Read, log_path: &Path, tail: &Mutex<VecDeque<String>>) {
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .ok();
    let mut written = 0u64;
    let mut r = BufReader::new(err);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut r).take(64 * 1024).read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(l) = log.as_mut().filter(|_| written < MAX_LOG) {
                    let _ = l.write_all(&buf);
                    written += n as u64;
                }
                let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                if line.is_empty() {
                    continue;
                }
                if let Ok(mut t) = tail.lock() {
                    if t.len() == STDERR_TAIL {
                        t.pop_front();
                    }
                    t.push_back(crate::protocol::truncate(&line, 1000));
                }
            }
        }
    }
}

impl Run for LocalRun {
    fn stdout(&self) -> Option<Box<dyn Read + Send>> {
        self.stdout.lock().ok().and_then(|mut s| s.take())
    }

    fn handle(&self) -> Option<i64> {
        Some(self.pid)
    }

    fn stop(&self) {
        if self.exit.lock().map(|e| e.is_none()).unwrap_or(false) {
            signal_group(self.pid, libc::SIGTERM);
        }
    }

    fn kill(&self) {
        if self.exit.lock().map(|e| e.is_none()).unwrap_or(false) {
            signal_group(self.pid, libc::SIGKILL);
        }
    }

    fn wait(&self) -> Exit {
        let Ok(mut slot) = self.child.lock() else {
            return Exit {
                code: None,
                stderr_tail: vec![],
            };
        };
        if let Some(mut child) = slot.take() {
            let status = child.wait();
            // stderr reaches EOF when every process of the group has closed it; give
            // lingering helpers a moment, not forever.
            if let Some(rx) = self.stderr_done.lock().ok().and_then(|mut r| r.take()) {
                let _ = rx.recv_timeout(Duration::from_secs(2));
            }
            let tail = self
                .tail
                .lock()
                .map(|t| t.iter().cloned().collect())
                .unwrap_or_default();
            let exit = Exit {
                code: status.ok().and_then(|s| s.code()),
                stderr_tail: tail,
            };
            if let Ok(mut e) = self.exit.lock() {
                *e = Some(exit);
            }
        }
        self.exit
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .unwrap_or(Exit {
                code: None,
                stderr_tail: vec![],
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn command_lines_split_like_a_shell() {
        assert_eq!(
            split_command("python3 -m gradekit.train").unwrap(),
            ["python3", "-m", "gradekit.train"]
        );
        assert_eq!(
            split_command(r#"a 'b c' "d \"e\"" f\ g"#).unwrap(),
            ["a", "b c", "d \"e\"", "f g"]
        );
        assert!(split_command("a 'b").is_err());
        assert!(split_command("  ").is_err());
    }

    #[test]
    fn relative_paths_of_the_command_line_are_anchored_at_the_working_directory() {
        // `cargo test` runs in the crate's directory, where `src/backend.rs` is a file.
        let here = std::env::current_dir().unwrap();
        let abs = |p: &str| here.join(p).to_string_lossy().into_owned();
        assert_eq!(
            LocalBackend::new("python3 src/backend.rs -m gradekit.train --flag src/nope")
                .unwrap()
                .argv,
            [
                "python3",
                &abs("src/backend.rs"),
                "-m",
                "gradekit.train",
                "--flag",
                "src/nope"
            ]
        );
        assert_eq!(
            LocalBackend::new("./train.sh /abs/x").unwrap().argv,
            [abs("train.sh"), "/abs/x".into()]
        );
    }

    /// Starts `trainer` with the local backend, its job directory `dir` (an empty spec there).
    fn start_in(dir: &Path, trainer: &str) -> Box<dyn Run> {
        let spec = dir.join("spec.json");
        std::fs::write(&spec, "{}").unwrap();
        LocalBackend::new(trainer)
            .unwrap()
            .start(&Launch {
                job_id: "j".into(),
                spec_path: spec,
                job_dir: dir.into(),
            })
            .unwrap()
    }

    #[test]
    fn a_local_run_reports_its_exit_and_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let run = start_in(
            dir.path(),
            "sh -c 'echo out; echo err1 >&2; echo err2 >&2; exit 3' sh",
        );
        let mut s = String::new();
        run.stdout().unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "out\n");
        let e = run.wait();
        assert_eq!(e.code, Some(3));
        assert_eq!(e.stderr_tail, ["err1", "err2"]);
        assert_eq!(run.wait(), e);
        assert!(std::fs::read_to_string(dir.path().join("trainer.log"))
            .unwrap()
            .contains("err2"));
    }

    #[test]
    fn what_an_exited_trainer_left_behind_does_not_hold_its_stdout() {
        let dir = tempfile::tempdir().unwrap();
        // A helper that outlives the trainer and inherits its stdout.
        let run = start_in(dir.path(), "sh -c 'sleep 300 & echo out; exit 0' sh");
        let mut out = run.stdout().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            let _ = tx.send(s);
        });
        // Without the group kill this read ends only when `sleep 300` does.
        let s = rx.recv_timeout(Duration::from_secs(60)).unwrap();
        assert_eq!(s, "out\n");
        assert_eq!(run.wait().code, Some(0));
    }
}
