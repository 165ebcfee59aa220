//! OpenAI's wire shapes of the stored objects (openai-python `types/file_object.py`,
//! `fine_tuning/fine_tuning_job.py`, `fine_tuning_job_event.py`,
//! `jobs/fine_tuning_job_checkpoint.py`, `checkpoints/permission_*`, `model.py`) and the
//! cursor page `{object: "list", data, has_more, first_id?, last_id?}`.
//!
//! Every field of the SDK type is always written (null when absent), nothing else, in the
//! order of OpenAI's examples.

use crate::store::{CheckpointRow, EventRow, FileRow, JobRow, Page, PermissionRow};
use serde_json::{json, Map, Value};

/// The seven checkpoint metric keys of OpenAI's `Metrics` type.
pub const CHECKPOINT_METRICS: [&str; 7] = [
    "step",
    "train_loss",
    "train_mean_token_accuracy",
    "valid_loss",
    "valid_mean_token_accuracy",
    "full_valid_loss",
    "full_valid_mean_token_accuracy",
];

pub fn file(f: &FileRow) -> Value {
    json!({
        "id": f.id,
        "object": "file",
        "bytes": f.bytes,
        "created_at": f.created_at,
        "filename": f.filename,
        "purpose": f.purpose,
        "status": "processed",
        "expires_at": f.expires_at,
        "status_details": null,
    })
}

pub fn job(j: &JobRow) -> Value {
    json!({
        "object": "fine_tuning.job",
        "id": j.id,
        "model": j.model,
        "created_at": j.created_at,
        "finished_at": j.finished_at,
        "fine_tuned_model": j.fine_tuned_model,
        "organization_id": j.organization_id,
        "result_files": j.result_files,
        "status": j.status.as_str(),
        "validation_file": j.validation_file,
        "training_file": j.training_file,
        "hyperparameters": j.hyperparameters,
        "trained_tokens": j.trained_tokens,
        "error": j.error,
        "estimated_finish": j.estimated_finish,
        "integrations": j.integrations,
        "seed": j.seed,
        "metadata": j.metadata,
        "method": j.method,
    })
}

pub fn event(e: &EventRow) -> Value {
    json!({
        "object": "fine_tuning.job.event",
        "id": e.id,
        "created_at": e.created_at,
        "level": e.level,
        "message": e.message,
        "data": e.data.clone().unwrap_or_else(|| json!({})),
        "type": e.kind,
    })
}

pub fn checkpoint(c: &CheckpointRow) -> Value {
    json!({
        "object": "fine_tuning.job.checkpoint",
        "id": c.id,
        "created_at": c.created_at,
        "fine_tuned_model_checkpoint": c.name,
        "fine_tuning_job_id": c.job_id,
        "metrics": c.metrics,
        "step_number": c.step_number,
    })
}

pub fn permission(p: &PermissionRow) -> Value {
    json!({
        "object": "checkpoint.permission",
        "id": p.id,
        "created_at": p.created_at,
        "project_id": p.project_id,
    })
}

pub fn model(id: &str, created: i64, owned_by: &str) -> Value {
    json!({"id": id, "object": "model", "created": created, "owned_by": owned_by})
}

/// The checkpoint `metrics` object: `step` and those of the seven keys the trainer gave.
pub fn checkpoint_metrics(step: i64, given: Option<&Map<String, Value>>) -> Value {
    let mut m = Map::new();
    m.insert("step".into(), json!(step as f64));
    if let Some(g) = given {
        for k in &CHECKPOINT_METRICS[1..] {
            if let Some(v) = g.get(*k).filter(|v| v.is_number()) {
                m.insert((*k).to_string(), v.clone());
            }
        }
    }
    Value::Object(m)
}

/// Which cursor fields a list carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// `{object, data, has_more}` (jobs, events).
    HasMore,
    /// `{object, data, has_more, first_id, last_id}` (files, checkpoints, permissions).
    FirstLast,
}

/// A cursor page of wire objects.
pub fn page<T>(p: &Page<T>, cursor: Cursor, to_wire: impl Fn(&T) -> Value) -> Value {
    let data: Vec<Value> = p.data.iter().map(to_wire).collect();
    let id = |v: Option<&Value>| v.and_then(|v| v.get("id")).cloned().unwrap_or(Value::Null);
    match cursor {
        Cursor::HasMore => json!({"object": "list", "data": data, "has_more": p.has_more}),
        Cursor::FirstLast => json!({
            "object": "list",
            "data": data,
            "has_more": p.has_more,
            "first_id": id(p.data.first().map(|_| &data[0])),
            "last_id": id(data.last()),
        }),
    }
}
