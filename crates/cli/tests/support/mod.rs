//! A world for tests of `ghl-bridge run` as a separate process: the GHL sandbox and the Your App
//! emulator run in the test process on random ports, a project folder in a temp dir points at
//! them (secrets through `${ENV}`), and the engine runs as child processes that the test kills
//! with SIGKILL (`Child::kill`) or stops with SIGTERM. Every wait polls a condition against a
//! deadline; nothing relies on a fixed sleep for correctness.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use engine::store::{self, QueueStats, Store};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use ghl_sandbox::rest::ratelimit::RateLimit;
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use serde_json::{json, Map, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");

/// One-way contact sync GHL → Your App, matched by email.
pub const ONE_WAY: &str = "name: contacts to crm
sync:
  source: ghl
  target: crm
  direction: one_way
  kinds: [contact]
  match:
    contact: [email]
";

/// The project file: secrets and addresses come from the environment.
const PROJECT: &str = "version: 1
connections:
  ghl:
    app: ghl
    base_url: ${GHL_URL}
    location_id: ${GHL_LOCATION}
    token: ${GHL_TOKEN}
  crm:
    app: your_app
    base_url: ${CRM_URL}
    api_key: ${CRM_KEY}
";

/// The emulators, the project folder and the database URL.
pub struct World {
    pub ghl: GhlSandbox,
    pub crm: RestSandbox,
    pub dir: tempfile::TempDir,
    pub project: PathBuf,
    pub db_url: String,
    spawned: usize,
}

/// Starts both emulators (GHL with `contacts` seeded contacts, Your App empty, limits out of the
/// way) and writes the project with one flow.
pub async fn world(contacts: usize, flow: &str) -> World {
    let ghl = GhlSandbox::start(GhlConfig {
        contacts,
        seed: 7,
        limits: LimitConfig {
            burst_max: 1_000_000,
            burst_interval_ms: 10_000,
            daily_max: 100_000_000,
        },
        ..Default::default()
    })
    .await
    .expect("GHL sandbox starts");
    let crm = RestSandbox::start(RestConfig {
        contacts: 0,
        limits: RateLimit {
            limit: 1_000_000,
            window_secs: 60,
        },
        ..Default::default()
    })
    .await
    .expect("Your App emulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("flows")).expect("flows dir");
    std::fs::write(dir.path().join("flows/contacts.yaml"), flow).expect("flow file");
    let project = dir.path().join("ghl-bridge.yaml");
    std::fs::write(&project, PROJECT).expect("project file");
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("engine.db").display()
    );
    World {
        ghl,
        crm,
        dir,
        project,
        db_url,
        spawned: 0,
    }
}

/// A running `ghl-bridge run`; killed (SIGKILL) when dropped, so a failing test leaves nothing.
pub struct Proc {
    child: Child,
    pub pid: u32,
    pub log: PathBuf,
}

impl Proc {
    /// SIGKILL, and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM (graceful stop), then waits up to `within` for the exit.
    pub async fn terminate(&mut self, within: Duration) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {} failed", self.pid);
        self.wait_exit(within).await
    }

    /// Waits up to `within` for the process to exit by itself.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "ghl-bridge (pid {}) did not exit within {within:?}; log:\n{}",
                self.pid,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The last lines of its stderr.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

impl World {
    /// The environment the project file reads.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GHL_URL", self.ghl.base_url.clone()),
            ("GHL_LOCATION", self.ghl.location_id()),
            ("GHL_TOKEN", self.ghl.token()),
            ("CRM_URL", self.crm.api_url()),
            ("CRM_KEY", self.crm.api_key()),
        ]
    }

    /// Starts `ghl-bridge run --project … --database <db> <args>`; stderr goes to a log file in
    /// the temp dir.
    pub fn spawn(&mut self, db: &str, args: &[&str]) -> Proc {
        self.spawned += 1;
        let log = self.dir.path().join(format!("run-{}.log", self.spawned));
        let err = File::create(&log).expect("log file");
        let mut cmd = Command::new(BIN);
        cmd.arg("run")
            .arg("--project")
            .arg(&self.project)
            .args(["--database", db])
            .args(args)
            .env("RUST_LOG", "info,sqlx=warn")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err);
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn ghl-bridge run");
        Proc {
            pid: child.id(),
            child,
            log,
        }
    }

    /// Runs `ghl-bridge run … --once` to its end; returns (status, stdout, stderr).
    pub fn run_once(&self, db: &str) -> (ExitStatus, String, String) {
        let mut cmd = Command::new(BIN);
        cmd.arg("run")
            .arg("--project")
            .arg(&self.project)
            .args(["--database", db, "--once"])
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null());
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run ghl-bridge --once");
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Every GHL contact: id → (email, city).
    pub fn ghl_contacts(&self) -> BTreeMap<String, (Option<String>, Option<String>)> {
        self.ghl
            .state
            .store
            .read()
            .contacts
            .values()
            .map(|c| (c.id.clone(), (c.email.clone(), c.city.clone())))
            .collect()
    }

    /// Changes a GHL contact the way a person in GHL would (the sync did not make it).
    pub fn edit_ghl(&self, id: &str, fields: Value) {
        let body: Map<String, Value> = fields.as_object().cloned().unwrap_or_default();
        self.ghl
            .state
            .update_contact(id, &body, false)
            .unwrap_or_else(|e| panic!("edit GHL contact {id}: {e:?}"));
    }

    /// Every Your App contact, deleted ones included, through the API.
    pub async fn crm_contacts(&self) -> Vec<Value> {
        let http = reqwest::Client::new();
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!(
                "{}/contacts?limit=100&include_deleted=true",
                self.crm.api_url()
            );
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let v: Value = http
                .get(url)
                .bearer_auth(self.crm.api_key())
                .send()
                .await
                .expect("list Your App contacts")
                .json()
                .await
                .expect("JSON");
            out.extend(v["data"].as_array().cloned().unwrap_or_default());
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }

    /// Your App's request log (every `/v1` call).
    pub async fn crm_log(&self) -> Vec<Value> {
        request_log(&self.crm.base_url).await
    }

    /// GHL's request log.
    pub async fn ghl_log(&self) -> Vec<Value> {
        request_log(&self.ghl.base_url).await
    }
}

async fn request_log(base: &str) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{base}/_sandbox/requests?limit=100000"))
        .await
        .expect("request log")
        .json()
        .await
        .expect("JSON");
    v["requests"].as_array().cloned().unwrap_or_default()
}

/// Contact creates in Your App's log: (accepted creates, distinct idempotency keys among them,
/// conflicts). A replayed key is the same create answered again, never a second record.
pub fn crm_creates(log: &[Value]) -> (usize, usize, usize) {
    let creates: Vec<&Value> = log
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/v1/contacts")
        .collect();
    let ok: Vec<&&Value> = creates.iter().filter(|r| r["status"] == 201).collect();
    let keys: BTreeSet<String> = ok
        .iter()
        .map(|r| {
            r["idempotency_key"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let conflicts = creates.iter().filter(|r| r["status"] == 409).count();
    (ok.len(), keys.len(), conflicts)
}

/// Writes to GHL (anything but reads and searches).
pub fn ghl_writes(log: &[Value]) -> Vec<Value> {
    log.iter()
        .filter(|r| {
            r["method"] != "GET" && !r["path"].as_str().unwrap_or_default().ends_with("/search")
        })
        .cloned()
        .collect()
}

/// Asserts the core promise: every GHL contact exists exactly once in Your App (by email), no
/// record was created twice, and Your App holds nothing else.
pub async fn assert_each_contact_once(w: &World) {
    let ghl_emails: BTreeSet<String> = w
        .ghl_contacts()
        .values()
        .filter_map(|(e, _)| e.clone())
        .map(|e| e.to_lowercase())
        .collect();
    let crm = w.crm_contacts().await;
    let mut crm_emails = BTreeMap::<String, usize>::new();
    for c in &crm {
        assert!(c["deleted_at"].is_null(), "nothing is deleted: {c}");
        let e = c["email"].as_str().unwrap_or_default().to_lowercase();
        *crm_emails.entry(e).or_default() += 1;
    }
    let twice: Vec<_> = crm_emails.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "contacts in Your App more than once: {twice:?}"
    );
    let crm_set: BTreeSet<String> = crm_emails.keys().cloned().collect();
    let missing: Vec<_> = ghl_emails.difference(&crm_set).collect();
    let extra: Vec<_> = crm_set.difference(&ghl_emails).collect();
    assert!(
        missing.is_empty(),
        "GHL contacts missing in Your App: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "Your App contacts GHL does not have: {extra:?}"
    );
    assert_eq!(crm.len(), ghl_emails.len(), "one record per GHL contact");
    let log = w.crm_log().await;
    let (accepted, keys, conflicts) = crm_creates(&log);
    assert_eq!(
        keys,
        crm.len(),
        "each record was created by exactly one create (accepted {accepted}, distinct keys {keys})"
    );
    assert_eq!(
        conflicts, 0,
        "the engine never tried to create an existing email"
    );
}

/// Polls `probe` every 50 ms until it yields `Some`, failing with `what` after `within`.
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
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Like [`eventually`], while the processes keep running: fails at once (with its log) when one
/// of them exits, and shows their logs on a timeout.
pub async fn while_running<T, F, Fut>(
    procs: &mut [Proc],
    within: Duration,
    what: &str,
    mut probe: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        for p in procs.iter_mut() {
            assert!(
                p.alive(),
                "ghl-bridge (pid {}) exited while waiting for {what}; log:\n{}",
                p.pid,
                p.log_tail()
            );
        }
        if let Some(v) = probe().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            let logs: Vec<String> = procs
                .iter()
                .map(|p| format!("--- pid {} ---\n{}", p.pid, p.log_tail()))
                .collect();
            panic!(
                "timed out after {within:?} waiting for {what}; logs:\n{}",
                logs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens the store (creating and migrating it), as an operator's tool would.
pub async fn open_store(url: &str) -> Arc<dyn Store> {
    store::open(url).await.expect("open the store")
}

/// Jobs a killed process left behind: their lease expired and another worker took them over.
pub async fn taken_over_after_a_crash(sqlite_url: &str) -> i64 {
    use sqlx::{Connection, Row};
    let mut c = sqlx::SqliteConnection::connect(sqlite_url)
        .await
        .expect("open the SQLite file");
    let n: i64 = sqlx::query(
        "SELECT count(*) AS n FROM jobs WHERE last_error LIKE '%expired before the job finished%'",
    )
    .fetch_one(&mut c)
    .await
    .expect("count jobs")
    .get("n");
    let _ = c.close().await;
    n
}

/// True when no job is pending or leased.
pub fn idle(q: &QueueStats) -> bool {
    q.pending == 0 && q.leased == 0
}

/// A seed for random kill points: `CRASH_SEED` when set (to replay a failure), else random.
pub fn seed() -> u64 {
    let s = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("kill points from CRASH_SEED={s}");
    s
}

/// Body of a Your App PATCH in the log, with the record's path.
pub fn crm_patches(log: &[Value]) -> Vec<(String, Value)> {
    log.iter()
        .filter(|r| r["method"] == "PATCH" && r["status"] == 200)
        .map(|r| {
            (
                r["path"].as_str().unwrap_or_default().to_string(),
                r["body"].clone(),
            )
        })
        .collect()
}

/// The fields an edit sets, for readable assertions.
pub fn city(v: &str) -> Value {
    json!({ "city": v })
}

/// `Path` of the project's folder.
pub fn folder(w: &World) -> &Path {
    w.dir.path()
}
