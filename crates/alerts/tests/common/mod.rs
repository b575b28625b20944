//! Local receivers for delivery tests: an axum app recording webhook posts, and a tiny SMTP
//! server recording sessions.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request the HTTP receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub route: String,
    pub signature: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Default)]
pub struct HttpState {
    pub got: Mutex<Vec<Received>>,
    pub flaky_calls: AtomicU32,
}

async fn record(
    State(s): State<Arc<HttpState>>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    s.got.lock().push(Received {
        route: route.clone(),
        signature: h("x-alert-signature"),
        content_type: h("content-type"),
        body: body.to_vec(),
    });
    match route.as_str() {
        // Fails twice, then accepts: exercises retries.
        "flaky" if s.flaky_calls.fetch_add(1, Ordering::SeqCst) < 2 => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        "gone" => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}

/// Starts the HTTP receiver: `POST /{route}` (any one-segment route) records and answers 200,
/// except `flaky` (503 twice, then 200) and `gone` (404).
pub async fn http_receiver() -> (SocketAddr, Arc<HttpState>) {
    let state = Arc::new(HttpState::default());
    let app = Router::new()
        .route("/{route}", post(record))
        .with_state(state.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (addr, state)
}

/// One SMTP session as the server saw it.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub commands: Vec<String>,
    pub data: String,
}

/// Starts an SMTP server speaking EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT. The first
/// `reject_first` sessions get `451` to MAIL FROM (a temporary failure to retry).
pub async fn smtp_server(reject_first: u32) -> (SocketAddr, Arc<Mutex<Vec<Session>>>) {
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let out = sessions.clone();
    tokio::spawn(async move {
        let mut n = 0u32;
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            n += 1;
            let reject = n <= reject_first;
            let out = out.clone();
            tokio::spawn(async move {
                let session = smtp_session(sock, reject).await;
                out.lock().push(session);
            });
        }
    });
    (addr, sessions)
}

async fn smtp_session(sock: tokio::net::TcpStream, reject: bool) -> Session {
    let mut s = Session::default();
    let mut io = BufReader::new(sock);
    let _ = io
        .get_mut()
        .write_all(b"220 test.local ESMTP ready\r\n")
        .await;
    loop {
        let mut line = String::new();
        if io.read_line(&mut line).await.unwrap_or(0) == 0 {
            return s;
        }
        let line = line.trim_end().to_owned();
        s.commands.push(line.clone());
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-test.local\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("AUTH PLAIN") {
            b"235 2.7.0 ok\r\n"
        } else if upper.starts_with("MAIL FROM") {
            if reject {
                b"451 4.3.0 try again later\r\n"
            } else {
                b"250 ok\r\n"
            }
        } else if upper.starts_with("RCPT TO") {
            b"250 ok\r\n"
        } else if upper == "DATA" {
            let _ = io.get_mut().write_all(b"354 go ahead\r\n").await;
            loop {
                let mut l = String::new();
                if io.read_line(&mut l).await.unwrap_or(0) == 0 {
                    return s;
                }
                if l == ".\r\n" {
                    break;
                }
                s.data.push_str(&l);
            }
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = io.get_mut().write_all(b"221 bye\r\n").await;
            return s;
        } else {
            b"502 unknown\r\n"
        };
        let _ = io.get_mut().write_all(reply).await;
    }
}

/// Waits (up to 2 s) until `n` sessions are recorded: the server records a session when the
/// client hangs up, which can be just after the client's call returned.
pub async fn wait_sessions(sessions: &Mutex<Vec<Session>>, n: usize) {
    for _ in 0..200 {
        if sessions.lock().len() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
