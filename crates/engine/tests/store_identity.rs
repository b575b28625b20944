//! Identity links, match keys, snapshots and cursors.

mod store_support;

use engine::store::{CursorSet, IdentityId, KeyConflict, Link, SnapshotPut, StoreError};
use serde_json::json;
use store_support::{store_tests, TestDb};

store_tests!(
    resolve_by_link_then_key_then_new,
    strongest_key_wins,
    links_and_keys,
    snapshots_and_cursors,
);

fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|k| k.to_string()).collect()
}

async fn resolve_by_link_then_key_then_new(db: TestDb) {
    let store = db.store;
    let ada = keys(&["email:ada@example.com", "phone:+15551234567"]);
    let first = store
        .resolve_identity("contact", "ghl", "g1", &ada)
        .await
        .expect("resolve");
    assert!(first.created);
    // Same record again: found by its link.
    let again = store
        .resolve_identity("contact", "ghl", "g1", &[])
        .await
        .expect("resolve");
    assert_eq!(
        (again.identity_id, again.created),
        (first.identity_id, false)
    );
    // The other side's record with the same phone: found by key, and linked.
    let other = store
        .resolve_identity(
            "contact",
            "ins",
            "i9",
            &keys(&["phone:+15551234567", "email:ada.l@example.org"]),
        )
        .await
        .expect("resolve");
    assert_eq!(
        (other.identity_id, other.created),
        (first.identity_id, false)
    );
    let link = store
        .find_link("ins", "contact", "i9")
        .await
        .expect("find")
        .expect("linked");
    assert_eq!(link.identity_id, first.identity_id);
    // Its new email was attached, so a third app's record with it matches too.
    assert_eq!(
        store.keys_of(first.identity_id).await.expect("keys"),
        keys(&[
            "email:ada.l@example.org",
            "email:ada@example.com",
            "phone:+15551234567"
        ])
    );
    let third = store
        .resolve_identity("contact", "sn", "s1", &keys(&["email:ada.l@example.org"]))
        .await
        .expect("resolve");
    assert_eq!(third.identity_id, first.identity_id);
    // Someone else is a new identity; keys are per kind.
    let bob = store
        .resolve_identity("contact", "ghl", "g2", &keys(&["email:bob@example.com"]))
        .await
        .expect("resolve");
    assert!(bob.created);
    assert_ne!(bob.identity_id, first.identity_id);
    let biz = store
        .resolve_identity("business", "ghl", "b1", &keys(&["email:ada@example.com"]))
        .await
        .expect("resolve");
    assert!(
        biz.created,
        "a business with the same email is not the contact"
    );
    // Invalid input is refused with a reason.
    let err = store
        .resolve_identity("contact", "ghl", "", &[])
        .await
        .expect_err("empty id");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    let err = store
        .resolve_identity("contact", "ghl", "g3", &keys(&[""]))
        .await
        .expect_err("empty key");
    assert!(err.to_string().contains("identity key"), "{err}");
}

async fn strongest_key_wins(db: TestDb) {
    let store = db.store;
    let by_email = store
        .resolve_identity("contact", "ghl", "g1", &keys(&["email:a@x.io"]))
        .await
        .expect("r");
    let by_phone = store
        .resolve_identity("contact", "ghl", "g2", &keys(&["phone:+1555"]))
        .await
        .expect("r");
    // Keys listed strongest first: the email owner wins over the phone owner, in either order of
    // creation.
    let r = store
        .resolve_identity(
            "contact",
            "ins",
            "i1",
            &keys(&["email:a@x.io", "phone:+1555"]),
        )
        .await
        .expect("r");
    assert_eq!(r.identity_id, by_email.identity_id);
    let r = store
        .resolve_identity(
            "contact",
            "ins",
            "i2",
            &keys(&["phone:+1555", "email:a@x.io"]),
        )
        .await
        .expect("r");
    assert_eq!(r.identity_id, by_phone.identity_id);
}

async fn links_and_keys(db: TestDb) {
    let store = db.store;
    let a = store
        .resolve_identity("contact", "ghl", "g1", &keys(&["email:a@x.io"]))
        .await
        .expect("r")
        .identity_id;
    let b = store
        .resolve_identity("contact", "ghl", "g2", &keys(&["email:b@x.io"]))
        .await
        .expect("r")
        .identity_id;
    store
        .resolve_identity("contact", "ins", "i1", &keys(&["email:a@x.io"]))
        .await
        .expect("r");
    let links = store.links_of(a).await.expect("links");
    assert_eq!(
        links,
        vec![
            Link {
                identity_id: a,
                connection_id: "ghl".into(),
                kind: "contact".into(),
                external_id: "g1".into()
            },
            Link {
                identity_id: a,
                connection_id: "ins".into(),
                kind: "contact".into(),
                external_id: "i1".into()
            },
        ]
    );
    let conflicts = store
        .add_keys(a, &keys(&["phone:+1", "email:b@x.io", "email:a@x.io"]))
        .await
        .expect("add");
    assert_eq!(
        conflicts,
        vec![KeyConflict {
            key: "email:b@x.io".into(),
            identity_id: b
        }]
    );
    assert_eq!(
        store.keys_of(a).await.expect("keys"),
        keys(&["email:a@x.io", "phone:+1"])
    );
    assert!(matches!(
        store.add_keys(IdentityId(9_999), &keys(&["x:y"])).await,
        Err(StoreError::NotFound { .. })
    ));

    assert!(store
        .remove_link("ins", "contact", "i1")
        .await
        .expect("remove"));
    assert!(!store
        .remove_link("ins", "contact", "i1")
        .await
        .expect("remove again"));
    assert!(store
        .find_link("ins", "contact", "i1")
        .await
        .expect("find")
        .is_none());
    assert_eq!(store.links_of(a).await.expect("links").len(), 1);
    // An unlinked record with a known key finds its identity again.
    let r = store
        .resolve_identity("contact", "ins", "i1", &keys(&["email:a@x.io"]))
        .await
        .expect("r");
    assert_eq!((r.identity_id, r.created), (a, false));
}

async fn snapshots_and_cursors(db: TestDb) {
    let store = db.store;
    let a = store
        .resolve_identity("contact", "ghl", "g1", &[])
        .await
        .expect("r")
        .identity_id;
    assert!(store.snapshot(a, "ins").await.expect("read").is_none());
    let put = SnapshotPut {
        identity_id: a,
        connection_id: "ins".into(),
        peer: String::new(),
        fields: json!({"name": "Ada"}),
        hash: "h1".into(),
    };
    store.put_snapshot(put.clone()).await.expect("put");
    store
        .put_snapshot(SnapshotPut {
            fields: json!({"name": "Ada L"}),
            hash: "h2".into(),
            ..put
        })
        .await
        .expect("put");
    let s = store
        .snapshot(a, "ins")
        .await
        .expect("read")
        .expect("snapshot");
    assert_eq!(
        (s.fields, s.hash.as_str()),
        (json!({"name": "Ada L"}), "h2")
    );
    assert!(store.snapshot(a, "ghl").await.expect("read").is_none());
    // One snapshot per sync partner: a sync with `crm` does not see the one with `inv`.
    for (peer, hash) in [("crm", "hc"), ("inv", "hi")] {
        store
            .put_snapshot(SnapshotPut {
                identity_id: a,
                connection_id: "ghl".into(),
                peer: peer.into(),
                fields: json!({"peer": peer}),
                hash: hash.into(),
            })
            .await
            .expect("put");
    }
    let with = |peer: &'static str| {
        let store = store.clone();
        async move { store.snapshot_with(a, "ghl", peer).await.expect("read") }
    };
    assert_eq!(with("crm").await.map(|s| s.hash), Some("hc".to_string()));
    assert_eq!(
        with("inv").await.map(|s| (s.hash, s.peer)),
        Some(("hi".into(), "inv".into()))
    );
    assert!(
        with("ins").await.is_none(),
        "no snapshot with a third partner"
    );
    assert!(with("").await.is_none());
    assert!(
        store.snapshot(a, "ghl").await.expect("read").is_some(),
        "the latest of any partner"
    );
    let bad = SnapshotPut {
        identity_id: IdentityId(777),
        connection_id: "ins".into(),
        peer: String::new(),
        fields: json!({}),
        hash: "h".into(),
    };
    assert!(
        store.put_snapshot(bad).await.is_err(),
        "snapshots need an identity"
    );

    assert_eq!(store.cursor("ghl", "contacts").await.expect("read"), None);
    for v in ["c1", "c2"] {
        store
            .set_cursor(CursorSet {
                connection_id: "ghl".into(),
                stream: "contacts".into(),
                value: v.into(),
            })
            .await
            .expect("set");
    }
    assert_eq!(
        store
            .cursor("ghl", "contacts")
            .await
            .expect("read")
            .as_deref(),
        Some("c2")
    );
    assert_eq!(store.cursor("ghl", "tasks").await.expect("read"), None);
}
