//! Rendering against any source of values, not only JSON trees.
//!
//! [`Context`] holds two `serde_json::Value` trees, which is what a JSON line or a request body
//! already is. Callers that hold their data in another shape — Python objects, Arrow buffers —
//! would have to build those trees per sample only for the template to walk one path in them.
//! A [`Scope`] answers a reference directly instead: it may lend a string it borrows from its
//! own storage ([`Resolved::Str`]), a JSON value ([`Resolved::Value`]), or a value made on the
//! spot ([`Resolved::Owned`], for the rare paths a lean scope does not hold). Rendering a
//! template is then the same code for every scope ([`Template::render_scoped`]), so the bytes
//! of a rendering — and the size budget — cannot depend on where the data came from.

use crate::{rendered_len, write_value, Context, Missing, Path, RenderError, Segment, Template};
use serde_json::Value;
use std::borrow::Cow;

/// What a reference resolved to.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved<'a> {
    /// A string value, borrowed.
    Str(&'a str),
    /// Any JSON value, borrowed (strings may come this way too).
    Value(&'a Value),
    /// A value built for this resolution.
    Owned(Value),
}

impl<'a> Resolved<'a> {
    /// A borrowed JSON value.
    pub fn of(v: &'a Value) -> Resolved<'a> {
        match v {
            Value::String(s) => Resolved::Str(s),
            other => Resolved::Value(other),
        }
    }

    /// The number of bytes this renders to, or `None` when it is more than `cap`.
    fn len_within(&self, cap: usize) -> Option<usize> {
        match self {
            Resolved::Str(s) => (s.len() <= cap).then_some(s.len()),
            Resolved::Value(v) => rendered_len(v, cap),
            Resolved::Owned(v) => rendered_len(v, cap),
        }
    }

    /// The value when it is a number, a boolean or null.
    fn scalar(&self) -> Option<&Value> {
        let v = match self {
            Resolved::Value(v) => v,
            Resolved::Owned(v) => v,
            Resolved::Str(_) => return None,
        };
        matches!(v, Value::Number(_) | Value::Bool(_) | Value::Null).then_some(v)
    }

    fn write(&self, out: &mut String) {
        match self {
            Resolved::Str(s) => out.push_str(s),
            Resolved::Value(v) => write_value(out, v),
            Resolved::Owned(v) => write_value(out, v),
        }
    }
}

/// A source of values for template references: the `item` and `sample` namespaces of one
/// sample, in whatever shape the caller holds them. Implementations must answer exactly what
/// [`Path::resolve`] answers on the equivalent JSON (the same value, or the same [`Missing`]).
pub trait Scope {
    /// Follows `path` (its root and steps) through this scope.
    fn resolve_ref<'s>(&'s self, path: &Path) -> Result<Resolved<'s>, Missing>;
}

impl Scope for Context<'_> {
    fn resolve_ref<'s>(&'s self, path: &Path) -> Result<Resolved<'s>, Missing> {
        path.resolve(self).map(Resolved::of)
    }
}

impl Template {
    /// Renders against any [`Scope`] unless the result would be larger than `limit` bytes, like
    /// [`Template::render_limited`] (the size is measured before anything is allocated, and a
    /// template that is one reference to a string borrows it).
    pub fn render_scoped<'a, S: Scope + ?Sized>(
        &'a self,
        scope: &'a S,
        limit: usize,
    ) -> Result<Cow<'a, str>, RenderError> {
        let too_large = |at_least| RenderError::TooLarge { at_least, limit };
        match self.segments.as_slice() {
            [] => return Ok(Cow::Borrowed("")),
            [Segment::Lit(s)] if s.len() <= limit => return Ok(Cow::Borrowed(s)),
            [Segment::Ref(p)] => {
                let r = scope.resolve_ref(p)?;
                if let Some(v) = r.scalar() {
                    // A number, boolean or null renders in a few bytes: written at once and
                    // checked after, instead of rendered twice (measured, then written).
                    return small_scalar(v, limit);
                }
                let Some(n) = r.len_within(limit) else {
                    let at_least = match &r {
                        Resolved::Str(s) => s.len(),
                        _ => limit.saturating_add(1),
                    };
                    return Err(too_large(at_least));
                };
                return Ok(match r {
                    Resolved::Str(s) => Cow::Borrowed(s),
                    Resolved::Owned(Value::String(s)) => Cow::Owned(s),
                    other => {
                        let mut out = String::with_capacity(n);
                        other.write(&mut out);
                        Cow::Owned(out)
                    }
                });
            }
            _ => {}
        }
        // Measure first (resolving every reference), then write.
        let mut total = 0usize;
        for seg in &self.segments {
            let room = limit - total;
            let n = match seg {
                Segment::Lit(s) => (s.len() <= room).then_some(s.len()),
                Segment::Ref(p) => scope.resolve_ref(p)?.len_within(room),
            };
            match n {
                Some(n) => total += n,
                None => return Err(too_large(total.saturating_add(room).saturating_add(1))),
            }
        }
        let mut out = String::with_capacity(total);
        for seg in &self.segments {
            match seg {
                Segment::Lit(s) => out.push_str(s),
                Segment::Ref(p) => scope.resolve_ref(p)?.write(&mut out),
            }
        }
        Ok(Cow::Owned(out))
    }
}

/// The rendering of a number, a boolean or null (at most a few dozen bytes), or `TooLarge`
/// when it is longer than `limit`.
pub(crate) fn small_scalar<'a>(v: &Value, limit: usize) -> Result<Cow<'a, str>, RenderError> {
    let mut out = String::new();
    write_value(&mut out, v);
    if out.len() > limit {
        return Err(RenderError::TooLarge {
            at_least: out.len(),
            limit,
        });
    }
    Ok(Cow::Owned(out))
}

impl Path {
    /// Follows the steps from `from` on, starting at `v`, the value the first `from` steps
    /// reached (`resolve_from(0, root)` follows the whole path from its root's value). Errors
    /// are the ones [`Path::resolve`] gives for the same data.
    pub fn resolve_from<'a>(&self, from: usize, v: &'a Value) -> Result<&'a Value, Missing> {
        let mut cur = v;
        for (i, step) in self.steps.iter().enumerate().skip(from) {
            match self.step(step, cur) {
                Some(next) => cur = next,
                None => return Err(self.missing_at(i, cur)),
            }
        }
        Ok(cur)
    }
}
