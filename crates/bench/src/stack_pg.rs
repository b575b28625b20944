//! Several `ghl-bridge serve` processes on one PostgreSQL store, for the `scale` scenario: the
//! emulators in this process, one project folder, a fresh schema per run (`search_path` in the
//! URL, as `queue_bench` and the multi-process tests do) that [`PgSchema::drop`] removes.
//! [`crate::stack::Stack`] is the one-process SQLite world; this is its many-process sibling.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use ghl_sandbox::rest::ratelimit::RateLimit;
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use sqlx::{Connection, Executor, PgConnection};

/// The default test server (docs/BENCHMARKS.md); `DATABASE_URL` overrides it.
pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A schema created for one run; call [`PgSchema::drop`] at the end (also after a failure).
pub struct PgSchema {
    admin: PgConnection,
    pub name: String,
    /// The server URL with `search_path` set to the schema.
    pub url: String,
}

impl PgSchema {
    /// Connects to `admin_url` and creates `bench_<pid>_<random>`.
    pub async fn create(admin_url: &str) -> Result<PgSchema, String> {
        let mut admin = tokio::time::timeout(
            Duration::from_secs(10),
            PgConnection::connect(admin_url),
        )
        .await
        .map_err(|_| {
            format!(
                "connecting to PostgreSQL at {admin_url} timed out; start it or set DATABASE_URL"
            )
        })?
        .map_err(|e| {
            format!("connecting to PostgreSQL at {admin_url}: {e}; start it or set DATABASE_URL")
        })?;
        let name = format!("bench_{}_{:08x}", std::process::id(), rand::random::<u32>());
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .await
            .map_err(|e| format!("CREATE SCHEMA {name}: {e}"))?;
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{name}");
        Ok(PgSchema { admin, name, url })
    }

    /// `SELECT count(*) …` inside the schema.
    pub async fn count(&mut self, sql: &str) -> Result<i64, String> {
        self.admin
            .execute(sqlx::AssertSqlSafe(format!(
                "SET search_path TO {}",
                self.name
            )))
            .await
            .map_err(|e| format!("set search_path: {e}"))?;
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut self.admin)
            .await
            .map_err(|e| format!("{sql}: {e}"))
    }

    /// Drops the schema and everything in it.
    pub async fn drop(mut self) -> Result<(), String> {
        let r = self
            .admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                self.name
            )))
            .await
            .map(|_| ())
            .map_err(|e| format!("DROP SCHEMA {}: {e}", self.name));
        let _ = self.admin.close().await;
        r
    }
}

/// The emulators, the project folder and `serve` children sharing one store.
pub struct Fleet {
    pub ghl: GhlSandbox,
    pub crm: RestSandbox,
    pub dir: tempfile::TempDir,
    pub project: PathBuf,
    /// `http://127.0.0.1:PORT` of each child.
    pub urls: Vec<String>,
    pub pids: Vec<u32>,
    logs: Vec<PathBuf>,
    children: Children,
}

/// The `serve` children; SIGKILLed and reaped when dropped, so a failed run leaves nothing.
#[derive(Default)]
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Fleet {
    /// Starts the emulators (limits out of the way), writes the project with `flow`, and
    /// `processes` × `serve_bin serve --database db_url` with `serve_args`, one after another
    /// (the first one migrates the store), each waited for until it serves HTTP.
    pub async fn start(
        serve_bin: &Path,
        ghl_contacts: usize,
        flow: &str,
        db_url: &str,
        processes: usize,
        serve_args: &[&str],
    ) -> Result<Fleet, String> {
        let ghl = GhlSandbox::start(GhlConfig {
            contacts: ghl_contacts,
            seed: 7,
            limits: LimitConfig {
                burst_max: 1_000_000_000,
                burst_interval_ms: 10_000,
                daily_max: u32::MAX as _,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| format!("GHL sandbox: {e}"))?;
        let crm = RestSandbox::start(RestConfig {
            contacts: 0,
            limits: RateLimit {
                limit: 1_000_000_000,
                window_secs: 60,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| format!("Your App emulator: {e}"))?;
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let flows = dir.path().join("flows");
        std::fs::create_dir_all(&flows).map_err(|e| format!("{}: {e}", flows.display()))?;
        std::fs::write(flows.join("contacts.yaml"), flow).map_err(|e| format!("flow: {e}"))?;
        let indent: String = ghl
            .state
            .keys
            .ed25519_public_pem()
            .lines()
            .map(|l| format!("      {l}\n"))
            .collect();
        let project = dir.path().join("ghl-bridge.yaml");
        let text = format!(
            "version: 1\nconnections:\n  ghl:\n    app: ghl\n    base_url: {}\n    \
             location_id: {}\n    token: ${{GHL_TOKEN}}\n    \
             webhook_public_key: |\n{indent}  crm:\n    app: your_app\n    \
             base_url: {}\n    api_key: ${{CRM_KEY}}\n",
            ghl.base_url,
            ghl.location_id(),
            crm.api_url()
        );
        std::fs::write(&project, text).map_err(|e| format!("project file: {e}"))?;
        let mut fleet = Fleet {
            ghl,
            crm,
            dir,
            project,
            urls: Vec::new(),
            pids: Vec::new(),
            logs: Vec::new(),
            children: Children::default(),
        };
        for n in 0..processes {
            let log = fleet.dir.path().join(format!("serve-{n}.log"));
            let err = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
            let child = Command::new(serve_bin)
                .arg("serve")
                .arg("--project")
                .arg(&fleet.project)
                .args(["--database", db_url, "--listen", "127.0.0.1:0"])
                .args(serve_args)
                .env("RUST_LOG", "warn,ghl_bridge=info")
                .env(
                    "GHL_BRIDGE_ADMIN_TOKEN",
                    format!("bench-{:032x}", rand::random::<u128>()),
                )
                .env_remove("GHL_BRIDGE_SECRET_KEY")
                .env_remove("DATABASE_URL")
                .env_remove("GHL_BRIDGE_LOG_FORMAT")
                .env("GHL_TOKEN", fleet.ghl.token())
                .env("CRM_KEY", fleet.crm.api_key())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(err)
                .spawn()
                .map_err(|e| format!("start {} serve: {e}", serve_bin.display()))?;
            fleet.pids.push(child.id());
            fleet.children.0.push(child);
            fleet.logs.push(log);
            let url = fleet.wait_ready(n, Duration::from_secs(60)).await?;
            fleet.urls.push(url);
        }
        Ok(fleet)
    }

    async fn wait_ready(&mut self, n: usize, within: Duration) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            let text = std::fs::read_to_string(&self.logs[n]).unwrap_or_default();
            if let Some(at) = text.find("serving HTTP on http://") {
                let rest = &text[at + "serving HTTP on ".len()..];
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '"')
                    .unwrap_or(rest.len());
                return Ok(rest[..end].to_string());
            }
            if let Ok(Some(status)) = self.children.0[n].try_wait() {
                return Err(format!("serve #{n} exited ({status}):\n{text}"));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "serve #{n} did not log its address in {within:?}:\n{text}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A signed GHL `ContactUpdate` webhook body for `contact`: (body, `x-ghl-signature`).
    pub fn signed_contact_update(&self, contact: &str, webhook_id: &str) -> (Vec<u8>, String) {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let body = serde_json::to_vec(&serde_json::json!({
            "type": "ContactUpdate",
            "locationId": self.ghl.location_id(),
            "id": contact,
            "webhookId": webhook_id,
            "timestamp": now,
        }))
        .unwrap_or_default();
        let sig = self.ghl.state.keys.sign_ed25519(&body);
        (body, sig)
    }

    /// The last lines of every child's stderr, for error messages.
    pub fn log_tails(&self) -> String {
        self.logs
            .iter()
            .enumerate()
            .map(|(n, p)| {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                format!(
                    "serve #{n}:\n{}",
                    lines[lines.len().saturating_sub(15)..].join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Kills the children and stops the emulators.
    pub async fn shutdown(self) {
        let Fleet {
            ghl, crm, children, ..
        } = self;
        drop(children);
        ghl.shutdown().await;
        crm.shutdown().await;
    }
}
