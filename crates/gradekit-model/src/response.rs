//! The run response and its 24 error flags, in OpenAI's order.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Token usage of judge calls. `cached_tokens` comes from `prompt_tokens_details`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
}

impl TokenUsage {
    pub fn add(&mut self, other: &TokenUsage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.total_tokens += other.total_tokens;
        self.cached_tokens += other.cached_tokens;
    }
}

/// The keys of `metadata.errors`, in the order OpenAI's service emits them.
pub const ERROR_KEYS: [&str; 24] = [
    "formula_parse_error",
    "sample_parse_error",
    "sample_parse_error_details",
    "truncated_observation_error",
    "unresponsive_reward_error",
    "invalid_variable_error",
    "invalid_variable_error_details",
    "other_error",
    "python_grader_server_error",
    "python_grader_server_error_type",
    "python_grader_runtime_error",
    "python_grader_runtime_error_details",
    "model_grader_server_error",
    "model_grader_refusal_error",
    "model_grader_refusal_error_details",
    "model_grader_parse_error",
    "model_grader_parse_error_details",
    "model_grader_exceeded_max_tokens_error",
    "model_grader_server_error_details",
    "endpoint_grader_internal_error",
    "endpoint_grader_internal_error_details",
    "endpoint_grader_server_error",
    "endpoint_grader_server_error_details",
    "endpoint_grader_safety_check_error",
];

/// `metadata.errors`: always all 24 keys, in [`ERROR_KEYS`] order (the field order here).
///
/// One gradekit addition: `other_error_details`, right after `other_error`, present *only*
/// when a detail is known (a sample refused by a size limit names the field and the limit).
/// OpenAI's wire has no details key for `other_error`; a clean response keeps exactly the 24
/// keys, and SDKs keep unknown keys as extras.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFlags {
    pub formula_parse_error: bool,
    pub sample_parse_error: bool,
    pub sample_parse_error_details: Option<String>,
    pub truncated_observation_error: bool,
    pub unresponsive_reward_error: bool,
    pub invalid_variable_error: bool,
    pub invalid_variable_error_details: Option<String>,
    pub other_error: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_error_details: Option<String>,
    pub python_grader_server_error: bool,
    pub python_grader_server_error_type: Option<String>,
    pub python_grader_runtime_error: bool,
    pub python_grader_runtime_error_details: Option<String>,
    pub model_grader_server_error: bool,
    pub model_grader_refusal_error: bool,
    pub model_grader_refusal_error_details: Option<String>,
    pub model_grader_parse_error: bool,
    pub model_grader_parse_error_details: Option<String>,
    pub model_grader_exceeded_max_tokens_error: bool,
    pub model_grader_server_error_details: Option<String>,
    pub endpoint_grader_internal_error: bool,
    pub endpoint_grader_internal_error_details: Option<String>,
    pub endpoint_grader_server_error: bool,
    pub endpoint_grader_server_error_details: Option<String>,
    pub endpoint_grader_safety_check_error: bool,
}

/// Longest error detail kept, in bytes: a detail past it keeps its head and tail with the
/// middle cut (a sample's details are otherwise sized by its grader and its data — a 1 MB
/// template path, a multi whose thousand sub-graders each fail — and every result of a batch
/// or a `score` row would carry them). Python's details are cut to 4,000 characters before
/// they get here (at most 16,000 bytes), so every detail gradekit writes itself fits.
pub const MAX_DETAIL_BYTES: usize = 16 * 1024;

/// `s` when it fits [`MAX_DETAIL_BYTES`], else its head and tail around a marker saying how
/// many bytes were cut (cut at character boundaries).
pub fn bounded_detail(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= MAX_DETAIL_BYTES {
        return std::borrow::Cow::Borrowed(s);
    }
    let keep = (MAX_DETAIL_BYTES - 64) / 2;
    let mut head = keep;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - keep;
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    std::borrow::Cow::Owned(format!(
        "{} …[{} bytes cut]… {}",
        &s[..head],
        tail - head,
        &s[tail..]
    ))
}

/// Ends a joined detail that reached [`MAX_DETAIL_BYTES`]; nothing more is joined after it.
const MORE_CUT: &str = "; …(more details cut)";

/// Joins `from` into `into` with "; " (once: a detail already there is not repeated), the
/// whole kept within [`MAX_DETAIL_BYTES`]: the first details are kept, the rest cut.
fn merge_detail(into: &mut Option<String>, from: &Option<String>) {
    match (into.as_mut(), from) {
        (_, None) => {}
        (None, Some(f)) => *into = Some(bounded_detail(f).into_owned()),
        (Some(i), Some(f)) => {
            if i.ends_with(MORE_CUT) || i.contains(f.as_str()) {
                return;
            }
            i.push_str("; ");
            i.push_str(&bounded_detail(f));
            if i.len() > MAX_DETAIL_BYTES {
                let mut end = MAX_DETAIL_BYTES - MORE_CUT.len();
                while !i.is_char_boundary(end) {
                    end -= 1;
                }
                i.truncate(end);
                i.push_str(MORE_CUT);
            }
        }
    }
}

impl ErrorFlags {
    /// True when any boolean flag is set.
    pub fn any(&self) -> bool {
        self.set_flags().next().is_some()
    }

    /// True when no flag is set and no detail is given (the default, all-false object).
    pub fn is_clean(&self) -> bool {
        *self == ErrorFlags::default()
    }

    /// The names of the boolean flags that are set, in wire order.
    pub fn set_flags(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("formula_parse_error", self.formula_parse_error),
            ("sample_parse_error", self.sample_parse_error),
            (
                "truncated_observation_error",
                self.truncated_observation_error,
            ),
            ("unresponsive_reward_error", self.unresponsive_reward_error),
            ("invalid_variable_error", self.invalid_variable_error),
            ("other_error", self.other_error),
            (
                "python_grader_server_error",
                self.python_grader_server_error,
            ),
            (
                "python_grader_runtime_error",
                self.python_grader_runtime_error,
            ),
            ("model_grader_server_error", self.model_grader_server_error),
            (
                "model_grader_refusal_error",
                self.model_grader_refusal_error,
            ),
            ("model_grader_parse_error", self.model_grader_parse_error),
            (
                "model_grader_exceeded_max_tokens_error",
                self.model_grader_exceeded_max_tokens_error,
            ),
            (
                "endpoint_grader_internal_error",
                self.endpoint_grader_internal_error,
            ),
            (
                "endpoint_grader_server_error",
                self.endpoint_grader_server_error,
            ),
            (
                "endpoint_grader_safety_check_error",
                self.endpoint_grader_safety_check_error,
            ),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(k, _)| k)
    }

    /// ORs `other` into `self` (a multi grader's flags are the union of its sub-graders');
    /// details are joined with "; ".
    pub fn merge(&mut self, o: &ErrorFlags) {
        self.formula_parse_error |= o.formula_parse_error;
        self.sample_parse_error |= o.sample_parse_error;
        merge_detail(
            &mut self.sample_parse_error_details,
            &o.sample_parse_error_details,
        );
        self.truncated_observation_error |= o.truncated_observation_error;
        self.unresponsive_reward_error |= o.unresponsive_reward_error;
        self.invalid_variable_error |= o.invalid_variable_error;
        merge_detail(
            &mut self.invalid_variable_error_details,
            &o.invalid_variable_error_details,
        );
        self.other_error |= o.other_error;
        merge_detail(&mut self.other_error_details, &o.other_error_details);
        self.python_grader_server_error |= o.python_grader_server_error;
        merge_detail(
            &mut self.python_grader_server_error_type,
            &o.python_grader_server_error_type,
        );
        self.python_grader_runtime_error |= o.python_grader_runtime_error;
        merge_detail(
            &mut self.python_grader_runtime_error_details,
            &o.python_grader_runtime_error_details,
        );
        self.model_grader_server_error |= o.model_grader_server_error;
        self.model_grader_refusal_error |= o.model_grader_refusal_error;
        merge_detail(
            &mut self.model_grader_refusal_error_details,
            &o.model_grader_refusal_error_details,
        );
        self.model_grader_parse_error |= o.model_grader_parse_error;
        merge_detail(
            &mut self.model_grader_parse_error_details,
            &o.model_grader_parse_error_details,
        );
        self.model_grader_exceeded_max_tokens_error |= o.model_grader_exceeded_max_tokens_error;
        merge_detail(
            &mut self.model_grader_server_error_details,
            &o.model_grader_server_error_details,
        );
        self.endpoint_grader_internal_error |= o.endpoint_grader_internal_error;
        merge_detail(
            &mut self.endpoint_grader_internal_error_details,
            &o.endpoint_grader_internal_error_details,
        );
        self.endpoint_grader_server_error |= o.endpoint_grader_server_error;
        merge_detail(
            &mut self.endpoint_grader_server_error_details,
            &o.endpoint_grader_server_error_details,
        );
        self.endpoint_grader_safety_check_error |= o.endpoint_grader_safety_check_error;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMetadata {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub errors: ErrorFlags,
    /// Seconds.
    pub execution_time: f64,
    pub scores: IndexMap<String, f64>,
    pub token_usage: Option<TokenUsage>,
    pub sampled_model_name: Option<String>,
}

/// The body of a `/fine_tuning/alpha/graders/run` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResponse {
    pub reward: f64,
    pub metadata: RunMetadata,
    pub sub_rewards: IndexMap<String, f64>,
    pub model_grader_token_usage_per_model: IndexMap<String, TokenUsage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialise_all_24_keys_in_order() {
        let v = serde_json::to_value(ErrorFlags::default()).expect("serialise");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ERROR_KEYS);
        assert!(v["invalid_variable_error_details"].is_null());
        assert_eq!(v["other_error"], serde_json::json!(false));
    }

    #[test]
    fn details_stay_within_their_bound() {
        // One detail past the bound keeps its head and tail.
        let long = format!("item{}: key \"b\" not found", ".a".repeat(400_000));
        let mut f = ErrorFlags::default();
        f.merge(&ErrorFlags {
            invalid_variable_error: true,
            invalid_variable_error_details: Some(long.clone()),
            ..ErrorFlags::default()
        });
        let d = f.invalid_variable_error_details.clone().unwrap_or_default();
        assert!(d.len() <= MAX_DETAIL_BYTES, "{}", d.len());
        assert!(
            d.starts_with("item.a.a") && d.ends_with(": key \"b\" not found"),
            "{d:.80}"
        );
        assert!(d.contains(" bytes cut]… "), "{d:.80}");
        // Many distinct details merged (a multi whose sub-graders all fail) stay bounded.
        let mut f = ErrorFlags::default();
        for i in 0..5_000 {
            f.merge(&ErrorFlags {
                other_error: true,
                other_error_details: Some(format!("graders.g{i}.input: over the limit")),
                ..ErrorFlags::default()
            });
        }
        let d = f.other_error_details.unwrap_or_default();
        assert!(d.len() <= MAX_DETAIL_BYTES, "{}", d.len());
        assert!(
            d.starts_with("graders.g0.input") && d.ends_with(MORE_CUT),
            "{d:.80}"
        );
        // Short details and multi-byte text are kept whole / cut at character boundaries.
        assert_eq!(bounded_detail("short"), "short");
        let wide = "é".repeat(MAX_DETAIL_BYTES);
        let cut = bounded_detail(&wide);
        assert!(cut.len() <= MAX_DETAIL_BYTES && cut.starts_with('é') && cut.ends_with('é'));
    }
}
