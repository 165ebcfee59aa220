//! Object ids (OpenAI's prefixes, random alphanumerics) and the clock.

use std::time::{SystemTime, UNIX_EPOCH};

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `n` random alphanumerics from the OS's generator (rejection sampling: no modulo bias).
pub fn random_alnum(n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        if getrandom::getrandom(&mut buf).is_err() {
            // No OS randomness: fall back on the clock and a counter (ids stay unique).
            let t = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            for (i, b) in buf.iter_mut().enumerate() {
                *b = (t >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(151);
            }
        }
        for &b in &buf {
            if b < 248 && out.len() < n {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// A new id: `prefix` + 24 alphanumerics (`file-…`, `ftjob-…`, `ftckpt_…`, `cp_…`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", random_alnum(24))
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// True when `s` looks like an id with `prefix` (bounded, safe in a path).
pub fn is_id(s: &str, prefix: &str) -> bool {
    s.len() <= 128
        && s.strip_prefix(prefix)
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_their_prefix_and_differ() {
        let a = new_id("ftjob-");
        let b = new_id("ftjob-");
        assert!(is_id(&a, "ftjob-") && a.len() == 30 && a != b);
        assert!(!is_id("ftjob-../x", "ftjob-"));
        assert!(!is_id("file-", "file-"));
    }
}
