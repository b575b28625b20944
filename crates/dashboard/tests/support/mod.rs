//! What the dashboard page tests share: a world of real emulators, a project folder, a SQLite
//! store and the two routers on a loopback port with a signed-in client; and readers of the
//! pages' HTML (form controls as a browser would post them, the dry-run table).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use connectors::ghl::{GhlConfig, GhlConnector};
use connectors::your_app::{YourAppConfig, YourAppConnector};
use connectors::Connector;
use engine::flow::load_project_with;
use engine::runtime::{Engine, EngineOptions};
use engine::store;
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig as SandboxConfig, GhlSandbox};
use ghl_sandbox::rest::{Profile, RestConfig, RestSandbox};
use reqwest::redirect::Policy;
use serde_json::{Map, Value};
use server::admin::{AdminOptions, AdminToken};
use server::{AppState, Metrics};

pub const TOKEN: &str = "dashboard-flows-test-token";
pub const RUNNING: &str = "ghl and crm";
pub const NEW: &str = "GHL to CRM";
pub const NEW_URL: &str = "GHL%20to%20CRM";

pub struct World {
    pub ghl: GhlSandbox,
    pub _crm: RestSandbox,
    pub engine: Arc<Engine>,
    pub project_file: PathBuf,
    pub flows_dir: PathBuf,
    pub base: String,
    pub http: reqwest::Client,
    pub cookie: String,
    pub _dir: tempfile::TempDir,
}

pub fn object(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// The Flows tests' world: one running contacts sync, [`TOKEN`] as the admin token.
pub async fn world() -> World {
    let running = format!("name: {RUNNING}\nsync:\n  source: ghl\n  target: crm\n  kinds: [contact]\n  match: {{contact: [email]}}\n");
    world_with(TOKEN, "running.yaml", &running).await
}

/// Both emulators (empty, limits raised), a project with connections `ghl` and `crm` and one
/// flow file, the engine on SQLite, the server and dashboard routers on a loopback port, and a
/// client signed in with `token`.
pub async fn world_with(token: &str, flow_file: &str, flow_yaml: &str) -> World {
    let ghl = GhlSandbox::start(SandboxConfig {
        contacts: 0,
        limits: LimitConfig {
            burst_max: 100_000,
            burst_interval_ms: 10_000,
            daily_max: 10_000_000,
        },
        ..Default::default()
    })
    .await
    .expect("ghl sandbox");
    let crm = RestSandbox::start(RestConfig {
        profile: Profile::YourApp,
        contacts: 0,
        ..Default::default()
    })
    .await
    .expect("crm emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let flows_dir = dir.path().join("flows");
    std::fs::create_dir_all(&flows_dir).expect("flows dir");
    std::fs::write(flows_dir.join(flow_file), flow_yaml).expect("flow");
    let project_file = dir.path().join("ghl-bridge.yaml");
    std::fs::write(
        &project_file,
        "version: 1\nconnections:\n  ghl: {app: ghl}\n  crm: {app: your_app}\n",
    )
    .expect("project");
    let project = load_project_with(&project_file, &|_: &str| None).expect("project loads");
    let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
    connectors.insert(
        "ghl".into(),
        Arc::new(
            GhlConnector::new(GhlConfig::private_integration(
                &ghl.base_url,
                ghl.location_id(),
                ghl.token(),
            ))
            .expect("ghl connector"),
        ),
    );
    let config = YourAppConfig::profile("your_app", crm.api_url(), crm.api_key()).expect("profile");
    connectors.insert(
        "crm".into(),
        Arc::new(YourAppConnector::new(config).expect("rest connector")),
    );
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("e.db").display());
    let store = store::open(&db).await.expect("store");
    let connectors = engine::audit::audited(connectors, &store);
    let engine = Arc::new(Engine {
        store,
        flows: project.flows.clone(),
        connectors,
        options: EngineOptions::default(),
    });
    let state = Arc::new(AppState {
        engine: engine.clone(),
        project_connections: ["ghl", "crm"].map(String::from).into_iter().collect(),
        metrics: Metrics::default(),
        admin_token: Some(AdminToken::new(token)),
        admin: AdminOptions {
            flows_dir: Some(project.flows_dir.clone()),
            apps: project.apps(),
            ..Default::default()
        },
        connect: None,
    });
    let app = server::router(state.clone()).merge(dashboard::router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    let r = http
        .post(format!("{base}/ui/login"))
        .form(&[("token", token)])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303, "the login redirects to the dashboard");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("cookie pair")
        .to_string();
    World {
        ghl,
        _crm: crm,
        engine,
        project_file,
        flows_dir,
        base,
        http,
        cookie,
        _dir: dir,
    }
}

impl World {
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self.get_raw(path).await;
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    }

    /// A signed-in GET, the whole answer (headers included).
    pub async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("request")
    }

    /// A form post as the browser sends it (session cookie, own origin, htmx header when
    /// `htmx`): (status, Location, body).
    pub async fn post(
        &self,
        path: &str,
        form: &[(String, String)],
        htmx: bool,
    ) -> (u16, String, String) {
        let mut rq = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("origin", &self.base)
            .form(form);
        if htmx {
            rq = rq.header("hx-request", "true");
        }
        let r = rq.send().await.expect("request");
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, location, r.text().await.expect("body"))
    }

    pub fn enabled(&self, name: &str) -> bool {
        let flow = self
            .engine
            .flows
            .iter()
            .find(|f| f.name == name)
            .expect("running flow");
        self.engine.flow_enabled(flow)
    }
}

pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The element with this id up to its closing tag.
pub fn element<'a>(html: &'a str, tag: &str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<{tag} id=\"{id}\""))
        .unwrap_or_else(|| panic!("no <{tag} id={id}> in:\n{html}"));
    let end = html[start..]
        .find(&format!("</{tag}>"))
        .expect("closing tag")
        + start;
    &html[start..end]
}

pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value a form control named `name` posts, read from the HTML as a browser would: an
/// input's `value`, or a select's selected option (its first when none is).
pub fn control(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no control {name} in:\n{html}"));
    let open = html[..at].rfind('<').expect("tag start");
    if html[open..].starts_with("<select") {
        let body = &html[at..at + html[at..].find("</select>").expect("select end")];
        let option = body
            .split("<option ")
            .skip(1)
            .find(|o| o.contains(" selected>"))
            .or_else(|| body.split("<option ").nth(1))
            .expect("an option");
        return unescape(attr(option, "value"));
    }
    let tag = &html[open..open + html[open..].find('>').expect("tag end")];
    unescape(attr(tag, "value"))
}

pub fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let Some(at) = tag.find(&format!("{name}=\"")) else {
        return "";
    };
    let rest = &tag[at + name.len() + 2..];
    &rest[..rest.find('"').unwrap_or(0)]
}

/// The whole editor form as it would post: the sync settings, then each mapping row.
pub fn editor_form(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in ["kind", "sync_direction", "match_key", "conflict", "delete"] {
        out.push((name.to_string(), control(html, name)));
    }
    let table = element(html, "table", "mapping");
    for row in table.split("<tr class=\"mapping-row\">").skip(1) {
        for name in [
            "source_kind",
            "source",
            "target",
            "transform",
            "default",
            "direction",
        ] {
            out.push((name.to_string(), control(row, name)));
        }
    }
    out
}

/// Sets the `n`th occurrence (0-based) of a form field.
pub fn set(form: &mut [(String, String)], name: &str, n: usize, value: &str) {
    let slot = form
        .iter_mut()
        .filter(|(k, _)| k == name)
        .nth(n)
        .unwrap_or_else(|| panic!("no {name} #{n}"));
    slot.1 = value.to_string();
}

/// The `<tr data-field="F">` row of the dry-run table: (before, after).
pub fn diff_row(html: &str, field: &str) -> (String, String) {
    let table = element(html, "table", "dry-run-diff");
    let at = table
        .find(&format!("<tr data-field=\"{field}\""))
        .unwrap_or_else(|| panic!("no row for {field} in {table}"));
    let row = &table[at..at + table[at..].find("</tr>").expect("row end")];
    let cell = |class: &str| {
        let i = row.find(&format!("<td class=\"{class}")).expect("cell");
        let s = &row[i..];
        let s = &s[s.find('>').expect(">") + 1..];
        unescape(&s[..s.find("</td>").expect("cell end")])
    };
    (cell("before"), cell("after"))
}
