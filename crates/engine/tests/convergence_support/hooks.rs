//! A webhook receiver on 127.0.0.1:0 that answers 200 and keeps every delivery (headers and the
//! exact body bytes) until the test hands it to the engine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use tokio::task::JoinHandle;

/// One delivery as the receiver got it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// A running receiver.
pub struct Hooks {
    pub url: String,
    got: Arc<Mutex<Vec<Delivery>>>,
    task: JoinHandle<()>,
}

impl Hooks {
    pub async fn start() -> Self {
        let got: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let sink = got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let sink = sink.clone();
                async move {
                    let headers = headers
                        .iter()
                        .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
                        .collect();
                    sink.lock().expect("hooks lock").push(Delivery {
                        headers,
                        body: body.to_vec(),
                    });
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a webhook receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, got, task }
    }

    /// Every delivery received since the last call, in arrival order.
    pub fn take(&self) -> Vec<Delivery> {
        std::mem::take(&mut *self.got.lock().expect("hooks lock"))
    }

    pub fn stop(self) {
        self.task.abort();
    }
}
