//! The admin side's rate limit and IP allowlist over real HTTP against `ghl-bridge serve`:
//! rate-limit headers on every admin answer and 429 with `Retry-After` past the burst; 403
//! outside the allowlist (flag or environment) while webhooks and health stay open; a malformed
//! block stops start-up naming it.

mod serve_support;
mod support;

use reqwest::Method;
use serde_json::Value;
use serve_support::*;
use support::*;

const TOKEN: &str = "adm-limits-3b8f0d2e-token";

/// Answer status, headers and JSON body (Null when there is none).
async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = http
        .request(method, url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (
        status,
        headers,
        r.json::<Value>().await.unwrap_or(Value::Null),
    )
}

async fn call(http: &reqwest::Client, method: Method, url: &str) -> (u16, Value) {
    let (s, _, v) = send(http, method, url).await;
    (s, v)
}

/// Asserts the admin error shape and returns the code.
fn error_code(v: &Value) -> String {
    let e = &v["error"];
    assert!(e["message"].is_string(), "no message in {v}");
    assert!(e["details"].is_object(), "no details in {v}");
    e["code"].as_str().expect("code").to_string()
}

async fn open_server(w: &World, name: &str, args: &[&str]) -> Server {
    Server::start_with(
        w,
        &w.db_url,
        name,
        args,
        &[("GHL_BRIDGE_ADMIN_TOKEN", TOKEN)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_answers_carry_rate_limits_and_429_says_when_to_retry() {
    let w = world(1, ONE_WAY).await;
    let server = open_server(&w, "rate", &["--admin-rate", "0.2:3"]).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/queue", server.url);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let (status, h, v) = send(&http, Method::GET, &url).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(h["ratelimit-limit"], "3");
        assert_eq!(h["x-ratelimit-limit"], "3");
        assert!(h.contains_key("ratelimit-reset"));
        remaining.push(h["ratelimit-remaining"].to_str().unwrap().to_string());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let (status, h, v) = send(&http, Method::GET, &url).await;
    assert_eq!(
        (status, error_code(&v).as_str()),
        (429, "rate_limited"),
        "{v}"
    );
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=5).contains(&retry), "{retry}");
    assert_eq!(v["error"]["details"]["retry_after_secs"], retry);
    assert_eq!(h["ratelimit-remaining"], "0");
    // Unauthenticated requests count too (token guessing is limited), webhooks and health do not.
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let r = http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(!r.headers().contains_key("ratelimit-limit"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_allowlist_is_403_and_webhooks_stay_open() {
    let w = world(1, ONE_WAY).await;
    let http = reqwest::Client::new();

    let server = open_server(&w, "deny", &["--admin-allow", "10.0.0.0/8,2001:db8::/32"]).await;
    let (status, v) = call(&http, Method::GET, &format!("{}/api/v1/flows", server.url)).await;
    assert_eq!(
        (status, error_code(&v).as_str()),
        (403, "forbidden_address"),
        "{v}"
    );
    assert_eq!(v["error"]["details"]["client"], "127.0.0.1");
    let r = http
        .get(format!("{}/api/openapi.json", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // The webhook route answers as usual (here: an unsigned delivery is refused as unverified,
    // not as a forbidden address).
    let r = http
        .post(format!("{}/webhooks/ghl", server.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status().as_u16(), 403);
    drop(server);

    // From the environment, allowing loopback: served.
    let server = Server::start_with(
        &w,
        &w.db_url,
        "allow",
        &[],
        &[
            ("GHL_BRIDGE_ADMIN_TOKEN", TOKEN),
            ("GHL_BRIDGE_ADMIN_ALLOW", "127.0.0.0/8,::1/128"),
        ],
    )
    .await;
    let (status, v) = call(&http, Method::GET, &format!("{}/api/v1/flows", server.url)).await;
    assert_eq!(status, 200, "{v}");
    assert!(
        server.log_text().contains("admin API restricted"),
        "{}",
        server.log_text()
    );

    // A bad block stops start-up, naming it.
    let out = std::process::Command::new(BIN)
        .args(["serve", "--project"])
        .arg(&w.project)
        .args(["--admin-allow", "10.0.0.0/40"])
        .output()
        .expect("run serve");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("10.0.0.0/40") && err.contains("0 to 32"),
        "{err}"
    );
}
