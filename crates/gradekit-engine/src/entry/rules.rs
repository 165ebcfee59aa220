//! Which keys each entry point accepts (the only thing that differs between them).

/// Which keys may hold the sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKeys {
    /// Only `model_sample` (OpenAI's `/run` wire).
    ModelSample,
    /// Only `sample` (Azure's endpoint-grader wire).
    Sample,
    /// Either, not both (`run_batch` entries, `score` lines).
    Either,
}

/// How one entry point reads its entries. Only *which keys are accepted* differs between entry
/// points, never what an accepted entry means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRules {
    pub sample_keys: SampleKeys,
    /// Keys the entry point reads itself (`grader` on `/run`, `id` on score lines): neither
    /// read here nor unknown.
    pub own_keys: &'static [&'static str],
    /// Reject other keys with their path (`true`), or ignore them.
    pub reject_unknown: bool,
    /// Drop sample-object fields outside the sample namespace instead of rejecting them.
    pub drop_unknown_sample_fields: bool,
}

impl EntryRules {
    /// `/fine_tuning/alpha/graders/run` (and `gradekit run`, Python `gradekit.run`).
    pub const RUN_REQUEST: EntryRules = EntryRules {
        sample_keys: SampleKeys::ModelSample,
        own_keys: &["grader"],
        reject_unknown: true,
        drop_unknown_sample_fields: false,
    };
    /// One entry of `/v1/graders/run_batch`'s `samples`.
    pub const BATCH_ENTRY: EntryRules = EntryRules {
        sample_keys: SampleKeys::Either,
        own_keys: &[],
        reject_unknown: true,
        drop_unknown_sample_fields: false,
    };
    /// One line of `gradekit score` input: extra columns are data, not typos.
    pub const SCORE_LINE: EntryRules = EntryRules {
        sample_keys: SampleKeys::Either,
        own_keys: &["id"],
        reject_unknown: false,
        drop_unknown_sample_fields: false,
    };
    /// Azure's endpoint-grader call `{sample, item, trace_id}`: lenient, because Azure discards
    /// a rollout after three failed calls. The legacy `reference_answer` means what it means on
    /// every other wire (Azure never sends it), so one entry grades the same on every route.
    pub const ENDPOINT: EntryRules = EntryRules {
        sample_keys: SampleKeys::Sample,
        own_keys: &[],
        reject_unknown: false,
        drop_unknown_sample_fields: true,
    };

    pub(super) fn reads(&self, key: &str) -> bool {
        match key {
            "model_sample" => self.sample_keys != SampleKeys::Sample,
            "sample" => self.sample_keys != SampleKeys::ModelSample,
            "item" => true,
            "reference_answer" => true,
            _ => false,
        }
    }

    pub(super) fn missing_message(&self) -> (&'static str, &'static str) {
        match self.sample_keys {
            SampleKeys::ModelSample => ("model_sample", "missing required field"),
            SampleKeys::Sample => ("sample", "missing required field"),
            SampleKeys::Either => (
                "model_sample",
                "missing required field: give \"model_sample\" (a string) or \"sample\" (a string or a sample object)",
            ),
        }
    }
}
