//! Fine-tuning jobs: the other half of OpenAI's fine-tuning API (DESIGN §8), without HTTP.
//!
//! **Why a crate of its own.** Jobs outlive requests: they are validated, queued, trained for
//! hours, paused, resumed, cancelled, and must survive a server being killed. That is a store
//! and a scheduler, not a route handler. The server's routes are thin: they parse HTTP, call
//! [`Jobs`] and write the [`wire`] shapes.
//!
//! **Pieces.**
//! - [`store`]: SQLite (embedded, WAL) — files, jobs, events, checkpoints, permissions; one
//!   transaction per state change and its event. Blobs (uploads, trainer outputs) live on disk
//!   beside it in the data directory (`files/`, `jobs/<id>/`, `tmp/`).
//! - [`request`]: the job-create body, validated with paths (the reinforcement grader compiled
//!   by the engine), and the documented rule that resolves `"auto"` hyperparameters.
//! - [`validate_files`]: per-method checks of training/validation files before training; for
//!   reinforcement every `item.*` reference of the grader must resolve on every line (the
//!   compiled grader's [`template_refs`](gradekit_engine::CompiledGrader::template_refs), as `gradekit lint` uses).
//! - [`protocol`]: the trainer protocol — the spec file the trainer reads, the JSON lines it
//!   writes.
//! - [`backend`]: the [`Backend`] trait and the `local` backend (a child process in its own
//!   process group); [`ray`]: the `ray` backend (a Ray Job on an existing cluster).
//! - [`service`] + [`lifecycle`]: the status machine, the FIFO queue with `max_jobs`, recovery
//!   after a restart.
//!
//! Projects isolate everything: every service call takes the caller's project, and an object
//! of another project is indistinguishable from a missing one (404). Checkpoint permissions
//! are the only way across.

pub mod backend;
pub mod config;
pub mod error;
pub mod ids;
pub mod lifecycle;
pub mod protocol;
pub mod ray;
pub mod request;
pub mod service;
pub mod store;
pub mod timeline;
pub mod validate_files;
pub mod wire;

pub use backend::{Backend, Exit, Launch, LocalBackend, Run};
pub use config::{ModelEntry, ModelRegistry};
pub use error::{Error, Kind, Result};
pub use service::{Jobs, JobsConfig, MetadataFilter};
pub use store::{Order, Page, Status};

/// The engine options a project's graders compile with: python pools private to the project
/// (`PythonRuntime::scoped`), as the server's `/graders/run` does, so no project's grader code
/// ever runs in a worker another project's samples went through.
pub(crate) fn engine_for(
    engine: &gradekit_engine::EngineOptions,
    project: &str,
) -> gradekit_engine::EngineOptions {
    let mut e = engine.clone();
    e.python = e.python.scoped(project);
    e
}
