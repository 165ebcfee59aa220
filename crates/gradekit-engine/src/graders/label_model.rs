//! `label_model`: the rendered messages go to the chat judge with a forced structured output
//! whose `result` is one of `labels`; reward 1.0 when that label is in `passing_labels`, else
//! 0.0. A label outside `labels` is a parse error. `labels` (non-empty, unique) and
//! `passing_labels` ⊆ `labels` are checked when the config is read.

use std::sync::Arc;

use super::judge::{self, Messages};
use crate::result::{Failure, Usage};
use crate::EngineOptions;
use gradekit_judge::{ChatRequest, ChatScorer, OutputSpec, SamplingParams};
use gradekit_model::{ConfigError, ConfigErrors, LabelModelGrader};
use gradekit_template::Scope;

#[derive(Debug)]
pub(crate) struct LabelModel {
    judge: Arc<dyn ChatScorer>,
    model: String,
    messages: Messages,
    sampling: SamplingParams,
    labels: Vec<String>,
    passing: Vec<String>,
}

impl LabelModel {
    /// The messages sent to the judge, as compiled templates.
    pub(crate) fn messages(&self) -> &Messages {
        &self.messages
    }

    pub(crate) fn compile(
        c: &LabelModelGrader,
        path: &str,
        opts: &EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<LabelModel> {
        let messages = Messages::compile(&c.input, path, opts, errs);
        let judge = match judge::chat_judge(opts) {
            Ok(j) => j,
            Err(e) => {
                errs.push(ConfigError::new(super::join(path, "model"), e.to_string()));
                return None;
            }
        };
        Some(LabelModel {
            judge,
            model: c.model.clone(),
            messages: messages?,
            sampling: judge::sampling(c.sampling_params.as_ref()),
            labels: c.labels.clone(),
            passing: c.passing_labels.clone(),
        })
    }

    pub(crate) fn grade(&self, ctx: &dyn Scope, usage: &mut Usage) -> Result<f64, Failure> {
        let request = ChatRequest {
            model: self.model.clone(),
            messages: self.messages.render(ctx)?,
            sampling: self.sampling.clone(),
            output: OutputSpec::Label {
                labels: self.labels.clone(),
            },
        };
        let reply = self.judge.chat(&request).map_err(judge::failure)?;
        judge::record(usage, &reply.model, &reply.usage);
        let label = reply.label(&self.labels).map_err(judge::failure)?;
        Ok(if self.passing.contains(&label) {
            1.0
        } else {
            0.0
        })
    }
}
