//! `score_model`: the rendered messages go to the chat judge with a forced structured output
//! `{"steps":[…],"result": number}`; the number, clamped to `range` (default `[0, 1]`), is the
//! reward (OpenAI graders guide: "truncated to the given range, and default to 0 for all
//! non-numeric outputs"). `range` (two numbers, min < max) is checked when the config is read.

use std::sync::Arc;

use super::judge::{self, Messages};
use crate::result::{Failure, Usage};
use crate::EngineOptions;
use gradekit_judge::{ChatRequest, ChatScorer, OutputSpec, SamplingParams};
use gradekit_model::{ConfigError, ConfigErrors, ScoreModelGrader};
use gradekit_template::Scope;

#[derive(Debug)]
pub(crate) struct ScoreModel {
    judge: Arc<dyn ChatScorer>,
    model: String,
    messages: Messages,
    sampling: SamplingParams,
    min: f64,
    max: f64,
}

impl ScoreModel {
    /// The messages sent to the judge, as compiled templates.
    pub(crate) fn messages(&self) -> &Messages {
        &self.messages
    }

    pub(crate) fn compile(
        c: &ScoreModelGrader,
        path: &str,
        opts: &EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<ScoreModel> {
        let messages = Messages::compile(&c.input, path, opts, errs);
        let [min, max] = c.range_or_default();
        if !(min.is_finite() && max.is_finite() && min < max) {
            errs.push(ConfigError::new(
                super::join(path, "range"),
                format!("must be two finite numbers with min < max, got [{min}, {max}]"),
            ));
            return None;
        }
        let judge = match judge::chat_judge(opts) {
            Ok(j) => j,
            Err(e) => {
                errs.push(ConfigError::new(super::join(path, "model"), e.to_string()));
                return None;
            }
        };
        Some(ScoreModel {
            judge,
            model: c.model.clone(),
            messages: messages?,
            sampling: judge::sampling(c.sampling_params.as_ref()),
            min,
            max,
        })
    }

    pub(crate) fn grade(&self, ctx: &dyn Scope, usage: &mut Usage) -> Result<f64, Failure> {
        let request = ChatRequest {
            model: self.model.clone(),
            messages: self.messages.render(ctx)?,
            sampling: self.sampling.clone(),
            output: OutputSpec::Score {
                min: self.min,
                max: self.max,
            },
        };
        let reply = self.judge.chat(&request).map_err(judge::failure)?;
        judge::record(usage, &reply.model, &reply.usage);
        let raw = reply.score().map_err(judge::failure)?;
        Ok(raw.clamp(self.min, self.max))
    }
}
