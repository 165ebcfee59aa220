//! What crosses projects: checkpoint permissions, and the models a project can see.

use super::*;

impl Jobs {
    fn own_checkpoint(&self, project: &str, name: &str) -> Result<CheckpointRow> {
        let c = self.sh.store()?.checkpoint(name)?;
        c.filter(|c| c.project == project)
            .ok_or_else(|| not_found("fine_tuned_model_checkpoint", "checkpoint", name))
    }

    /// Grants `project_ids` use of one of the caller's checkpoints.
    pub fn grant(
        &self,
        project: &str,
        checkpoint: &str,
        body: &Value,
    ) -> Result<Vec<PermissionRow>> {
        let c = self.own_checkpoint(project, checkpoint)?;
        let ids = match body.get("project_ids") {
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_PROJECT_IDS => a,
            Some(Value::Array(_)) => {
                return Err(Error::invalid(
                    "invalid_value",
                    "project_ids",
                    format!("project_ids must list 1 to {MAX_PROJECT_IDS} project ids"),
                ))
            }
            _ => {
                return Err(Error::invalid(
                    "invalid_value",
                    "project_ids",
                    "missing required parameter project_ids (an array of project ids)",
                ))
            }
        };
        if let Some(k) = body
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "project_ids"))
        {
            return Err(Error::invalid(
                "invalid_value",
                k.clone(),
                format!("Unrecognized request argument supplied: {k}"),
            ));
        }
        let mut out = Vec::new();
        for (i, p) in ids.iter().enumerate() {
            match p.as_str() {
                Some(s) if is_project_id(s) => out.push(s.to_string()),
                _ => {
                    return Err(Error::invalid(
                        "invalid_value",
                        format!("project_ids[{i}]"),
                        "a project id is 1 to 64 ASCII letters, digits, '_' or '-'",
                    ))
                }
            }
        }
        self.sh.store()?.grant(&c.name, &out)
    }

    pub fn permissions(
        &self,
        project: &str,
        checkpoint: &str,
        project_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
        order: Order,
    ) -> Result<Page<PermissionRow>> {
        let c = self.own_checkpoint(project, checkpoint)?;
        self.sh
            .store()?
            .list_permissions(&c.name, project_id, after, limit, order)
    }

    pub fn revoke(&self, project: &str, checkpoint: &str, permission_id: &str) -> Result<()> {
        let c = self.own_checkpoint(project, checkpoint)?;
        if !self.sh.store()?.delete_permission(&c.name, permission_id)? {
            return Err(not_found(
                "permission_id",
                "checkpoint permission",
                permission_id,
            ));
        }
        Ok(())
    }

    // ---- models ----

    /// `/v1/models`: the registry's base models, the project's fine-tuned models and every
    /// checkpoint it may use (its own and those granted to it).
    pub fn models(&self, project: &str) -> Result<Vec<Value>> {
        let mut out: Vec<Value> = self
            .sh
            .cfg
            .models
            .models
            .keys()
            .map(|n| crate::wire::model(n, self.sh.started_at, "system"))
            .collect();
        let store = self.sh.store()?;
        for j in store.models_of(project)? {
            if let Some(m) = &j.fine_tuned_model {
                out.push(crate::wire::model(
                    m,
                    j.finished_at.unwrap_or(j.created_at),
                    &j.organization_id,
                ));
            }
        }
        for c in store.usable_checkpoints(project)? {
            out.push(crate::wire::model(
                &c.name,
                c.created_at,
                &self.sh.cfg.organization_id,
            ));
        }
        Ok(out)
    }

    pub fn model(&self, project: &str, id: &str) -> Result<Value> {
        self.models(project)?
            .into_iter()
            .find(|m| m["id"] == id)
            .ok_or_else(|| {
                Error::not_found(
                    "model",
                    format!("The model '{id}' does not exist or you do not have access to it."),
                )
            })
    }

    /// Deletes one of the project's fine-tuned models or checkpoints.
    pub fn delete_model(&self, project: &str, id: &str) -> Result<()> {
        let mut store = self.sh.store()?;
        if let Some(j) = store.job_by_model(id)? {
            if j.project == project {
                return store.delete_model_of(&j.id);
            }
        }
        if let Some(c) = store.checkpoint(id)? {
            if c.project == project && c.name == id {
                return store.delete_checkpoint(&c.id);
            }
        }
        drop(store);
        // Visible but not ours (a base model or a granted checkpoint): forbidden; else 404.
        self.model(project, id)?;
        Err(Error::forbidden("model", format!("You cannot delete the model '{id}': only fine-tuned models of your own project can be deleted")))
    }
}
