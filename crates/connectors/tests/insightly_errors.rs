//! How the Insightly connector's failures reach the engine, against the emulator over real
//! HTTP: a wrong key asks for a reconnect (without the key in the message), refused data is
//! rejected naming the field, 5xx and a spent daily quota are temporary, a short `Retry-After`
//! is waited out, and the budget follows the `X-RateLimit-*` headers.

mod insightly_common;

use connectors::{Connector, ConnectorError, EntityKind};
use insightly_common::{fields, Fx};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_map_to_what_the_engine_can_do() {
    let fx = Fx::start(2).await;
    let wrong =
        fx.connector(|c| c.api_key = connectors::your_app::config::SecretString::new("wrong-key"));
    let e = wrong.get(EntityKind::Contact, "1", None).await;
    assert!(
        matches!(&e, Err(ConnectorError::Reconnect(m)) if !m.contains("wrong-key")),
        "{e:?}"
    );
    assert!(
        fx.conn
            .get(EntityKind::Contact, "1", None)
            .await
            .unwrap()
            .is_none(),
        "404 is None"
    );
    let bad = fx
        .conn
        .create(
            EntityKind::Appointment,
            Some("1"),
            &fields(json!({"title": "x"})),
            "k",
        )
        .await;
    assert!(matches!(bad, Err(ConnectorError::Rejected(_))));
    let c = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"first_name": "E"})),
            "c",
        )
        .await
        .expect("contact");
    let no_start = fx
        .conn
        .create(
            EntityKind::Appointment,
            Some(&c.id),
            &fields(json!({"title": "x"})),
            "k",
        )
        .await;
    assert!(
        matches!(&no_start, Err(ConnectorError::Rejected(m)) if m.contains("START_DATE_UTC")),
        "{no_start:?}"
    );

    fx.admin(
        Method::PUT,
        "/faults",
        json!({"rules": [{"route": "get-contacts-id", "errorRate": 1.0}]}),
    )
    .await;
    let e = fx.conn.get(EntityKind::Contact, &c.id, None).await;
    assert!(matches!(e, Err(ConnectorError::Transient(_))), "{e:?}");
    fx.admin(Method::PUT, "/faults", json!({"rules": []})).await;

    // The daily budget: spent → 429 with a Retry-After of hours → Transient at once.
    fx.admin(
        Method::PUT,
        "/quota",
        json!({"daily_quota": 100, "used": 100}),
    )
    .await;
    let e = fx.conn.get(EntityKind::Contact, &c.id, None).await;
    assert!(
        matches!(&e, Err(ConnectorError::Transient(m)) if m.contains("retry after")),
        "{e:?}"
    );
    let b = fx.conn.budget().expect("budget");
    assert_eq!((b.daily_max, b.daily_remaining), (100, 0));
    assert_eq!(b.daily_left(), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_rate_limit_wait_is_honoured() {
    let fx = Fx::start(1).await;
    fx.admin(Method::PUT, "/quota", json!({"per_second": 1}))
        .await;
    // Three calls with a cap of one per second: the second and third wait Retry-After: 1.
    let started = std::time::Instant::now();
    for _ in 0..3 {
        fx.conn.check().await.expect("waited out, not failed");
    }
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    let refused = fx
        .requests()
        .await
        .iter()
        .filter(|r| r["status"] == 429)
        .count();
    assert!(refused >= 1, "the cap was hit and waited out");
}
