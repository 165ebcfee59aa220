//! Judge calls per second against the loopback stub, per client concurrency and stub latency.
//!
//! `cargo run --release -p gradekit-judge --features stub --example throughput`
//!
//! Callers are as many threads as the client's concurrency (what the engine's I/O pool does),
//! each making its share of the calls back to back.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use gradekit_judge::stub::{self, StubReply, StubServer};
use gradekit_judge::{
    ChatMessage, ChatRequest, ChatScorer, ClientConfig, OpenAiClient, OutputSpec, SamplingParams,
};
use serde_json::json;

fn request(i: usize) -> ChatRequest {
    ChatRequest {
        model: "gpt-4o".into(),
        messages: vec![ChatMessage::text("user", format!("Grade answer {i}"))],
        sampling: SamplingParams::default(),
        output: OutputSpec::Score { min: 0.0, max: 1.0 },
    }
}

fn main() {
    println!("latency_ms,concurrency,calls,seconds,calls_per_s,ideal_calls_per_s,max_in_flight");
    for latency_ms in [0u64, 100] {
        for concurrency in [1usize, 8, 32, 128] {
            let calls = match (latency_ms, concurrency) {
                (0, _) => 2000,
                (_, 1) => 50,
                (_, 8) => 400,
                _ => 1000,
            };
            let server = StubServer::start(move |_, _| {
                StubReply::json(&stub::completion(&stub::structured(json!(0.5))))
                    .with_delay(Duration::from_millis(latency_ms))
            });
            let client = Arc::new(
                OpenAiClient::new(ClientConfig {
                    concurrency,
                    ..ClientConfig::for_base_url(server.base_url())
                })
                .unwrap(),
            );
            // Warm the connection pool.
            client.chat(&request(0)).unwrap();
            let start = Instant::now();
            std::thread::scope(|s| {
                for t in 0..concurrency {
                    let client = Arc::clone(&client);
                    s.spawn(move || {
                        let mut i = t;
                        while i < calls {
                            client.chat(&request(i)).unwrap();
                            i += concurrency;
                        }
                    });
                }
            });
            let secs = start.elapsed().as_secs_f64();
            let ideal = if latency_ms == 0 {
                f64::NAN
            } else {
                concurrency as f64 * 1000.0 / latency_ms as f64
            };
            println!(
                "{latency_ms},{concurrency},{calls},{secs:.3},{:.1},{ideal:.1},{}",
                calls as f64 / secs,
                server.max_in_flight()
            );
        }
    }
}
