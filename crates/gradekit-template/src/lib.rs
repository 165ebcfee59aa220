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
//! Values render as strings as-is, and everything else as compact JSON with keys in input
//! order, non-ASCII unescaped and numbers in shortest round-trip form (this crate relies on
//! `serde_json`'s `preserve_order` and `float_roundtrip` features, set in the workspace).

use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

mod parse;

pub use parse::TemplateError;

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
        let mut cur: &'a Value = match self.root {
            Root::Item => ctx.item,
            Root::Sample => ctx.sample,
        };
        for (i, step) in self.steps.iter().enumerate() {
            let next = match (step, cur) {
                (Step::Key(k), Value::Object(m)) => m.get(k),
                (Step::Index(n), Value::Array(a)) => a.get(*n),
                _ => None,
            };
            match next {
                Some(v) => cur = v,
                None => return Err(self.missing_at(i, cur)),
            }
        }
        Ok(cur)
    }

    fn missing_at(&self, i: usize, parent: &Value) -> Missing {
        let mut at = self.root.as_str().to_string();
        let _ = write_steps(&mut at, &self.steps[..i]);
        let why = match (&self.steps[i], parent) {
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

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    segments: Vec<Segment>,
}

/// Appends a value as a template renders it.
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => out.push_str(s),
        other => {
            // Writing JSON into a String cannot fail.
            let s = serde_json::to_string(other).unwrap_or_default();
            out.push_str(&s);
        }
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
