//! The demo's world: the GHL sandbox and the five app emulators on loopback, one shipped template
//! per app written into a temp folder as one project (each template's flows and connection, one
//! shared GHL connection) with its settings pointed at the emulators, the engine on a SQLite file
//! in that folder, and the HTTP server (webhooks from the GHL sandbox, admin API) on 127.0.0.1:0.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use engine::flow::{load_project_with, FlowBody, Project};
use engine::runtime::{Engine, EngineOptions};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use ghl_sandbox::insightly::{InsightlyConfig, InsightlySandbox};
use ghl_sandbox::rest::ratelimit::RateLimit;
use ghl_sandbox::rest::{Profile, RestConfig, RestSandbox};
use ghl_sandbox::salesnexus::{SnConfig, SnSandbox};
use server::{AppState, Metrics};
use tokio::sync::watch;

/// The template run for each app: every one syncs with GHL and has a reliable end-to-end test in
/// `crates/templates/tests`. `(app connection, template id)`. Only one of them syncs GHL tasks
/// and notes: with two `delete: propagate` flows on one GHL record, the first to handle its
/// delete drops the GHL link the second needs, and the second leaves its copy behind (an engine
/// limitation the end check finds; docs/demo.md).
pub const TEMPLATES: [(&str, &str); 5] = [
    ("your_app", "your-app-contacts-realtime"),
    ("investnext", "investnext-contacts-two-way"),
    ("invoco", "invoco-batch-import"),
    ("insightly", "insightly-contacts-to-ghl"),
    ("salesnexus", "salesnexus-tasks-notes"),
];

/// Everything the demo started; [`Stack::shutdown`] stops it.
pub struct Stack {
    pub ghl: GhlSandbox,
    /// The GHL contacts seeded before the engine started (what the activity may change).
    pub ghl_seed: Vec<String>,
    /// The InvestNext contacts (with an email) seeded before the engine started.
    pub investnext_seed: Vec<String>,
    pub your_app: RestSandbox,
    pub investnext: RestSandbox,
    pub invoco: RestSandbox,
    pub insightly: InsightlySandbox,
    pub salesnexus: SnSandbox,
    /// The project folder (kept while the demo runs; removed on exit).
    pub dir: tempfile::TempDir,
    pub project: Project,
    pub engine: Arc<Engine>,
    /// The engine's SQLite file, for the summary's read-only queries.
    pub db_file: PathBuf,
    /// `http://127.0.0.1:<port>` of the server.
    pub server_url: String,
    /// The admin API's bearer token, generated for this run.
    pub admin_token: String,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// How big the demo's world is.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// GHL contacts seeded (each with tasks, notes and appointments).
    pub contacts: usize,
    pub seed: u64,
}

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("starting the {what} emulator: {e}")
}

/// Starts every emulator, writes and loads the project, and starts the engine and the server.
pub async fn start(size: Size) -> Result<Stack, String> {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    // Limits far above what the demo uses: it shows the sync, not the rate limiter.
    let ghl = GhlSandbox::start_on(
        loopback,
        GhlConfig {
            seed: size.seed,
            contacts: size.contacts,
            locations: 1,
            limits: LimitConfig {
                burst_max: 1_000_000,
                burst_interval_ms: 10_000,
                daily_max: 100_000_000,
            },
            ..GhlConfig::default()
        },
    )
    .await
    .map_err(err("GHL"))?;
    let ghl_seed = super::activity::ghl_contacts(&ghl);
    // The apps start smaller than GHL: GHL is the hub the demo is about.
    let app_contacts = (size.contacts / 5).max(2);
    let rest = |profile| RestConfig {
        profile,
        seed: size.seed,
        contacts: app_contacts,
        limits: RateLimit {
            limit: 1_000_000,
            window_secs: 60,
        },
        ..RestConfig::default()
    };
    let your_app = RestSandbox::start(rest(Profile::YourApp))
        .await
        .map_err(err("Your App"))?;
    let investnext = RestSandbox::start(rest(Profile::InvestNext))
        .await
        .map_err(err("InvestNext"))?;
    let invoco = RestSandbox::start(rest(Profile::Invoco))
        .await
        .map_err(err("Invoco"))?;
    let insightly = InsightlySandbox::start(InsightlyConfig {
        seed: size.seed.wrapping_add(1),
        contacts: app_contacts,
        ..InsightlyConfig::default()
    })
    .await
    .map_err(err("Insightly"))?;
    separate_insightly_people(&insightly).await?;
    let investnext_seed = contacts_with_email(&investnext).await?;
    separate_investnext_people(&investnext, &investnext_seed).await?;
    let salesnexus = SnSandbox::start(SnConfig {
        seed: size.seed,
        contacts: app_contacts,
        hourly_limit: 1_000_000,
        ..SnConfig::default()
    })
    .await
    .map_err(err("SalesNexus"))?;

    let dir = tempfile::Builder::new()
        .prefix("ghl-bridge-demo-")
        .tempdir()
        .map_err(|e| format!("creating the demo's project folder: {e}"))?;
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("GHL_BASE_URL".into(), ghl.base_url.clone());
    env.insert("GHL_LOCATION_ID".into(), ghl.location_id());
    env.insert("GHL_TOKEN".into(), ghl.token());
    env.insert(
        "GHL_WEBHOOK_PUBLIC_KEY".into(),
        ghl.state.keys.ed25519_public_pem(),
    );
    let apps: [(&str, String, String); 5] = [
        ("YOUR_APP", your_app.api_url(), your_app.api_key()),
        ("INVESTNEXT", investnext.api_url(), investnext.api_key()),
        ("INVOCO", invoco.api_url(), invoco.api_key()),
        ("INSIGHTLY", insightly.base_url.clone(), insightly.api_key()),
        ("SALESNEXUS", salesnexus.api_url(), salesnexus.api_key()),
    ];
    for (prefix, url, key) in apps {
        env.insert(format!("{prefix}_URL"), url);
        env.insert(format!("{prefix}_KEY"), key);
    }
    // The emulator has no per-second cap; the template's default of 5/s would only slow it.
    env.insert("INSIGHTLY_REQUESTS_PER_SECOND".into(), "1000".into());
    let project_file = write_project(dir.path())?;
    for (_, id) in TEMPLATES {
        let meta = templates::get(id)
            .ok_or_else(|| format!("template `{id}` is not shipped"))?
            .meta()
            .map_err(|e| e.to_string())?;
        let missing: Option<String> = meta
            .required()
            .find(|s| !env.contains_key(&s.env))
            .map(|s| s.env.clone());
        if let Some(name) = missing {
            return Err(format!(
                "template `{id}` needs {name}, which the demo does not set"
            ));
        }
    }
    let vars = env.clone();
    let project = load_project_with(&project_file, &move |k: &str| vars.get(k).cloned())
        .map_err(|e| format!("the demo project does not load:\n{e}"))?;
    let connectors = engine::connections::build_connectors(&project)
        .map_err(|e| format!("the demo's connections do not build:\n{e}"))?;
    let db_file = dir.path().join("ghl-bridge.db");
    let database = format!("sqlite://{}?mode=rwc", db_file.display());
    let store = engine::store::open(&database)
        .await
        .map_err(|e| format!("opening the demo's SQLite store: {e}"))?;
    let connectors = engine::audit::audited(connectors, &store);
    let engine = Arc::new(Engine {
        store,
        flows: project.flows.clone(),
        connectors,
        options: EngineOptions {
            process_id: format!("demo-{}", std::process::id()),
            workers: 4,
            lease: Duration::from_secs(30),
            claim_batch: 1,
            // Polls often (InvestNext and Insightly have no webhooks in these templates);
            // the demo runs its own full comparison at the end.
            poll_every: Duration::from_secs(2),
            reconcile_every: Duration::from_secs(600),
            retry_base: Duration::from_millis(250),
            retry_cap: Duration::from_secs(4),
            project_dir: Some(project.dir()),
            ..EngineOptions::default()
        },
    });

    let listener = tokio::net::TcpListener::bind(loopback)
        .await
        .map_err(|e| format!("binding the demo's HTTP server: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server_url = format!("http://{addr}");
    let admin_token = secrets::generate_admin_token();
    let admin = server::admin::AdminOptions {
        flows_dir: Some(project.flows_dir.clone()),
        apps: project.apps(),
        ..Default::default()
    };
    let state = Arc::new(AppState {
        engine: engine.clone(),
        project_connections: project.connections.keys().cloned().collect::<BTreeSet<_>>(),
        metrics: Metrics::default(),
        admin_token: Some(server::admin::AdminToken::new(admin_token.clone())),
        admin,
        // No OAuth connect in the demo: its GHL connection uses the sandbox's token.
        connect: None,
    });
    // The admin API, webhooks and health from `server`, the dashboard under /ui, as `serve` has.
    let app = server::router(state.clone()).merge(dashboard::router(state));
    // GHL's webhooks go to the server, which verifies and ingests them as in production.
    ghl.state
        .set_webhook_url(Some(format!("{server_url}/webhooks/ghl")));
    let (stop, stopped) = watch::channel(false);
    let mut http_stop = stopped.clone();
    let mut tasks = vec![tokio::spawn(async move {
        let shutdown = async move {
            let _ = http_stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "the demo's HTTP server failed");
        }
    })];
    tasks.extend(engine.clone().spawn(stopped));
    Ok(Stack {
        ghl,
        ghl_seed,
        investnext_seed,
        your_app,
        investnext,
        invoco,
        insightly,
        salesnexus,
        dir,
        project,
        engine,
        db_file,
        server_url,
        admin_token,
        stop,
        tasks,
    })
}

/// The ids of InvestNext's contacts that have an email (what its flow syncs), every page.
async fn contacts_with_email(app: &RestSandbox) -> Result<Vec<String>, String> {
    let http = reqwest::Client::new();
    let e = |e: reqwest::Error| format!("listing InvestNext contacts: {e}");
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let v: serde_json::Value = http
            .get(format!("{}/contacts", app.api_url()))
            .query(&[("limit", "100"), ("cursor", cursor.as_str())])
            .bearer_auth(app.api_key())
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(e)?
            .json()
            .await
            .map_err(e)?;
        ids.extend(
            v["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["email"].as_str().is_some_and(|m| !m.is_empty()))
                .filter_map(|c| c["id"].as_str().map(str::to_string)),
        );
        match v["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return Ok(ids),
        }
    }
}

/// As [`separate_insightly_people`], for InvestNext: its seeded people would otherwise be matched
/// by email with GHL's (`noah.kim5@example.com` in both), merging two different people on the
/// two-way flow.
async fn separate_investnext_people(app: &RestSandbox, ids: &[String]) -> Result<(), String> {
    let http = reqwest::Client::new();
    let e = |e: reqwest::Error| format!("preparing the InvestNext emulator: {e}");
    for id in ids {
        let url = format!("{}/_sandbox/contacts/{id}", app.base_url);
        let c: serde_json::Value = http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(e)?
            .json()
            .await
            .map_err(e)?;
        let email = c["email"]
            .as_str()
            .and_then(|m| m.split_once('@'))
            .map(|(local, _)| format!("{local}@investnext.example.com"));
        if let Some(email) = email {
            http.patch(&url)
                .json(&serde_json::json!({ "email": email }))
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(e)?;
        }
    }
    Ok(())
}

/// The emulators' generators number emails and phones alike (`ada.kim1@example.com`,
/// `+15551000000`), so Insightly's seeded people would be matched with InvestNext's in GHL, and
/// two flows would write one GHL contact from two different people. The demo gives Insightly's
/// people their own email domain and phone range first, as a person in Insightly would.
async fn separate_insightly_people(ins: &InsightlySandbox) -> Result<(), String> {
    let http = reqwest::Client::new();
    let e = |e: reqwest::Error| format!("preparing the Insightly emulator: {e}");
    let mut people: Vec<serde_json::Value> = Vec::new();
    loop {
        let page: serde_json::Value = http
            .get(format!("{}/Contacts", ins.base_url))
            .query(&[("top", 500), ("skip", people.len())])
            .basic_auth(ins.api_key(), Some(""))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(e)?
            .json()
            .await
            .map_err(e)?;
        let page = page.as_array().cloned().unwrap_or_default();
        let full = page.len() == 500;
        people.extend(page);
        if !full {
            break;
        }
    }
    for (n, c) in people.iter().enumerate() {
        let Some(id) = c["CONTACT_ID"].as_i64() else {
            continue;
        };
        let mut change = serde_json::Map::new();
        if let Some((local, _)) = c["EMAIL_ADDRESS"].as_str().and_then(|m| m.split_once('@')) {
            change.insert(
                "EMAIL_ADDRESS".into(),
                format!("{local}@insightly.example.com").into(),
            );
        }
        change.insert("PHONE".into(), format!("+1555{:07}", 2_000_000 + n).into());
        http.put(format!("{}/_sandbox/Contacts/{id}", ins.root_url))
            .json(&change)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(e)?;
    }
    Ok(())
}

/// Writes the five templates as one project under `dir`: each template's flow files as
/// `flows/<template>--<file>`, its other files (connector configs) as they are, and a
/// `ghl-bridge.yaml` holding one GHL connection (with the webhook key, since GHL's webhooks
/// come in) and each template's app connection exactly as the template writes it.
fn write_project(dir: &Path) -> Result<PathBuf, String> {
    let mut yaml = String::from(
        "# The `ghl-bridge demo` project: five shipped templates, one per app, side by side.\n\
         version: 1\nflows: flows\n\nconnections:\n  ghl:\n    app: ghl\n    \
         base_url: ${GHL_BASE_URL}\n    location_id: ${GHL_LOCATION_ID}\n    \
         token: ${GHL_TOKEN}\n    webhook_public_key: ${GHL_WEBHOOK_PUBLIC_KEY}\n",
    );
    let write = |rel: &str, text: &str| -> Result<(), String> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))
    };
    for (conn, id) in TEMPLATES {
        let t = templates::get(id).ok_or_else(|| format!("template `{id}` is not shipped"))?;
        for f in t.files() {
            if let Some(name) = f.path.strip_prefix("flows/") {
                write(&format!("flows/{id}--{name}"), f.contents)?;
            } else if f.path != templates::PROJECT_FILE && f.path != templates::META_FILE {
                write(f.path, f.contents)?;
            }
        }
        let project = t
            .file(templates::PROJECT_FILE)
            .ok_or_else(|| format!("template `{id}` has no {}", templates::PROJECT_FILE))?;
        let block = connection_block(project, conn)
            .ok_or_else(|| format!("template `{id}` has no `{conn}` connection"))?;
        yaml.push_str(&block);
    }
    write(templates::PROJECT_FILE, &yaml)?;
    Ok(dir.join(templates::PROJECT_FILE))
}

/// The lines of connection `name` in a project file's `connections:` map (two-space keys).
fn connection_block(project: &str, name: &str) -> Option<String> {
    let mut out = String::new();
    let mut inside = false;
    for line in project.lines() {
        let key = line.strip_prefix("  ").filter(|l| !l.starts_with(' '));
        if let Some(k) = key {
            inside = k.trim_end() == format!("{name}:");
        } else if !line.starts_with(' ') && !line.trim().is_empty() {
            inside = false;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    (!out.is_empty()).then_some(out)
}

impl Stack {
    /// The sync flows of the project, in file order: what the summary and the check cover.
    pub fn sync_flows(&self) -> Vec<&engine::flow::Flow> {
        self.project
            .flows
            .iter()
            .filter(|f| f.enabled && matches!(f.body, FlowBody::Sync(_)))
            .collect()
    }

    /// Stops the engine and the server (running jobs get a few seconds), then every emulator.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let all = futures_join(self.tasks);
        if tokio::time::timeout(Duration::from_secs(10), all)
            .await
            .is_err()
        {
            tracing::warn!("the engine was still busy after 10 s; stopping anyway");
        }
        self.engine.store.close().await;
        self.ghl.shutdown().await;
        self.your_app.shutdown().await;
        self.investnext.shutdown().await;
        self.invoco.shutdown().await;
        self.insightly.shutdown().await;
        self.salesnexus.shutdown().await;
    }
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_blocks_are_cut_at_the_next_key() {
        let p = "version: 1\nconnections:\n  ghl:\n    app: ghl\n  crm:\n    app: your_app\n    \
                 config: connectors/x.yaml   # note\nflows: flows\n";
        assert_eq!(
            connection_block(p, "crm").as_deref(),
            Some("  crm:\n    app: your_app\n    config: connectors/x.yaml   # note\n")
        );
        assert_eq!(connection_block(p, "nope"), None);
    }

    #[test]
    fn every_demo_template_is_shipped_and_uses_its_app() {
        for (conn, id) in TEMPLATES {
            let t = templates::get(id).unwrap_or_else(|| panic!("{id}"));
            let text = t.file(templates::PROJECT_FILE).expect("project file");
            assert!(connection_block(text, conn).is_some(), "{id} has `{conn}`");
        }
    }
}
