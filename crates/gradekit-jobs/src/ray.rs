//! The `ray` backend: the same trainer command submitted as a Ray Job to an existing cluster
//! (DESIGN §8, `--ray-address`), through the Ray Jobs REST API of the cluster's dashboard
//! (`POST /api/jobs/`, `GET /api/jobs/{id}`, `GET /api/jobs/{id}/logs`,
//! `POST /api/jobs/{id}/stop`).
//!
//! **Logs → protocol.** Ray keeps one log per job with the entrypoint's stdout and stderr
//! interleaved. The run polls it and splits it again: lines that look like protocol objects
//! (`{"type": …}`) are the run's `stdout`; every other line is stderr (its last lines become
//! `Exit::stderr_tail`, the job's `error.message` on failure).
//!
//! **Stop.** Ray's stop sends SIGTERM to the entrypoint and SIGKILLs it after
//! `RAY_JOB_STOP_WAIT_TIME_S`; the submission sets that to [`STOP_WAIT_S`] so a pausing
//! trainer has time to write its checkpoint. `kill` is a stop too (Ray has no immediate kill).
//! A stopped job is `STOPPED` in Ray; it counts as a clean exit (code 0) when the trainer
//! printed a checkpoint after the stop was asked for — a completed pause.
//!
//! **Data.** The entrypoint runs `cd JOB_DIR && TRAINER SPEC_PATH`: the cluster must see the
//! server's data directory at the same path (a head on this machine, or a shared filesystem).
//!
//! The HTTP client is a small HTTP/1.1 one over `std::net` (the dashboard speaks plain HTTP;
//! responses are bounded by [`MAX_RESPONSE`]). `RAY_AUTH_TOKEN`, when set, is sent as a bearer
//! token (clusters started with token authentication).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::backend::{split_command, Backend, Exit, Launch, Run, STDERR_TAIL};

/// Seconds Ray waits between SIGTERM and SIGKILL when a job is stopped.
pub const STOP_WAIT_S: u64 = 120;
/// Largest HTTP response read (the job's whole log comes back on each poll).
pub const MAX_RESPONSE: usize = 256 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30);

/// `host:port` of the dashboard, from `http://host:port[/]` or `host:port`.
#[derive(Debug, Clone, PartialEq)]
struct Address {
    host: String,
    port: u16,
}

fn parse_address(s: &str) -> Result<Address, String> {
    let rest = s.trim().trim_end_matches('/');
    if rest.starts_with("https://") {
        return Err(
            "https Ray addresses are not supported; use the dashboard's http address".into(),
        );
    }
    let rest = rest.strip_prefix("http://").unwrap_or(rest);
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>().map_err(|_| format!("bad port in {s:?}"))?,
        ),
        None => (rest, 8265),
    };
    if host.is_empty() || host.contains('/') {
        return Err(format!(
            "bad Ray dashboard address {s:?} (want http://HOST:PORT)"
        ));
    }
    Ok(Address {
        host: host.to_string(),
        port,
    })
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &[u8]) -> io::Result<Vec<u8>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad chunked body");
    let mut out = Vec::new();
    loop {
        let end = body.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let size_text = std::str::from_utf8(&body[..end]).map_err(|_| bad())?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad())?;
        body = &body[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 || out.len() + size > MAX_RESPONSE {
            return Err(bad());
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

#[derive(Debug, Clone)]
struct Client {
    addr: Address,
    token: Option<String>,
}

impl Client {
    /// One request; returns (status, JSON body or Null).
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> io::Result<(u16, Value)> {
        let target = (self.addr.host.as_str(), self.addr.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "Ray address does not resolve")
            })?;
        let mut s = TcpStream::connect_timeout(&target, TIMEOUT)?;
        s.set_read_timeout(Some(TIMEOUT))?;
        s.set_write_timeout(Some(TIMEOUT))?;
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\nAccept: application/json\r\n",
            self.addr.host, self.addr.port
        );
        if body.is_some() {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                payload.len()
            ));
        }
        if let Some(t) = &self.token {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes())?;
        s.write_all(payload.as_bytes())?;
        let mut raw = Vec::new();
        s.take(MAX_RESPONSE as u64 + 1).read_to_end(&mut raw)?;
        parse_response(&raw)
    }
}

fn parse_response(raw: &[u8]) -> io::Result<(u16, Value)> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, format!("Ray API: {m}"));
    if raw.len() > MAX_RESPONSE {
        return Err(bad("response too large"));
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| bad("no status line"))?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = &raw[split + 4..];
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    let v = serde_json::from_slice(&body).unwrap_or_else(|_| {
        Value::String(String::from_utf8_lossy(&body).chars().take(500).collect())
    });
    Ok((status, v))
}

fn api_error(what: &str, status: u16, body: &Value) -> io::Error {
    let text = match body {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    io::Error::other(format!(
        "Ray {what} failed: HTTP {status}: {}",
        crate::protocol::truncate(&text, 300)
    ))
}

/// Single-quotes a word for `sh`.
fn shell_quote(w: &str) -> String {
    format!("'{}'", w.replace('\'', "'\\''"))
}

/// True for a line the trainer meant for the protocol (a JSON object with a `type`).
fn is_protocol_line(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('{')
        && t.ends_with('}')
        && serde_json::from_str::<Value>(t)
            .map(|v| v.get("type").is_some_and(Value::is_string))
            .unwrap_or(false)
}

fn terminal(status: &str) -> bool {
    matches!(status, "SUCCEEDED" | "FAILED" | "STOPPED")
}

/// The `ray` backend (see the module docs).
#[derive(Debug, Clone)]
pub struct RayBackend {
    client: Client,
    argv: Vec<String>,
    poll: Duration,
}

impl RayBackend {
    /// `address`: the dashboard (`http://127.0.0.1:8265`); `command`: the `--trainer` line.
    pub fn new(address: &str, command: &str) -> Result<Self, String> {
        Ok(RayBackend {
            client: Client {
                addr: parse_address(address)?,
                token: std::env::var("RAY_AUTH_TOKEN")
                    .ok()
                    .filter(|t| !t.is_empty()),
            },
            argv: split_command(command)?,
            poll: Duration::from_millis(500),
        })
    }

    /// How often logs and status are polled (default 0.5 s).
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    fn submission_id(job_id: &str, handle: i64) -> String {
        format!("gradekit-{job_id}-{handle}")
    }
}

#[derive(Default)]
struct Shared {
    tail: VecDeque<String>,
    stop_asked: bool,
    checkpoint_after_stop: bool,
}

struct RayRun {
    client: Client,
    id: String,
    handle: i64,
    poll: Duration,
    shared: Arc<Mutex<Shared>>,
    stdout: Mutex<Option<Box<dyn Read + Send>>>,
    exit: Mutex<Option<Exit>>,
}

impl Backend for RayBackend {
    fn name(&self) -> &'static str {
        "ray"
    }

    fn start(&self, launch: &Launch) -> io::Result<Box<dyn Run>> {
        let handle = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let id = Self::submission_id(&launch.job_id, handle);
        let mut words: Vec<String> = self.argv.iter().map(|w| shell_quote(w)).collect();
        words.push(shell_quote(&launch.spec_path.to_string_lossy()));
        let entrypoint = format!(
            "cd {} && exec {}",
            shell_quote(&launch.job_dir.to_string_lossy()),
            words.join(" ")
        );
        let body = json!({
            "entrypoint": entrypoint,
            "submission_id": id,
            "runtime_env": {"env_vars": {"RAY_JOB_STOP_WAIT_TIME_S": STOP_WAIT_S.to_string()}},
            "metadata": {"gradekit_job_id": launch.job_id},
        });
        let (status, v) = self.client.call("POST", "/api/jobs/", Some(&body))?;
        if status != 200 {
            return Err(api_error("job submission", status, &v));
        }
        let shared = Arc::new(Mutex::new(Shared::default()));
        let logs = LogStream {
            client: self.client.clone(),
            id: id.clone(),
            poll: self.poll,
            shared: shared.clone(),
            offset: 0,
            partial: String::new(),
            ready: VecDeque::new(),
            done: false,
        };
        Ok(Box::new(RayRun {
            client: self.client.clone(),
            id,
            handle,
            poll: self.poll,
            shared,
            stdout: Mutex::new(Some(Box::new(logs))),
            exit: Mutex::new(None),
        }))
    }

    fn reap_orphan(&self, handle: i64, launch: &Launch) {
        let id = Self::submission_id(&launch.job_id, handle);
        let _ = self
            .client
            .call("POST", &format!("/api/jobs/{id}/stop"), Some(&json!({})));
    }
}

/// The job's log, polled, with only the protocol lines passed on.
struct LogStream {
    client: Client,
    id: String,
    poll: Duration,
    shared: Arc<Mutex<Shared>>,
    offset: usize,
    partial: String,
    ready: VecDeque<u8>,
    done: bool,
}

impl LogStream {
    fn take_line(&mut self, line: &str) {
        if is_protocol_line(line) {
            if line.contains("\"checkpoint\"") {
                if let Ok(mut s) = self.shared.lock() {
                    if s.stop_asked {
                        s.checkpoint_after_stop = true;
                    }
                }
            }
            self.ready.extend(line.trim().as_bytes());
            self.ready.push_back(b'\n');
        } else if !line.trim().is_empty() {
            push_tail(&self.shared, line);
        }
    }

    /// One poll: the status first, then the log (complete once the status is final).
    fn poll_once(&mut self) -> io::Result<()> {
        let (st, info) = self
            .client
            .call("GET", &format!("/api/jobs/{}", self.id), None)?;
        if st != 200 {
            return Err(api_error("job status", st, &info));
        }
        let finished = info
            .get("status")
            .and_then(Value::as_str)
            .is_some_and(terminal);
        let (st, v) = self
            .client
            .call("GET", &format!("/api/jobs/{}/logs", self.id), None)?;
        if st != 200 {
            return Err(api_error("job logs", st, &v));
        }
        let logs = v.get("logs").and_then(Value::as_str).unwrap_or("");
        if logs.len() < self.offset {
            self.offset = 0; // the log was rotated or restarted: read it again
        }
        let new = logs.get(self.offset..).unwrap_or("");
        self.offset = logs.len();
        self.partial.push_str(new);
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            self.take_line(line.trim_end_matches(['\r', '\n']));
        }
        if finished {
            let rest = std::mem::take(&mut self.partial);
            self.take_line(&rest);
            if let Some(msg) = info.get("message").and_then(Value::as_str) {
                if info.get("status").and_then(Value::as_str) == Some("FAILED") {
                    push_tail(&self.shared, &format!("ray: {msg}"));
                }
            }
            self.done = true;
        }
        Ok(())
    }
}

fn push_tail(shared: &Mutex<Shared>, line: &str) {
    if let Ok(mut s) = shared.lock() {
        // Ray's own failure message repeats the log tail: keep its first line only.
        let line = line.lines().next().unwrap_or("");
        if s.tail.len() == STDERR_TAIL {
            s.tail.pop_front();
        }
        s.tail.push_back(crate::protocol::truncate(line, 1000));
    }
}

impl Read for LogStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut errors = 0;
        while self.ready.is_empty() && !self.done {
            match self.poll_once() {
                Ok(()) => errors = 0,
                Err(e) => {
                    errors += 1;
                    if errors > 20 {
                        return Err(e); // the cluster has been unreachable for a while
                    }
                }
            }
            if self.ready.is_empty() && !self.done {
                std::thread::sleep(self.poll);
            }
        }
        let n = buf.len().min(self.ready.len());
        for (slot, b) in buf.iter_mut().zip(self.ready.drain(..n)) {
            *slot = b;
        }
        Ok(n)
    }
}

impl RayRun {
    fn stop_request(&self) {
        if let Ok(mut s) = self.shared.lock() {
            s.stop_asked = true;
        }
        let _ = self.client.call(
            "POST",
            &format!("/api/jobs/{}/stop", self.id),
            Some(&json!({})),
        );
    }

    fn tail(&self) -> Vec<String> {
        self.shared
            .lock()
            .map(|s| s.tail.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Run for RayRun {
    fn stdout(&self) -> Option<Box<dyn Read + Send>> {
        self.stdout.lock().ok().and_then(|mut s| s.take())
    }

    fn handle(&self) -> Option<i64> {
        Some(self.handle)
    }

    fn stop(&self) {
        self.stop_request();
    }

    fn kill(&self) {
        self.stop_request();
    }

    fn wait(&self) -> Exit {
        if let Some(e) = self.exit.lock().ok().and_then(|e| e.clone()) {
            return e;
        }
        let mut errors = 0;
        let exit = loop {
            match self
                .client
                .call("GET", &format!("/api/jobs/{}", self.id), None)
            {
                Ok((200, info)) => {
                    errors = 0;
                    let status = info.get("status").and_then(Value::as_str).unwrap_or("");
                    if terminal(status) {
                        let driver = info
                            .get("driver_exit_code")
                            .and_then(Value::as_i64)
                            .and_then(|c| i32::try_from(c).ok());
                        let paused = self
                            .shared
                            .lock()
                            .map(|s| s.checkpoint_after_stop)
                            .unwrap_or(false);
                        let code = match status {
                            "SUCCEEDED" => Some(driver.unwrap_or(0)),
                            "FAILED" => Some(driver.unwrap_or(1)),
                            _ if paused => Some(0),
                            _ => None,
                        };
                        break Exit {
                            code,
                            stderr_tail: self.tail(),
                        };
                    }
                }
                _ => {
                    errors += 1;
                    if errors > 60 {
                        push_tail(&self.shared, "ray: the cluster stopped answering");
                        break Exit {
                            code: None,
                            stderr_tail: self.tail(),
                        };
                    }
                }
            }
            std::thread::sleep(self.poll);
        };
        if let Ok(mut e) = self.exit.lock() {
            *e = Some(exit.clone());
        }
        exit
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn addresses() {
        let a = parse_address("http://127.0.0.1:8265/").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 8265));
        assert_eq!(parse_address("head").unwrap().port, 8265);
        assert!(parse_address("https://x:1").is_err());
        assert!(parse_address("http://:80").is_err());
        assert!(parse_address("h:notaport").is_err());
    }

    #[test]
    fn responses_and_chunks() {
        let (st, v) =
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{\"a\": 1}").unwrap();
        assert_eq!((st, v), (200, json!({"a": 1})));
        let raw = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"b\"\r\n3\r\n: 2\r\n1\r\n}\r\n0\r\n\r\n";
        assert_eq!(parse_response(raw).unwrap(), (404, json!({"b": 2})));
        assert!(dechunk(b"zz\r\n").is_err());
        assert!(dechunk(b"10\r\nshort\r\n").is_err());
        assert!(parse_response(b"garbage").is_err());
        let (_, text) = parse_response(b"HTTP/1.1 401 X\r\n\r\nUnauthorized").unwrap();
        assert_eq!(text, json!("Unauthorized"));
    }

    #[test]
    fn quoting_and_protocol_lines() {
        assert_eq!(shell_quote("a b'c"), "'a b'\\''c'");
        assert!(is_protocol_line(r#"{"type":"metrics","step":1}"#));
        assert!(!is_protocol_line(r#"{"loss": 1}"#));
        assert!(!is_protocol_line("Traceback (most recent call last):"));
        assert!(!is_protocol_line("{'loss': '0.69'}"));
    }
}
