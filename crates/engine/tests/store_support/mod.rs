//! Runs each store test case on both backends: a temp-file SQLite database and a fresh schema in
//! the PostgreSQL server at `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! Without a PostgreSQL server the PostgreSQL half is skipped with a notice, unless `CI=true`,
//! where it fails.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use engine::store::{self, EventSource, NewEvent, NewJob, Store};
use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// What a case gets: the store, and the URL to open more stores (separate pools, as separate
/// processes would have) on the same database.
#[derive(Clone)]
pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub url: String,
}

impl TestDb {
    /// Another store on the same database, with its own connection pool.
    pub async fn open_another(&self) -> Arc<dyn Store> {
        store::open(&self.url).await.expect("open another store")
    }
}

/// Declares `<case>::sqlite` and `<case>::postgres` tests for each `async fn case(db: TestDb)`.
macro_rules! store_tests {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                crate::store_support::on_sqlite(super::$case).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                crate::store_support::on_postgres(super::$case).await
            }
        }
    )*};
}
pub(crate) use store_tests;

/// Runs `case` on a new SQLite file in a temp dir.
pub async fn on_sqlite<F, Fut>(case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("store.db").display()
    );
    let store = store::open(&url).await.expect("open sqlite store");
    let outcome = tokio::spawn(case(TestDb {
        store: store.clone(),
        url,
    }))
    .await;
    store.close().await;
    drop(dir);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Runs `case` in a fresh PostgreSQL schema, dropped afterwards (also when the case panics).
pub async fn on_postgres<F, Fut>(case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into());
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let connected =
        tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&admin_url)).await;
    let mut admin = match connected {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) if !ci => {
            eprintln!("NOTICE: PostgreSQL half of this test SKIPPED: no server at DATABASE_URL ({e}); set CI=true to make this fail");
            return;
        }
        Err(_) if !ci => {
            eprintln!("NOTICE: PostgreSQL half of this test SKIPPED: connecting to DATABASE_URL timed out; set CI=true to make this fail");
            return;
        }
        Ok(Err(e)) => panic!("CI=true and no PostgreSQL server answers at DATABASE_URL: {e}"),
        Err(_) => panic!("CI=true and connecting to PostgreSQL at DATABASE_URL timed out"),
    };
    let schema = format!(
        "store_test_{}_{:08x}",
        std::process::id(),
        rand::random::<u32>()
    );
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .expect("create test schema");
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
    let outcome = match store::open(&url).await {
        Ok(store) => {
            let outcome = tokio::spawn(case(TestDb {
                store: store.clone(),
                url,
            }))
            .await;
            store.close().await;
            outcome.map_err(|e| e.into_panic())
        }
        Err(e) => {
            Err(Box::new(format!("open postgres store: {e}")) as Box<dyn std::any::Any + Send>)
        }
    };
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await
        .expect("drop test schema");
    let _ = admin.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Polls `probe` every 10 ms until it yields `Some`, failing after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A time both backends store exactly (whole microseconds).
pub fn micros_now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).expect("valid time")
}

/// A webhook event for a GHL contact.
pub fn webhook(connection: &str, key: &str, contact: &str) -> NewEvent {
    NewEvent {
        connection_id: connection.into(),
        event_key: key.into(),
        kind: "contact".into(),
        entity_id: contact.into(),
        parent_id: None,
        source: EventSource::Webhook,
        payload: json!({"type": "ContactUpdate", "id": contact}),
        received_at: micros_now(),
    }
}

/// A job due now.
pub fn job(flow: &str, entity: &str) -> NewJob {
    NewJob::new(flow, entity)
}
