//! The fine-tuning jobs flags of `gradekit serve` (DESIGN §8), built into the jobs service.

use anyhow::{Context, Result};
use gradekit_engine::EngineOptions;
use gradekit_jobs::ray::RayBackend;
use gradekit_jobs::{Backend, Jobs, JobsConfig, LocalBackend, ModelRegistry};
use gradekit_server::ApiKey;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct JobsFlags {
    /// Where jobs, files, events and checkpoints live (SQLite + blobs). Default:
    /// $XDG_DATA_HOME/gradekit, else ~/.local/share/gradekit.
    #[arg(long, value_name = "DIR", env = "GRADEKIT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Trainers running at once; further jobs wait in a FIFO queue.
    #[arg(long, default_value_t = 1, value_name = "N")]
    max_jobs: usize,
    /// The trainer command line; the server runs `CMD SPEC_PATH` (trainer protocol, DESIGN §8)
    /// in the job's directory. Relative paths in it are read from this working directory.
    #[arg(long, default_value = "python3 -m gradekit.train", value_name = "CMD")]
    trainer: String,
    /// Model registry (TOML): [models."NAME"] path = "HF_DIR" (+ lora, learning_rate,
    /// max_seq_length). Jobs may only fine-tune these.
    #[arg(long, value_name = "FILE")]
    models: Option<PathBuf>,
    /// Projects and their keys (TOML): [projects."proj_a"] keys = ["KEY", ...]. Each project
    /// sees only its own files, jobs and models. Never logged.
    #[arg(long, value_name = "FILE")]
    api_keys: Option<PathBuf>,
    /// `organization_id` of jobs; the part after `org-` names fine-tuned models.
    #[arg(long, default_value = "org-gradekit", value_name = "ORG")]
    organization: String,
    /// Largest file upload, in bytes (OpenAI: 512 MB).
    #[arg(long, default_value_t = gradekit_jobs::service::DEFAULT_MAX_UPLOAD, value_name = "BYTES")]
    max_upload: u64,
    /// Run trainers as Ray Jobs on an existing Ray cluster (its dashboard, e.g.
    /// http://127.0.0.1:8265) instead of child processes. The cluster must see --data-dir at
    /// the same path (a head on this machine or a shared filesystem).
    #[arg(long, value_name = "URL")]
    ray_address: Option<String>,
}

/// The jobs crate's code for a data directory another server holds.
const DIR_IN_USE: &str = "data_dir_in_use";

fn default_data_dir() -> PathBuf {
    match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d).join("gradekit"),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".local/share/gradekit"),
    }
}

impl JobsFlags {
    /// The `--api-keys` projects.
    pub fn project_keys(&self) -> Result<Vec<(String, Vec<ApiKey>)>> {
        let Some(p) = &self.api_keys else {
            return Ok(Vec::new());
        };
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read --api-keys {}", p.display()))?;
        let projects = gradekit_jobs::config::projects_from_toml(&text)
            .map_err(|e| anyhow::anyhow!("--api-keys {}: {e}", p.display()))?;
        Ok(projects
            .into_iter()
            .map(|(p, keys)| (p, keys.into_iter().map(ApiKey::new).collect()))
            .collect())
    }

    pub fn max_upload(&self) -> u64 {
        self.max_upload
    }

    /// Opens the jobs service (recovering the data directory's jobs). One server owns a data
    /// directory; when none was named (no `--data-dir`, no `GRADEKIT_DATA_DIR`) and the
    /// default one is held by another `gradekit serve`, this server still serves the graders:
    /// the inner `Err` says why its jobs API is off (its routes answer 503 with it). A named
    /// directory that is held is an error (the caller asked for that directory).
    pub fn open(&self, engine: EngineOptions) -> Result<std::result::Result<Jobs, String>> {
        let models = match &self.models {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read --models {}", p.display()))?;
                ModelRegistry::from_toml(&text)
                    .map_err(|e| anyhow::anyhow!("--models {}: {e}", p.display()))?
            }
            None => ModelRegistry::default(),
        };
        if self.max_upload == 0 {
            anyhow::bail!("--max-upload must be at least 1");
        }
        let backend: Arc<dyn Backend> = match &self.ray_address {
            Some(addr) => Arc::new(
                RayBackend::new(addr, &self.trainer)
                    .map_err(|e| anyhow::anyhow!("--ray-address / --trainer: {e}"))?,
            ),
            None => Arc::new(
                LocalBackend::new(&self.trainer).map_err(|e| anyhow::anyhow!("--trainer: {e}"))?,
            ),
        };
        let mut cfg = JobsConfig::new(self.data_dir.clone().unwrap_or_else(default_data_dir));
        cfg.max_jobs = self.max_jobs;
        cfg.organization_id = self.organization.clone();
        cfg.models = models;
        cfg.engine = engine;
        let dir = cfg.data_dir.clone();
        match Jobs::open(cfg, backend) {
            Ok(jobs) => Ok(Ok(jobs)),
            Err(e) if self.data_dir.is_none() && e.code == DIR_IN_USE => Ok(Err(format!(
                "the fine-tuning jobs API is off on this server: its default data directory {} \
                 is in use by another gradekit server; start this one with --data-dir DIR to \
                 run jobs here too",
                dir.display()
            ))),
            Err(e) => Err(anyhow::anyhow!(
                "cannot open the jobs data directory {}: {e}",
                dir.display()
            )),
        }
    }
}
