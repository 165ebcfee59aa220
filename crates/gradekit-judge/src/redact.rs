//! Keeping credentials out of every message.
//!
//! A judge URL may carry credentials (`http://user:pass@host/v1`, `…/v1?api_key=…`), and the
//! key may be echoed back by a server in an error body. Error details travel far — into
//! `model_grader_server_error_details` of every response, the CLI's summary, server logs — so
//! the client never puts the raw URL in a message ([`Redactor::shown_url`] has no userinfo and
//! no query values), and every message it returns passes through [`Redactor::apply`], which
//! replaces each secret (the key, the URL's user and password and its query values, raw and
//! percent-decoded) wherever it appears.

use crate::config::ApiKey;

/// What stands in for a secret.
pub const REDACTED: &str = "***";

/// The secrets of one client configuration and its URL as shown in messages.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
    shown: String,
}

/// Secrets shorter than this are not replaced inside other text: one or two characters are no
/// secret worth the garbling (the URL shown never contains them anyway).
const MIN_SECRET_LEN: usize = 3;

impl Redactor {
    /// For a client of `base_url` with `key`.
    pub fn new(base_url: &str, key: Option<&ApiKey>) -> Redactor {
        let mut secrets: Vec<String> = Vec::new();
        let mut add = |s: &str| {
            let decoded = percent_decode(s);
            for v in [s.to_string(), decoded] {
                if v.len() >= MIN_SECRET_LEN && !secrets.contains(&v) {
                    secrets.push(v);
                }
            }
        };
        if let Some(k) = key {
            add(k.expose());
        }
        let parsed = reqwest::Url::parse(base_url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"));
        let shown = match parsed {
            Some(mut u) => {
                add(u.username());
                if let Some(p) = u.password() {
                    add(p);
                }
                if !u.username().is_empty() || u.password().is_some() {
                    // The HTTP client sends userinfo as `Authorization: Basic base64(user:pass)`
                    // (decoded), and a server may echo that header back.
                    let (user, pass) = (u.username(), u.password().unwrap_or(""));
                    for pair in [
                        format!("{user}:{pass}"),
                        format!("{}:{}", percent_decode(user), percent_decode(pass)),
                    ] {
                        let b64 = base64(pair.as_bytes());
                        add(&b64);
                        add(b64.trim_end_matches('='));
                    }
                }
                if let Some(q) = u.query() {
                    add(q);
                    for pair in q.split('&') {
                        if let Some((_, v)) = pair.split_once('=') {
                            add(v);
                        }
                    }
                }
                if let Some(f) = u.fragment() {
                    add(f);
                }
                let _ = u.set_username("");
                let _ = u.set_password(None);
                let keys: Vec<String> = u.query_pairs().map(|(k, _)| k.into_owned()).collect();
                if keys.is_empty() {
                    u.set_query(None);
                } else {
                    u.query_pairs_mut()
                        .clear()
                        .extend_pairs(keys.iter().map(|k| (k.as_str(), REDACTED)));
                }
                u.set_fragment(None);
                u.to_string()
            }
            // Not an http(s) URL: nothing of it is shown.
            None => {
                add(base_url.trim());
                "<the configured judge URL>".to_string()
            }
        };
        // Longest first, so that a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets, shown }
    }

    /// The base URL as messages show it: no userinfo, query values replaced.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }
}

/// Standard base64 with padding (what HTTP Basic authentication sends).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `%XX` sequences decoded (invalid ones kept); `+` is left alone.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The endpoint as messages show it: `path` under the (redacted) base URL, before its query
/// (`…/v1/chat/completions?api-version=***`, as `OpenAiClient::endpoint` builds the request).
pub(crate) fn shown_endpoint(shown_base: &str, path: &str) -> String {
    match shown_base.split_once('?') {
        Some((base, q)) => format!("{}/{path}?{q}", base.trim_end_matches('/')),
        None => format!("{}/{path}", shown_base.trim_end_matches('/')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_query_and_key_never_show() {
        let r = Redactor::new(
            "http://alice:s3cr%40t@judge.example:8080/v1?api_key=KEY123&team=x#frag",
            Some(&ApiKey::new("sk-live-abc")),
        );
        let shown = r.shown_url();
        assert!(!shown.contains("alice") && !shown.contains("s3cr") && !shown.contains("KEY123"));
        assert!(
            shown.starts_with("http://judge.example:8080/v1?api_key=***"),
            "{shown}"
        );
        let msg = "failed for http://alice:s3cr%40t@judge.example:8080/v1?api_key=KEY123 \
                   (password s3cr@t, key sk-live-abc)";
        let clean = r.apply(msg);
        for s in ["alice", "s3cr", "KEY123", "sk-live-abc"] {
            assert!(!clean.contains(s), "{s} in {clean}");
        }
        assert!(clean.contains("judge.example"));
    }

    #[test]
    fn plain_urls_are_shown_as_they_are() {
        let r = Redactor::new("https://api.openai.com/v1", None);
        assert_eq!(r.shown_url(), "https://api.openai.com/v1");
        assert_eq!(r.apply("HTTP 500 from x"), "HTTP 500 from x");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%zz"), "A%zz");
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"usr:PASSWORDX"), "dXNyOlBBU1NXT1JEWA==");
    }

    #[test]
    fn shown_endpoints_put_the_path_before_the_query() {
        assert_eq!(
            super::shown_endpoint("http://h:1/v1?api_key=***", "chat/completions"),
            "http://h:1/v1/chat/completions?api_key=***"
        );
        assert_eq!(
            super::shown_endpoint("https://api.openai.com/v1/", "embeddings"),
            "https://api.openai.com/v1/embeddings"
        );
    }
}
