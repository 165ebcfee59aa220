//! Runs OpenAI-style python graders — `source` defines `grade(sample, item)` returning a number —
//! fast and without trusting the code.
//!
//! # Design (research/python-graders.md, measured on this machine kind)
//!
//! * **Never in the engine's address space by default.** An embedded interpreter lets one
//!   hostile `grade()` segfault the engine, hold the GIL inside C code where no watchdog can
//!   interrupt it, and read the engine's files, network and environment. The default mode
//!   ([`PythonMode::Sandboxed`]) therefore runs a pool of persistent `python3 -I` worker
//!   processes that speak a compact length-prefixed protocol over pipes (`protocol.rs`) and
//!   receive up to 64 samples per frame: batching cuts the per-call cost ~3× against one frame
//!   per sample, which is what makes ≥100k trivial calls/s possible on two cores.
//! * **Sandbox layers, no root needed** (`sandbox.rs`, `seccomp.rs`, `worker.py`): new session
//!   and parent-death signal, cleared environment, rlimits (address space = the memory limit, file
//!   size, no core dumps), a new user + network namespace when the kernel allows it, Landlock
//!   (writes only in the worker's scratch dir, reads only from the Python installation and system
//!   libraries, no exec, no TCP, no signals out) and a seccomp filter (no fork/exec/socket/ptrace,
//!   signals only to itself). A layer that cannot be applied fails closed: every sample gets
//!   [`PyOutcome::ServerError`] `sandbox_unavailable`. The namespace is the one exception: it
//!   is defence in depth for the network, which seccomp (no `socket()`) and Landlock already close,
//!   so where user namespaces are forbidden the worker starts without it.
//! * **Two timeouts.** In the worker, a repeating `SIGALRM` raises a `BaseException` in
//!   `grade()` (a loop, `time.sleep`) and keeps the worker. In the engine, a hard deadline per
//!   sample (soft + grace) kills the worker's process group when the alarm could not act (a
//!   C-level loop); the sample in flight fails, the rest of its frame is resubmitted (`pool.rs`).
//! * **Pools are shared and bounded** (`registry.rs`): one per (source hash, options, scope) for
//!   the whole process — the scope ([`PythonRuntime::scoped`]) keeps tenants' identical code in
//!   separate workers — held weakly — the last program of a pool going away ends its workers. Live
//!   workers are bounded process-wide ([`max_workers`]; idle workers of the least recently used
//!   pools are evicted), idle workers exit after [`PythonOptions::idle_timeout`], and a worker
//!   burning CPU while idle (threads left running after its reply) is killed.
//! * **Scratch space is private and bounded** (`scratch.rs`): each worker gets its own directory,
//!   the only one its Landlock rules let it write or read; files are capped by `RLIMIT_FSIZE` and
//!   the directory by [`PythonOptions::scratch_mib`] (checked every second while the worker runs
//!   and at check-in; over it the worker is killed and its sample fails). Directories are removed
//!   on every exit path, and roots of dead processes at the next start.
//! * [`PythonMode::Process`] is the same pool without the isolation layers (for trusted code or
//!   machines without Landlock/seccomp); limits and timeouts stay. [`PythonMode::Embedded`] (cargo
//!   feature `embedded`) is pyo3 in-process for trusted micro-graders; it is **unsafe for
//!   untrusted code**.
//!
//! Grader module state (module globals, imported modules, monkey-patched builtins) persists between
//! calls of the *same* grader inside one worker but not across workers or graders: graders must
//! not rely on it. The harness itself never depends on it: it captured every builtin and module
//! function it uses before the grader's code ran (`worker.py`).

#![cfg_attr(not(unix), allow(unused))]

mod marshal;
mod pool;
mod protocol;
mod registry;
mod runtime;
mod sandbox;
mod scratch;
mod seccomp;
mod watch;
mod worker;

#[cfg(feature = "embedded")]
mod embedded;

use std::path::PathBuf;
use std::time::Duration;

pub use registry::{live_workers, max_workers, set_max_workers};
pub use runtime::{PythonProgram, PythonRuntime};
pub use sandbox::{sandbox_support, SandboxSupport};

/// The only `image_tag` OpenAI documents (its package list is in research/python-graders.md §1).
pub const IMAGE_TAG: &str = "2025-05-08";

/// Largest accepted grader source (OpenAI: "uploaded code < 256 kB").
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;

/// How grader code is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PythonMode {
    /// Pool of sandboxed worker processes (default; for any code, including untrusted).
    #[default]
    Sandboxed,
    /// The same pool without isolation layers (trusted code); limits and timeouts kept.
    Process,
    /// One interpreter inside the engine via pyo3 (cargo feature `embedded`). Trusted code only:
    /// a crash kills the engine and C-level hangs cannot be interrupted.
    Embedded,
}

impl std::str::FromStr for PythonMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sandboxed" => Ok(PythonMode::Sandboxed),
            "process" => Ok(PythonMode::Process),
            "embedded" => Ok(PythonMode::Embedded),
            other => Err(format!(
                "unknown python mode \"{other}\"; expected sandboxed, process or embedded"
            )),
        }
    }
}

/// Runtime settings. Defaults mirror OpenAI's documented limits (2 minutes, 2 GB).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PythonOptions {
    pub mode: PythonMode,
    /// Per `grade()` call (soft, in the worker); the engine's hard deadline adds a grace period.
    pub timeout: Duration,
    /// Address-space limit of each worker (`RLIMIT_AS`).
    pub memory_mib: u64,
    /// Workers per grader; default min(cores, 75% of RAM / memory limit).
    pub workers: Option<usize>,
    /// Interpreter; default `python3` from `PATH`, resolved once to its real executable.
    pub python: Option<PathBuf>,
    /// Samples per frame (default 64).
    pub batch_size: usize,
    /// Deadline for loading the grader (module top level, imports).
    pub init_timeout: Duration,
    /// Largest file a worker may write (`RLIMIT_FSIZE`), MiB; OpenAI documents 1 GB of disk.
    pub file_mib: u64,
    /// Lowest Landlock ABI the sandboxed mode accepts (1 = filesystem rules; 4 adds TCP rules,
    /// 6 signal and abstract-socket scoping). Fails closed when the kernel has less.
    pub landlock_min_abi: u32,
    /// More paths the sandboxed workers may read (datasets, `nltk_data`, a venv outside the
    /// interpreter's prefix).
    pub extra_read_paths: Vec<PathBuf>,
    /// An idle worker exits after this long without work (the next call starts a new one).
    /// Default 60 s, or `GRADEKIT_PYTHON_IDLE_TIMEOUT` (seconds).
    pub idle_timeout: Duration,
    /// Bytes one worker's scratch directory may hold, MiB (0 = unlimited); also caps
    /// `RLIMIT_FSIZE`. Default 1024 (OpenAI documents 1 GB of disk), or
    /// `GRADEKIT_PYTHON_SCRATCH_MIB`.
    pub scratch_mib: u64,
}

impl Default for PythonOptions {
    fn default() -> Self {
        PythonOptions {
            mode: PythonMode::Sandboxed,
            timeout: Duration::from_secs(120),
            memory_mib: 2048,
            workers: None,
            python: None,
            batch_size: 64,
            init_timeout: Duration::from_secs(60),
            file_mib: 1024,
            landlock_min_abi: 1,
            extra_read_paths: Vec::new(),
            idle_timeout: env_number("GRADEKIT_PYTHON_IDLE_TIMEOUT")
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .filter(|d| !d.is_zero())
                .unwrap_or(Duration::from_secs(60)),
            scratch_mib: env_number("GRADEKIT_PYTHON_SCRATCH_MIB")
                .filter(|m| *m >= 1.0)
                .map_or(1024, |m| m as u64),
        }
    }
}

/// A positive finite number from the environment (defaults that every entry point — CLI, server,
/// bindings — honours without a flag of its own).
fn env_number(key: &str) -> Option<f64> {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
}

/// The result of one `grade()` call.
#[derive(Debug, Clone, PartialEq)]
pub enum PyOutcome {
    /// `grade()` returned a finite number (bool counts as 1.0 / 0.0).
    Reward(f64),
    /// Caused by the grader code: exception (traceback text), non-numeric / NaN / infinite
    /// return value, timeout, memory limit ("memory" in the details), crash of its worker.
    /// Maps to `python_grader_runtime_error` + details.
    RuntimeError { details: String },
    /// Failure of the runtime itself: `spawn_failed`, `sandbox_unavailable`, `protocol_error`,
    /// `worker_lost`, `cancelled` (the caller stopped waiting). Maps to `python_grader_server_error` + `python_grader_server_error_type`.
    ServerError { error_type: String, details: String },
}

/// Why a grader was rejected at compile (validate) time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompileErrorKind {
    /// Source larger than [`MAX_SOURCE_BYTES`].
    TooLarge,
    /// `image_tag` other than [`IMAGE_TAG`].
    ImageTag,
    /// Does not compile.
    Syntax,
    /// The module top level raised or ran past the load deadline.
    Module,
    /// No callable `grade`.
    NoGrade,
    /// `grade` cannot take two positional arguments.
    Signature,
    /// [`PythonMode::Embedded`] requested in a build without the `embedded` feature.
    EmbeddedNotBuilt,
}

/// A grader rejected at compile time (source size, syntax, `grade` missing or with the wrong
/// signature, exception at module level, unknown `image_tag`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PythonCompileError {
    pub message: String,
    pub kind: CompileErrorKind,
}

impl PythonCompileError {
    pub(crate) fn new(kind: CompileErrorKind, message: impl Into<String>) -> Self {
        PythonCompileError {
            message: message.into(),
            kind,
        }
    }
}
