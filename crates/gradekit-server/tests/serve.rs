//! The accept loop over real loopback sockets: keep-alive, slowloris, graceful shutdown, bind
//! policy.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use gradekit_engine::EngineOptions;
use gradekit_server::serve::{bind, serve, BindPolicyError, ServeOptions};
use gradekit_server::{app, ConfiguredGraders, ServerConfig};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn options() -> ServeOptions {
    ServeOptions {
        host: "127.0.0.1".into(),
        port: 0,
        header_read_timeout: Duration::from_millis(500),
        drain_timeout: Duration::from_secs(5),
        max_connections: 64,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_slowloris_and_graceful_shutdown() {
    let opts = options();
    let listener = bind(&opts, false).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = state_with(
        ServerConfig::default(),
        engine_with_judge(Duration::from_millis(600)),
        ConfiguredGraders::default(),
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let o = options();
        serve(listener, app(state), &o, async {
            let _ = stop_rx.await;
        })
        .await
    });

    // Two requests on one keep-alive connection.
    let mut c = TcpStream::connect(addr).await.unwrap();
    let body = json!({"grader": string_check("eq"), "model_sample": "x", "item": {"answer": "x"}})
        .to_string();
    for _ in 0..2 {
        c.write_all(&request(&body)).await.unwrap();
        let (status, text) = read_response(&mut c).await;
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["reward"], 1.0);
    }

    // A client that trickles its headers is cut off after the header-read timeout.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /v1/fine_tuning/alpha/graders/run HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let t = Instant::now();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut sink)).await;
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "slow client kept for {:?}",
        t.elapsed()
    );
    // It began a request, so it is told why (an idle keep-alive connection is just closed).
    let told = String::from_utf8_lossy(&sink);
    assert!(
        told.starts_with("HTTP/1.1 408") && told.contains("\"code\":\"request_timeout\""),
        "{told}"
    );

    // A request in flight when shutdown starts still gets its answer.
    let mut inflight = TcpStream::connect(addr).await.unwrap();
    let judge = json!({"grader": score_model(), "model_sample": "x"}).to_string();
    inflight.write_all(&request(&judge)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop_tx.send(()).unwrap();
    let (status, text) = read_response(&mut inflight).await;
    assert_eq!(status, 200, "{text}");
    let left = tokio::time::timeout(Duration::from_secs(8), server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left, 0);
    // Nothing listens any more.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn non_loopback_bind_needs_a_key() {
    let opts = ServeOptions {
        host: "0.0.0.0".into(),
        ..options()
    };
    match bind(&opts, false).await {
        Err(BindPolicyError::NonLoopbackWithoutKey(a)) => assert!(a.ip().is_unspecified()),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // With a key the same address binds.
    assert!(bind(&opts, true).await.is_ok());
    let _ = EngineOptions::default();
}
