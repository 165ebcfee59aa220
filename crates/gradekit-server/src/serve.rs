//! Listening: the bind policy, the accept loop, graceful shutdown.
//!
//! The accept loop is ours rather than `axum::serve` because the server needs three things
//! that one does not give: a header-read timeout (hyper's needs a timer; without one a client
//! that trickles its headers holds a connection forever — slowloris), a bound on open
//! connections, and a drain with a deadline (SIGTERM → stop accepting, let in-flight requests
//! finish, close idle keep-alive connections, give up after `drain_timeout`).
//!
//! HTTP/1.1 only, with keep-alive: what the SDKs, OpenRLHF's `requests`, Azure and load tools
//! speak to a plain-HTTP endpoint.

use crate::AppState;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub host: String,
    pub port: u16,
    /// A client must send a request's headers within this time.
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
            header_read_timeout: Duration::from_secs(20),
            drain_timeout: Duration::from_secs(9),
            max_connections: 4096,
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
    TcpListener::bind(addr)
        .await
        .map_err(|e| BindPolicyError::Bind(addr, e))
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains (see the module docs).
/// Returns the number of connections still open when the drain gave up.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    opts: &ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> usize {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, _peer) = tokio::select! {
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
        let svc = TowerToHyperService::new(app.clone());
        let conn = http.serve_connection(TokioIo::new(stream), svc);
        let watched = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = watched.await;
            drop(slot);
        });
    }
    drop(listener);
    let open = graceful.count();
    match tokio::time::timeout(opts.drain_timeout, graceful.shutdown()).await {
        Ok(()) => 0,
        Err(_) => open.max(1),
    }
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
