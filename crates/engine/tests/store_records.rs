//! Leader leases, audit queries, the connection registry, and opening/migrating.

mod store_support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use engine::store::{
    self, Backend, CallAudit, CallFilter, ChangeAudit, ChangeFilter, ChangeOp, ConnectionPatch,
    ConnectionStatus, FieldDiff, IdentityId, JobId, NewConnection, Page, SecretBlob, StoreError,
};
use serde_json::json;
use store_support::{eventually, job, store_tests, TestDb};

store_tests!(
    leader_lease_exclusive_then_takeover,
    audit_queries_with_filters,
    connections_crud,
    reopen_is_idempotent,
);

async fn leader_lease_exclusive_then_takeover(db: TestDb) {
    let other = db.open_another().await;
    let store = db.store;
    // Long enough that a slow machine cannot let it lapse between two consecutive calls.
    let ttl = Duration::from_millis(1000);
    assert!(store.try_lead("poller:ghl", "a", ttl).await.expect("lead"));
    assert!(
        !other.try_lead("poller:ghl", "b", ttl).await.expect("lead"),
        "a holds it"
    );
    assert!(
        other.try_lead("reconcile", "b", ttl).await.expect("lead"),
        "names are independent"
    );
    assert!(
        store.try_lead("poller:ghl", "a", ttl).await.expect("renew"),
        "the holder renews"
    );
    // Without renewal the lease expires and b takes over; then a is out.
    let o = other.clone();
    eventually(Duration::from_secs(10), "the lease to expire", || {
        let o = o.clone();
        async move {
            o.try_lead("poller:ghl", "b", Duration::from_secs(60))
                .await
                .expect("lead")
                .then_some(())
        }
    })
    .await;
    assert!(!store.try_lead("poller:ghl", "a", ttl).await.expect("lead"));
    assert!(
        !store
            .release_lead("poller:ghl", "a")
            .await
            .expect("release"),
        "a does not hold it"
    );
    assert!(other
        .release_lead("poller:ghl", "b")
        .await
        .expect("release"));
    assert!(
        store.try_lead("poller:ghl", "a", ttl).await.expect("lead"),
        "free after release"
    );
    other.close().await;
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("time")
}

fn call(
    secs: i64,
    connection: &str,
    app: &str,
    status: Option<u16>,
    job: Option<i64>,
) -> CallAudit {
    CallAudit {
        at: at(secs),
        connection_id: connection.into(),
        app: app.into(),
        method: "GET".into(),
        path: format!("/contacts/{secs}"),
        status,
        latency_ms: 12,
        job_id: job.map(JobId),
    }
}

fn change(secs: i64, flow: &str, identity: i64, connection: &str) -> ChangeAudit {
    ChangeAudit {
        at: at(secs),
        flow_id: flow.into(),
        identity_id: Some(IdentityId(identity)),
        connection_id: connection.into(),
        kind: "contact".into(),
        external_id: format!("x{secs}"),
        op: ChangeOp::Update,
        diff: vec![FieldDiff {
            field: "name".into(),
            before: Some(json!("A")),
            after: Some(json!("B")),
        }],
        job_id: Some(JobId(secs)),
    }
}

async fn audit_queries_with_filters(db: TestDb) {
    let store = db.store;
    store
        .record_call(call(1, "ghl", "ghl", Some(200), Some(7)))
        .await
        .expect("record");
    store
        .record_call(call(2, "ins", "insightly", Some(429), None))
        .await
        .expect("record");
    store
        .record_call(call(3, "ghl", "ghl", None, Some(8)))
        .await
        .expect("record");
    store
        .record_call(call(4, "ghl", "ghl", Some(201), Some(7)))
        .await
        .expect("record");

    let all = store.calls(&CallFilter::default()).await.expect("calls");
    assert_eq!(
        all.iter().map(|c| c.call.at).collect::<Vec<_>>(),
        vec![at(4), at(3), at(2), at(1)],
        "newest first"
    );
    assert_eq!(
        all[1].call,
        call(3, "ghl", "ghl", None, Some(8)),
        "stored as given"
    );
    let ghl = CallFilter {
        connection_id: Some("ghl".into()),
        ..Default::default()
    };
    assert_eq!(store.calls(&ghl).await.expect("calls").len(), 3);
    let by_app = CallFilter {
        app: Some("insightly".into()),
        ..Default::default()
    };
    assert_eq!(
        store.calls(&by_app).await.expect("calls")[0].call.status,
        Some(429)
    );
    let by_job = CallFilter {
        job_id: Some(JobId(7)),
        ..Default::default()
    };
    assert_eq!(store.calls(&by_job).await.expect("calls").len(), 2);
    let window = CallFilter {
        since: Some(at(2)),
        until: Some(at(4)),
        ..Default::default()
    };
    let got: Vec<_> = store
        .calls(&window)
        .await
        .expect("calls")
        .iter()
        .map(|c| c.call.at)
        .collect();
    assert_eq!(got, vec![at(3), at(2)], "since inclusive, until exclusive");
    let page = CallFilter {
        page: Page {
            limit: 2,
            offset: 1,
        },
        ..Default::default()
    };
    let got: Vec<_> = store
        .calls(&page)
        .await
        .expect("calls")
        .iter()
        .map(|c| c.call.at)
        .collect();
    assert_eq!(got, vec![at(3), at(2)]);

    store
        .record_change(change(1, "f1", 1, "ghl"))
        .await
        .expect("record");
    store
        .record_change(change(2, "f1", 2, "ins"))
        .await
        .expect("record");
    store
        .record_change(change(3, "f2", 1, "ins"))
        .await
        .expect("record");
    let all = store
        .changes(&ChangeFilter::default())
        .await
        .expect("changes");
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].change, change(3, "f2", 1, "ins"));
    let q = |f: ChangeFilter| {
        let store = store.clone();
        async move {
            store
                .changes(&f)
                .await
                .expect("changes")
                .iter()
                .map(|c| c.change.at)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        q(ChangeFilter {
            flow_id: Some("f1".into()),
            ..Default::default()
        })
        .await,
        vec![at(2), at(1)]
    );
    assert_eq!(
        q(ChangeFilter {
            identity_id: Some(IdentityId(1)),
            ..Default::default()
        })
        .await,
        vec![at(3), at(1)]
    );
    assert_eq!(
        q(ChangeFilter {
            connection_id: Some("ins".into()),
            ..Default::default()
        })
        .await,
        vec![at(3), at(2)]
    );
    assert_eq!(
        q(ChangeFilter {
            job_id: Some(JobId(2)),
            ..Default::default()
        })
        .await,
        vec![at(2)]
    );
    let combined = ChangeFilter {
        connection_id: Some("ins".into()),
        flow_id: Some("f1".into()),
        since: Some(at(0)),
        until: Some(at(10)),
        ..Default::default()
    };
    assert_eq!(q(combined).await, vec![at(2)]);
    assert_eq!(
        q(ChangeFilter {
            page: Page {
                limit: 1,
                offset: 0
            },
            ..Default::default()
        })
        .await,
        vec![at(3)]
    );
}

async fn connections_crud(db: TestDb) {
    let store = db.store;
    let new = NewConnection {
        id: "ghl-main".into(),
        app: "ghl".into(),
        name: "GHL main location".into(),
        settings: json!({"location_id": "loc1"}),
        secret: Some(SecretBlob(vec![1, 2, 3])),
        status: ConnectionStatus::Active,
    };
    let created = store.create_connection(new.clone()).await.expect("create");
    assert_eq!(
        (created.id.as_str(), created.secret.clone()),
        ("ghl-main", Some(SecretBlob(vec![1, 2, 3])))
    );
    let err = store
        .create_connection(new.clone())
        .await
        .expect_err("duplicate");
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    store
        .create_connection(NewConnection {
            id: "ins".into(),
            app: "insightly".into(),
            secret: None,
            ..new
        })
        .await
        .expect("create");
    let ids: Vec<_> = store
        .connections()
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec!["ghl-main", "ins"]);

    let patch = ConnectionPatch {
        status: Some(ConnectionStatus::NeedsReauth),
        secret: Some(None),
        ..Default::default()
    };
    let updated = store
        .update_connection("ghl-main", patch)
        .await
        .expect("update");
    assert_eq!(updated.status, ConnectionStatus::NeedsReauth);
    assert_eq!(updated.secret, None);
    assert_eq!(updated.name, "GHL main location", "unpatched fields stay");
    assert!(updated.updated_at >= created.updated_at);
    let patch = ConnectionPatch {
        name: Some("Renamed".into()),
        settings: Some(json!({"location_id": "loc2"})),
        secret: Some(Some(SecretBlob(vec![9]))),
        ..Default::default()
    };
    store
        .update_connection("ghl-main", patch)
        .await
        .expect("update");
    let got = store
        .connection("ghl-main")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (got.name.as_str(), &got.settings, &got.secret),
        (
            "Renamed",
            &json!({"location_id": "loc2"}),
            &Some(SecretBlob(vec![9]))
        )
    );
    assert_eq!(got.status, ConnectionStatus::NeedsReauth);
    let shown = serde_json::to_string(&got).expect("json");
    assert!(
        !shown.contains("secret"),
        "the secret is never serialized: {shown}"
    );

    let err = store
        .update_connection("nope", ConnectionPatch::default())
        .await
        .expect_err("missing");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert!(store.delete_connection("ins").await.expect("delete"));
    assert!(!store.delete_connection("ins").await.expect("delete again"));
    assert!(store.connection("ins").await.expect("read").is_none());
}

async fn reopen_is_idempotent(db: TestDb) {
    let store = db.store;
    let expected = if db.url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    assert_eq!(store.backend(), expected);
    let id = store.enqueue(job("f", "e")).await.expect("enqueue").job_id;
    // Opening again re-checks migrations and changes nothing.
    let again = store::open(&db.url).await.expect("reopen");
    assert_eq!(again.job(id).await.expect("read").expect("job").id, id);
    again.close().await;
    let err = store::open("mysql://user:hunter2@host/db")
        .await
        .err()
        .expect("unsupported");
    assert!(matches!(err, StoreError::UnsupportedUrl { .. }));
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let err = store::open("sqlite::memory:")
        .await
        .err()
        .expect("not durable");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
}

/// Several processes starting on a new SQLite file at once all get a migrated store.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_first_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("new.db").display());
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { store::open(&url).await })
        })
        .collect();
    for o in opens {
        let s = o.await.expect("task").expect("open");
        assert!(s.queue_stats().await.is_ok());
        s.close().await;
    }
}
