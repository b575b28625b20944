//! Workflow webhooks. The v3.1 API has no webhook subscriptions; an Insightly workflow
//! automation can instead POST a record to a URL when it is added or updated. The body is
//! `{"entity": {<FIELD>: value, …}}` with .NET dates `"/Date(1489116850787)/"`, and Basic auth
//! is optional (support.insight.ly article 115004250428, Knowledge article 1420). Deletes fire
//! nothing.
//!
//! Here one workflow per emulator posts every added or updated contact, organisation, task,
//! note and event to the configured URL, in order, one attempt each (what Insightly does on a
//! failure is undocumented), with `Authorization: Basic base64("insightly:<secret>")` when a
//! secret is set.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::schema::{parse_time, Obj, Ty};

/// Deliveries kept for the admin API.
const LOG_CAPACITY: usize = 1_000;

/// Where workflow posts go.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowTarget {
    pub url: Option<String>,
    /// Basic-auth password of the posts (user name `insightly`); none: no auth header.
    pub secret: Option<String>,
}

/// One post, as the admin API lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HookDelivery {
    pub object: String,
    pub id: i64,
    pub url: String,
    /// The receiver's status; `None` when it could not be reached.
    pub status: Option<u16>,
    pub error: Option<String>,
}

struct Post {
    object: Obj,
    id: i64,
    target: WorkflowTarget,
    body: Value,
}

/// The configured target and the delivery worker.
pub struct WorkflowHooks {
    target: Mutex<WorkflowTarget>,
    tx: mpsc::UnboundedSender<Post>,
    log: Arc<Mutex<VecDeque<HookDelivery>>>,
}

/// `"/Date(<ms>)/"`, the .NET JSON date of workflow posts.
pub fn dotnet_date(text: &str) -> Option<String> {
    parse_time(text).map(|t| format!("/Date({})/", t.timestamp_millis()))
}

/// A record as a workflow posts it: its fields, dates in the .NET form.
pub fn entity(obj: Obj, record: &Value) -> Value {
    let mut m: Map<String, Value> = record.as_object().cloned().unwrap_or_default();
    for (k, v) in m.iter_mut() {
        let is_time = k.starts_with("DATE_") && k.ends_with("_UTC")
            || obj.field(k).is_some_and(|f| f.ty == Ty::Time);
        if let (true, Value::String(s)) = (is_time, &*v) {
            if let Some(d) = dotnet_date(s) {
                *v = Value::String(d);
            }
        }
    }
    json!({ "entity": m })
}

impl WorkflowHooks {
    /// Starts the delivery worker (needs a Tokio runtime).
    pub fn new(target: WorkflowTarget) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Post>();
        let log: Arc<Mutex<VecDeque<HookDelivery>>> = Arc::default();
        let worker_log = log.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .ok();
            while let Some(p) = rx.recv().await {
                let Some(url) = p.target.url.clone() else {
                    continue;
                };
                let mut d = HookDelivery {
                    object: p.object.plural().to_string(),
                    id: p.id,
                    url: url.clone(),
                    status: None,
                    error: None,
                };
                match &client {
                    Some(c) => {
                        let mut rb = c.post(&url).json(&p.body);
                        if let Some(s) = &p.target.secret {
                            let token = STANDARD.encode(format!("insightly:{s}"));
                            rb = rb.header("authorization", format!("Basic {token}"));
                        }
                        match rb.send().await {
                            Ok(r) => d.status = Some(r.status().as_u16()),
                            Err(e) => d.error = Some(e.without_url().to_string()),
                        }
                    }
                    None => d.error = Some("no HTTP client".into()),
                }
                let mut log = worker_log.lock();
                if log.len() >= LOG_CAPACITY {
                    log.pop_front();
                }
                log.push_back(d);
            }
        });
        Self {
            target: Mutex::new(target),
            tx,
            log,
        }
    }

    pub fn target(&self) -> WorkflowTarget {
        self.target.lock().clone()
    }

    pub fn set_target(&self, target: WorkflowTarget) {
        *self.target.lock() = target;
    }

    /// Queues the post of a changed record (nothing when no URL is set).
    pub fn emit(&self, obj: Obj, record: Value) {
        let target = self.target();
        if target.url.is_none() {
            return;
        }
        let id = record
            .get(obj.id_field())
            .and_then(Value::as_i64)
            .unwrap_or_default();
        let _ = self.tx.send(Post {
            object: obj,
            id,
            target,
            body: entity(obj, &record),
        });
    }

    /// Posts made so far, oldest first.
    pub fn deliveries(&self) -> Vec<HookDelivery> {
        self.log.lock().iter().cloned().collect()
    }

    pub fn clear(&self) {
        self.log.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_take_the_dotnet_form() {
        let e = entity(
            Obj::Task,
            &json!({"TASK_ID": 1, "DUE_DATE": "2017-03-10 03:34:10", "TITLE": "2017-03-10 03:34:10",
                    "DATE_UPDATED_UTC": "1970-01-01 00:00:01"}),
        );
        assert_eq!(e["entity"]["DUE_DATE"], "/Date(1489116850000)/");
        assert_eq!(e["entity"]["DATE_UPDATED_UTC"], "/Date(1000)/");
        assert_eq!(
            e["entity"]["TITLE"], "2017-03-10 03:34:10",
            "not a date field"
        );
    }
}
