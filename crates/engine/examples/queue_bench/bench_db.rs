//! A fresh store per phase, and reading its tables.

use super::*;

/// PostgreSQL schemas this run created and has not dropped yet (dropped on Ctrl-C too).
pub(crate) static SCHEMAS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

pub(crate) async fn admin_connect(url: &str) -> Res<PgConnection> {
    match tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(url)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(format!("PostgreSQL at --database-url: {e}")),
        Err(_) => Err("PostgreSQL at --database-url: connecting timed out".into()),
    }
}

pub(crate) async fn drop_schema(admin_url: &str, schema: &str) -> Res<()> {
    let mut admin = admin_connect(admin_url).await?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .await
        .map_err(|e| format!("drop schema {schema}: {e}"))?;
    let _ = admin.close().await;
    SCHEMAS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(_, s)| s != schema);
    Ok(())
}

pub(crate) async fn drop_registered_schemas() {
    let list = SCHEMAS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for (url, schema) in list {
        if let Err(e) = drop_schema(&url, &schema).await {
            eprintln!("queue_bench: {e}");
        }
    }
}

pub(crate) enum Probe {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One phase's store, and a side pool for reading its tables.
pub(crate) struct BenchDb {
    pub(crate) url: String,
    pub(crate) probe: Probe,
    pub(crate) dir: Option<tempfile::TempDir>,
    pub(crate) schema: Option<(String, String)>,
}

macro_rules! on_probe {
    ($probe:expr, |$p:ident| $body:expr) => {
        match $probe {
            Probe::Sqlite($p) => $body,
            Probe::Postgres($p) => $body,
        }
    };
}

pub(crate) fn sql_err(e: sqlx::Error) -> String {
    format!("reading the store's tables: {e}")
}

impl BenchDb {
    pub(crate) async fn open(backend: Backend, args: &Args) -> Res<(Self, Arc<dyn Store>)> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("queue_bench")
                    .tempdir()
                    .map_err(|e| format!("temp dir: {e}"))?;
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("engine.db").display()
                );
                let store = store::open(&url).await.map_err(|e| e.to_string())?;
                let opts = SqliteConnectOptions::from_str(&url)
                    .map_err(sql_err)?
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(2)
                    .connect_with(opts)
                    .await
                    .map_err(sql_err)?;
                let db = Self {
                    url,
                    probe: Probe::Sqlite(pool),
                    dir: Some(dir),
                    schema: None,
                };
                Ok((db, store))
            }
            Backend::Postgres => {
                let admin_url = args.database_url.clone();
                let schema = format!(
                    "queue_bench_{}_{:08x}",
                    std::process::id(),
                    rand::random::<u32>()
                );
                let mut admin = admin_connect(&admin_url).await?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .await
                    .map_err(|e| format!("create schema: {e}"))?;
                let _ = admin.close().await;
                SCHEMAS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((admin_url.clone(), schema.clone()));
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
                let opened = async {
                    let store = store::open(&url).await.map_err(|e| e.to_string())?;
                    let pool = PgPoolOptions::new()
                        .max_connections(2)
                        .connect(&url)
                        .await
                        .map_err(sql_err)?;
                    Ok::<_, String>((store, pool))
                }
                .await;
                match opened {
                    Ok((store, pool)) => {
                        let db = Self {
                            url,
                            probe: Probe::Postgres(pool),
                            dir: None,
                            schema: Some((admin_url, schema)),
                        };
                        Ok((db, store))
                    }
                    Err(e) => {
                        let _ = drop_schema(&admin_url, &schema).await;
                        Err(e)
                    }
                }
            }
        }
    }

    /// Closes the side pool and removes the database (file or schema).
    pub(crate) async fn remove(self) -> Res<()> {
        on_probe!(&self.probe, |p| p.close().await);
        drop(self.dir);
        match self.schema {
            Some((url, schema)) => drop_schema(&url, &schema).await,
            None => Ok(()),
        }
    }

    /// Jobs by state.
    pub(crate) async fn states(&self) -> Res<BTreeMap<String, i64>> {
        const SQL: &str = "SELECT state, COUNT(*) FROM jobs GROUP BY state";
        let rows: Vec<(String, i64)> =
            on_probe!(&self.probe, |p| sqlx::query_as(SQL).fetch_all(p).await).map_err(sql_err)?;
        Ok(rows.into_iter().collect())
    }

    /// Pending plus leased jobs.
    pub(crate) async fn open_jobs(&self) -> Res<i64> {
        let s = self.states().await?;
        Ok(s.get("pending").copied().unwrap_or(0) + s.get("leased").copied().unwrap_or(0))
    }

    /// Waits until no job is pending or leased; false at the deadline.
    pub(crate) async fn wait_drained(&self, within: Duration) -> Res<bool> {
        let deadline = Instant::now() + within;
        loop {
            if self.open_jobs().await? == 0 {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last `finished_at` of a done job, in microseconds since the epoch.
    pub(crate) async fn last_finished_us(&self) -> Res<Option<i64>> {
        match &self.probe {
            Probe::Sqlite(p) => {
                sqlx::query_scalar("SELECT MAX(finished_at) FROM jobs WHERE state = 'done'")
                    .fetch_one(p)
                    .await
            }
            Probe::Postgres(p) => {
                sqlx::query_scalar(
                    "SELECT (EXTRACT(EPOCH FROM MAX(finished_at)) * 1000000)::BIGINT \
                 FROM jobs WHERE state = 'done'",
                )
                .fetch_one(p)
                .await
            }
        }
        .map_err(sql_err)
    }

    /// For every event of a done job: its job's `finished_at` − its `received_at`, in µs.
    pub(crate) async fn latencies_us(&self) -> Res<Vec<i64>> {
        match &self.probe {
            Probe::Sqlite(p) => {
                sqlx::query_scalar(
                    "SELECT j.finished_at - e.received_at FROM jobs j \
                 JOIN json_each(j.event_ids) x JOIN events e ON e.id = x.value \
                 WHERE j.state = 'done'",
                )
                .fetch_all(p)
                .await
            }
            Probe::Postgres(p) => {
                sqlx::query_scalar(
                    "SELECT (EXTRACT(EPOCH FROM j.finished_at - e.received_at) * 1000000)::BIGINT \
                 FROM jobs j CROSS JOIN LATERAL unnest(j.event_ids) AS x(id) \
                 JOIN events e ON e.id = x.id WHERE j.state = 'done'",
                )
                .fetch_all(p)
                .await
            }
        }
        .map_err(sql_err)
    }

    /// `(id, attempts)` of every done job.
    pub(crate) async fn done_jobs(&self) -> Res<Vec<(i64, i64)>> {
        const SQL: &str =
            "SELECT CAST(id AS BIGINT), CAST(attempts AS BIGINT) FROM jobs WHERE state = 'done'";
        on_probe!(&self.probe, |p| sqlx::query_as(SQL).fetch_all(p).await).map_err(sql_err)
    }

    pub(crate) async fn events(&self) -> Res<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM events";
        on_probe!(&self.probe, |p| sqlx::query_scalar(SQL).fetch_one(p).await).map_err(sql_err)
    }

    /// A few last errors, for the report when something went wrong.
    pub(crate) async fn some_errors(&self) -> Res<Vec<String>> {
        const SQL: &str =
            "SELECT last_error FROM jobs WHERE last_error IS NOT NULL ORDER BY id LIMIT 3";
        on_probe!(&self.probe, |p| sqlx::query_scalar(SQL).fetch_all(p).await).map_err(sql_err)
    }
}
