//! One case's world: the GHL sandbox and the Your App emulator (no seed contacts, webhooks to
//! receivers of ours, delivery faults per case), the two connectors, a SQLite store in a temp dir
//! and an [`Engine`] running a two-way contact sync in-process.
//!
//! People's changes go through the emulators' own "as a person in the app" operations (the ones
//! behind their `/_sandbox/` admin routes), so they bump versions and timestamps and emit
//! webhooks exactly as app changes do.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use connectors::ghl::{GhlConfig, GhlConnector};
use connectors::your_app::{YourAppConfig, YourAppConnector};
use connectors::Connector;
use engine::flow::load_project_with;
use engine::runtime::{Engine, EngineOptions};
use engine::store::{self, DlqFilter, EventSource, Page};
use ghl::RetryPolicy;
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::webhooks::WebhookKeys;
use ghl_sandbox::ghl::{GhlConfig as GhlSandboxConfig, GhlSandbox};
use ghl_sandbox::rest::ratelimit::RateLimit;
use ghl_sandbox::rest::schema::Kind;
use ghl_sandbox::rest::store::ListQuery;
use ghl_sandbox::rest::webhooks::DeliveryConfig as CrmDelivery;
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use super::hooks::{Delivery, Hooks};
use super::model::{Case, DeliverPlan, Field, Side, Values};

const CRM_SECRET: &str = "whsec_convergence";

/// Rounds of "deliver what arrived, run the jobs" before a settle gives up: each round only
/// delivers the echoes of the previous round's writes, so a sync that converges needs 2–3.
const MAX_ROUNDS: usize = 8;

/// Signing keys made once per test process (RSA key generation is slow in debug builds) and
/// loaded by every GHL sandbox.
fn keys_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("keys dir");
        WebhookKeys::load_or_create(dir.path()).expect("webhook keys");
        dir
    })
    .path()
    .to_path_buf()
}

fn flow_yaml(case: &Case) -> String {
    format!(
        "name: contacts both ways\nsync:\n  source: ghl\n  target: crm\n  direction: two_way\n  \
         kinds: [contact]\n  match:\n    contact: [email]\n{}  delete: propagate\n",
        case.policy.yaml()
    )
}

/// What one delivery step did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Delivered {
    pub ghl: usize,
    pub crm: usize,
    pub held: usize,
    pub hints: usize,
}

pub struct World {
    pub ghl: GhlSandbox,
    pub crm: RestSandbox,
    pub engine: Engine,
    /// The GHL location synced.
    pub location: String,
    ghl_hooks: Hooks,
    crm_hooks: Hooks,
    held: Vec<(Side, Delivery)>,
    _dir: tempfile::TempDir,
}

impl World {
    pub async fn start(case: &Case) -> Result<Self, String> {
        let ghl_hooks = Hooks::start().await;
        let crm_hooks = Hooks::start().await;
        let f = case.faults;
        let rate = |pct: u8| f64::from(pct) / 100.0;
        let ghl = GhlSandbox::start(GhlSandboxConfig {
            seed: case.seed,
            contacts: 0,
            limits: LimitConfig {
                burst_max: 1_000_000,
                burst_interval_ms: 10_000,
                daily_max: 100_000_000,
            },
            webhook_url: Some(ghl_hooks.url.clone()),
            keys_dir: Some(keys_dir()),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("GHL sandbox: {e}"))?;
        // Delivery behaviour through the admin API, as an operator would set it.
        let answer = reqwest::Client::new()
            .put(format!("{}/_sandbox/webhooks", ghl.base_url))
            .json(&json!({"delivery": {
                "duplicateRate": rate(f.ghl_duplicate),
                "reorderRate": rate(f.ghl_reorder),
                "reorderDelayMs": 20,
                "dropRate": rate(f.ghl_drop),
                "missingFieldsRate": rate(f.ghl_missing_fields),
            }}))
            .send()
            .await
            .map_err(|e| format!("GHL webhook settings: {e}"))?;
        if !answer.status().is_success() {
            return Err(format!("GHL webhook settings: {}", answer.status()));
        }
        let crm = RestSandbox::start(RestConfig {
            seed: case.seed,
            contacts: 0,
            limits: RateLimit {
                limit: 1_000_000,
                window_secs: 60,
            },
            webhook_url: Some(crm_hooks.url.clone()),
            webhook_secret: Some(CRM_SECRET.into()),
            delivery: CrmDelivery {
                duplicate_rate: rate(f.crm_duplicate),
                drop_rate: rate(f.crm_drop),
                ..Default::default()
            },
            ..Default::default()
        })
        .await
        .map_err(|e| format!("Your App emulator: {e}"))?;

        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::fs::create_dir_all(dir.path().join("flows")).map_err(|e| e.to_string())?;
        std::fs::write(dir.path().join("flows/contacts.yaml"), flow_yaml(case))
            .map_err(|e| e.to_string())?;
        let project_file = dir.path().join("ghl-bridge.yaml");
        std::fs::write(
            &project_file,
            "version: 1\nconnections:\n  ghl: {app: ghl}\n  crm: {app: your_app}\n",
        )
        .map_err(|e| e.to_string())?;
        let project =
            load_project_with(&project_file, &|_: &str| None).map_err(|e| format!("{e:?}"))?;

        let mut ghl_config =
            GhlConfig::private_integration(&ghl.base_url, ghl.location_id(), ghl.token())
                .with_retry(RetryPolicy {
                    base: Duration::from_millis(5),
                    ..Default::default()
                });
        let w = &mut ghl_config.settings.webhooks;
        w.ed25519_public_key_pem = Some(ghl.state.keys.ed25519_public_pem());
        w.rsa_public_key_pem = Some(ghl.state.keys.rsa_public_pem());
        let ghl_conn = GhlConnector::new(ghl_config).map_err(|e| e.to_string())?;
        let crm_conn = YourAppConnector::new(
            YourAppConfig::default_for(crm.api_url(), crm.api_key())
                .with_webhook_secret(CRM_SECRET),
        )
        .map_err(|e| e.to_string())?;
        let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
        connectors.insert("ghl".into(), Arc::new(ghl_conn));
        connectors.insert("crm".into(), Arc::new(crm_conn));

        let db = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("engine.db").display()
        );
        let store = store::open(&db).await.map_err(|e| e.to_string())?;
        let engine = Engine {
            store,
            flows: project.flows,
            connectors,
            options: EngineOptions {
                process_id: "convergence".into(),
                workers: 1,
                retry_base: Duration::from_millis(5),
                retry_cap: Duration::from_millis(40),
                ..EngineOptions::default()
            },
        };
        Ok(Self {
            location: ghl.location_id(),
            ghl,
            crm,
            engine,
            ghl_hooks,
            crm_hooks,
            held: Vec::new(),
            _dir: dir,
        })
    }

    pub async fn shutdown(self) {
        self.engine.store.close().await;
        self.ghl_hooks.stop();
        self.crm_hooks.stop();
        self.ghl.shutdown().await;
        self.crm.shutdown().await;
    }

    // ----- people's changes -------------------------------------------------------------------

    /// The id of the live contact with this email.
    pub fn find(&self, side: Side, email: &str) -> Option<String> {
        match side {
            Side::Ghl => self
                .ghl
                .state
                .store
                .read()
                .contacts_with_email(&self.location, email)
                .into_iter()
                .next(),
            Side::Crm => self.crm.state.store.lock().email_owner(email, None),
        }
    }

    /// One field of a live contact, normalised as in [`World::live`].
    pub fn field(&self, side: Side, id: &str, field: Field) -> Option<Value> {
        self.live(side)
            .into_iter()
            .find(|(i, _, _)| i == id)
            .and_then(|(_, _, v)| v.get(&field).cloned())
    }

    fn body(side: Side, values: &Values) -> Map<String, Value> {
        values
            .iter()
            .map(|(f, v)| {
                let name = match (side, f) {
                    (Side::Ghl, Field::FirstName) => "firstName",
                    _ => f.canonical(),
                };
                (name.to_string(), v.clone())
            })
            .collect()
    }

    /// Creates a contact as a person in the app; returns its id.
    pub fn create(&self, side: Side, email: &str, values: &Values) -> Result<String, String> {
        let mut body = Self::body(side, values);
        body.insert("email".into(), json!(email));
        match side {
            Side::Ghl => self
                .ghl
                .state
                .create_contact(&self.location, &body)
                .map(|c| c.id)
                .map_err(|e| format!("{e:?}")),
            Side::Crm => self
                .crm
                .state
                .create(Kind::Contact, None, &body)
                .map(|r| r.id)
                .map_err(|e| format!("{e:?}")),
        }
    }

    /// Edits fields of a contact as a person in the app.
    pub fn update(&self, side: Side, id: &str, values: &Values) -> Result<(), String> {
        let body = Self::body(side, values);
        match side {
            Side::Ghl => self
                .ghl
                .state
                .update_contact(id, &body, true)
                .map(|_| ())
                .map_err(|e| format!("{e:?}")),
            Side::Crm => self
                .crm
                .state
                .update(Kind::Contact, id, &body, None)
                .map(|_| ())
                .map_err(|e| format!("{e:?}")),
        }
    }

    /// Deletes a contact as a person in the app.
    pub fn delete(&self, side: Side, id: &str) -> Result<(), String> {
        match side {
            Side::Ghl => self
                .ghl
                .state
                .delete_contact(id)
                .map(|_| ())
                .map_err(|e| format!("{e:?}")),
            Side::Crm => self
                .crm
                .state
                .delete(Kind::Contact, id, None)
                .map_err(|e| format!("{e:?}")),
        }
    }

    /// Whether the engine has linked this record to an identity.
    pub async fn linked(&self, side: Side, id: &str) -> Result<bool, String> {
        let link = self
            .engine
            .store
            .find_link(side.connection(), "contact", id)
            .await
            .map_err(|e| e.to_string())?;
        Ok(link.is_some())
    }

    /// Every live contact of one app: (id, email, synced fields).
    pub fn live(&self, side: Side) -> Vec<(String, String, Values)> {
        let text = |v: Option<&str>| v.map_or(Value::Null, |s| json!(s));
        let tags = |mut t: Vec<String>| {
            t.sort();
            json!(t)
        };
        match side {
            Side::Ghl => {
                let s = self.ghl.state.store.read();
                s.contacts_in(&self.location)
                    .map(|c| {
                        let values = Values::from([
                            (Field::FirstName, text(c.first_name.as_deref())),
                            (Field::City, text(c.city.as_deref())),
                            (Field::Tags, tags(c.tags.clone())),
                        ]);
                        (c.id.clone(), c.email.clone().unwrap_or_default(), values)
                    })
                    .collect()
            }
            Side::Crm => {
                let s = self.crm.state.store.lock();
                let q = ListQuery {
                    limit: 100_000,
                    after: None,
                    updated_since: None,
                    include_deleted: false,
                    email: None,
                };
                s.list(Kind::Contact, None, &q)
                    .0
                    .into_iter()
                    .map(|r| {
                        let f = |n: &str| text(r.fields.get(n).and_then(Value::as_str));
                        let t: Vec<String> = r
                            .fields
                            .get("tags")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect();
                        let values = Values::from([
                            (Field::FirstName, f("first_name")),
                            (Field::City, f("city")),
                            (Field::Tags, tags(t)),
                        ]);
                        let email = r.fields.get("email").and_then(Value::as_str);
                        (r.id.clone(), email.unwrap_or_default().to_string(), values)
                    })
                    .collect()
            }
        }
    }

    /// Changes the two apps have made (each emits one webhook event or more), engine writes
    /// included: the same count before and after a step means the step changed nothing.
    pub fn changes_made(&self) -> u64 {
        self.ghl.state.webhooks.stats().emitted + self.crm.state.webhooks.stats().emitted
    }

    // ----- the engine -------------------------------------------------------------------------

    /// Hands the webhooks that arrived (and any held back before) to the engine: each through
    /// its connector's `parse_webhook`, then `ingest(.., Webhook)`. With a plan, shuffled, some
    /// held back for later and some repeated; without, all of them in arrival order.
    pub async fn deliver(&mut self, plan: Option<DeliverPlan>) -> Result<Delivered, String> {
        self.ghl.state.webhooks.idle().await;
        self.crm.state.webhooks.idle().await;
        let mut pool: Vec<(Side, Delivery)> = std::mem::take(&mut self.held);
        pool.extend(self.ghl_hooks.take().into_iter().map(|d| (Side::Ghl, d)));
        pool.extend(self.crm_hooks.take().into_iter().map(|d| (Side::Crm, d)));
        let mut out = Delivered::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(plan.map_or(0, |p| p.shuffle));
        if plan.is_some() {
            pool.shuffle(&mut rng);
        }
        for (side, d) in pool {
            let (hold, dup) = match plan {
                Some(p) => (
                    rng.random_range(0..100) < p.hold,
                    rng.random_range(0..100) < p.duplicate,
                ),
                None => (false, false),
            };
            if hold {
                out.held += 1;
                self.held.push((side, d));
                continue;
            }
            for _ in 0..1 + usize::from(dup) {
                out.hints += self.deliver_one(side, &d).await?;
            }
            match side {
                Side::Ghl => out.ghl += 1,
                Side::Crm => out.crm += 1,
            }
        }
        Ok(out)
    }

    async fn deliver_one(&self, side: Side, d: &Delivery) -> Result<usize, String> {
        let conn = side.connection();
        let hints = self.engine.connectors[conn]
            .parse_webhook(&d.headers, &d.body)
            .map_err(|e| {
                format!(
                    "{conn} webhook refused: {e}: {}",
                    String::from_utf8_lossy(&d.body)
                )
            })?;
        self.engine
            .ingest(conn, &hints, EventSource::Webhook)
            .await
            .map_err(|e| format!("ingest: {e}"))?;
        Ok(hints.len())
    }

    /// Runs jobs until none is pending, waiting out retry delays (a few ms here) and any job the
    /// engine handed back for a while (up to 10 s in all). Returns the number of job runs.
    pub async fn run_jobs(&self) -> Result<usize, String> {
        let mut ran = 0;
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            ran += self
                .engine
                .run_until_idle()
                .await
                .map_err(|e| format!("run_until_idle: {e}"))?;
            let stats = self
                .engine
                .store
                .queue_stats()
                .await
                .map_err(|e| e.to_string())?;
            if stats.pending == 0 && stats.leased == 0 {
                return Ok(ran);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let stats = self
            .engine
            .store
            .queue_stats()
            .await
            .map_err(|e| e.to_string())?;
        let budgets: Vec<String> = self
            .engine
            .connectors
            .iter()
            .map(|(name, c)| format!("{name}: {:?}", c.budget()))
            .collect();
        Err(format!(
            "jobs still pending after 10 s: {stats:?}; budgets {budgets:?}"
        ))
    }

    /// Delivers and runs until no new webhook arrives (the echoes of the engine's own writes
    /// come back once and change nothing).
    pub async fn settle(&mut self) -> Result<(), String> {
        for _ in 0..MAX_ROUNDS {
            self.run_jobs().await?;
            let d = self.deliver(None).await?;
            if d.ghl + d.crm == 0 {
                return Ok(());
            }
        }
        Err(format!(
            "no quiescence: webhooks still arriving after {MAX_ROUNDS} rounds of deliver + run \
             (the engine keeps writing)"
        ))
    }

    /// The full sync of a checkpoint: every webhook, jobs until idle, then the reconcile safety
    /// net (for dropped webhooks) twice.
    pub async fn full_sync(&mut self) -> Result<(), String> {
        self.settle().await?;
        for _ in 0..2 {
            self.reconcile().await?;
        }
        Ok(())
    }

    /// `reconcile_once()`, then settle.
    pub async fn reconcile(&mut self) -> Result<(), String> {
        self.engine
            .reconcile_once()
            .await
            .map_err(|e| format!("reconcile_once: {e}"))?;
        self.settle().await
    }

    /// The dead-letter queue's jobs, as `entity: error` lines.
    pub async fn dead_jobs(&self) -> Result<Vec<String>, String> {
        let dead = self
            .engine
            .store
            .dlq_list(&DlqFilter::default(), Page::default())
            .await
            .map_err(|e| e.to_string())?;
        Ok(dead
            .into_iter()
            .map(|j| format!("{}: {}", j.entity_key, j.last_error.unwrap_or_default()))
            .collect())
    }
}
