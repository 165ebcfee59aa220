//! `gradekit score …` read without clap when its command line is plain.
//!
//! Why: clap builds the whole command (every flag of `score` and its engine flags, their help
//! texts formatted at run time) before it parses, and tears it down after: ~0.23M of the ~1M
//! instructions a `score` run spends before it reads its input, and the page faults of code
//! run once (#17: a one-pass run over a few thousand lines is a few milliseconds, so start-up
//! counts). A command line made only of `score`'s own flags, each given once with a plain
//! value, and one input, is read here into the same [`Args`] clap would make; anything else
//! (help, version, an unknown or repeated flag, a value that starts with `-` or is empty, a
//! missing grader or input, conflicting flags, a value clap or the engine spec would refuse,
//! `--flag=value`, bundled short flags, non-UTF-8 text) returns `None` and goes to clap,
//! which then says what it always said. The unit tests hold the two readings together.

use super::{read, Args};
use crate::engine_flags::{EngineFlags, Score};
use std::ffi::OsString;
use std::path::PathBuf;

impl Args {
    /// `argv` (the whole command line, program name first) as clap would read it, when it is
    /// plain (see the module docs); `None` otherwise.
    pub(crate) fn plain(argv: &[OsString]) -> Option<Args> {
        let mut words = argv.iter().skip(1).map(|w| w.to_str());
        if words.next()?? != "score" {
            return None;
        }
        let mut grader = None;
        let mut input = None;
        let mut output = None;
        let mut sample_key = None;
        let mut summary_json = None;
        let mut report = None;
        let mut max_line_bytes = None;
        let (mut quiet, mut progress, mut resume) = (false, false, false);
        let mut engine = Vec::new();
        let mut seen_engine = Vec::new();
        while let Some(word) = words.next() {
            let word = word?;
            // A flag's value: present, UTF-8, not empty and not something clap could read as
            // a flag (it would then refuse the line or read it differently).
            let mut value = || -> Option<String> {
                let v = words.next()??;
                (!v.is_empty() && !v.starts_with('-')).then(|| v.to_owned())
            };
            // Each of `score`'s own flags once (clap refuses a repeated one).
            fn once<T>(slot: &mut Option<T>, v: Option<T>) -> Option<()> {
                match slot {
                    Some(_) => None,
                    None => {
                        *slot = Some(v?);
                        Some(())
                    }
                }
            }
            fn flag(set: &mut bool) -> Option<()> {
                (!std::mem::replace(set, true)).then_some(())
            }
            match word {
                "-g" | "--grader" => once(&mut grader, value().map(PathBuf::from))?,
                "-o" | "--output" => once(&mut output, value().map(PathBuf::from))?,
                "--sample-key" => once(&mut sample_key, value())?,
                "--summary-json" => once(&mut summary_json, value().map(PathBuf::from))?,
                "--report" => once(&mut report, value().map(PathBuf::from))?,
                "--max-line-bytes" => {
                    once(&mut max_line_bytes, value().and_then(|v| v.parse().ok()))?
                }
                "-q" | "--quiet" => flag(&mut quiet)?,
                "--progress" => flag(&mut progress)?,
                "--resume" => flag(&mut resume)?,
                w if w.starts_with("--") => {
                    let (i, def) = EngineFlags::<Score>::offered_flag(&w[2..])?;
                    let repeats = matches!(def.kind, gradekit_engine::options::ValueKind::Paths);
                    if seen_engine.contains(&i) && !repeats {
                        return None;
                    }
                    seen_engine.push(i);
                    engine.push((i, value()?));
                }
                w if !w.is_empty() && !w.starts_with('-') => once(&mut input, Some(w.into()))?,
                _ => return None,
            }
        }
        // clap's checks: `--quiet` conflicts with `--progress`, `--resume` requires `--output`.
        if (quiet && progress) || (resume && output.is_none()) {
            return None;
        }
        Some(Args {
            grader: grader?,
            input: input?,
            output,
            sample_key,
            summary_json,
            quiet,
            progress,
            resume,
            max_line_bytes: max_line_bytes.unwrap_or(read::DEFAULT_MAX_LINE_BYTES),
            report,
            engine: EngineFlags::from_values(engine)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;
    use gradekit_engine::options::ValueKind;
    use gradekit_engine::OPTIONS;
    use proptest::prelude::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    /// What clap makes of `argv` (`Err`: its message).
    fn clap_reading(argv: &[OsString]) -> Result<String, String> {
        crate::ScoreCli::try_parse_from(argv)
            .map(|c| {
                let crate::ScoreOnly::Score(a) = c.command;
                format!("{a:?}")
            })
            .map_err(|e| e.to_string())
    }

    /// A plain reading is clap's reading, field for field.
    fn agrees(argv: &[OsString]) -> bool {
        match Args::plain(argv) {
            Some(a) => {
                assert_eq!(Ok(format!("{a:?}")), clap_reading(argv), "{argv:?}");
                true
            }
            None => false,
        }
    }

    /// The command lines `score` is run with (the benchmarks', the docs') are read plainly,
    /// and as clap reads them.
    #[test]
    fn plain_command_lines_are_read_as_clap_reads_them() {
        for argv in [
            &[
                "gk",
                "score",
                "-q",
                "--threads",
                "1",
                "-g",
                "g.json",
                "in.jsonl",
                "-o",
                "o.jsonl",
            ][..],
            &["gk", "score", "--grader", "g.json", "in.jsonl"],
            &[
                "gk", "score", "in.jsonl", "--grader", "g.json", "--output", "o.jsonl", "--resume",
            ],
            &[
                "gk",
                "score",
                "-g",
                "g.json",
                "in.jsonl",
                "--progress",
                "--max-line-bytes",
                "100",
            ],
            &[
                "gk",
                "score",
                "-g",
                "g.json",
                "in.jsonl",
                "--sample-key",
                "k",
                "--summary-json",
                "s.json",
            ],
            &[
                "gk",
                "score",
                "-g",
                "g.json",
                "in.jsonl",
                "--report",
                "r.html",
                "--threads",
                "3",
            ],
            &[
                "gk",
                "score",
                "-g",
                "g.json",
                "in.jsonl",
                "--max-line-bytes",
                "+7",
            ],
        ] {
            assert!(agrees(&os(argv)), "{argv:?} was not read plainly");
        }
    }

    /// What clap refuses, or reads its own way, is left to it.
    #[test]
    fn anything_else_goes_to_clap() {
        for argv in [
            &["gk", "score"][..],
            &["gk", "score", "--help"],
            &["gk", "score", "-h"],
            &["gk", "score", "--version"],
            &["gk", "score", "-g", "g.json"],
            &["gk", "score", "in.jsonl"],
            &["gk", "score", "-g", "g.json", "in.jsonl", "extra.jsonl"],
            &["gk", "score", "-g", "g.json", "-g", "h.json", "in.jsonl"],
            &["gk", "score", "-g", "g.json", "in.jsonl", "-q", "-q"],
            &[
                "gk",
                "score",
                "-g",
                "g.json",
                "in.jsonl",
                "-q",
                "--progress",
            ],
            &["gk", "score", "-g", "g.json", "in.jsonl", "--resume"],
            &["gk", "score", "-g", "g.json", "in.jsonl", "--threads", "0"],
            &["gk", "score", "-g", "g.json", "in.jsonl", "--threads", "x"],
            &["gk", "score", "-g", "g.json", "in.jsonl", "--threads", "-1"],
            &["gk", "score", "-g", "g.json", "in.jsonl", "--threads"],
            &["gk", "score", "-g", "g.json", "in.jsonl", "--threads=2"],
            &[
                "gk",
                "score",
                "-g",
                "g.json",
                "in.jsonl",
                "--max-line-bytes",
                "x",
            ],
            &[
                "gk",
                "score",
                "-g",
                "g.json",
                "in.jsonl",
                "--max-line-bytes",
                "",
            ],
            &["gk", "score", "-g", "", "in.jsonl"],
            &["gk", "score", "-g", "g.json", "-"],
            &["gk", "score", "-g", "g.json", "in.jsonl", "-o", "-"],
            &["gk", "score", "-qg", "g.json", "in.jsonl"],
            &["gk", "score", "-g", "g.json", "--", "in.jsonl"],
            &["gk", "score", "-g", "g.json", "in.jsonl", "--nope", "x"],
            &["gk", "run", "-g", "g.json", "in.jsonl"],
            &["gk", "-q", "score", "-g", "g.json", "in.jsonl"],
        ] {
            assert!(
                Args::plain(&os(argv)).is_none(),
                "{argv:?} was read plainly"
            );
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let mut argv = os(&["gk", "score", "-g", "g.json"]);
            argv.push(OsString::from_vec(vec![b'i', 0xff]));
            assert!(Args::plain(&argv).is_none());
        }
    }

    /// Pieces of `score` command lines: every flag of `score` and every engine flag it offers,
    /// with values clap takes and values it refuses.
    fn pieces() -> Vec<Vec<String>> {
        let mut p: Vec<Vec<&str>> = vec![
            vec!["-g", "g.json"],
            vec!["--grader", "h.json"],
            vec!["in.jsonl"],
            vec!["other.jsonl"],
            vec!["-"],
            vec!["-o", "o.jsonl"],
            vec!["--output", "p.jsonl"],
            vec!["-o", "-"],
            vec!["-q"],
            vec!["--quiet"],
            vec!["--progress"],
            vec!["--resume"],
            vec!["--max-line-bytes", "12"],
            vec!["--max-line-bytes", "0"],
            vec!["--max-line-bytes", "-3"],
            vec!["--max-line-bytes", "99999999999999999999999"],
            vec!["--sample-key", "k"],
            vec!["--summary-json", "s.json"],
            vec!["--report", "r.html"],
            vec!["--help"],
            vec!["-V"],
            vec!["--"],
            vec!["--threads"],
            vec!["--threads", "1"],
            vec!["--threads", "2"],
            vec!["--threads", "0"],
            vec!["--threads", "1e3"],
        ];
        let mut owned: Vec<Vec<String>> = p
            .drain(..)
            .map(|v| v.into_iter().map(str::to_owned).collect())
            .collect();
        for def in OPTIONS
            .iter()
            .filter(|d| d.applies_to(gradekit_engine::options::Edge::Score))
        {
            let flag = format!("--{}", def.flag);
            let good = match def.kind {
                ValueKind::Choice(names) => names[names.len() - 1].to_owned(),
                ValueKind::Seconds => "2.5".to_owned(),
                ValueKind::Count { min, .. } => min.to_string(),
                ValueKind::Text | ValueKind::Path | ValueKind::Paths => "v".to_owned(),
            };
            owned.push(vec![flag.clone(), good]);
            owned.push(vec![flag.clone(), "nonsense".to_owned()]);
            owned.push(vec![flag.clone(), "0".to_owned()]);
            owned.push(vec![flag, "-1".to_owned()]);
        }
        owned
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Random command lines from [`pieces`]: whenever one is read plainly, clap reads it
        /// the same.
        #[test]
        fn a_plain_reading_is_always_claps(picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..9)) {
            let pieces = pieces();
            let mut argv = vec![OsString::from("gk"), OsString::from("score")];
            for p in picks {
                argv.extend(p.get(&pieces).iter().map(OsString::from));
            }
            agrees(&argv);
        }
    }

    /// Most random command lines with a grader and an input, and nothing clap refuses, are
    /// read plainly (the test above is not vacuous).
    #[test]
    fn random_plain_lines_are_mostly_read_plainly() {
        let pieces = pieces();
        let (mut plain, mut accepted) = (0, 0);
        for piece in &pieces {
            let mut argv = os(&["gk", "score", "-g", "g.json", "in.jsonl"]);
            argv.extend(piece.iter().map(OsString::from));
            if clap_reading(&argv).is_ok() {
                accepted += 1;
                plain += usize::from(agrees(&argv));
            }
        }
        assert!(plain * 10 >= accepted * 7, "{plain} of {accepted}");
    }
}
