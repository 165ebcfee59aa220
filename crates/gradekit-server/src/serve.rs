//! Listening: the bind policy, the accept loop, graceful shutdown.
//!
//! The accept loop is ours rather than `axum::serve` because the server needs things that one
//! does not give:
//!
//! * **A header-read timeout** (`--header-timeout`, default 20 s; hyper's, which needs a
//!   timer). Without one a client that trickles its headers holds a connection forever
//!   (slowloris). The same timer bounds an idle keep-alive connection (it starts again after
//!   every response). hyper closes a timed-out connection silently; we drive the connection
//!   ourselves ([`drive`]) so that a client that had *begun* a request gets a 408 with the
//!   OpenAI error envelope and the log says what was cut, while an idle keep-alive
//!   connection is just closed (a 408 there could be read as the answer to the client's next
//!   request).
//! * **A bound on open connections** (`--max-connections`, default 4096, lowered to what the
//!   open-file limit allows): past it the loop stops accepting and new clients wait in the
//!   kernel's accept queue until a slow one is cut; the log says so. Bodies are paced by the
//!   guard (`pace.rs`); a request takes its slot of the concurrency limit only once its body
//!   is in.
//! * **A drain with a deadline** (SIGTERM → stop accepting, let in-flight requests finish,
//!   close idle keep-alive connections, give up after `drain_timeout`).
//!
//! HTTP/1.1 only, with keep-alive: what the SDKs, OpenRLHF's `requests`, Azure and load tools
//! speak to a plain-HTTP endpoint.

use crate::AppState;
use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::HttpService;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// The client's address: an extension of every request the accept loop serves (for logs).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Default `--header-timeout`.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);
/// Default `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// File descriptors kept for the server's own files (python workers' pipes, the jobs store,
/// uploads) when `--max-connections` is fitted to the open-file limit.
const FD_RESERVE: usize = 256;
/// Longest lingering close (see [`drive`]).
const LINGER: Duration = Duration::from_secs(1);

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub host: String,
    pub port: u16,
    /// A client must send a request's headers within this time (and an idle keep-alive
    /// connection is closed after it).
    pub header_read_timeout: Duration,
    /// After SIGTERM/SIGINT, how long in-flight requests get to finish.
    pub drain_timeout: Duration,
    /// Open connections at most; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            host: "127.0.0.1".into(),
            port: 8080,
            header_read_timeout: DEFAULT_HEADER_TIMEOUT,
            drain_timeout: Duration::from_secs(9),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Why the server did not start listening.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BindPolicyError {
    #[error(
        "refusing to listen on {0} without an API key: any machine that can reach it could run \
         graders (python code included) on this one. Set --api-key or GRADEKIT_API_KEY, or bind \
         a loopback address (--host 127.0.0.1)"
    )]
    NonLoopbackWithoutKey(SocketAddr),
    #[error("cannot resolve --host {0:?}: {1}")]
    Resolve(String, io::Error),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, io::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
}

/// The addresses `host:port` names (`[::1]` and `::1` both accepted).
pub fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, BindPolicyError> {
    let h = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let addrs: Vec<SocketAddr> = (h, port)
        .to_socket_addrs()
        .map_err(|e| BindPolicyError::Resolve(host.to_string(), e))?
        .collect();
    if addrs.is_empty() {
        return Err(BindPolicyError::Resolve(
            host.to_string(),
            io::Error::new(io::ErrorKind::NotFound, "no address"),
        ));
    }
    Ok(addrs)
}

/// Only loopback addresses may be bound without a key (`0.0.0.0` and `::` are not loopback).
pub fn check_bind(addr: &SocketAddr, has_key: bool) -> Result<(), BindPolicyError> {
    if has_key || addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(BindPolicyError::NonLoopbackWithoutKey(*addr))
    }
}

/// Checks the policy for every address `host` names, then binds the first.
pub async fn bind(opts: &ServeOptions, has_key: bool) -> Result<TcpListener, BindPolicyError> {
    let addrs = resolve(&opts.host, opts.port)?;
    for a in &addrs {
        check_bind(a, has_key)?;
    }
    let addr = addrs[0];
    listen(addr).map_err(|e| BindPolicyError::Bind(addr, e))
}

/// Clients the kernel queues for `accept` (capped by `net.core.somaxconn`). std's and
/// tokio's 128 overflows when a few hundred clients connect at once — and while the
/// connection table is full, the queue is where new clients wait.
const ACCEPT_BACKLOG: u32 = 1024;

fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains (see the module docs).
/// Returns the number of connections still open when the drain gave up.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    opts: &ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> usize {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .keep_alive(true);
    let max = opts.max_connections.clamp(1, 1 << 20);
    let slots = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(s) => s,
            Err(_) => {
                crate::cutlog::note(|| {
                    format!(
                        "{max} connections open (--max-connections): new clients wait in the \
                         accept queue until one closes"
                    )
                });
                tokio::select! {
                    s = slots.clone().acquire_owned() => match s {
                        Ok(s) => s,
                        Err(_) => break,
                    },
                    _ = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(_) => {
                    // EMFILE and friends: back off instead of spinning; the server stays up.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(Peer(peer));
            Box::pin(app.clone().oneshot(req.map(Body::new)))
        });
        let conn = http.serve_connection(TokioIo::new(stream), svc);
        let stop = stop_rx.clone();
        let header_timeout = opts.header_read_timeout;
        tokio::spawn(async move {
            drive(conn, stop, peer, header_timeout).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(opts.drain_timeout, slots.acquire_many(all))
        .await
        .is_ok();
    if drained {
        0
    } else {
        (max - slots.available_permits()).max(1)
    }
}

/// Runs one connection to its end: a graceful shutdown when `stop` turns true, a 408 for a
/// request whose headers did not arrive in time (see the module docs).
async fn drive<S>(
    mut conn: http1::Connection<TokioIo<TcpStream>, S>,
    mut stop: watch::Receiver<bool>,
    peer: SocketAddr,
    header_timeout: Duration,
) where
    S: HttpService<Incoming, ResBody = Body> + Unpin,
    S::Future: Unpin,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut draining = false;
    let result = loop {
        if !draining && *stop.borrow() {
            draining = true;
            Pin::new(&mut conn).graceful_shutdown();
        }
        tokio::select! {
            r = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => break r,
            _ = stop.changed(), if !draining => {
                draining = true;
                Pin::new(&mut conn).graceful_shutdown();
            }
        }
    };
    let timed_out = matches!(&result, Err(e) if e.is_timeout());
    let parts = conn.into_parts();
    let began = parts.read_buf.len();
    let mut io = parts.io.into_inner();
    if timed_out && began > 0 {
        crate::cutlog::note(|| {
            format!(
                "408 to {peer}: request headers not complete within {} s ({began} bytes received); connection closed",
                header_timeout.as_secs_f64()
            )
        });
        let e = crate::ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Some("request_timeout"),
            format!(
                "the request headers did not arrive within the server's limit of {} s",
                header_timeout.as_secs_f64()
            ),
        );
        let body = serde_json::to_vec(&e.body()).unwrap_or_default();
        let mut out = format!(
            "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(&body);
        let _ = tokio::time::timeout(Duration::from_secs(1), io.write_all(&out)).await;
    }
    // Close our side, then read what the client still sends for a moment (a lingering close):
    // closing with unread bytes — the rest of a body cut with 408 — makes the kernel send a
    // reset, which can destroy the answer before the client reads it. A client that closes
    // too (the usual case) ends this at once.
    // An idle connection (drained, or timed out before a byte of a request) has nothing
    // unread: it is just closed.
    let idle = (draining && result.is_ok()) || (timed_out && began == 0);
    let _ = tokio::time::timeout(LINGER, async {
        let _ = io.shutdown().await;
        if idle {
            return;
        }
        let mut sink = [0u8; 4096];
        let mut left = 64 * 1024usize;
        while let Ok(n) = io.read(&mut sink).await {
            if n == 0 || n >= left {
                break;
            }
            left -= n;
        }
    })
    .await;
}

/// `opts` with `max_connections` lowered to what the open-file limit allows after
/// [`FD_RESERVE`] (a connection past it would fail with EMFILE, and so would the server's
/// own files).
fn fit_to_open_file_limit(mut opts: ServeOptions) -> ServeOptions {
    let Some(cur) = open_file_limit() else {
        return opts;
    };
    let room = cur.saturating_sub(FD_RESERVE).max(16);
    if opts.max_connections > room {
        eprintln!(
            "gradekit serve: warning: --max-connections {} is more than the open-file limit \
             ({cur}) allows with {FD_RESERVE} kept for the server's own files; using {room} \
             (raise the limit with `ulimit -n`)",
            opts.max_connections
        );
        opts.max_connections = room;
    }
    opts
}

/// The soft open-file limit, from `/proc/self/limits` (Linux; `None` elsewhere or unlimited).
fn open_file_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Resolves on SIGTERM or SIGINT.
///
/// The handlers are installed when this function is called, not when the future is first
/// polled: `serve_until_signal` calls it before printing "listening on", so a supervisor that
/// sends SIGTERM as soon as it reads that line gets a drain, never the default action (death
/// by signal, exit status lost).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {}
                _ = wait(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// `gradekit serve`: builds the runtime, binds (after the policy check), prints the address on
/// stderr, serves until SIGTERM/SIGINT and drains. Never prints the key.
///
/// Returns how many requests the drain cut without a response (0 after a clean drain); the
/// CLI exits non-zero when it is not 0, and the log line says how many.
pub fn serve_until_signal(opts: ServeOptions, state: AppState) -> Result<usize, BindPolicyError> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(BindPolicyError::Runtime)?;
    let opts = fit_to_open_file_limit(opts);
    let result = rt.block_on(async {
        let has_key = state.auth_enabled();
        let listener = bind(&opts, has_key).await?;
        let addr = listener
            .local_addr()
            .map_err(|e| BindPolicyError::Bind(SocketAddr::from(([0, 0, 0, 0], opts.port)), e))?;
        let stop = shutdown_signal();
        eprintln!(
            "gradekit serve: listening on http://{addr} (auth {}; endpoint graders: {}; OpenRLHF grader: {})",
            if has_key { "on" } else { "off" },
            match state.endpoint_grader_names() {
                v if v.is_empty() => "none".to_string(),
                v => v.join(", "),
            },
            state.openrlhf_grader_name().unwrap_or_else(|| "none".into()),
        );
        let jobs = state.config().jobs.clone();
        let app = crate::app(state.clone());
        let left = serve(listener, app, &opts, stop).await;
        let cut = if left > 0 { state.requests_in_flight() } else { 0 };
        if cut > 0 {
            eprintln!(
                "gradekit serve: drain deadline of {} s reached: {cut} request(s) cut without a response",
                opts.drain_timeout.as_secs_f64()
            );
        } else if left > 0 {
            eprintln!("gradekit serve: drain deadline reached with {left} idle connection(s) open; no request was cut");
        } else {
            eprintln!("gradekit serve: stopped");
        }
        if let Some(j) = jobs {
            // Trainers checkpoint on SIGTERM; their jobs resume on the next start.
            j.shutdown(Duration::from_secs(5));
        }
        Ok(cut)
    });
    // Grading that outlived its request (a python call past the deadline) must not hold the
    // exit: the process is leaving anyway.
    rt.shutdown_timeout(Duration::from_millis(500));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_binds_without_a_key() {
        for (host, ok) in [
            ("127.0.0.1", true),
            ("127.1.2.3", true),
            ("::1", true),
            ("[::1]", true),
            ("localhost", true),
            ("0.0.0.0", false),
            ("::", false),
            ("192.0.2.10", false),
        ] {
            let addrs = resolve(host, 8080).unwrap_or_default();
            assert!(!addrs.is_empty(), "{host}");
            let allowed = addrs.iter().all(|a| check_bind(a, false).is_ok());
            assert_eq!(allowed, ok, "{host}");
            assert!(addrs.iter().all(|a| check_bind(a, true).is_ok()));
        }
    }

    #[test]
    fn the_refusal_says_why() {
        let e = check_bind(&SocketAddr::from(([0, 0, 0, 0], 80)), false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("without an API key") && e.contains("GRADEKIT_API_KEY"),
            "{e}"
        );
    }
}
