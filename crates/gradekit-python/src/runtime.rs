//! [`PythonRuntime`]: the options python graders run with; [`PythonProgram`]: a compiled
//! grader bound to its pool.
//!
//! A runtime owns nothing but its options: pools, workers, the resolved interpreter and the
//! scratch root are process-wide (`registry.rs`, `scratch.rs`), so any number of runtimes — one
//! per option set, one per `Grader` — costs nothing until a grader is compiled, and compiling the
//! same source with equal options and the same scope anywhere in the process reuses the live
//! pool.
//!
//! **Scopes.** A pool's workers keep module globals between calls (caches are a documented use),
//! so whoever shares a pool shares whatever `grade()` left in them. A server grading for several
//! tenants gives each its own runtime with [`PythonRuntime::scoped`]: the scope is part of the
//! pool's key, so identical code of two tenants never runs in one worker (and never in one
//! scratch directory, which belongs to the worker).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::pool::{server_error, Pool};
use crate::registry;
use crate::worker::{SpawnError, Spec};
use crate::{
    sandbox, CompileErrorKind, PyOutcome, PythonCompileError, PythonMode, PythonOptions, IMAGE_TAG,
    MAX_SOURCE_BYTES,
};

/// System paths a sandboxed worker may read besides the interpreter's own prefixes (which the
/// harness adds itself): shared libraries, time zones, randomness, its own /proc entry, CPU
/// topology (numpy), and the usual NLTK data locations.
const SYSTEM_READ_PATHS: &[&str] = &[
    "/usr/lib",
    "/lib",
    "/lib64",
    "/usr/lib64",
    "/usr/local/lib",
    "/usr/share/zoneinfo",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/dev/urandom",
    "/dev/random",
    "/proc/self",
    "/proc/cpuinfo",
    "/sys/devices/system/cpu",
    "/usr/share/nltk_data",
    "/usr/local/share/nltk_data",
];

#[derive(Debug)]
struct Inner {
    opts: PythonOptions,
    /// The tenant whose pools these are (`None`: the process's shared, unscoped pools).
    scope: Option<Arc<str>>,
}

/// The options python graders are compiled with; cheap to clone, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct PythonRuntime {
    inner: Arc<Inner>,
}

/// A compiled python grader, bound to its (shared) pool.
#[derive(Debug, Clone)]
pub struct PythonProgram {
    imp: Imp,
}

#[derive(Debug, Clone)]
enum Imp {
    Pool(Arc<Pool>),
    #[cfg(feature = "embedded")]
    Embedded(Arc<crate::embedded::Program>),
}

impl PythonProgram {
    /// Grades one pair (one frame; prefer [`PythonProgram::grade_batch`] for throughput).
    pub fn grade(&self, sample: &Value, item: &Value) -> PyOutcome {
        self.grade_batch(&[(sample, item)])
            .pop()
            .unwrap_or_else(|| server_error("internal", "no result"))
    }

    /// Grades pairs in input order, one outcome per pair; frames are spread over the pool.
    pub fn grade_batch(&self, inputs: &[(&Value, &Value)]) -> Vec<PyOutcome> {
        self.grade_batch_until(inputs, &|| false)
    }

    /// [`Self::grade_batch`] that gives up once `stop` returns true (checked at least once a
    /// second while a worker runs, and before every frame): the running worker is killed and
    /// the samples not graded get `python_grader_server_error` of type `cancelled`. Nobody
    /// waits for them any more (the server's request passed its deadline), so a grader stuck
    /// in `grade()` must not keep its core and its worker until its own time limit.
    pub fn grade_batch_until(
        &self,
        inputs: &[(&Value, &Value)],
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Vec<PyOutcome> {
        match &self.imp {
            Imp::Pool(p) => p.grade_batch(inputs, stop),
            #[cfg(feature = "embedded")]
            Imp::Embedded(e) => e.grade_batch(inputs),
        }
    }

    /// The server error every sample will get, when the program can never run (e.g. the
    /// sandbox is unavailable); lets callers report it once.
    pub fn unavailable(&self) -> Option<&PyOutcome> {
        match &self.imp {
            Imp::Pool(p) => p.fatal(),
            #[cfg(feature = "embedded")]
            Imp::Embedded(_) => None,
        }
    }
}

impl Default for PythonRuntime {
    /// A runtime with [`PythonOptions::default`] (sandboxed, 120 s, 2 GiB); nothing is started
    /// until the first compile.
    fn default() -> Self {
        PythonRuntime::new(PythonOptions::default())
    }
}

impl PythonRuntime {
    pub fn new(opts: PythonOptions) -> Self {
        PythonRuntime {
            inner: Arc::new(Inner { opts, scope: None }),
        }
    }

    /// The same options, with pools private to `scope` (a tenant: the server's project). Code
    /// compiled by runtimes of different scopes never shares a worker, even when it is byte for
    /// byte the same; runtimes of one scope share warm workers as unscoped ones do.
    pub fn scoped(&self, scope: &str) -> PythonRuntime {
        if self.inner.scope.as_deref() == Some(scope) {
            return self.clone();
        }
        PythonRuntime {
            inner: Arc::new(Inner {
                opts: self.inner.opts.clone(),
                scope: Some(Arc::from(scope)),
            }),
        }
    }

    pub fn options(&self) -> &PythonOptions {
        &self.inner.opts
    }

    /// The scope of [`PythonRuntime::scoped`], if any.
    pub fn scope(&self) -> Option<&str> {
        self.inner.scope.as_deref()
    }

    /// Validates `source` (size, `image_tag`, then in a worker of the configured mode: compiles,
    /// runs the module top level, finds a callable `grade` taking two positional arguments) and
    /// returns it bound to a warm pool. Engine-side failures (no python, sandbox unavailable) do
    /// not fail compilation: the program then answers every sample with a server error.
    pub fn compile(
        &self,
        source: &str,
        image_tag: Option<&str>,
    ) -> Result<PythonProgram, PythonCompileError> {
        if let Some(tag) = image_tag {
            if tag != IMAGE_TAG {
                return Err(PythonCompileError::new(
                    CompileErrorKind::ImageTag,
                    format!("unknown image_tag \"{tag}\"; expected \"{IMAGE_TAG}\""),
                ));
            }
        }
        if source.len() > MAX_SOURCE_BYTES {
            return Err(PythonCompileError::new(
                CompileErrorKind::TooLarge,
                format!(
                    "source is {} bytes; the limit is {MAX_SOURCE_BYTES} bytes (256 KiB)",
                    source.len()
                ),
            ));
        }
        let opts = &self.inner.opts;
        if opts.mode == PythonMode::Embedded {
            return self.compile_embedded(source);
        }
        let key = (
            Sha256::digest(source.as_bytes()).into(),
            opts.clone(),
            self.inner.scope.clone(),
        );
        let proc = registry::current();
        if let Some(pool) = proc.shared_pool(&key) {
            return Ok(PythonProgram {
                imp: Imp::Pool(pool),
            });
        }
        let spec = match self.spec(source) {
            Ok(s) => s,
            Err(out) => return Ok(self.failed(source, out)),
        };
        if opts.mode == PythonMode::Sandboxed {
            let abi = sandbox::landlock_abi();
            if abi < opts.landlock_min_abi.max(1) {
                let why = format!(
                    "Landlock ABI {abi} available, {} required",
                    opts.landlock_min_abi.max(1)
                );
                return Ok(self.failed(source, server_error("sandbox_unavailable", why)));
            }
            if !sandbox::seccomp_available() {
                let why = "seccomp filters unavailable on this kernel/architecture";
                return Ok(self.failed(source, server_error("sandbox_unavailable", why)));
            }
        }
        let size = opts
            .workers
            .unwrap_or_else(|| default_workers(opts.memory_mib))
            .max(1);
        let pool = Pool::new(spec, size, opts.batch_size);
        match pool.warm() {
            Ok(()) => {
                proc.share(key, &pool);
                Ok(PythonProgram {
                    imp: Imp::Pool(pool),
                })
            }
            Err(SpawnError::Compile(kind, message)) => {
                let kind = match kind.as_str() {
                    "syntax" => CompileErrorKind::Syntax,
                    "no_grade" => CompileErrorKind::NoGrade,
                    "signature" => CompileErrorKind::Signature,
                    _ => CompileErrorKind::Module,
                };
                Err(PythonCompileError::new(kind, message))
            }
            Err(SpawnError::Sandbox(m)) => {
                Ok(self.failed(source, server_error("sandbox_unavailable", m)))
            }
            // Python could not start right now: the pool retries on use (with back-off).
            Err(SpawnError::Spawn(_)) | Err(SpawnError::Busy) => Ok(PythonProgram {
                imp: Imp::Pool(pool),
            }),
        }
    }

    #[cfg(feature = "embedded")]
    fn compile_embedded(&self, source: &str) -> Result<PythonProgram, PythonCompileError> {
        let p = crate::embedded::Program::compile(source, &self.inner.opts)?;
        Ok(PythonProgram {
            imp: Imp::Embedded(Arc::new(p)),
        })
    }

    #[cfg(not(feature = "embedded"))]
    fn compile_embedded(&self, _source: &str) -> Result<PythonProgram, PythonCompileError> {
        Err(PythonCompileError::new(
            CompileErrorKind::EmbeddedNotBuilt,
            "embedded mode not built; rebuild with --features embedded",
        ))
    }

    fn failed(&self, source: &str, out: PyOutcome) -> PythonProgram {
        let spec = Spec {
            python: PathBuf::new(),
            source: source.into(),
            sandboxed: true,
            timeout: self.inner.opts.timeout,
            init_timeout: self.inner.opts.init_timeout,
            memory_mib: 0,
            file_mib: 0,
            landlock_min_abi: 0,
            read_paths: Vec::new(),
            idle_timeout: self.inner.opts.idle_timeout,
            scratch_bytes: 0,
        };
        PythonProgram {
            imp: Imp::Pool(Pool::failed(spec, out)),
        }
    }

    fn spec(&self, source: &str) -> Result<Spec, PyOutcome> {
        let opts = &self.inner.opts;
        let python = registry::current()
            .interpreter(&opts.python, || resolve_python(opts))
            .map_err(|m| server_error("spawn_failed", m))?;
        let mut read_paths: Vec<PathBuf> = SYSTEM_READ_PATHS.iter().map(PathBuf::from).collect();
        read_paths.extend(opts.extra_read_paths.iter().cloned());
        Ok(Spec {
            python,
            source: source.into(),
            sandboxed: opts.mode == PythonMode::Sandboxed,
            timeout: clamp_timeout(opts.timeout),
            init_timeout: clamp_timeout(opts.init_timeout),
            memory_mib: opts.memory_mib,
            file_mib: opts.file_mib,
            landlock_min_abi: opts.landlock_min_abi.max(1),
            read_paths,
            idle_timeout: opts.idle_timeout.max(Duration::from_millis(1)),
            scratch_bytes: opts.scratch_mib.saturating_mul(1 << 20),
        })
    }
}

/// Resolves the interpreter to its real executable (a pyenv shim costs ~150 ms per start).
fn resolve_python(opts: &PythonOptions) -> Result<PathBuf, String> {
    let requested = opts
        .python
        .clone()
        .unwrap_or_else(|| PathBuf::from("python3"));
    let out = std::process::Command::new(&requested)
        .args(["-I", "-c", "import sys; print(sys.executable)"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {}: {e}", requested.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} -c failed: {}",
            requested.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let exe = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(if exe.is_empty() {
        requested
    } else {
        PathBuf::from(exe)
    })
}

/// Between 1 ms (zero would disarm the in-worker alarm) and a year (keeps deadline arithmetic
/// and `setitimer` in range).
fn clamp_timeout(t: Duration) -> Duration {
    t.clamp(Duration::from_millis(1), crate::worker::FAR_FUTURE)
}

/// min(cores, 75% of RAM / memory limit), at least 1.
fn default_workers(memory_mib: u64) -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let by_mem = mem_total_mib(Path::new("/proc/meminfo"))
        .map(|t| usize::try_from(t * 3 / 4 / memory_mib.max(1)).unwrap_or(usize::MAX))
        .unwrap_or(cores);
    cores.min(by_mem).max(1)
}

fn mem_total_mib(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
