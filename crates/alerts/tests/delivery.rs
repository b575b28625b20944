//! Delivery to local receivers: webhook (with HMAC), Slack-compatible webhook, SMTP; retries;
//! no secrets in errors or Debug output.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use alerts::deliver::{sign, SIGNATURE_HEADER};
use alerts::{parse_alerts, AlertEvent, AlertStatus, Alerts, RetryPolicy};
use base64::Engine as _;

const HOOK_TOKEN: &str = "tok-7f3a9c";
const HMAC_KEY: &str = "sign-me-please";
const SMTP_PASS: &str = "hunter2-smtp";

fn config(http: SocketAddr, smtp: SocketAddr) -> alerts::AlertsConfig {
    let text = format!(
        r#"
channels:
  hook:
    type: webhook
    url: "http://{http}/hook?token=${{HOOK_TOKEN}}"
    hmac_secret: "${{HMAC_KEY}}"
  chat:
    type: slack
    url: "http://{http}/slack?token=${{HOOK_TOKEN}}"
  plain:
    type: slack
    url: "http://{http}/plain"
    blocks: false
  flaky:
    type: webhook
    url: "http://{http}/flaky?token=${{HOOK_TOKEN}}"
  gone:
    type: webhook
    url: "http://{http}/gone?token=${{HOOK_TOKEN}}"
  closed:
    type: webhook
    url: "http://127.0.0.1:9/x?token=${{HOOK_TOKEN}}"
  mail:
    type: email
    host: "127.0.0.1"
    port: {smtp_port}
    username: bridge
    password: "${{SMTP_PASS}}"
    from: bridge@example.com
    to: [ops@example.com, oncall@example.com]
rules: []
"#,
        smtp_port = smtp.port()
    );
    parse_alerts(&text, &|k| match k {
        "HOOK_TOKEN" => Some(HOOK_TOKEN.into()),
        "HMAC_KEY" => Some(HMAC_KEY.into()),
        "SMTP_PASS" => Some(SMTP_PASS.into()),
        _ => None,
    })
    .expect("valid config")
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
    }
}

fn event() -> AlertEvent {
    AlertEvent {
        rule: "dlq-growing".into(),
        kind: "dlq_growth",
        status: AlertStatus::Firing,
        summary: "7 jobs dead-lettered in the last 15m (threshold 5)\n.leading dot line".into(),
        at: chrono::Utc::now(),
    }
}

fn assert_no_secret(s: &str) {
    for secret in [HOOK_TOKEN, HMAC_KEY, SMTP_PASS] {
        assert!(!s.contains(secret), "secret leaked: {s}");
    }
}

#[test]
fn hmac_matches_rfc4231_vector() {
    assert_eq!(
        sign(b"Jefe", b"what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[tokio::test]
async fn webhook_and_slack_payloads_and_signature() {
    let (http, state) = common::http_receiver().await;
    let (smtp, _) = common::smtp_server(0).await;
    let alerts = Alerts::with_retry(config(http, smtp), fast());
    let ev = event();
    let failures = alerts
        .deliver(&ev, &["hook".into(), "chat".into(), "plain".into()])
        .await;
    assert!(failures.is_empty(), "{failures:?}");

    let got = state.got.lock().clone();
    assert_eq!(got.len(), 3);
    let hook = &got[0];
    assert_eq!(hook.route, "hook");
    assert_eq!(hook.content_type.as_deref(), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&hook.body).expect("json");
    assert_eq!(body["rule"], "dlq-growing");
    assert_eq!(body["kind"], "dlq_growth");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["summary"], ev.summary);
    assert_eq!(body["at"], serde_json::to_value(ev.at).expect("time"));
    // The receiver checks the signature with its own HMAC over the exact bytes it got.
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, HMAC_KEY.as_bytes());
    let sig = hook.signature.as_deref().expect("signature header");
    let hex = sig.strip_prefix("sha256=").expect("sha256= prefix");
    let tag: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    aws_lc_rs::hmac::verify(&key, &hook.body, &tag).expect("signature verifies");
    assert!(aws_lc_rs::hmac::verify(&key, b"tampered", &tag).is_err());
    assert_eq!(SIGNATURE_HEADER.to_ascii_lowercase(), "x-alert-signature");

    let slack: serde_json::Value = serde_json::from_slice(&got[1].body).expect("json");
    assert_eq!(got[1].route, "slack");
    assert!(got[1].signature.is_none());
    let text = slack["text"].as_str().expect("text");
    assert!(
        text.starts_with("[FIRING] dlq-growing (dlq_growth): 7 jobs"),
        "{text}"
    );
    assert_eq!(slack["blocks"][0]["type"], "section");
    assert!(slack["blocks"][0]["text"]["text"]
        .as_str()
        .expect("block")
        .contains("*FIRING* `dlq-growing`"));

    let plain: serde_json::Value = serde_json::from_slice(&got[2].body).expect("json");
    assert_eq!(
        plain.as_object().map(|o| o.len()),
        Some(1),
        "only text: {plain}"
    );
    assert!(plain["text"]
        .as_str()
        .expect("text")
        .contains("dlq-growing"));
}

#[tokio::test]
async fn retries_then_gives_up_without_leaking_secrets() {
    let (http, state) = common::http_receiver().await;
    let (smtp, _) = common::smtp_server(0).await;
    let cfg = config(http, smtp);
    assert_no_secret(&format!("{cfg:?}"));
    let alerts = Alerts::with_retry(cfg, fast());
    assert_no_secret(&format!("{alerts:?}"));

    // 503, 503, 200: delivered on the third try.
    assert!(alerts.deliver(&event(), &["flaky".into()]).await.is_empty());
    assert_eq!(
        state
            .got
            .lock()
            .iter()
            .filter(|r| r.route == "flaky")
            .count(),
        3
    );

    // 404 is not retried.
    let failures = alerts.deliver(&event(), &["gone".into()]).await;
    assert_eq!(failures.len(), 1);
    assert_eq!(
        state
            .got
            .lock()
            .iter()
            .filter(|r| r.route == "gone")
            .count(),
        1
    );
    assert!(!failures[0].retryable);
    assert!(failures[0].message.contains("404"), "{}", failures[0]);
    assert_no_secret(&failures[0].to_string());
    assert_no_secret(&format!("{:?}", failures[0]));

    // Nothing listens: retried, and the error names the channel but not the URL.
    let failures = alerts.deliver(&event(), &["closed".into()]).await;
    assert_eq!(failures.len(), 1);
    assert!(failures[0].retryable);
    assert!(
        failures[0]
            .to_string()
            .starts_with("channel `closed`: request failed"),
        "{}",
        failures[0]
    );
    assert_no_secret(&failures[0].to_string());
    assert_no_secret(&format!("{:?}", failures[0]));
}

#[tokio::test]
async fn email_over_smtp() {
    let (http, _) = common::http_receiver().await;
    let (smtp, sessions) = common::smtp_server(1).await;
    let alerts = Alerts::with_retry(config(http, smtp), fast());
    let mut ev = event();
    ev.status = AlertStatus::Resolved;
    let failures = alerts.deliver(&ev, &["mail".into()]).await;
    assert!(failures.is_empty(), "{failures:?}");

    common::wait_sessions(&sessions, 2).await;
    let sessions = sessions.lock().clone();
    assert_eq!(
        sessions.len(),
        2,
        "the first session got 451 and was retried"
    );
    let (refused, ok): (Vec<_>, Vec<_>) = sessions.iter().partition(|s| s.data.is_empty());
    assert_eq!((refused.len(), ok.len()), (1, 1));
    let quit = Some("QUIT");
    assert_eq!(
        refused[0].commands.last().map(String::as_str),
        quit,
        "refused session still ends with QUIT"
    );
    let s = ok[0];
    let auth = s
        .commands
        .iter()
        .find(|c| c.starts_with("AUTH PLAIN "))
        .expect("auth");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim_start_matches("AUTH PLAIN "))
        .expect("base64");
    assert_eq!(decoded, format!("\0bridge\0{SMTP_PASS}").into_bytes());
    assert_eq!(s.commands[0], "EHLO ghl-bridge");
    assert!(s
        .commands
        .contains(&"MAIL FROM:<bridge@example.com>".to_owned()));
    assert!(s.commands.contains(&"RCPT TO:<ops@example.com>".to_owned()));
    assert!(s
        .commands
        .contains(&"RCPT TO:<oncall@example.com>".to_owned()));
    assert_eq!(s.commands.last().map(String::as_str), Some("QUIT"));

    let (head, body) = s.data.split_once("\r\n\r\n").expect("headers and body");
    assert!(head.contains("From: <bridge@example.com>\r\n"), "{head}");
    assert!(
        head.contains("To: <ops@example.com>, <oncall@example.com>\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Subject: [RESOLVED] dlq-growing\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Content-Type: text/plain; charset=utf-8"),
        "{head}"
    );
    assert!(head.contains("Date: "), "{head}");
    assert!(
        body.starts_with("[RESOLVED] dlq-growing (dlq_growth): 7 jobs dead-lettered"),
        "{body}"
    );
    // A body line starting with `.` is dot-stuffed on the wire.
    assert!(body.contains("\r\n..leading dot line\r\n"), "{body}");
}

#[tokio::test]
async fn smtp_failure_is_reported_without_password() {
    let (http, _) = common::http_receiver().await;
    // Every session is refused at MAIL FROM.
    let (smtp, sessions) = common::smtp_server(u32::MAX).await;
    let alerts = Alerts::with_retry(config(http, smtp), fast());
    let failures = alerts.deliver(&event(), &["mail".into()]).await;
    assert_eq!(failures.len(), 1);
    common::wait_sessions(&sessions, 3).await;
    assert_eq!(sessions.lock().len(), 3, "three attempts");
    let msg = failures[0].to_string();
    assert!(msg.contains("MAIL FROM: server answered 451"), "{msg}");
    assert_no_secret(&msg);
}
