//! Whatever a judge sends, parsing never panics: every input is a reply or a `JudgeError`.
#![allow(clippy::unwrap_used)]

use gradekit_judge::parse::{chat_reply_from_body, embed_reply_from_body, extract_json};
use gradekit_judge::ChatReply;
use proptest::prelude::*;

fn reply(content: String, finish: Option<String>, refusal: Option<String>) -> ChatReply {
    ChatReply {
        content: Some(content),
        refusal,
        finish_reason: finish,
        model: "m".into(),
        ..Default::default()
    }
}

proptest! {
    #[test]
    fn arbitrary_bodies(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = chat_reply_from_body(&bytes, "m");
        let _ = embed_reply_from_body(&bytes, "m", 2);
    }

    #[test]
    fn arbitrary_content(
        content in ".{0,200}",
        finish in proptest::option::of("stop|length|x"),
        refusal in proptest::option::of(".{0,20}"),
    ) {
        let labels = vec!["a".to_string(), "b".to_string()];
        let r = reply(content.clone(), finish, refusal);
        if let Ok(x) = r.score() {
            prop_assert!(x.is_finite());
        }
        if let Ok(l) = r.label(&labels) {
            prop_assert!(labels.contains(&l));
        }
        let _ = extract_json(&content);
    }

    #[test]
    fn json_shaped_content(content in r#"[\{\}\[\]":,0-9a-z .e\-`]{0,120}"#) {
        let r = reply(content, Some("stop".into()), None);
        let _ = r.score();
        let _ = r.label(&["a".to_string()]);
    }

    #[test]
    fn completions_with_arbitrary_json_fields(
        content in proptest::option::of(".{0,40}"),
        model in ".{0,10}",
        prompt in any::<u64>(),
        completion in any::<u64>(),
    ) {
        let body = serde_json::json!({
            "model": model,
            "choices": [{"message": {"content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion}
        });
        let r = chat_reply_from_body(body.to_string().as_bytes(), "m").unwrap();
        prop_assert_eq!(r.usage.prompt_tokens, prompt);
        prop_assert_eq!(r.usage.total_tokens, prompt.saturating_add(completion));
    }
}
