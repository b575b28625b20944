//! Job completion: links, snapshots, audit changes and cursors commit together with the job, or
//! not at all.

mod store_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use engine::store::{
    ChangeAudit, ChangeFilter, ChangeOp, Commit, CursorSet, FieldDiff, IdentityId, JobId, JobState,
    Link, LinkRef, SnapshotPut, Store, StoreError,
};
use serde_json::json;
use store_support::{eventually, job, micros_now, store_tests, TestDb};

const LONG: Duration = Duration::from_secs(60);

store_tests!(
    commit_applies_everything,
    failed_commit_writes_nothing,
    lost_lease_commit_writes_nothing,
    commit_is_never_half_visible,
    completion_releases_the_workers_lock_and_only_its_own,
);

/// A commit that links `ins:contact:<n>` to `identity`, snapshots it, audits it and moves a cursor.
fn commit_for(identity: IdentityId, job_id: JobId, n: u32) -> Commit {
    Commit {
        links: vec![Link {
            identity_id: identity,
            connection_id: "ins".into(),
            kind: "contact".into(),
            external_id: format!("i-{n}"),
        }],
        unlinks: vec![],
        snapshots: vec![SnapshotPut {
            identity_id: identity,
            connection_id: "ins".into(),
            peer: String::new(),
            fields: json!({"email": "ada@example.com", "n": n}),
            hash: format!("h{n}"),
        }],
        changes: vec![ChangeAudit {
            at: micros_now(),
            flow_id: "sync".into(),
            identity_id: Some(identity),
            connection_id: "ins".into(),
            kind: "contact".into(),
            external_id: format!("i-{n}"),
            op: ChangeOp::Create,
            diff: vec![FieldDiff {
                field: "email".into(),
                before: None,
                after: Some(json!("ada@example.com")),
            }],
            job_id: Some(job_id),
        }],
        cursors: vec![CursorSet {
            connection_id: "ghl".into(),
            stream: "contacts".into(),
            value: format!("cursor-{n}"),
        }],
        release_lease: None,
    }
}

async fn leased_job(store: &Arc<dyn Store>, worker: &str, ttl: Duration) -> JobId {
    let id = store
        .enqueue(job("sync", "ghl:contact:g1"))
        .await
        .expect("enqueue")
        .job_id;
    let claimed = store.claim(worker, 1, ttl).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    id
}

async fn identity(store: &Arc<dyn Store>) -> IdentityId {
    store
        .resolve_identity("contact", "ghl", "g1", &["email:ada@example.com".into()])
        .await
        .expect("resolve")
        .identity_id
}

/// What of a commit is visible: (link, snapshot, change records, cursor).
async fn visible(store: &Arc<dyn Store>, n: u32) -> (bool, bool, usize, bool) {
    let link = store
        .find_link("ins", "contact", &format!("i-{n}"))
        .await
        .expect("link")
        .is_some();
    let snap = store
        .snapshot(IdentityId(1), "ins")
        .await
        .expect("snapshot")
        .is_some_and(|s| s.hash == format!("h{n}"));
    let changes = store
        .changes(&ChangeFilter::default())
        .await
        .expect("changes")
        .len();
    let cursor =
        store.cursor("ghl", "contacts").await.expect("cursor") == Some(format!("cursor-{n}"));
    (link, snap, changes, cursor)
}

async fn commit_applies_everything(db: TestDb) {
    let store = db.store;
    let who = identity(&store).await;
    assert_eq!(who, IdentityId(1));
    let id = leased_job(&store, "w1", LONG).await;
    store
        .complete(id, "w1", commit_for(who, id, 1))
        .await
        .expect("complete");
    assert_eq!(visible(&store, 1).await, (true, true, 1, true));
    assert_eq!(
        store.job(id).await.expect("read").expect("job").state,
        JobState::Done
    );
    let change = &store
        .changes(&ChangeFilter::default())
        .await
        .expect("changes")[0];
    assert_eq!(change.change.job_id, Some(id));
    assert_eq!(change.change.diff[0].after, Some(json!("ada@example.com")));
    let links = store.links_of(who).await.expect("links");
    assert_eq!(links.len(), 2, "the ghl record and the new ins record");

    // A later job can unlink and re-point.
    let id2 = store
        .enqueue(job("sync", "ghl:contact:g1"))
        .await
        .expect("enqueue")
        .job_id;
    store.claim("w1", 1, LONG).await.expect("claim");
    let unlink = Commit {
        unlinks: vec![LinkRef {
            connection_id: "ins".into(),
            kind: "contact".into(),
            external_id: "i-1".into(),
        }],
        ..Default::default()
    };
    store.complete(id2, "w1", unlink).await.expect("complete");
    assert!(store
        .find_link("ins", "contact", "i-1")
        .await
        .expect("link")
        .is_none());
}

async fn failed_commit_writes_nothing(db: TestDb) {
    let store = db.store;
    let who = identity(&store).await;
    let id = leased_job(&store, "w1", LONG).await;
    let mut bad = commit_for(who, id, 1);
    // The last snapshot names an identity that does not exist: the database rejects it after
    // the job row, the link, the first snapshot... were already written in the transaction.
    bad.snapshots.push(SnapshotPut {
        identity_id: IdentityId(424_242),
        connection_id: "ins".into(),
        peer: String::new(),
        fields: json!({}),
        hash: "x".into(),
    });
    let err = store.complete(id, "w1", bad).await.expect_err("must fail");
    assert!(matches!(err, StoreError::Database { .. }), "{err}");
    assert_eq!(
        visible(&store, 1).await,
        (false, false, 0, false),
        "nothing of the commit is visible"
    );
    let j = store.job(id).await.expect("read").expect("job");
    assert_eq!(
        (j.state, j.lease_owner.as_deref()),
        (JobState::Leased, Some("w1")),
        "still leased"
    );
    // Fixing the commit completes the job.
    store
        .complete(id, "w1", commit_for(who, id, 1))
        .await
        .expect("complete");
    assert_eq!(visible(&store, 1).await, (true, true, 1, true));
}

async fn lost_lease_commit_writes_nothing(db: TestDb) {
    let store = db.store;
    let who = identity(&store).await;
    let id = leased_job(&store, "w1", Duration::from_millis(50)).await;
    let s = store.clone();
    eventually(
        Duration::from_secs(10),
        "w2 to take over the expired lease",
        || {
            let s = s.clone();
            async move { s.claim("w2", 1, LONG).await.expect("claim").pop() }
        },
    )
    .await;
    let err = store
        .complete(id, "w1", commit_for(who, id, 1))
        .await
        .expect_err("lease lost");
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err}");
    assert_eq!(visible(&store, 1).await, (false, false, 0, false));
    let j = store.job(id).await.expect("read").expect("job");
    assert_eq!(
        (j.state, j.lease_owner.as_deref()),
        (JobState::Leased, Some("w2"))
    );
    store
        .complete(id, "w2", commit_for(who, id, 2))
        .await
        .expect("w2 completes");
    assert_eq!(visible(&store, 2).await, (true, true, 1, true));
}

async fn commit_is_never_half_visible(db: TestDb) {
    let reader_store = db.open_another().await;
    let store = db.store;
    let who = identity(&store).await;
    let id = leased_job(&store, "w1", LONG).await;
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut seen_after = 0u32;
            // Reads the cursor first and the link last: a link without the cursor is fine (the
            // commit landed in between), a cursor without the link would be a torn commit.
            while !stop.load(Ordering::SeqCst) || seen_after == 0 {
                let cursor = reader_store
                    .cursor("ghl", "contacts")
                    .await
                    .expect("cursor")
                    .is_some();
                let changes = reader_store
                    .changes(&ChangeFilter::default())
                    .await
                    .expect("changes")
                    .len();
                let snap = reader_store
                    .snapshot(who, "ins")
                    .await
                    .expect("snapshot")
                    .is_some();
                let link = reader_store
                    .find_link("ins", "contact", "i-1")
                    .await
                    .expect("link")
                    .is_some();
                assert!(
                    !cursor || changes == 1,
                    "cursor visible before the change record"
                );
                assert!(
                    changes == 0 || snap,
                    "change record visible before the snapshot"
                );
                assert!(!snap || link, "snapshot visible before the link");
                if cursor {
                    seen_after += 1;
                }
            }
            reader_store.close().await;
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    store
        .complete(id, "w1", commit_for(who, id, 1))
        .await
        .expect("complete");
    stop.store(true, Ordering::SeqCst);
    reader.await.expect("reader saw only whole commits");
}

async fn completion_releases_the_workers_lock_and_only_its_own(db: TestDb) {
    let store = db.store;
    let who = identity(&store).await;
    let lock = format!("identity:{who}");
    assert!(store.try_lead(&lock, "w1", LONG).await.expect("lead"));
    // A commit naming a lock the worker does not hold leaves the holder's lock alone.
    assert!(store
        .try_lead("identity:other", "w9", LONG)
        .await
        .expect("lead"));
    let id = leased_job(&store, "w1", LONG).await;
    let mut commit = commit_for(who, id, 1);
    commit.release_lease = Some(lock.clone());
    store.complete(id, "w1", commit).await.expect("complete");
    assert_eq!(visible(&store, 1).await, (true, true, 1, true));
    assert!(
        store.try_lead(&lock, "w2", LONG).await.expect("lead"),
        "released with the completion: another worker takes it at once"
    );
    let id2 = leased_job(&store, "w1", LONG).await;
    let mut other = commit_for(who, id2, 2);
    other.release_lease = Some("identity:other".into());
    store.complete(id2, "w1", other).await.expect("complete");
    assert!(
        !store
            .try_lead("identity:other", "w2", LONG)
            .await
            .expect("lead"),
        "still held by w9"
    );
}
