//! The body budget (`--max-inflight-body`) over real loopback sockets: a body holds what it has
//! sent, not what it declares, so clients that keep the minimum body rate while declaring
//! large bodies cannot keep honest requests out; the budget is never exceeded, and a share
//! comes back when its request ends, fails or disconnects.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use gradekit_server::serve::ServeOptions;
use gradekit_server::{AppState, ServerConfig};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

type Stop = tokio::sync::oneshot::Sender<()>;

/// Starts a server; returns its address, its state (to watch the budget) and how to stop it.
async fn start(config: ServerConfig) -> (SocketAddr, AppState, Stop, JoinHandle<usize>) {
    let opts = ServeOptions {
        host: "127.0.0.1".into(),
        port: 0,
        header_read_timeout: Duration::from_secs(5),
        drain_timeout: Duration::from_secs(2),
        max_connections: 1024,
    };
    serve_app(config, opts).await
}

/// A client that sends `head`, then `body` in pieces of `piece` bytes every `every`, reading
/// the answer as it goes; ends with the answer (or why there was none). Aborting it closes
/// the connection.
fn client(
    addr: SocketAddr,
    head: String,
    body: Vec<u8>,
    piece: usize,
    every: Duration,
) -> JoinHandle<Result<(u16, String), String>> {
    tokio::spawn(async move {
        let mut c = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        c.write_all(head.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut sent = 0;
        let mut got = Vec::new();
        let mut buf = vec![0u8; 16 << 10];
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick(), if sent < body.len() => {
                    let end = (sent + piece).min(body.len());
                    // A server that stopped reading: stop writing, read what it said.
                    sent = if c.write_all(&body[sent..end]).await.is_ok() { end } else { body.len() };
                }
                r = c.read(&mut buf) => match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        got.extend_from_slice(&buf[..n]);
                        if let Some(answer) = parse_response(&got) {
                            return Ok(answer);
                        }
                    }
                },
            }
        }
        parse_response(&got)
            .ok_or_else(|| format!("no answer: {:?}", String::from_utf8_lossy(&got)))
    })
}

/// The head of a `/run` request; `None`: chunked, no declared length.
fn head(declared: Option<usize>) -> String {
    let length = match declared {
        Some(n) => format!("Content-Length: {n}"),
        None => "Transfer-Encoding: chunked".to_string(),
    };
    format!("POST {RUN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{length}\r\n\r\n")
}

/// `body` in chunked framing, one chunk per `piece` bytes.
fn chunked_framing(body: &[u8], piece: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in body.chunks(piece) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// A valid `/run` body of about `size` bytes (reward 1.0).
fn run_body(size: usize) -> Vec<u8> {
    let pad = "y".repeat(size.saturating_sub(200));
    json!({"grader": string_check("eq"), "model_sample": "x", "item": {"answer": "x", "pad": pad}})
        .to_string()
        .into_bytes()
}

/// Watches the budget every millisecond until stopped: the most it held.
fn watch(state: AppState) -> (Arc<AtomicBool>, JoinHandle<usize>) {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let h = tokio::spawn(async move {
        let mut most = 0;
        while !s.load(Ordering::SeqCst) {
            most = most.max(state.body_budget_held());
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        most
    });
    (stop, h)
}

/// Waits until nothing holds the budget (a share comes back when its request ends).
async fn budget_returns(state: &AppState) {
    for _ in 0..500 {
        if state.body_budget_held() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} bytes of the budget never came back",
        state.body_budget_held()
    );
}

/// 16 clients declare 16 MiB bodies each (8 times a 32 MiB budget) and send them at twice
/// the minimum rate: under the old rule (the declared length reserved up front) the first two
/// held the whole budget and every honest request was refused for as long as they kept the
/// pace. Now they hold what they sent, and honest requests, small and large, are graded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_declaring_large_bodies_do_not_keep_honest_requests_out() {
    let budget = 32 << 20;
    let config = ServerConfig {
        max_inflight_body: budget,
        body_timeout: Duration::from_secs(2),
        ..ServerConfig::default()
    };
    assert_eq!(config.body_min_rate, 64 << 10);
    let (addr, state, stop, server) = start(config).await;
    let (watching, most) = watch(state.clone());
    let declared = gradekit_server::DEFAULT_MAX_BODY;
    let slow: Vec<_> = (0..16)
        .map(|_| {
            // 32 KiB every 250 ms: 128 KiB/s, twice the minimum rate; 2 minutes to finish.
            client(
                addr,
                head(Some(declared)),
                vec![b' '; declared],
                32 << 10,
                Duration::from_millis(250),
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let small = String::from_utf8(run_body(300)).unwrap();
    for i in 0..20 {
        let answer = client(
            addr,
            head(Some(small.len())),
            small.clone().into_bytes(),
            small.len(),
            Duration::from_millis(1),
        )
        .await
        .unwrap();
        let (status, text) = answer.unwrap();
        assert_eq!(
            status, 200,
            "honest request {i} while 16 clients trickle: {text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["reward"], 1.0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A large honest body (8 MiB, a quarter of the budget) as well.
    let big = run_body(8 << 20);
    let (status, text) = client(
        addr,
        head(Some(big.len())),
        big,
        1 << 20,
        Duration::from_millis(1),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(status, 200, "{}", &text[..text.len().min(300)]);
    // The slow clients are still sending, each holding what it sent (plus at most a step).
    let held = state.body_budget_held();
    assert!(held >= 16 << 16, "the slow bodies are counted: {held}");
    assert!(
        held <= 16 * (2 << 20),
        "the slow bodies hold what they sent: {held}"
    );
    for s in &slow {
        assert!(
            !s.is_finished(),
            "a slow client was cut or refused: {:?}",
            s
        );
    }
    // Disconnecting gives their shares back.
    for s in slow {
        s.abort();
        let _ = s.await;
    }
    budget_returns(&state).await;
    watching.store(true, Ordering::SeqCst);
    assert!(most.await.unwrap() <= budget);
    let _ = stop.send(());
    assert_eq!(server.await.unwrap(), 0);
}

/// 24 clients send ~1 MiB bodies at once (declared and chunked) against a 3 MiB budget, and
/// 4 more vanish halfway: the budget is never exceeded; every client gets 200 or the budget's
/// 429 envelope, some of each; everything held comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_is_never_exceeded() {
    let budget = 3 << 20;
    let config = ServerConfig {
        max_body: 1 << 20,
        max_inflight_body: budget,
        ..ServerConfig::default()
    };
    let (addr, state, stop, server) = start(config).await;
    let (watching, most) = watch(state.clone());
    let body = run_body(1_000_000);
    let piece = 64 << 10;
    let every = Duration::from_millis(10);
    let mut clients = Vec::new();
    for i in 0..24 {
        clients.push(if i % 2 == 0 {
            client(addr, head(Some(body.len())), body.clone(), piece, every)
        } else {
            client(addr, head(None), chunked_framing(&body, 4096), piece, every)
        });
    }
    let vanishing: Vec<_> = (0..4)
        .map(|_| client(addr, head(Some(body.len())), body.clone(), piece, every))
        .collect();
    tokio::time::sleep(Duration::from_millis(80)).await;
    for v in vanishing {
        v.abort();
    }
    let (ok, busy) = (AtomicUsize::new(0), AtomicUsize::new(0));
    for c in clients {
        let (status, text) = c.await.unwrap().unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        match status {
            200 => {
                assert_eq!(v["reward"], 1.0);
                ok.fetch_add(1, Ordering::SeqCst);
            }
            429 => {
                assert_eq!(v["error"]["code"], "server_busy", "{text}");
                assert!(v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("3145728 bytes of request bodies"));
                busy.fetch_add(1, Ordering::SeqCst);
            }
            s => panic!("{s}: {text}"),
        }
    }
    let (ok, busy) = (ok.into_inner(), busy.into_inner());
    eprintln!("{ok} graded, {busy} refused");
    assert!(ok >= 1 && busy >= 1, "{ok} graded, {busy} refused");
    budget_returns(&state).await;
    watching.store(true, Ordering::SeqCst);
    let most = most.await.unwrap();
    assert!(most <= budget, "held {most} of {budget}");
    assert!(most > 2 << 20, "the bodies did fill the budget: {most}");
    let _ = stop.send(());
    assert_eq!(server.await.unwrap(), 0);
}
