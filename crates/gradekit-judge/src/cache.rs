//! The on-disk judge cache (`--judge-cache DIR`).
//!
//! Content-addressed: the key is the SHA-256 of the canonical JSON (object keys sorted, no
//! whitespace) of `{endpoint, base_url, body}`, where `body` is the request body as first built
//! (model, messages, sampling parameters, response format). A re-run with the same grader and
//! data therefore makes no calls, and any change to what would be sent is a miss.
//!
//! Entries are written to a unique temporary file in the entry's directory and renamed into
//! place, so concurrent writers (threads or processes sharing the directory) never expose a torn
//! file: a reader sees either no entry or a whole one. An unreadable or corrupt entry is a miss.
//! Only successful, interpretable replies are stored (the client's decision): errors are never
//! cached.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Format version folded into every key, so an incompatible entry layout is a miss, not a crash.
const CACHE_VERSION: u32 = 1;

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A directory of cached judge replies.
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
}

/// `v` with every object's keys sorted (recursively), for hashing.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The cache key of a request: lowercase hex SHA-256.
pub fn cache_key(endpoint: &str, base_url: &str, body: &Value) -> String {
    let material = serde_json::json!({
        "version": CACHE_VERSION,
        "endpoint": endpoint,
        "base_url": base_url,
        "body": body,
    });
    let digest = Sha256::digest(canonical(&material).to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl DiskCache {
    /// Opens (creating) the cache directory.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, key: &str) -> PathBuf {
        let shard = key.get(..2).unwrap_or("__");
        self.dir.join(shard).join(format!("{key}.json"))
    }

    /// The stored value for `key`, or `None` when absent or unreadable.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let bytes = fs::read(self.entry_path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores `value` under `key` atomically (temp file + rename).
    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> io::Result<()> {
        let path = self.entry_path(key);
        let parent = path.parent().unwrap_or(&self.dir);
        fs::create_dir_all(parent)?;
        let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
        let tmp = parent.join(format!(
            ".{key}.{}.{}.tmp",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn key_ignores_key_order_but_not_content() {
        let a = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "seed": 1});
        let b = json!({"seed": 1, "messages": [{"content": "x", "role": "user"}], "model": "m"});
        let c = json!({"seed": 2, "messages": [{"content": "x", "role": "user"}], "model": "m"});
        assert_eq!(cache_key("chat", "u", &a), cache_key("chat", "u", &b));
        assert_ne!(cache_key("chat", "u", &a), cache_key("chat", "u", &c));
        assert_ne!(cache_key("chat", "u", &a), cache_key("chat", "v", &a));
        assert_ne!(cache_key("chat", "u", &a), cache_key("embed", "u", &a));
        assert_eq!(cache_key("chat", "u", &a).len(), 64);
    }

    #[test]
    fn roundtrip_and_corrupt_entries_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path().join("c")).unwrap();
        let key = cache_key("chat", "u", &json!({"a": 1}));
        assert_eq!(cache.get::<Value>(&key), None);
        cache.put(&key, &json!({"x": [1, 2]})).unwrap();
        assert_eq!(cache.get::<Value>(&key), Some(json!({"x": [1, 2]})));
        fs::write(cache.entry_path(&key), b"{\"x\": [1,").unwrap();
        assert_eq!(cache.get::<Value>(&key), None);
    }

    #[test]
    fn concurrent_writers_leave_a_whole_entry_and_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path()).unwrap();
        let key = cache_key("chat", "u", &json!({"a": 2}));
        let value = json!({"content": "y".repeat(100_000)});
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..10 {
                        cache.put(&key, &value).unwrap();
                        if let Some(v) = cache.get::<Value>(&key) {
                            assert_eq!(v, value);
                        }
                    }
                });
            }
        });
        assert_eq!(cache.get::<Value>(&key), Some(value));
        let shard = cache.entry_path(&key).parent().unwrap().to_path_buf();
        let names: Vec<_> = fs::read_dir(shard).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
