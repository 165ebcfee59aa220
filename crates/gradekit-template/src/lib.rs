//! Grader templates: `{{ item.x }}` / `<< sample.output_json.email >>`, parsed once, rendered
//! many times.
//!
//! A template is parsed into literal runs and *references* (a root, `item` or `sample`, and
//! a list of steps: `.key`, `[3]`, `["any key"]`). Rendering walks each reference through the
//! JSON of the current sample and item; nothing is re-parsed per sample, and a template that is
//! one bare reference to a string renders without copying (see [`Template::render`]).
//!
//! The grammar follows DESIGN.md §4 "Templates":
//! * `{{ … }}` and `<< … >>` are equivalent; spaces inside are optional.
//! * Text between the delimiters whose first word is not exactly `item` or `sample`
//!   (`{{ items.x }}`, `{{ sample_rate }}`, `{{ not a var }}`, `{{}}`) is literal text, so JSON
//!   and other brace-heavy prose pass through untouched.
//! * Text whose first word *is* `item`/`sample` but that is not a valid path
//!   (`{{ item.x + 1 }}`) is a compile error: it was clearly meant as a reference.
//! * Rendered values are never re-expanded: a value containing `{{ item.x }}` is output as is.
//!
//! **Size budget.** A template can amplify its input: `{{ item.a }}` written 10,000 times over
//! a 1 MB value renders 10 GB. [`Template::render_limited`] therefore *measures* the rendering
//! first — string lengths are known, other values are serialised into a counting sink that
//! stops at the budget — and allocates only when the total fits. Over the budget it answers
//! [`RenderError::TooLarge`] without having allocated more than the budget's worth of work.
//!
//! Values render as strings as-is, and everything else as compact JSON with keys in input
//! order, non-ASCII unescaped and numbers as Python's `json.dumps` writes them: integers with
//! all their digits, floats as `repr(float)` — shortest round-trip digits, `1.0` keeps its
//! point, exponent form below 1e-4 and from 1e16 on (`1e-05`, `1e+16`; module `number`).
//! This crate relies on `serde_json`'s `preserve_order` and `float_roundtrip` features, set in
//! the workspace.

use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

mod number;
mod parse;
mod scope;

pub use parse::TemplateError;
pub use scope::{Resolved, Scope};

/// The namespace a reference starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Root {
    Item,
    Sample,
}

impl Root {
    pub fn as_str(self) -> &'static str {
        match self {
            Root::Item => "item",
            Root::Sample => "sample",
        }
    }
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A parsed reference such as `sample.output_tools[0].function.name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path {
    pub root: Root,
    pub steps: Vec<Step>,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.root.as_str())?;
        write_steps(f, &self.steps)
    }
}

fn is_plain_key(k: &str) -> bool {
    !k.is_empty() && k.chars().all(parse::is_key_char)
}

fn write_steps(f: &mut impl fmt::Write, steps: &[Step]) -> fmt::Result {
    for s in steps {
        match s {
            Step::Key(k) if is_plain_key(k) => write!(f, ".{k}")?,
            Step::Key(k) => write!(f, "[{}]", Value::String(k.clone()))?,
            Step::Index(i) => write!(f, "[{i}]")?,
        }
    }
    Ok(())
}

/// The JSON values that references resolve against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub item: &'a Value,
    pub sample: &'a Value,
}

/// A reference that did not resolve. `path` is the full reference; `details` names the step
/// that failed and why (`sample.output_tools[0].function.name: sample.output_tools has no
/// element [0] (it has 0 elements)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub path: String,
    pub details: String,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.details)
    }
}

impl std::error::Error for Missing {}

impl Path {
    /// Follows the path through `ctx`.
    pub fn resolve<'a>(&self, ctx: &Context<'a>) -> Result<&'a Value, Missing> {
        let root: &'a Value = match self.root {
            Root::Item => ctx.item,
            Root::Sample => ctx.sample,
        };
        self.resolve_from(0, root)
    }

    fn step<'a>(&self, step: &Step, cur: &'a Value) -> Option<&'a Value> {
        match (step, cur) {
            (Step::Key(k), Value::Object(m)) => m.get(k),
            (Step::Index(n), Value::Array(a)) => a.get(*n),
            _ => None,
        }
    }

    /// The error of step `i` failing on `parent` (the value the steps before it reached): what
    /// [`Path::resolve`] reports, for scopes that find the failure without a JSON tree.
    /// `i` past the last step names the last one.
    pub fn missing_at(&self, i: usize, parent: &Value) -> Missing {
        let i = i.min(self.steps.len().saturating_sub(1));
        let Some(step) = self.steps.get(i) else {
            return Missing {
                path: self.to_string(),
                details: format!("{self}: not found"),
            };
        };
        let mut at = self.root.as_str().to_string();
        let _ = write_steps(&mut at, &self.steps[..i]);
        let why = match (step, parent) {
            (Step::Key(k), Value::Object(_)) => {
                format!("{at} has no key {}", Value::String(k.clone()))
            }
            (Step::Index(n), Value::Array(a)) => {
                format!("{at} has no element [{n}] (it has {} elements)", a.len())
            }
            (Step::Key(k), other) => format!(
                "{at} is {}, not an object, so it has no key {}",
                kind(other),
                Value::String(k.clone())
            ),
            (Step::Index(n), other) => {
                format!(
                    "{at} is {}, not an array, so it has no element [{n}]",
                    kind(other)
                )
            }
        };
        Missing {
            path: self.to_string(),
            details: format!("{}: {why}", self),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Lit(String),
    Ref(Path),
}

/// Why a bounded rendering failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// A reference did not resolve.
    Missing(Missing),
    /// The rendering would be larger than `limit` bytes (`at_least` is a lower bound of its
    /// size: measuring stops as soon as the budget is passed).
    TooLarge { at_least: usize, limit: usize },
}

impl From<Missing> for RenderError {
    fn from(m: Missing) -> Self {
        RenderError::Missing(m)
    }
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Missing(m) => m.fmt(f),
            RenderError::TooLarge { at_least, limit } => write!(
                f,
                "the rendered text is larger than the limit of {limit} bytes (at least {at_least} bytes)"
            ),
        }
    }
}

impl std::error::Error for RenderError {}

/// A `fmt`/`io` sink that only counts bytes and fails once more than `cap` arrived, so that
/// measuring a huge value costs at most `cap` bytes of work and no memory.
struct Counter {
    n: usize,
    cap: usize,
}

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.n = self.n.saturating_add(buf.len());
        if self.n > self.cap {
            Err(std::io::Error::other("over budget"))
        } else {
            Ok(buf.len())
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The number of bytes `v` renders to, or `None` when it is more than `cap`. Measured with the
/// writer [`write_value`] uses, so the two always agree.
pub fn rendered_len(v: &Value, cap: usize) -> Option<usize> {
    match v {
        Value::String(s) => (s.len() <= cap).then_some(s.len()),
        Value::Number(n) if n.is_f64() => {
            let len = number::python_float_len(n.as_f64()?);
            (len <= cap).then_some(len)
        }
        other => {
            let mut c = Counter { n: 0, cap };
            write_json(&mut c, other).ok().map(|()| c.n)
        }
    }
}

/// Writes a non-string value as compact JSON with Python's number layout ([`number`]).
fn write_json<W: std::io::Write>(w: W, v: &Value) -> std::io::Result<()> {
    use serde::Serialize;
    let mut ser = serde_json::Serializer::with_formatter(w, number::PyJson);
    v.serialize(&mut ser).map_err(std::io::Error::other)
}

thread_local! {
    /// Scratch bytes of [`write_value`]: serde_json writes bytes, a `String` takes `&str`.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    segments: Vec<Segment>,
}

/// Appends a value as a template renders it: a string as it is, anything else as compact JSON
/// with numbers as Python writes them (`1e-05`, `1e+16`, `1.0`; see the `number` module).
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() => number::write_python_float(x, out),
            _ => {
                use std::fmt::Write;
                let _ = write!(out, "{n}");
            }
        },
        other => SCRATCH.with(|cell| {
            let mut fresh = Vec::new();
            let mut held = cell.try_borrow_mut();
            let buf = match held.as_deref_mut() {
                Ok(buf) => buf,
                Err(_) => &mut fresh,
            };
            buf.clear();
            // Writing JSON into memory cannot fail; serde_json writes UTF-8.
            let _ = write_json(&mut *buf, other);
            match std::str::from_utf8(buf) {
                Ok(s) => out.push_str(s),
                Err(_) => out.push_str(&String::from_utf8_lossy(buf)),
            }
            if buf.capacity() > 1 << 16 {
                // Do not hold a large value's bytes for the thread's lifetime.
                *buf = Vec::new();
            }
        }),
    }
}

impl Template {
    /// Parses `src`. Errors only for a reference that starts with `item`/`sample` but does not
    /// parse.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        Ok(Template {
            segments: parse::parse(src)?,
        })
    }

    /// True when the template has no references.
    pub fn is_literal(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, Segment::Lit(_)))
    }

    /// The one reference the template consists of (`{{ item.reference }}`, nothing around it),
    /// if it is that: its rendering is then the referenced value alone (a string as it is).
    pub fn single_ref(&self) -> Option<&Path> {
        match self.segments.as_slice() {
            [Segment::Ref(p)] => Some(p),
            _ => None,
        }
    }

    /// The references in order of appearance.
    pub fn refs(&self) -> impl Iterator<Item = &Path> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Ref(p) => Some(p),
            Segment::Lit(_) => None,
        })
    }

    /// Renders against `ctx`. Borrows instead of allocating when the template is a literal or
    /// one reference to a string value.
    pub fn render<'a>(&'a self, ctx: &Context<'a>) -> Result<Cow<'a, str>, Missing> {
        match self.segments.as_slice() {
            [] => Ok(Cow::Borrowed("")),
            [Segment::Lit(s)] => Ok(Cow::Borrowed(s)),
            [Segment::Ref(p)] => match p.resolve(ctx)? {
                Value::String(s) => Ok(Cow::Borrowed(s)),
                other => {
                    let mut out = String::new();
                    write_value(&mut out, other);
                    Ok(Cow::Owned(out))
                }
            },
            _ => {
                let mut out = String::new();
                self.render_into(ctx, &mut out)?;
                Ok(Cow::Owned(out))
            }
        }
    }

    /// Renders against `ctx` unless the result would be larger than `limit` bytes: the size is
    /// measured before anything is allocated (see the crate docs, "Size budget").
    pub fn render_limited<'a>(
        &'a self,
        ctx: &Context<'a>,
        limit: usize,
    ) -> Result<Cow<'a, str>, RenderError> {
        let too_large = |at_least| RenderError::TooLarge { at_least, limit };
        if let [Segment::Ref(p)] = self.segments.as_slice() {
            let v = p.resolve(ctx)?;
            return match v {
                Value::String(s) if s.len() <= limit => Ok(Cow::Borrowed(s)),
                Value::String(s) => Err(too_large(s.len())),
                Value::Number(_) | Value::Bool(_) | Value::Null => scope::small_scalar(v, limit),
                other => match rendered_len(other, limit) {
                    Some(n) => {
                        let mut out = String::with_capacity(n);
                        write_value(&mut out, other);
                        Ok(Cow::Owned(out))
                    }
                    None => Err(too_large(limit.saturating_add(1))),
                },
            };
        }
        let total = self.measure(ctx, limit)?;
        if self.is_literal() {
            return self.render(ctx).map_err(RenderError::from);
        }
        let mut out = String::with_capacity(total);
        self.render_into(ctx, &mut out)?;
        Ok(Cow::Owned(out))
    }

    /// The size of the rendering, resolving every reference, or `TooLarge` as soon as the
    /// running total passes `limit`.
    fn measure(&self, ctx: &Context<'_>, limit: usize) -> Result<usize, RenderError> {
        let mut total = 0usize;
        for seg in &self.segments {
            let room = limit - total;
            let n = match seg {
                Segment::Lit(s) => (s.len() <= room).then_some(s.len()),
                Segment::Ref(p) => rendered_len(p.resolve(ctx)?, room),
            };
            match n {
                Some(n) => total += n,
                None => {
                    return Err(RenderError::TooLarge {
                        at_least: total.saturating_add(room).saturating_add(1),
                        limit,
                    })
                }
            }
        }
        Ok(total)
    }

    /// Appends the rendering to `out`; on error `out` may hold a partial rendering.
    pub fn render_into(&self, ctx: &Context<'_>, out: &mut String) -> Result<(), Missing> {
        for seg in &self.segments {
            match seg {
                Segment::Lit(s) => out.push_str(s),
                Segment::Ref(p) => write_value(out, p.resolve(ctx)?),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
