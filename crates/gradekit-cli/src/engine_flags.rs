//! Engine flags of `run`, `score`, `lint` and `serve` (DESIGN.md §5): generated from the
//! engine's option table ([`gradekit_engine::OPTIONS`]), parsed into its
//! [`EngineSpec`] — no flag, default or check of its own here. Each command offers the options
//! whose edges include it (`threads` is not a flag of `run` or `lint`).
//!
//! A bad value is a usage error (exit 2) naming the flag, from the spec's own check.

use anyhow::Result;
use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgMatches, Command};
use gradekit_engine::options::{Edge, OptionDef, OptionValue, ValueKind};
use gradekit_engine::{EngineOptions, EngineSpec, OPTIONS};
use std::marker::PhantomData;

/// Which command the flags belong to.
pub trait EdgeKind: Send + Sync + 'static {
    const EDGE: Edge;
}
#[derive(Debug, Clone, Default)]
pub struct Run;
#[derive(Debug, Clone, Default)]
pub struct Score;
#[derive(Debug, Clone, Default)]
pub struct Lint;
#[derive(Debug, Clone, Default)]
pub struct Serve;
impl EdgeKind for Run {
    const EDGE: Edge = Edge::Run;
}
impl EdgeKind for Score {
    const EDGE: Edge = Edge::Score;
}
impl EdgeKind for Lint {
    const EDGE: Edge = Edge::Lint;
}
impl EdgeKind for Serve {
    const EDGE: Edge = Edge::Serve;
}

/// The engine options given on the command line of command `E`.
#[derive(Debug, Clone, Default)]
pub struct EngineFlags<E> {
    pub spec: EngineSpec,
    edge: PhantomData<E>,
}

fn offered<E: EdgeKind>() -> impl Iterator<Item = &'static OptionDef> {
    OPTIONS.iter().filter(|d| d.applies_to(E::EDGE))
}

fn arg(def: &'static OptionDef) -> Arg {
    let mut help = format!("{} [default: {}", def.help, def.default);
    if let Some(var) = def.env {
        help.push_str(&format!(", or ${var}"));
    }
    help.push(']');
    let mut a = Arg::new(def.name)
        .long(def.flag)
        .value_name(def.value_name)
        .help(help)
        .long_help(format!(
            "{}\n\nDefault: {}{}. Limits: {}.",
            def.help,
            def.default,
            def.env.map(|v| format!(", or ${v}")).unwrap_or_default(),
            def.limits
        ))
        .help_heading("Engine")
        .action(match def.kind {
            ValueKind::Paths => ArgAction::Append,
            _ => ArgAction::Set,
        });
    match def.kind {
        ValueKind::Choice(names) => {
            a = a.value_parser(PossibleValuesParser::new(names.iter().copied()));
        }
        // `-1` is a value to check (and refuse by name), not an unknown flag.
        ValueKind::Seconds | ValueKind::Count { .. } => a = a.allow_negative_numbers(true),
        _ => {}
    }
    if def.name == "judge_api_key" {
        a = a.hide_env_values(true);
    }
    a
}

impl<E: EdgeKind> clap::Args for EngineFlags<E> {
    fn augment_args(cmd: Command) -> Command {
        cmd.args(offered::<E>().map(arg))
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<E: EdgeKind> clap::FromArgMatches for EngineFlags<E> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = EngineFlags {
            spec: EngineSpec::default(),
            edge: PhantomData,
        };
        flags.update_from_arg_matches(m)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        for def in offered::<E>() {
            let Some(values) = m.get_many::<String>(def.name) else {
                continue;
            };
            for v in values {
                self.spec
                    .set(def.name, OptionValue::Text(v.clone()))
                    .map_err(|e| {
                        clap::Error::raw(
                            clap::error::ErrorKind::ValueValidation,
                            format!("{}\n", e.for_cli()),
                        )
                    })?;
            }
        }
        Ok(())
    }
}

impl<E: EdgeKind> EngineFlags<E> {
    /// The option of command `E` named by the long flag `--{flag}`, with its place among the
    /// options `E` offers.
    pub(crate) fn offered_flag(flag: &str) -> Option<(usize, &'static OptionDef)> {
        offered::<E>().enumerate().find(|(_, d)| d.flag == flag)
    }

    /// The flags that the values given (each with its option's place, from
    /// [`Self::offered_flag`]) make, set in the order clap's parse sets them; `None` where
    /// clap would refuse one (a value not among its choices, one the spec refuses).
    pub(crate) fn from_values(mut values: Vec<(usize, String)>) -> Option<Self> {
        values.sort_by_key(|(i, _)| *i);
        let mut flags = EngineFlags {
            spec: EngineSpec::default(),
            edge: PhantomData,
        };
        let defs: Vec<&'static OptionDef> = offered::<E>().collect();
        for (i, v) in values {
            let def = defs.get(i)?;
            if let ValueKind::Choice(names) = def.kind {
                if !names.contains(&v.as_str()) {
                    return None;
                }
            }
            flags.spec.set(def.name, OptionValue::Text(v)).ok()?;
        }
        Some(flags)
    }

    /// The engine options these flags describe (warnings about adjusted values on stderr).
    pub fn to_options(&self) -> Result<EngineOptions> {
        for (option, message) in self.spec.warnings() {
            let flag = option.replace('_', "-");
            eprintln!("warning: --{flag} {message}");
        }
        self.spec.build().map_err(|e| anyhow::anyhow!(e.for_cli()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::CommandFactory;
    use std::collections::BTreeSet;

    /// The engine flags (heading "Engine") of each subcommand, against the spec's list for
    /// that edge: the CLI and the server (`serve`) offer exactly the spec's options.
    #[test]
    fn every_command_offers_exactly_the_specs_options() {
        let cli = crate::Cli::command();
        for (name, edge) in [
            ("run", Edge::Run),
            ("score", Edge::Score),
            ("lint", Edge::Lint),
            ("serve", Edge::Serve),
        ] {
            let sub = cli.find_subcommand(name).unwrap();
            let flags: BTreeSet<String> = sub
                .get_arguments()
                .filter(|a| a.get_help_heading() == Some("Engine"))
                .map(|a| a.get_long().unwrap().replace('-', "_"))
                .collect();
            let spec: BTreeSet<String> = OPTIONS
                .iter()
                .filter(|d| d.applies_to(edge))
                .map(|d| d.name.to_string())
                .collect();
            assert_eq!(flags, spec, "gradekit {name}");
        }
    }

    #[test]
    fn flags_parse_into_the_spec_and_bad_values_name_the_flag() {
        let cli = || crate::Cli::command();
        let m = cli()
            .try_get_matches_from([
                "gradekit",
                "serve",
                "--threads",
                "3",
                "--python-read-path",
                "/a",
                "--python-read-path",
                "/b",
                "--judge-token-cap-field",
                "max_tokens",
            ])
            .unwrap();
        let (_, sub) = m.subcommand().unwrap();
        let f = <EngineFlags<Serve> as clap::FromArgMatches>::from_arg_matches(sub).unwrap();
        assert_eq!(f.spec.threads, Some(3));
        assert_eq!(f.spec.python_read_path.len(), 2);
        let m = cli()
            .try_get_matches_from(["gradekit", "run", "-", "--judge-timeout", "-1"])
            .unwrap();
        let (_, sub) = m.subcommand().unwrap();
        let e = <EngineFlags<Run> as clap::FromArgMatches>::from_arg_matches(sub).unwrap_err();
        assert!(
            e.to_string()
                .contains("--judge-timeout must be a positive number of seconds"),
            "{e}"
        );
        assert!(cli()
            .try_get_matches_from(["gradekit", "run", "-", "--threads", "2"])
            .is_err());
    }
}
