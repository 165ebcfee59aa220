//! What the report keeps while the run streams: the K slowest rows, the first K failed rows,
//! fixed-bin sub-grader histograms and counters (memory bounded whatever the input size).

use super::super::Slot;
use gradekit_engine::{EvalContext, GradeResult};
use indexmap::IndexMap;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Rows kept in each table.
pub const TOP_K: usize = 50;
/// Characters of the sample / item / raw line shown per row.
const PREVIEW_CHARS: usize = 240;
/// Bins of each sub-grader histogram (over [0, 1]).
const SUB_BINS: usize = 20;

/// One row of a table, rendered when it entered the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub(super) line: u64,
    pub(super) id: Option<String>,
    pub(super) reward: Option<f64>,
    pub(super) seconds: f64,
    /// Set error flags, or for an invalid line its error code.
    pub(super) flags: Vec<String>,
    /// Error details (flag details, or the invalid line's message).
    pub(super) details: Vec<String>,
    pub(super) sub_rewards: Vec<(String, f64)>,
    pub(super) sample: String,
    pub(super) item: String,
}

/// Heap entry: ordered by execution time, then by line (earlier line wins ties).
#[derive(Debug)]
pub(super) struct Slow(pub(super) Row);

impl PartialEq for Slow {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Slow {}
impl PartialOrd for Slow {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Slow {
    // Reversed so that BinaryHeap (a max-heap) pops the fastest kept row first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.seconds
            .total_cmp(&self.0.seconds)
            .then(self.0.line.cmp(&o.0.line))
    }
}

/// Distribution of one sub-grader's rewards in fixed bins.
#[derive(Debug, Clone, Default)]
pub struct SubDist {
    bins: [u64; SUB_BINS],
    below: u64,
    above: u64,
    non_finite: u64,
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl SubDist {
    fn add(&mut self, v: f64) {
        if !v.is_finite() {
            self.non_finite += 1;
            return;
        }
        if self.n == 0 {
            (self.min, self.max) = (v, v);
        }
        self.n += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if v < 0.0 {
            self.below += 1;
        } else if v > 1.0 {
            self.above += 1;
        } else {
            let b = ((v * SUB_BINS as f64) as usize).min(SUB_BINS - 1);
            self.bins[b] += 1;
        }
    }
}

/// What the report keeps while the run streams.
#[derive(Debug, Default)]
pub struct Collector {
    pub(super) slow: BinaryHeap<Slow>,
    pub(super) failed: Vec<Row>,
    pub(super) failed_total: u64,
    pub(super) seen: u64,
    pub(super) flags: IndexMap<String, u64>,
    pub(super) invalid: IndexMap<String, u64>,
    pub(super) subs: IndexMap<String, SubDist>,
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

fn preview_sample(ctx: &EvalContext) -> String {
    match ctx.sample.get("output_text") {
        Some(Value::String(s)) if !s.is_empty() => truncate(s, PREVIEW_CHARS),
        _ => truncate(&ctx.sample.to_string(), PREVIEW_CHARS),
    }
}

fn id_text(id: &Option<Value>) -> Option<String> {
    id.as_ref().map(|v| match v {
        Value::String(s) => truncate(s, 80),
        other => truncate(&other.to_string(), 80),
    })
}

/// Error detail strings of a result (`*_details`, `python_grader_server_error_type`).
fn details_of(r: &GradeResult) -> Vec<String> {
    let Ok(Value::Object(m)) = serde_json::to_value(&r.errors) else {
        return Vec::new();
    };
    m.into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) if !s.is_empty() => Some(format!("{k}: {}", truncate(&s, 400))),
            _ => None,
        })
        .collect()
}

impl Collector {
    pub fn new() -> Self {
        Collector::default()
    }

    fn graded_row(
        line: u64,
        id: &Option<Value>,
        ctx: &EvalContext,
        r: &GradeResult,
        with_details: bool,
    ) -> Row {
        Row {
            line,
            id: id_text(id),
            reward: Some(r.reward),
            seconds: r.execution_time,
            flags: r.errors.set_flags().map(str::to_string).collect(),
            details: if with_details {
                details_of(r)
            } else {
                Vec::new()
            },
            sub_rewards: r.sub_rewards.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            sample: preview_sample(ctx),
            item: truncate(&ctx.item.to_string(), PREVIEW_CHARS),
        }
    }

    /// Takes in one processed chunk: `lines` as read, `slots` as parsed, the contexts and the
    /// results of the graded ones (indexed by the slots).
    pub(in crate::score) fn observe(
        &mut self,
        lines: &[(u64, &[u8])],
        slots: &[Slot],
        ctxs: &[EvalContext],
        results: &[GradeResult],
    ) {
        for ((line, raw), slot) in lines.iter().zip(slots) {
            self.seen += 1;
            match slot {
                Slot::Graded(id, i) => {
                    let (Some(ctx), Some(r)) = (ctxs.get(*i), results.get(*i)) else {
                        continue;
                    };
                    for (k, v) in &r.sub_rewards {
                        match self.subs.get_mut(k) {
                            Some(d) => d.add(*v),
                            None => {
                                let mut d = SubDist::default();
                                d.add(*v);
                                self.subs.insert(k.clone(), d);
                            }
                        }
                    }
                    let mut failed = false;
                    for f in r.errors.set_flags() {
                        failed = true;
                        *self.flags.entry(f.to_string()).or_insert(0) += 1;
                    }
                    if failed {
                        self.failed_total += 1;
                        if self.failed.len() < TOP_K {
                            self.failed.push(Self::graded_row(*line, id, ctx, r, true));
                        }
                    }
                    let enters = self.slow.len() < TOP_K
                        || self
                            .slow
                            .peek()
                            .is_some_and(|s| r.execution_time > s.0.seconds);
                    if enters {
                        self.slow
                            .push(Slow(Self::graded_row(*line, id, ctx, r, false)));
                        if self.slow.len() > TOP_K {
                            self.slow.pop();
                        }
                    }
                }
                Slot::Invalid(id, code, message) => {
                    *self.invalid.entry((*code).to_string()).or_insert(0) += 1;
                    self.failed_total += 1;
                    if self.failed.len() < TOP_K {
                        self.failed.push(Row {
                            line: *line,
                            id: id_text(id),
                            reward: None,
                            seconds: 0.0,
                            flags: vec![(*code).to_string()],
                            details: vec![truncate(message, 400)],
                            sub_rewards: Vec::new(),
                            sample: truncate(&String::from_utf8_lossy(raw), PREVIEW_CHARS),
                            item: String::new(),
                        });
                    }
                }
            }
        }
    }
}

impl SubDist {
    pub(super) fn bins(&self) -> &[u64; SUB_BINS] {
        &self.bins
    }
    /// (below 0, above 1, non-finite) counts.
    pub(super) fn outside(&self) -> (u64, u64, u64) {
        (self.below, self.above, self.non_finite)
    }
    pub(super) fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
    pub(super) fn range(&self) -> Option<(f64, f64)> {
        (self.n > 0).then_some((self.min, self.max))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn truncate_counts_chars_not_bytes() {
        assert_eq!(truncate("héllo", 3), "hél…");
        assert_eq!(truncate("abc", 3), "abc");
    }

    #[test]
    fn sub_dist_bins_and_outside() {
        let mut d = SubDist::default();
        for v in [0.0, 1.0, 0.5, -1.0, 2.0, f64::NAN] {
            d.add(v);
        }
        assert_eq!(d.bins()[0], 1);
        assert_eq!(d.bins()[SUB_BINS - 1], 1);
        assert_eq!(d.bins()[SUB_BINS / 2], 1);
        assert_eq!(d.outside(), (1, 1, 1));
        assert_eq!(d.range(), Some((-1.0, 2.0)));
    }

    #[test]
    fn slowest_keeps_top_k() {
        let mut c = Collector::new();
        for i in 0..(TOP_K as u64 * 3) {
            let row = Row {
                line: i,
                id: None,
                reward: Some(0.0),
                seconds: i as f64,
                flags: vec![],
                details: vec![],
                sub_rewards: vec![],
                sample: String::new(),
                item: String::new(),
            };
            c.slow.push(Slow(row));
            if c.slow.len() > TOP_K {
                c.slow.pop();
            }
        }
        let min = c.slow.iter().map(|s| s.0.line).min().unwrap();
        assert_eq!(min, TOP_K as u64 * 2);
    }
}
