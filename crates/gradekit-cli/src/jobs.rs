//! `gradekit jobs`: the fine-tuning jobs of a `gradekit serve` for people without the SDK —
//! `list`, `show ID`, `events ID [--follow]`, `cancel ID` over HTTP, and `export` straight
//! from a data directory (DESIGN §8).
//!
//! `events --follow` polls the events list (newest first, so it re-reads the head until it
//! meets an event it has printed), prints new events oldest first — metrics as one compact
//! table row per step under a header — and stops when the job has finished.

use crate::http::Client;
use anyhow::{bail, Result};
use serde_json::Value;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
    /// The server's API base URL.
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:8080/v1",
        env = "GRADEKIT_BASE_URL",
        value_name = "URL"
    )]
    base_url: String,
    /// API key (a key of your project). Never printed.
    #[arg(
        long,
        global = true,
        env = "GRADEKIT_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    api_key: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// List jobs, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print a job as JSON.
    Show { id: String },
    /// Print a job's events, oldest first; --follow waits for new ones until the job ends.
    Events {
        id: String,
        #[arg(long, short = 'f')]
        follow: bool,
        /// Seconds between polls with --follow.
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
    },
    /// Cancel a job.
    Cancel { id: String },
    /// Copy a fine-tuned model (ft:…) or checkpoint (ft:…:ckpt-step-N or ftckpt_…) directory
    /// out of a data directory, for serving (vLLM, llama.cpp tooling, transformers).
    Export {
        id: String,
        dest: PathBuf,
        /// The server's --data-dir.
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
    },
}

fn ok(status: u16, v: Value) -> Result<Value> {
    if (200..300).contains(&status) {
        return Ok(v);
    }
    let e = &v["error"];
    let param = e["param"]
        .as_str()
        .map(|p| format!(" (param {p})"))
        .unwrap_or_default();
    bail!(
        "HTTP {status}: {}{param}",
        e["message"].as_str().unwrap_or("request failed")
    )
}

fn id_ok(id: &str) -> Result<&str> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        bail!("{id:?} is not a job id (ftjob-…)");
    }
    Ok(id)
}

pub fn main(a: Args) -> Result<ExitCode> {
    if let Cmd::Export { id, dest, data_dir } = &a.command {
        let src = gradekit_jobs::service::export(data_dir, id, dest)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        eprintln!("exported {id} ({}) to {}", src.display(), dest.display());
        return Ok(ExitCode::SUCCESS);
    }
    let key = a
        .api_key
        .clone()
        .or_else(|| std::env::var("OPENAI_API_KEY").ok())
        .filter(|k| !k.is_empty());
    let c = Client::new(&a.base_url, key)?;
    match a.command {
        Cmd::List { limit } => {
            let (s, v) = c.call(
                "GET",
                &format!("/fine_tuning/jobs?limit={}", limit.clamp(1, 1000)),
                None,
            )?;
            let v = ok(s, v)?;
            println!(
                "{:<32} {:<17} {:<20} FINE-TUNED MODEL",
                "ID", "STATUS", "MODEL"
            );
            for j in v["data"].as_array().into_iter().flatten() {
                println!(
                    "{:<32} {:<17} {:<20} {}",
                    j["id"].as_str().unwrap_or(""),
                    j["status"].as_str().unwrap_or(""),
                    j["model"].as_str().unwrap_or(""),
                    j["fine_tuned_model"].as_str().unwrap_or("-")
                );
            }
        }
        Cmd::Show { id } => {
            let (s, v) = c.call("GET", &format!("/fine_tuning/jobs/{}", id_ok(&id)?), None)?;
            crate::io::print_stdout(&serde_json::to_string_pretty(&ok(s, v)?)?)?;
        }
        Cmd::Cancel { id } => {
            let (s, v) = c.call(
                "POST",
                &format!("/fine_tuning/jobs/{}/cancel", id_ok(&id)?),
                None,
            )?;
            let v = ok(s, v)?;
            println!(
                "{} {}",
                v["id"].as_str().unwrap_or(""),
                v["status"].as_str().unwrap_or("")
            );
        }
        Cmd::Events {
            id,
            follow,
            interval,
        } => {
            let id = id_ok(&id)?.to_string();
            if !(interval.is_finite() && interval > 0.0) {
                bail!("--interval must be a positive number of seconds");
            }
            events(
                &c,
                &id,
                follow,
                Duration::from_secs_f64(interval.min(3600.0)),
            )?;
        }
        Cmd::Export { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints events as they come (see the module docs).
fn events(c: &Client, id: &str, follow: bool, every: Duration) -> Result<()> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut table = Table::default();
    loop {
        // Read pages from the newest until an already printed event (or the end).
        let mut fresh = Vec::new();
        let mut after: Option<String> = None;
        'pages: loop {
            let q = match &after {
                Some(a) => format!("/fine_tuning/jobs/{id}/events?limit=100&after={a}"),
                None => format!("/fine_tuning/jobs/{id}/events?limit=100"),
            };
            let (s, v) = c.call("GET", &q, None)?;
            let v = ok(s, v)?;
            let data = v["data"].as_array().cloned().unwrap_or_default();
            for e in &data {
                let eid = e["id"].as_str().unwrap_or("").to_string();
                if seen.contains(&eid) {
                    break 'pages;
                }
                fresh.push(e.clone());
            }
            if v["has_more"] != true || data.is_empty() {
                break;
            }
            after = data
                .last()
                .and_then(|e| e["id"].as_str())
                .map(str::to_string);
        }
        for e in fresh.iter().rev() {
            seen.insert(e["id"].as_str().unwrap_or("").to_string());
            table.print(e);
        }
        if !follow {
            return Ok(());
        }
        let (s, job) = c.call("GET", &format!("/fine_tuning/jobs/{id}"), None)?;
        let job = ok(s, job)?;
        if matches!(
            job["status"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) && fresh.is_empty()
        {
            println!("job {id}: {}", job["status"].as_str().unwrap_or(""));
            return Ok(());
        }
        std::thread::sleep(every);
    }
}

/// Metrics as table rows: a header with the metric names of the first metrics event (and
/// again when they change), then one row per step.
#[derive(Debug, Default)]
struct Table {
    columns: Vec<String>,
}

impl Table {
    fn print(&mut self, e: &Value) {
        if e["type"] != "metrics" {
            println!(
                "{:<5} {}",
                e["level"].as_str().unwrap_or("info"),
                e["message"].as_str().unwrap_or("")
            );
            return;
        }
        let data = e["data"].as_object().cloned().unwrap_or_default();
        let cols: Vec<String> = data
            .iter()
            .filter(|(k, v)| v.is_number() && *k != "step" && *k != "total_steps")
            .map(|(k, _)| k.clone())
            .take(8)
            .collect();
        if cols != self.columns {
            self.columns = cols;
            let mut h = format!("{:>11}", "step");
            for c in &self.columns {
                h.push_str(&format!(" {:>14}", truncate(c, 14)));
            }
            println!("{h}");
        }
        let step = match (
            data.get("step").and_then(Value::as_i64),
            data.get("total_steps").and_then(Value::as_i64),
        ) {
            (Some(s), Some(t)) => format!("{s}/{t}"),
            (Some(s), None) => s.to_string(),
            _ => "?".into(),
        };
        let mut row = format!("{step:>11}");
        for c in &self.columns {
            let x = data.get(c).and_then(Value::as_f64);
            row.push_str(&match x {
                Some(x) => format!(" {x:>14.6}"),
                None => format!(" {:>14}", ""),
            });
        }
        println!("{row}");
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
