//! The sandbox's request log: every API call with its status and timing, so tests (and later the
//! engine's crash tests) can prove what was and was not sent. Tokens are never recorded.

use std::collections::VecDeque;

use parking_lot::Mutex;
use serde_json::Value;

/// How many entries the log keeps before dropping the oldest.
pub const LOG_CAPACITY: usize = 200_000;

/// One API call as the sandbox saw it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    pub seq: u64,
    pub at: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub operation_id: Option<String>,
    pub app_id: Option<String>,
    pub location_id: Option<String>,
    pub status: u16,
    pub latency_us: u64,
    /// Request body of writes (first 4 KiB), parsed when it is JSON.
    pub body: Option<Value>,
    /// The fault injected into this call, if any.
    pub fault: Option<String>,
}

/// Bounded, ordered log.
#[derive(Debug, Default)]
pub struct RequestLog {
    inner: Mutex<(u64, VecDeque<LoggedRequest>)>,
}

impl RequestLog {
    /// Appends an entry, numbering it.
    pub fn push(&self, mut entry: LoggedRequest) {
        let mut g = self.inner.lock();
        g.0 += 1;
        entry.seq = g.0;
        if g.1.len() >= LOG_CAPACITY {
            g.1.pop_front();
        }
        g.1.push_back(entry);
    }

    /// Entries with `seq > since`, at most `limit`, oldest first.
    pub fn since(&self, since: u64, limit: usize) -> Vec<LoggedRequest> {
        let g = self.inner.lock();
        g.1.iter()
            .filter(|e| e.seq > since)
            .take(limit)
            .cloned()
            .collect()
    }

    /// Empties the log (numbering goes on).
    pub fn clear(&self) {
        self.inner.lock().1.clear();
    }
}
/// What the log keeps of a request body: none for reads and empty bodies, else its first 4 KiB
/// as JSON when it parses, as text when it does not. Every emulator logs bodies this way.
pub fn body_excerpt(method: &str, bytes: &[u8]) -> Option<serde_json::Value> {
    (method != "GET" && !bytes.is_empty()).then(|| {
        let cut = &bytes[..bytes.len().min(4096)];
        serde_json::from_slice::<serde_json::Value>(cut).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(cut).into_owned())
        })
    })
}
