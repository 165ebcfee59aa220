//! Who is looking: sign-in with the API key, and sessions.
//!
//! **The choice.** Three ways were on the table for a browser to use a bearer-key API:
//! 1. a `?key=` in the link, dropped from the address bar by a script at once — but by then
//!    the key is in the history, in proxies' and servers' access logs, and in `Referer`s;
//! 2. a login form that keeps the key in `sessionStorage` and a script that sends it as a
//!    bearer header — then any script that ever runs in the page (one missed escape, one
//!    compromised dependency) can read the key;
//! 3. a login form that POSTs the key once; the server answers with a cookie holding a random
//!    **session id** (never the key), `HttpOnly` (no script can read it), `SameSite=Strict`
//!    (no other site can make the browser send it: no cross-site request forgery), `Path=/`.
//!
//! The third is the safest and is what this module does: the key crosses the wire once, in a
//! request body (never logged), and lives in no page, URL, history or browser storage. A
//! stolen session id is worth less than the key: it opens only the dashboard's read-only
//! pages, expires ([`SESSION_TTL`]), ends at sign-out, and dies with the server process
//! (sessions are kept in memory only). POSTs to `/login` and `/logout` must also come from the
//! dashboard itself (`Origin` / `Sec-Fetch-Site` checked), so another site cannot sign a
//! browser in or out. A wrong key waits [`FAILED_LOGIN_DELAY`] before the answer, which with
//! the server's concurrency limit bounds guessing.
//!
//! Session ids are 32 bytes from the OS's generator, hex-encoded; the table holds their
//! SHA-256 digests (a memory dump does not give usable cookies) and is bounded
//! ([`MAX_SESSIONS`], oldest dropped first).

use axum::http::{header, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The cookie's name.
pub(crate) const COOKIE: &str = "gradekit_session";
/// Lifetime of a session.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once.
pub(crate) const MAX_SESSIONS: usize = 4096;
/// Time a failed sign-in waits before its answer.
pub(crate) const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(400);

#[derive(Debug)]
struct Session {
    project: Arc<str>,
    expires: Instant,
}

/// The session table (in memory).
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// Starts a session for `project`; returns its id (for the cookie), or `None` when the OS
    /// has no randomness to give (no guessable id is ever made).
    pub(crate) fn start(&self, project: Arc<str>) -> Option<String> {
        let mut raw = [0u8; 32];
        getrandom::getrandom(&mut raw).ok()?;
        let id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut map = self.map.lock().ok()?;
        map.retain(|_, s| s.expires > now);
        while map.len() >= MAX_SESSIONS {
            let oldest = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k)?;
            map.remove(&oldest);
        }
        map.insert(
            digest(&id),
            Session {
                project,
                expires: now + SESSION_TTL,
            },
        );
        Some(id)
    }

    /// The project of a live session.
    pub(crate) fn project(&self, id: &str) -> Option<Arc<str>> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let map = self.map.lock().ok()?;
        map.get(&digest(id))
            .filter(|s| s.expires > Instant::now())
            .map(|s| s.project.clone())
    }

    /// Ends a session.
    pub(crate) fn end(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(&digest(id));
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// The session id in the request's cookies.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_string())
}

/// The `Set-Cookie` of a new session.
pub(crate) fn set_cookie(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL.as_secs()
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("gradekit_session=; Path=/; Max-Age=0"))
}

/// The `Set-Cookie` that removes the session cookie.
pub(crate) fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("gradekit_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The project whose key `key` is, compared in constant time against every configured key's
/// digest (all are compared, so timing says nothing about which or how many matched).
pub(crate) fn project_of_key(keys: &[([u8; 32], Arc<str>)], key: &str) -> Option<Arc<str>> {
    let d: [u8; 32] = Sha256::digest(key.trim().as_bytes()).into();
    let mut found = None;
    for (digest, project) in keys {
        if bool::from(d.ct_eq(digest)) {
            found = Some(project.clone());
        }
    }
    found
}

/// True when a state-changing request (sign-in, sign-out) comes from the dashboard's own
/// pages. Browsers send `Sec-Fetch-Site` (pages cannot forge it): it must be `same-origin`
/// (or `none`: typed or bookmarked). Without it, an `Origin` header, when sent, must name the
/// host the request was sent to (`null` is refused). Clients that send neither (curl,
/// scripts) are not browsers carrying someone else's cookies.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(o) => {
            let host = headers.get(header::HOST).map(HeaderValue::as_bytes);
            let origin = o.as_bytes();
            let bare = origin
                .strip_prefix(b"http://")
                .or_else(|| origin.strip_prefix(b"https://"));
            matches!((bare, host), (Some(b), Some(h)) if b == h)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sessions_start_resolve_and_end() {
        let s = Sessions::default();
        let id = s.start(Arc::from("proj_a")).unwrap();
        assert_eq!(id.len(), 64);
        assert_eq!(s.project(&id).as_deref(), Some("proj_a"));
        let other = s.start(Arc::from("proj_a")).unwrap();
        assert_ne!(id, other, "ids are random");
        assert!(s.project("0".repeat(64).as_str()).is_none());
        assert!(s.project("not hex").is_none());
        s.end(&id);
        assert!(s.project(&id).is_none());
        assert!(s.project(&other).is_some());
    }

    #[test]
    fn the_table_is_bounded() {
        let s = Sessions::default();
        for _ in 0..MAX_SESSIONS + 5 {
            s.start(Arc::from("p")).unwrap();
        }
        assert_eq!(s.len(), MAX_SESSIONS);
    }

    #[test]
    fn cookies_never_hold_the_key_and_are_strict() {
        let c = set_cookie("ab12");
        let c = c.to_str().unwrap();
        assert!(c.starts_with("gradekit_session=ab12;"));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; gradekit_session=xyz ; b=2"),
        );
        assert_eq!(session_cookie(&h).as_deref(), Some("xyz"));
    }

    #[test]
    fn keys_map_to_projects() {
        let keys = vec![
            (Sha256::digest(b"k1").into(), Arc::from("p1")),
            (Sha256::digest(b"k2").into(), Arc::from("p2")),
        ];
        assert_eq!(project_of_key(&keys, "k2").as_deref(), Some("p2"));
        assert_eq!(project_of_key(&keys, " k1\n").as_deref(), Some("p1"));
        assert!(project_of_key(&keys, "k3").is_none());
        assert!(project_of_key(&keys, "").is_none());
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h));
        // A same-origin form post under a strict referrer policy says `Origin: null`.
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(same_origin(&h));
        h.remove("sec-fetch-site");
        assert!(!same_origin(&h));
    }
}
