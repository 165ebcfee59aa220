//! Slow clients over real loopback sockets: a crowd trickling request bodies and headers a
//! byte at a time cannot keep a normal `/run` request waiting, is cut with 408 after the body
//! and header timeouts, and a large body sent at loopback speed still succeeds.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use gradekit_server::serve::ServeOptions;
use gradekit_server::ServerConfig;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Starts a server; returns its address and the sender that stops it.
async fn start(
    config: ServerConfig,
    opts: ServeOptions,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    JoinHandle<usize>,
) {
    let (addr, _, stop, server) = serve_app(config, opts).await;
    (addr, stop, server)
}

fn options(max_connections: usize) -> ServeOptions {
    ServeOptions {
        host: "127.0.0.1".into(),
        port: 0,
        header_read_timeout: Duration::from_secs(1),
        drain_timeout: Duration::from_secs(2),
        max_connections,
    }
}

fn cheap() -> String {
    json!({"grader": string_check("eq"), "model_sample": "x", "item": {"answer": "x"}}).to_string()
}

/// One normal `/run` on a fresh connection: its status and body.
async fn run_once(addr: SocketAddr, body: &str) -> (u16, String) {
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(&request(body)).await.unwrap();
    read_response(&mut c).await
}

/// A client that sends `head` then one byte of `rest` every `every` until it is cut off or
/// runs out; returns the server's answer (or why there was none).
fn trickle(
    addr: SocketAddr,
    head: Vec<u8>,
    rest: Vec<u8>,
    every: Duration,
) -> JoinHandle<Result<(u16, String), String>> {
    tokio::spawn(async move {
        let mut c = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        c.write_all(&head).await.map_err(|e| e.to_string())?;
        let (mut r, mut w) = c.into_split();
        let writer = tokio::spawn(async move {
            for b in rest {
                tokio::time::sleep(every).await;
                if w.write_all(&[b]).await.is_err() {
                    return w;
                }
            }
            w
        });
        let mut joined = {
            let mut s = Vec::new();
            // Read the answer on the read half while the writer trickles.
            let mut chunk = [0u8; 4096];
            loop {
                use tokio::io::AsyncReadExt;
                match r.read(&mut chunk).await {
                    Ok(0) => break,
                    Err(e) => {
                        if s.is_empty() {
                            return Err(format!("read failed: {e}"));
                        }
                        break;
                    }
                    Ok(n) => s.extend_from_slice(&chunk[..n]),
                }
            }
            s
        };
        writer.abort();
        let text = String::from_utf8_lossy(&joined).to_string();
        joined.clear();
        let Some(end) = text.find("\r\n\r\n") else {
            return Err(format!("no answer: {text:?}"));
        };
        let status = text[9..12].parse::<u16>().map_err(|e| e.to_string())?;
        Ok((status, text[end + 4..].to_string()))
    })
}

/// 300 clients trickling bodies and 40 trickling headers, against 256 request slots: a
/// normal request is answered at once (a request takes its slot only once its body is in),
/// every slow client is cut with a 408 envelope after the timeouts, and a 16 MiB body at
/// loopback speed is graded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_crowd_cannot_block_a_normal_request() {
    let config = ServerConfig {
        body_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    };
    assert_eq!(config.concurrency, 256);
    let (addr, stop, server) = start(config, options(1024)).await;
    let body_len = 1000;
    let mut slow = Vec::new();
    for _ in 0..300 {
        let head = format!(
            "POST {RUN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n"
        );
        slow.push(trickle(
            addr,
            head.into_bytes(),
            vec![b' '; body_len],
            Duration::from_millis(200),
        ));
    }
    for _ in 0..40 {
        slow.push(trickle(
            addr,
            format!("POST {RUN} HTTP/1.1\r\n").into_bytes(),
            b"Host: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".to_vec(),
            Duration::from_millis(200),
        ));
    }
    // Let every slow client get its headers (or first bytes) in.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, text) = run_once(addr, &cheap()).await;
    assert_eq!(
        status, 200,
        "a normal request while 340 clients trickle: {text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["reward"], 1.0);

    // Every slow client is cut, with a 408 and the envelope where the socket allowed one.
    let mut told = 0;
    for (i, s) in slow.into_iter().enumerate() {
        let answer = tokio::time::timeout(Duration::from_secs(15), s)
            .await
            .expect("a slow client was not cut")
            .unwrap();
        if let Err(why) = &answer {
            eprintln!("no 408 (client {i}): {why}");
        }
        if let Ok((status, body)) = answer {
            assert_eq!(status, 408, "{body}");
            let e: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(e["error"]["code"], "request_timeout", "{body}");
            assert_eq!(e["error"]["type"], "invalid_request_error", "{body}");
            told += 1;
        }
    }
    eprintln!("{told} of 340 slow clients read their 408");
    assert_eq!(told, 340, "slow clients that did not read their 408");

    // A large body sent at loopback speed is well within its pace.
    let pad = "y".repeat(gradekit_server::DEFAULT_MAX_BODY - 200);
    let big = json!({"grader": string_check("eq"), "model_sample": "x",
        "item": {"answer": "x", "pad": pad}})
    .to_string();
    assert!(big.len() <= gradekit_server::DEFAULT_MAX_BODY && big.len() > 16_000_000);
    let (status, text) = run_once(addr, &big).await;
    assert_eq!(status, 200, "{}", &text[..text.len().min(300)]);
    let _ = stop.send(());
    assert_eq!(server.await.unwrap(), 0);
}

/// With every connection slot held by clients that never finish their headers, a new client
/// waits in the accept queue only until the header timeout frees a slot, then is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_connection_table_frees_up_after_the_header_timeout() {
    let (addr, stop, server) = start(ServerConfig::default(), options(8)).await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"POST / HTTP/1.1\r\n").await.unwrap();
        idle.push(c);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let (status, _) = tokio::time::timeout(Duration::from_secs(10), run_once(addr, &cheap()))
        .await
        .expect("the new client was never served");
    assert_eq!(status, 200);
    // It had to wait for the header timeout (1 s) to cut the slow ones.
    assert!(
        t.elapsed() >= Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    for mut c in idle {
        let (status, _) = read_response(&mut c).await;
        assert_eq!(status, 408);
    }
    let _ = stop.send(());
    assert_eq!(server.await.unwrap(), 0);
}
