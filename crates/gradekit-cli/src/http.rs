//! A minimal blocking HTTP/1.1 client for `gradekit jobs`: `gradekit serve` speaks plain HTTP
//! on a trusted network (loopback by default), and the commands make a handful of small JSON
//! requests, so a socket, `Connection: close` and a bounded read are enough — no TLS stack in
//! the binary for this.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Largest response read.
const MAX_RESPONSE: u64 = 64 * 1024 * 1024;

/// Where the server is and how to authenticate.
#[derive(Debug, Clone)]
pub struct Client {
    host: String,
    port: u16,
    /// Path prefix of the API (`/v1`).
    prefix: String,
    key: Option<String>,
}

impl Client {
    /// `base` is like `http://127.0.0.1:8080/v1`.
    pub fn new(base: &str, key: Option<String>) -> Result<Client> {
        let Some(rest) = base.strip_prefix("http://") else {
            bail!("--base-url must start with http:// (gradekit serve speaks plain HTTP), got {base:?}");
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h.to_string(),
                p.parse::<u16>()
                    .with_context(|| format!("bad port in {base:?}"))?,
            ),
            _ => (authority.to_string(), 80),
        };
        Ok(Client {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            prefix: path.to_string(),
            key,
        })
    }

    /// Sends a request; returns the status and the parsed JSON body.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value)> {
        let addr = format!("{}:{}", self.host, self.port);
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let mut s = TcpStream::connect((self.host.as_str(), self.port))
            .with_context(|| format!("cannot connect to {addr} (is `gradekit serve` running?)"))?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {host}:{}\r\nConnection: close\r\nAccept: application/json\r\n",
            self.prefix, self.port
        );
        if let Some(k) = &self.key {
            req.push_str(&format!("Authorization: Bearer {k}\r\n"));
        }
        if body.is_some() {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                payload.len()
            ));
        } else if method == "POST" {
            req.push_str("Content-Length: 0\r\n");
        }
        req.push_str("\r\n");
        req.push_str(&payload);
        s.write_all(req.as_bytes())?;
        let mut raw = Vec::new();
        s.take(MAX_RESPONSE)
            .read_to_end(&mut raw)
            .context("reading the server's answer")?;
        parse_response(&raw)
    }
}

fn parse_response(raw: &[u8]) -> Result<(u16, Value)> {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        bail!("the server's answer has no header end");
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("the server's answer has no status")?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    let mut body = raw[end + 4..].to_vec();
    if chunked {
        body = dechunk(&body)?;
    }
    let v = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).context("the server's answer is not JSON")?
    };
    Ok((status, v))
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let Some(i) = b.windows(2).position(|w| w == b"\r\n") else {
            bail!("bad chunked body")
        };
        let size_text = String::from_utf8_lossy(&b[..i]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .context("bad chunk size")?;
        b = &b[i + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size {
            bail!("truncated chunked body");
        }
        out.extend_from_slice(&b[..size]);
        b = b.get(size + 2..).unwrap_or(&[]);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn responses_parse_plain_and_chunked() {
        let (s, v) =
            parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n{\"a\": 1}").unwrap();
        assert_eq!((s, v), (200, serde_json::json!({"a": 1})));
        let (s, v) = parse_response(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"b\r\n5\r\n\": 2}\r\n0\r\n\r\n").unwrap();
        assert_eq!((s, v), (404, serde_json::json!({"b": 2})));
        let c = Client::new("http://localhost:9000/v1/", None).unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.prefix.as_str()),
            ("localhost", 9000, "/v1")
        );
        assert!(Client::new("https://x", None).is_err());
    }
}
