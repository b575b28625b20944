//! The benchmark's world on loopback: the GHL sandbox and the Your App emulator run inside the
//! bench process; the system under test is the real `ghl-bridge serve` binary as a child process
//! (so /proc figures are its own), over a fresh project folder and SQLite database in a temp dir.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use ghl_sandbox::rest::ratelimit::RateLimit;
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use serde_json::json;

/// One-way contact sync GHL → Your App (connection `crm`), matched by email: the demo's flow.
pub const ONE_WAY_CONTACTS: &str = "name: contacts to crm
sync:
  source: ghl
  target: crm
  direction: one_way
  kinds: [contact]
  match:
    contact: [email]
";

/// What to start.
#[derive(Clone, Debug)]
pub struct StackOptions {
    /// Contacts seeded in GHL.
    pub ghl_contacts: usize,
    /// Contacts seeded in Your App.
    pub crm_contacts: usize,
    /// Flow files written to `flows/` as (file name, YAML).
    pub flows: Vec<(String, String)>,
    /// Extra `serve` arguments (e.g. `--workers 4`).
    pub serve_args: Vec<String>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            ghl_contacts: 50,
            crm_contacts: 0,
            flows: vec![("contacts.yaml".into(), ONE_WAY_CONTACTS.into())],
            serve_args: Vec::new(),
        }
    }
}

/// The running emulators, project and `serve` child; the child is SIGKILLed on drop.
pub struct Stack {
    pub ghl: GhlSandbox,
    pub crm: RestSandbox,
    pub dir: tempfile::TempDir,
    pub project: PathBuf,
    /// `sqlite://…` URL of the store `serve` writes.
    pub db_url: String,
    pub db_path: PathBuf,
    /// `http://127.0.0.1:PORT` of `serve`.
    pub url: String,
    /// Admin API bearer token (`GHL_BRIDGE_ADMIN_TOKEN` of the child).
    pub admin_token: String,
    pub log: PathBuf,
    child: ServeChild,
    pub pid: u32,
}

/// The `serve` child; SIGKILLed and reaped when dropped, so a failed scenario leaves nothing.
struct ServeChild(Option<Child>);

impl Drop for ServeChild {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Stack {
    /// Starts the emulators (rate limits out of the way: the bench measures the bridge, not
    /// the emulated limits), writes the project, starts `serve_bin serve` and waits until its
    /// "serving HTTP on" log line.
    pub async fn start(serve_bin: &Path, opts: StackOptions) -> Result<Stack, String> {
        let ghl = GhlSandbox::start(GhlConfig {
            contacts: opts.ghl_contacts,
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
            contacts: opts.crm_contacts,
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
        for (name, yaml) in &opts.flows {
            std::fs::write(flows.join(name), yaml).map_err(|e| format!("flow {name}: {e}"))?;
        }
        let indent: String = ghl
            .state
            .keys
            .ed25519_public_pem()
            .lines()
            .map(|l| format!("      {l}\n"))
            .collect();
        let project = dir.path().join("ghl-bridge.yaml");
        let text = format!(
            "version: 1\nconnections:\n  ghl:\n    app: ghl\n    base_url: ${{GHL_URL}}\n    \
             location_id: ${{GHL_LOCATION}}\n    token: ${{GHL_TOKEN}}\n    \
             webhook_public_key: |\n{indent}  crm:\n    app: your_app\n    \
             base_url: ${{CRM_URL}}\n    api_key: ${{CRM_KEY}}\n"
        );
        std::fs::write(&project, text).map_err(|e| format!("project file: {e}"))?;
        let db_path = dir.path().join("engine.db");
        let db_url = format!("sqlite://{}?mode=rwc", db_path.display());
        let admin_token = format!("bench-{:032x}", rand::random::<u128>());
        let log = dir.path().join("serve.log");
        let err = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut cmd = Command::new(serve_bin);
        cmd.arg("serve")
            .arg("--project")
            .arg(&project)
            .args(["--database", &db_url, "--listen", "127.0.0.1:0"])
            .args(&opts.serve_args)
            .env("RUST_LOG", "warn,ghl_bridge=info")
            .env("GHL_BRIDGE_ADMIN_TOKEN", &admin_token)
            .env_remove("GHL_BRIDGE_SECRET_KEY")
            .env_remove("DATABASE_URL")
            .env_remove("GHL_BRIDGE_LOG_FORMAT")
            .env("GHL_URL", ghl.base_url.clone())
            .env("GHL_LOCATION", ghl.location_id())
            .env("GHL_TOKEN", ghl.token())
            .env("CRM_URL", crm.api_url())
            .env("CRM_KEY", crm.api_key())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err);
        let child = cmd
            .spawn()
            .map_err(|e| format!("start {} serve: {e}", serve_bin.display()))?;
        let mut stack = Stack {
            pid: child.id(),
            child: ServeChild(Some(child)),
            ghl,
            crm,
            dir,
            project,
            db_url,
            db_path,
            url: String::new(),
            admin_token,
            log,
        };
        stack.url = stack.wait_ready(Duration::from_secs(60)).await?;
        Ok(stack)
    }

    async fn wait_ready(&mut self, within: Duration) -> Result<String, String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(at) = text.find("serving HTTP on http://") {
                let rest = &text[at + "serving HTTP on ".len()..];
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '"')
                    .unwrap_or(rest.len());
                return Ok(rest[..end].to_string());
            }
            if let Some(Ok(Some(status))) = self.child.0.as_mut().map(|c| c.try_wait()) {
                return Err(format!("ghl-bridge serve exited ({status}):\n{text}"));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "serve did not log its address in {within:?}:\n{text}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A GHL contact webhook body (`ContactCreate`, `ContactUpdate`…), signed as the sandbox
    /// signs its deliveries (Ed25519 over the raw body, base64, in `x-ghl-signature`), with a
    /// timestamp of now: (body, signature).
    pub fn signed_event(&self, kind: &str, contact: &str, webhook_id: &str) -> (Vec<u8>, String) {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let body = serde_json::to_vec(&json!({
            "type": kind,
            "locationId": self.ghl.location_id(),
            "id": contact,
            "webhookId": webhook_id,
            "timestamp": now,
        }))
        .unwrap_or_default();
        let sig = self.ghl.state.keys.sign_ed25519(&body);
        (body, sig)
    }

    /// Last lines of the child's stderr, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Number of rows of a SQL count over the store (opened read-only, so it cannot disturb
    /// what it checks), e.g. `SELECT count(*) FROM events WHERE source = 'webhook'`.
    pub async fn count(&self, sql: &'static str) -> Result<i64, String> {
        let url = format!("sqlite://{}?mode=ro", self.db_path.display());
        let pool = sqlx::SqlitePool::connect(&url)
            .await
            .map_err(|e| format!("open {url}: {e}"))?;
        let n = sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&pool)
            .await
            .map_err(|e| format!("{sql}: {e}"));
        pool.close().await;
        n
    }

    /// SIGKILLs `serve` and reaps it (the store is not needed afterwards; counts are read first).
    pub fn stop(&mut self) {
        drop(self.child.0.take().map(|c| ServeChild(Some(c))));
    }

    /// Stops `serve` and the emulators.
    pub async fn shutdown(mut self) {
        self.stop();
        let Stack { ghl, crm, .. } = self;
        ghl.shutdown().await;
        crm.shutdown().await;
    }
}
