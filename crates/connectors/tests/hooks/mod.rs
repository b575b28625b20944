//! A webhook receiver on 127.0.0.1:0 for the connector tests: it answers 200 and hands every
//! delivery over a channel, so tests wait for a delivery, never for a fixed time.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::Value;
use tokio::sync::mpsc;

/// One webhook delivery as a receiver gets it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
    /// The body's `type` (GHL's and the REST contract's name for the event type).
    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_string()
    }
}

/// A webhook receiver: every POST to `url` is answered 200 and handed to `next`.
pub struct Hooks {
    pub url: String,
    rx: mpsc::UnboundedReceiver<Delivery>,
}

impl Hooks {
    pub async fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let tx = tx.clone();
                async move {
                    let headers = headers
                        .iter()
                        .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
                        .collect();
                    let _ = tx.send(Delivery {
                        headers,
                        body: body.to_vec(),
                    });
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        Self { url, rx }
    }

    /// The next delivery (fails the test after 10 s without one).
    pub async fn next(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("a webhook delivery within 10 s")
            .expect("receiver open")
    }

    /// The next delivery of this event type; others are skipped.
    pub async fn next_of(&mut self, event_type: &str) -> Delivery {
        loop {
            let d = self.next().await;
            if d.event_type() == event_type {
                return d;
            }
        }
    }
}
