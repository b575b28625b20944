//! Workflow webhooks, end to end: the Insightly emulator posts added and updated records to a
//! receiver of ours as a workflow would (`{"entity": {…}}`, .NET dates, Basic auth), and the
//! connector turns each post into a hint, refusing posts without the configured secret.

mod hooks;
mod insightly_common;

use connectors::{Connector, ConnectorError, EntityKind};
use hooks::Hooks;
use insightly_common::{fields, Fx};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_posts_become_hints() {
    let mut hooks = Hooks::start().await;
    let fx = Fx::start(1).await;
    fx.admin(
        Method::PUT,
        "/webhook",
        json!({"url": hooks.url, "secret": "hook-secret"}),
    )
    .await;
    let conn = fx.connector(|c| {
        c.webhook_secret = Some(connectors::your_app::config::SecretString::new(
            "hook-secret",
        ))
    });
    let c = conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"first_name": "Hooky"})),
            "c",
        )
        .await
        .expect("contact");
    let d = hooks.next().await;
    let hints = conn.parse_webhook(&d.headers, &d.body).expect("verified");
    assert_eq!(hints.len(), 1);
    assert_eq!(
        (hints[0].kind, hints[0].id.as_str()),
        (EntityKind::Contact, c.id.as_str())
    );
    assert!(!hints[0].deleted);
    assert!(d.json()["entity"]["DATE_UPDATED_UTC"]
        .as_str()
        .is_some_and(|s| s.starts_with("/Date(")));

    let t = conn
        .create(
            EntityKind::Task,
            Some(&c.id),
            &fields(json!({"title": "T"})),
            "t",
        )
        .await
        .expect("task");
    let d = hooks.next().await;
    let hints = conn.parse_webhook(&d.headers, &d.body).expect("verified");
    assert_eq!(
        (hints[0].kind, hints[0].id.as_str()),
        (EntityKind::Task, t.id.as_str())
    );
    assert_eq!(
        hints[0].parent_id.as_deref(),
        Some(c.id.as_str()),
        "the contact from LINKS"
    );
    let repeat = conn.parse_webhook(&d.headers, &d.body).expect("again");
    assert_eq!(
        repeat[0].event_id, hints[0].event_id,
        "the same post is the same event"
    );

    // Without the secret, or with another one, a post is refused.
    let plain = fx.connector(|_| {});
    assert!(
        plain.parse_webhook(&d.headers, &d.body).is_ok(),
        "no secret configured: accepted"
    );
    let other = fx.connector(|c| {
        c.webhook_secret = Some(connectors::your_app::config::SecretString::new("nope"))
    });
    assert!(matches!(
        other.parse_webhook(&d.headers, &d.body),
        Err(ConnectorError::BadWebhook(_))
    ));
    let mut stripped = d.headers.clone();
    stripped.retain(|k, _| !k.eq_ignore_ascii_case("authorization"));
    assert!(matches!(
        conn.parse_webhook(&stripped, &d.body),
        Err(ConnectorError::BadWebhook(_))
    ));
}
