//! Per-sample results and how failures map onto the wire's error flags.

use gradekit_model::{ErrorFlags, RunMetadata, RunResponse, TokenUsage};
use indexmap::IndexMap;

/// The outcome of grading one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct GradeResult {
    pub reward: f64,
    /// Key → sub-grader reward (multi graders only; empty otherwise).
    pub sub_rewards: IndexMap<String, f64>,
    pub errors: ErrorFlags,
    /// Seconds spent grading this sample.
    pub execution_time: f64,
    /// Summed over every judge call of the sample; `None` when no judge was called.
    pub token_usage: Option<TokenUsage>,
    /// The server's model name when exactly one model answered.
    pub sampled_model_name: Option<String>,
    pub usage_per_model: IndexMap<String, TokenUsage>,
}

impl GradeResult {
    /// The `/run` response for this result.
    pub fn to_response(&self, name: &str, kind: &str) -> RunResponse {
        RunResponse {
            reward: self.reward,
            metadata: RunMetadata {
                name: name.to_string(),
                kind: kind.to_string(),
                errors: self.errors.clone(),
                execution_time: self.execution_time,
                scores: IndexMap::new(),
                token_usage: self.token_usage,
                sampled_model_name: self.sampled_model_name.clone(),
            },
            sub_rewards: self.sub_rewards.clone(),
            model_grader_token_usage_per_model: self.usage_per_model.clone(),
        }
    }
}

/// A result as a run over many samples keeps it (`gradekit score`): nearly every sample of a
/// CPU-bound grader grades cleanly — a finite reward, no sub-rewards, no error flag, no judge
/// call — and is then a reward and a time, 16 bytes, instead of a [`GradeResult`] (~400)
/// built, checked and dropped per sample. Any other result is kept whole.
#[derive(Debug, Clone, PartialEq)]
pub enum Compact {
    Clean { reward: f64, execution_time: f64 },
    Full(Box<GradeResult>),
}

impl Compact {
    /// The compact form of `r` (`Clean` exactly when `r` has nothing but a reward and a time).
    pub fn new(r: GradeResult) -> Compact {
        let clean = r.sub_rewards.is_empty()
            && r.token_usage.is_none()
            && r.sampled_model_name.is_none()
            && r.usage_per_model.is_empty()
            && r.errors.is_clean();
        if clean {
            Compact::Clean {
                reward: r.reward,
                execution_time: r.execution_time,
            }
        } else {
            Compact::Full(Box::new(r))
        }
    }
}

/// Why one (sub-)grader failed on one sample. Each maps onto one flag of `metadata.errors`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// A template path did not resolve.
    InvalidVariable(String),
    /// The multi formula could not be parsed (run-time view of a compile fault).
    FormulaParse,
    /// Anything else: a non-finite result, an engine-side bug caught at run time.
    Other,
    /// A value past one of the engine's size limits (a rendered field, the sample text, a
    /// metric input): `other_error`, with details naming the field and the limit.
    Limit(String),
    PythonRuntime(String),
    PythonServer {
        error_type: String,
        details: String,
    },
    ModelServer(String),
    ModelRefusal(String),
    ModelParse(String),
    ModelMaxTokens(String),
}

impl Failure {
    pub(crate) fn apply(&self, f: &mut ErrorFlags) {
        let mut one = ErrorFlags::default();
        match self {
            Failure::InvalidVariable(d) => {
                one.invalid_variable_error = true;
                one.invalid_variable_error_details = Some(d.clone());
            }
            Failure::FormulaParse => one.formula_parse_error = true,
            Failure::Other => one.other_error = true,
            Failure::Limit(d) => {
                one.other_error = true;
                one.other_error_details = Some(d.clone());
            }
            Failure::PythonRuntime(d) => {
                one.python_grader_runtime_error = true;
                one.python_grader_runtime_error_details = Some(d.clone());
            }
            // The wire has no details key for these two; the details stay in the Failure for
            // logs and the CLI's summary.
            Failure::PythonServer { error_type, .. } => {
                one.python_grader_server_error = true;
                one.python_grader_server_error_type = Some(error_type.clone());
            }
            Failure::ModelServer(d) => {
                one.model_grader_server_error = true;
                one.model_grader_server_error_details = Some(d.clone());
            }
            Failure::ModelRefusal(d) => {
                one.model_grader_refusal_error = true;
                one.model_grader_refusal_error_details = Some(d.clone());
            }
            Failure::ModelParse(d) => {
                one.model_grader_parse_error = true;
                one.model_grader_parse_error_details = Some(d.clone());
            }
            Failure::ModelMaxTokens(_) => one.model_grader_exceeded_max_tokens_error = true,
        }
        f.merge(&one);
    }
}

/// Token usage collected while grading one sample (multi: over every sub-grader).
#[derive(Debug, Clone, Default)]
pub(crate) struct Usage {
    pub(crate) total: Option<TokenUsage>,
    pub(crate) per_model: IndexMap<String, TokenUsage>,
}

impl Usage {
    /// Records one judge reply: `model` is the name the server answered with.
    pub(crate) fn record(&mut self, model: &str, usage: &TokenUsage) {
        self.total
            .get_or_insert_with(TokenUsage::default)
            .add(usage);
        self.per_model
            .entry(model.to_string())
            .or_default()
            .add(usage);
    }

    pub(crate) fn sampled_model_name(&self) -> Option<String> {
        if self.per_model.len() == 1 {
            self.per_model.keys().next().cloned()
        } else {
            None
        }
    }
}
