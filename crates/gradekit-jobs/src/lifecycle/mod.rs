//! The service's threads: validating files, the FIFO scheduler, one reader per running
//! trainer; and recovery when the service starts.
//!
//! - **Validation** runs on one thread, in creation order; a job leaves `validating_files`
//!   for `queued` (hyperparameters resolved) or `failed` (the file's error).
//! - **Scheduler**: while fewer than `max_jobs` trainers run, the oldest queue position
//!   starts: spec file written, status `running`, the backend starts `TRAINER SPEC_PATH`.
//! - **Reader**: each stdout line of a trainer is one transaction (event, metrics event +
//!   `estimated_finish`, checkpoint + event); at EOF the exit decides the job's end (module
//!   docs of [`crate::protocol`] and DESIGN §8).
//! - **Recovery** (start): upload leftovers in `tmp/` and blobs without a row are removed;
//!   trainers recorded by a killed server are killed; `running` jobs go back to the queue to
//!   resume from their last checkpoint, or fail with `server_restarted` when they have none;
//!   `validating_files` jobs are validated again; queued and paused jobs stay as they were.
//!
//! Layout: this module holds the shared state, recovery, validation and the scheduler;
//! `reader` turns a running trainer's protocol lines into store transactions and ends the job.

mod reader;

use reader::read_run;

use crate::backend::{Backend, Exit, Launch, Run};
use crate::error::{Error, Result};
use crate::ids::{new_id, now};
use crate::protocol::{self, TrainerLine, TrainerSpec};
use crate::request;
use crate::service::{job_error, method_type, JobsConfig};
use crate::store::{CheckpointRow, FileRow, JobRow, NewEvent, Status, Store};
use crate::validate_files::{check_file, item_refs, Which};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The database file's name in the data directory.
pub const DB_NAME: &str = "gradekit.sqlite3";

/// State shared by the service handle and its threads.
pub(crate) struct Shared {
    pub(crate) cfg: JobsConfig,
    store: Mutex<Store>,
    backend: Arc<dyn Backend>,
    running: Mutex<HashMap<String, Arc<dyn Run>>>,
    wake: (Mutex<u64>, Condvar),
    validate_tx: Mutex<Sender<String>>,
    stopping: AtomicBool,
    pub(crate) started_at: i64,
    /// The data directory's lock, held while the service lives.
    _lock: std::fs::File,
}

/// Takes the data directory's exclusive lock: two servers on one directory would both run
/// its queued jobs.
#[allow(unsafe_code)]
fn lock_dir(dir: &Path) -> Result<std::fs::File> {
    use std::os::unix::io::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))?;
    // SAFETY: flock on a descriptor this function owns; no memory is passed.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        return Err(Error::invalid(
            "data_dir_in_use",
            "data_dir",
            format!(
                "{} is in use by another gradekit server (one server per --data-dir)",
                dir.display()
            ),
        ));
    }
    Ok(f)
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("data_dir", &self.cfg.data_dir)
            .field("backend", &self.backend.name())
            .field("max_jobs", &self.cfg.max_jobs)
            .finish()
    }
}

impl Shared {
    pub(crate) fn store(&self) -> Result<MutexGuard<'_, Store>> {
        self.store
            .lock()
            .map_err(|_| Error::internal("the job store lock is poisoned"))
    }

    pub(crate) fn wake(&self) {
        if let Ok(mut g) = self.wake.0.lock() {
            *g += 1;
            self.wake.1.notify_all();
        }
    }

    pub(crate) fn enqueue_validation(&self, id: &str) {
        if let Ok(tx) = self.validate_tx.lock() {
            let _ = tx.send(id.to_string());
        }
    }

    /// True while a run of job `id` (its trainer and the reader of its output) has not ended.
    pub(crate) fn is_running(&self, id: &str) -> bool {
        self.running
            .lock()
            .map(|r| r.contains_key(id))
            .unwrap_or(false)
    }

    /// SIGTERM to a running trainer; for a cancel, SIGKILL of its group after the grace.
    pub(crate) fn stop_run(self: &Arc<Self>, id: &str, kill_after_grace: bool) {
        let run = self.running.lock().ok().and_then(|r| r.get(id).cloned());
        let Some(run) = run else { return };
        run.stop();
        if kill_after_grace {
            let grace = self.cfg.cancel_grace;
            let _ = std::thread::Builder::new()
                .name("cancel-grace".into())
                .spawn(move || {
                    // `wait` returns at once once the reader has seen the exit.
                    let until = Instant::now() + grace;
                    while Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(50));
                        if Arc::strong_count(&run) == 1 {
                            return; // the reader is done with it: the trainer ended
                        }
                    }
                    run.kill();
                });
        }
    }

    fn job_dir(&self, id: &str) -> PathBuf {
        self.cfg.data_dir.join("jobs").join(id)
    }

    fn launch_of(&self, id: &str) -> Launch {
        let job_dir = self.job_dir(id);
        Launch {
            job_id: id.to_string(),
            spec_path: job_dir.join("spec.json"),
            job_dir,
        }
    }
}

/// Opens the store, recovers, starts the threads.
pub(crate) fn start(mut cfg: JobsConfig, backend: Arc<dyn Backend>) -> Result<Arc<Shared>> {
    // Trainers run in their job's directory: the paths they are given (spec, files, output,
    // the registry's model directories) must not be relative to the server's.
    cfg.data_dir = std::path::absolute(&cfg.data_dir)?;
    for m in cfg.models.models.values_mut() {
        if let Ok(p) = std::path::absolute(&m.path) {
            m.path = p;
        }
    }
    let dir = &cfg.data_dir.clone();
    for d in ["files", "jobs", "tmp"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    let lock = lock_dir(dir)?;
    // Uploads that never completed.
    for e in std::fs::read_dir(dir.join("tmp"))?.flatten() {
        let _ = std::fs::remove_file(e.path());
    }
    let mut store = Store::open(&dir.join(DB_NAME))?;
    // Files that expired while the server was down go with their blobs (below); blobs renamed
    // into place whose row was never committed too.
    store.purge_expired_files()?;
    let ids = store.all_file_ids()?;
    for e in std::fs::read_dir(dir.join("files"))?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !ids.contains(&name) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let (tx, rx) = channel::<String>();
    let sh = Arc::new(Shared {
        cfg,
        store: Mutex::new(Store::open(&dir.join(DB_NAME))?),
        backend,
        running: Mutex::new(HashMap::new()),
        wake: (Mutex::new(0), Condvar::new()),
        validate_tx: Mutex::new(tx),
        stopping: AtomicBool::new(false),
        started_at: now(),
        _lock: lock,
    });
    recover(&sh, &mut store)?;
    drop(store);
    let v = sh.clone();
    std::thread::Builder::new()
        .name("jobs-validate".into())
        .spawn(move || {
            while let Ok(id) = rx.recv() {
                if v.stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Err(e) = validate(&v, &id) {
                    eprintln!("gradekit jobs: validating {id}: {e}");
                }
            }
        })?;
    let s = sh.clone();
    std::thread::Builder::new()
        .name("jobs-scheduler".into())
        .spawn(move || scheduler(&s))?;
    Ok(sh)
}

fn recover(sh: &Arc<Shared>, store: &mut Store) -> Result<()> {
    for (id, pid) in store.recorded_pids()? {
        sh.backend.reap_orphan(pid, &sh.launch_of(&id));
        store.set_pid(&id, None)?;
    }
    for mut job in store.jobs_in(Status::Running)? {
        match store.last_checkpoint(&job.id)? {
            Some(c) => {
                job.status = Status::Queued;
                job.estimated_finish = None;
                store.save_job(
                    &job,
                    &[NewEvent::warn(format!(
                        "The server restarted while the job was running; it resumes from its checkpoint at step {}",
                        c.step_number
                    ))],
                    false,
                )?;
            }
            None => {
                let msg = "The server restarted while the job was running, and the job had no checkpoint to resume from";
                fail(store, &mut job, "server_restarted", msg)?;
            }
        }
    }
    for job in store.jobs_in(Status::ValidatingFiles)? {
        sh.enqueue_validation(&job.id);
    }
    Ok(())
}

fn fail(store: &mut Store, job: &mut JobRow, code: &str, message: &str) -> Result<()> {
    job.status = Status::Failed;
    job.error = Some(job_error(code, message, None));
    job.finished_at = Some(now());
    job.estimated_finish = None;
    store.save_job(
        job,
        &[NewEvent::error(format!(
            "Fine-tuning job failed: {message}"
        ))],
        false,
    )
}

/// Validates a job's files and moves it on (see the module docs).
fn validate(sh: &Arc<Shared>, id: &str) -> Result<()> {
    let Some(job) = sh.store()?.job(None, id)? else {
        return Ok(());
    };
    if job.status != Status::ValidatingFiles {
        return Ok(());
    }
    let mt = method_type(&job);
    let refs = match job.method.pointer("/reinforcement/grader") {
        Some(g) => item_refs(g, &crate::engine_for(&sh.cfg.engine, &job.project)),
        None => Vec::new(),
    };
    let dir = sh.job_dir(id);
    let mut outcome = check_file(&dir.join("training.jsonl"), mt, &refs, Which::Training);
    if let (Ok(_), Some(_)) = (&outcome, &job.validation_file) {
        if let Err(e) = check_file(&dir.join("validation.jsonl"), mt, &refs, Which::Validation) {
            outcome = Err(e);
        }
    }
    let mut store = sh.store()?;
    // Re-read: the job may have been cancelled while its files were being read.
    let Some(mut job) = store.job(None, id)? else {
        return Ok(());
    };
    if job.status != Status::ValidatingFiles {
        return Ok(());
    }
    match outcome {
        Ok(stats) => {
            let (method, hyper) = request::resolve(&job.method, mt, Some(stats.examples));
            job.method = method;
            job.hyperparameters = hyper;
            job.n_examples = Some(stats.examples);
            job.status = Status::Queued;
            store.save_job(
                &job,
                &[NewEvent::info(
                    "Files validated, moving job to queued state",
                )],
                true,
            )?;
            drop(store);
            sh.wake();
        }
        Err(e) => {
            job.status = Status::Failed;
            job.error = Some(job_error(e.code, &e.message, Some(e.param)));
            job.finished_at = Some(now());
            store.save_job(&job, &[NewEvent::error(e.message.clone())], false)?;
        }
    }
    Ok(())
}

fn scheduler(sh: &Arc<Shared>) {
    let mut seen = 0u64;
    loop {
        if sh.stopping.load(Ordering::SeqCst) {
            return;
        }
        if let Err(e) = schedule(sh) {
            eprintln!("gradekit jobs: scheduler: {e}");
        }
        let Ok(g) = sh.wake.0.lock() else { return };
        let (g, _) = match sh
            .wake
            .1
            .wait_timeout_while(g, Duration::from_secs(1), |n| *n == seen)
        {
            Ok(x) => x,
            Err(_) => return,
        };
        seen = *g;
    }
}

/// Starts queued jobs while slots are free.
fn schedule(sh: &Arc<Shared>) -> Result<()> {
    loop {
        if sh.stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        let running: Vec<String> = match sh.running.lock() {
            Ok(r) => r.keys().cloned().collect(),
            Err(_) => return Err(Error::internal("the run table lock is poisoned")),
        };
        if running.len() >= sh.cfg.max_jobs {
            return Ok(());
        }
        // The oldest queue position whose previous run (a paused one) has fully ended.
        let next = sh
            .store()?
            .jobs_in(Status::Queued)?
            .into_iter()
            .find(|j| !running.contains(&j.id));
        let Some(job) = next else { return Ok(()) };
        launch(sh, job)?;
    }
}

fn write_spec(sh: &Shared, job: &JobRow, resume_from: Option<String>) -> Result<PathBuf> {
    let dir = sh.job_dir(&job.id);
    let output = dir.join("output");
    std::fs::create_dir_all(&output)?;
    let has_validation = job.validation_file.is_some();
    let spec = TrainerSpec {
        job_id: job.id.clone(),
        method: job.method.clone(),
        model: sh
            .cfg
            .models
            .spec_model(&job.model)
            .unwrap_or_else(|| serde_json::json!({"name": job.model, "path": null})),
        training_file: dir.join("training.jsonl").to_string_lossy().to_string(),
        validation_file: has_validation
            .then(|| dir.join("validation.jsonl").to_string_lossy().to_string()),
        output_dir: output.to_string_lossy().to_string(),
        seed: job.seed,
        resume_from,
        suffix: job.suffix.clone(),
        integrations: job.integrations.clone(),
    };
    let path = dir.join("spec.json");
    let tmp = dir.join("spec.json.tmp");
    let text = serde_json::to_vec_pretty(&spec).map_err(|e| Error::internal(e.to_string()))?;
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

fn launch(sh: &Arc<Shared>, mut job: JobRow) -> Result<()> {
    let mut store = sh.store()?;
    let last = store.last_checkpoint(&job.id)?;
    let resume_from = last.as_ref().map(|c| c.dir.clone());
    if let Err(e) = write_spec(sh, &job, resume_from) {
        return fail(
            &mut store,
            &mut job,
            "trainer_failed",
            &format!("cannot write the trainer spec: {e}"),
        );
    }
    job.status = Status::Running;
    job.started_at = Some(now());
    job.estimated_finish = None;
    let msg = match &last {
        Some(c) => format!(
            "Fine-tuning job resumed from the checkpoint at step {}",
            c.step_number
        ),
        None => "Fine-tuning job started".to_string(),
    };
    store.save_job(&job, &[NewEvent::info(msg)], false)?;
    let launch = sh.launch_of(&job.id);
    let run: Arc<dyn Run> = match sh.backend.start(&launch) {
        Ok(r) => Arc::from(r),
        Err(e) => {
            return fail(
                &mut store,
                &mut job,
                "trainer_failed",
                &format!("cannot start the trainer: {e}"),
            );
        }
    };
    store.set_pid(&job.id, run.handle())?;
    drop(store);
    if let Ok(mut r) = sh.running.lock() {
        r.insert(job.id.clone(), run.clone());
    }
    let s = sh.clone();
    let id = job.id.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("trainer-{id}"))
        .spawn(move || {
            read_run(&s, &id, run.as_ref());
            if let Ok(mut r) = s.running.lock() {
                r.remove(&id);
            }
            if let Ok(mut st) = s.store() {
                let _ = st.set_pid(&id, None);
            }
            s.wake();
        });
    if let Err(e) = spawned {
        return Err(Error::internal(format!(
            "cannot start a reader thread: {e}"
        )));
    }
    Ok(())
}

/// Stops every trainer (SIGTERM, SIGKILL after `grace`) and the threads.
pub(crate) fn shutdown(sh: &Arc<Shared>, grace: Duration) {
    sh.stopping.store(true, Ordering::SeqCst);
    sh.wake();
    let runs: Vec<Arc<dyn Run>> = sh
        .running
        .lock()
        .map(|r| r.values().cloned().collect())
        .unwrap_or_default();
    for r in &runs {
        r.stop();
    }
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if sh.running.lock().map(|r| r.is_empty()).unwrap_or(true) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for r in &runs {
        r.kill();
    }
}

/// Test hook: the data directory's database path.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_NAME)
}
