//! [`PythonRuntime`]: resolves the interpreter once, owns the scratch root with the harness, and
//! keeps one warm pool per grader source; [`PythonProgram`]: a compiled grader.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU8;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::pool::{server_error, Pool};
use crate::worker::{SpawnError, Spec, Worker};
use crate::{
    sandbox, CompileErrorKind, PyOutcome, PythonCompileError, PythonMode, PythonOptions, IMAGE_TAG,
    MAX_SOURCE_BYTES,
};

const HARNESS: &str = include_str!("worker.py");
const MAX_POOLS: usize = 64;

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

/// Lazily created, shared by all pools of a runtime.
#[derive(Debug)]
struct Env {
    python: PathBuf,
    harness: PathBuf,
    dir: tempfile::TempDir,
    netns: Arc<AtomicU8>,
}

/// Pools by source hash, with a last-use tick for eviction; `.0` is the tick counter.
type PoolMap = (u64, HashMap<[u8; 32], (Arc<Pool>, u64)>);

#[derive(Debug)]
struct Inner {
    opts: PythonOptions,
    env: OnceLock<Result<Arc<Env>, String>>,
    pools: Mutex<PoolMap>,
}

/// Owns the worker pools; cheap to clone (shared state), `Send + Sync`.
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
        match &self.imp {
            Imp::Pool(p) => p.grade_batch(inputs),
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
            inner: Arc::new(Inner {
                opts,
                env: OnceLock::new(),
                pools: Mutex::new((0, HashMap::new())),
            }),
        }
    }

    pub fn options(&self) -> &PythonOptions {
        &self.inner.opts
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
        let key: [u8; 32] = Sha256::digest(source.as_bytes()).into();
        if let Some(pool) = self.cached(&key) {
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
        match Worker::spawn(&spec, 0) {
            Ok(w) => {
                let pool = Arc::new(Pool::new(spec, size, opts.batch_size, Some(w)));
                self.insert(key, pool.clone());
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
            Err(SpawnError::Spawn(_)) => {
                // Possibly transient: keep a pool that retries spawning (with back-off).
                let pool = Arc::new(Pool::new(spec, size, opts.batch_size, None));
                Ok(PythonProgram {
                    imp: Imp::Pool(pool),
                })
            }
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

    fn cached(&self, key: &[u8; 32]) -> Option<Arc<Pool>> {
        let mut g = self.inner.pools.lock().unwrap_or_else(|p| p.into_inner());
        g.0 += 1;
        let tick = g.0;
        let e = g.1.get_mut(key)?;
        e.1 = tick;
        Some(e.0.clone())
    }

    fn insert(&self, key: [u8; 32], pool: Arc<Pool>) {
        let mut g = self.inner.pools.lock().unwrap_or_else(|p| p.into_inner());
        g.0 += 1;
        let tick = g.0;
        if g.1.len() >= MAX_POOLS && !g.1.contains_key(&key) {
            let oldest = g.1.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| *k);
            if let Some(k) = oldest {
                g.1.remove(&k);
            }
        }
        g.1.insert(key, (pool, tick));
    }

    fn failed(&self, source: &str, out: PyOutcome) -> PythonProgram {
        let spec = Spec {
            python: PathBuf::new(),
            harness: PathBuf::new(),
            root: PathBuf::new(),
            source: source.into(),
            sandboxed: true,
            timeout: self.inner.opts.timeout,
            init_timeout: self.inner.opts.init_timeout,
            memory_mib: 0,
            file_mib: 0,
            landlock_min_abi: 0,
            read_paths: Vec::new(),
            netns: Arc::new(AtomicU8::new(0)),
            _keep: None,
        };
        PythonProgram {
            imp: Imp::Pool(Arc::new(Pool::failed(spec, out))),
        }
    }

    fn env(&self) -> Result<Arc<Env>, PyOutcome> {
        self.inner
            .env
            .get_or_init(|| make_env(&self.inner.opts).map(Arc::new))
            .clone()
            .map_err(|m| server_error("spawn_failed", m))
    }

    fn spec(&self, source: &str) -> Result<Spec, PyOutcome> {
        let env = self.env()?;
        let opts = &self.inner.opts;
        let mut read_paths: Vec<PathBuf> = vec![env.harness.clone()];
        read_paths.extend(SYSTEM_READ_PATHS.iter().map(PathBuf::from));
        read_paths.extend(opts.extra_read_paths.iter().cloned());
        Ok(Spec {
            python: env.python.clone(),
            harness: env.harness.clone(),
            root: env.dir.path().to_path_buf(),
            source: source.into(),
            sandboxed: opts.mode == PythonMode::Sandboxed,
            timeout: clamp_timeout(opts.timeout),
            init_timeout: clamp_timeout(opts.init_timeout),
            memory_mib: opts.memory_mib,
            file_mib: opts.file_mib,
            landlock_min_abi: opts.landlock_min_abi.max(1),
            read_paths,
            netns: env.netns.clone(),
            _keep: Some(env.clone() as Arc<dyn std::fmt::Debug + Send + Sync>),
        })
    }
}

/// Resolves the interpreter to its real executable (a pyenv shim costs ~150 ms per start) and
/// writes the harness into a fresh scratch root.
fn make_env(opts: &PythonOptions) -> Result<Env, String> {
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
    let python = if exe.is_empty() {
        requested
    } else {
        PathBuf::from(exe)
    };
    let dir = tempfile::Builder::new()
        .prefix("gradekit-python-")
        .tempdir()
        .map_err(|e| format!("cannot create scratch dir: {e}"))?;
    let harness = dir.path().join("worker.py");
    std::fs::write(&harness, HARNESS).map_err(|e| format!("cannot write harness: {e}"))?;
    Ok(Env {
        python,
        harness,
        dir,
        netns: Arc::new(AtomicU8::new(0)),
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
