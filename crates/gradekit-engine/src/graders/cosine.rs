//! The `cosine` metric of text_similarity: the input and the reference are embedded in one
//! call to the embedder (default model `text-embedding-3-large`, as OpenAI's grader uses) and
//! the reward is their raw cosine similarity in [-1, 1], `a·b / (‖a‖‖b‖)` as numpy computes it.

use std::sync::Arc;

use super::judge;
use crate::result::{Failure, Usage};
use crate::EngineOptions;
use gradekit_judge::{cosine, Embedder, JudgeError};

#[derive(Debug)]
pub(crate) struct Cosine {
    embedder: Arc<dyn Embedder>,
    model: String,
}

impl Cosine {
    pub(crate) fn new(opts: &EngineOptions) -> Result<Cosine, JudgeError> {
        Ok(Cosine {
            embedder: judge::embedder(opts)?,
            model: opts
                .embedding_model
                .clone()
                .unwrap_or_else(|| gradekit_judge::DEFAULT_EMBEDDING_MODEL.to_string()),
        })
    }

    pub(crate) fn score(
        &self,
        input: &str,
        reference: &str,
        usage: &mut Usage,
    ) -> Result<f64, Failure> {
        let reply = self
            .embedder
            .embed(&self.model, &[input.to_string(), reference.to_string()])
            .map_err(judge::failure)?;
        judge::record(usage, &reply.model, &reply.usage);
        match reply.embeddings.as_slice() {
            [a, b] => cosine(a, b).ok_or_else(|| {
                Failure::ModelServer(format!(
                    "embeddings from {} have no cosine (lengths {} and {}, or a zero vector)",
                    reply.model,
                    a.len(),
                    b.len()
                ))
            }),
            other => Err(Failure::ModelServer(format!(
                "expected 2 embeddings, got {}",
                other.len()
            ))),
        }
    }
}
