//! Connecting GHL through a running `ghl-bridge serve`: `GET /connect/ghl/{connection}` (admin
//! token) redirects to the emulator's consent page with a one-time `state`, the emulator sends
//! the browser to `/oauth/callback`, the server stores the tokens sealed, and the admin API's
//! connection test reports them. Then `ghl-bridge run --once` syncs with those tokens — and,
//! before they existed, refused to start saying how to connect — and later runs, each a new
//! process, refresh expired tokens with the rotated refresh token the previous run saved.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use secrets::{key_path, write_new_private, SecretKey};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");
const ADMIN: &str = "admin-token-for-connect-tests";
const FLOW: &str = "name: contacts to crm\nsync:\n  source: ghl\n  target: crm\n  direction: one_way\n  kinds: [contact]\n  match:\n    contact: [email]\n";

struct Serve {
    child: Child,
    url: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(sub: &str, project: &Path, db: &str) -> Command {
    let mut c = Command::new(BIN);
    c.arg(sub)
        .arg("--project")
        .arg(project)
        .args(["--database", db])
        .env_remove("GHL_BRIDGE_SECRET_KEY")
        .env_remove("DATABASE_URL")
        .env("GHL_BRIDGE_ADMIN_TOKEN", ADMIN)
        .env("RUST_LOG", "info,sqlx=warn")
        .stdin(Stdio::null());
    c
}

async fn serve(dir: &Path, project: &Path, db: &str) -> Serve {
    let log = dir.join("serve.log");
    let child = command("serve", project, db)
        .args(["--listen", "127.0.0.1:0", "--poll-every", "1h"])
        .stdout(Stdio::null())
        .stderr(File::create(&log).expect("log"))
        .spawn()
        .expect("serve starts");
    let mut s = Serve {
        child,
        url: String::new(),
    };
    for _ in 0..1500 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(at) = text.find("serving HTTP on http://") {
            let rest = &text[at + "serving HTTP on ".len()..];
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            s.url = rest[..end].to_string();
            return s;
        }
        if let Ok(Some(st)) = s.child.try_wait() {
            panic!("serve exited ({st}):\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("serve did not start");
}

async fn approve(base: &str, consent_url: &str) -> String {
    ghl_sandbox::ghl::consent::approve(base, consent_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_through_the_server_then_run_with_the_stored_tokens() {
    let ghl = GhlSandbox::start(GhlConfig {
        contacts: 4,
        ..Default::default()
    })
    .await
    .expect("GHL sandbox");
    let crm = RestSandbox::start(RestConfig {
        contacts: 0,
        ..Default::default()
    })
    .await
    .expect("Your App emulator");
    let c = ghl.credentials();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let key = SecretKey::generate();
    write_new_private(&key_path(dir), &key.to_base64()).expect("key");
    std::fs::create_dir_all(dir.join("flows")).expect("flows");
    let project: PathBuf = dir.join("ghl-bridge.yaml");
    std::fs::write(
        &project,
        format!(
            "version: 1\nconnections:\n  ghl:\n    app: ghl\n    auth: oauth\n    base_url: {}\n    client_id: {}\n    client_secret: {}\n  crm: {{app: your_app, base_url: '{}', api_key: '{}'}}\n",
            ghl.base_url, c.client_id, c.client_secret, crm.api_url(), crm.api_key()
        ),
    )
    .expect("project");
    let db = format!("sqlite://{}?mode=rwc", dir.join("engine.db").display());

    // A flow uses the connection but nothing is connected yet: run refuses, saying what to do.
    std::fs::write(dir.join("flows/contacts.yaml"), FLOW).expect("flow");
    let o = command("run", &project, &db)
        .arg("--once")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("run `ghl-bridge connect ghl --connection ghl`"),
        "{err}"
    );
    std::fs::remove_file(dir.join("flows/contacts.yaml")).expect("flow removed");

    let server = serve(dir, &project, &db).await;
    let http = no_redirects();
    let start = format!("{}/connect/ghl/ghl", server.url);
    let r = http.get(&start).send().await.expect("start");
    assert_eq!(r.status().as_u16(), 401, "needs the admin token");
    let r = http
        .get(format!("{}/connect/ghl/nope", server.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("unknown");
    assert_eq!(r.status().as_u16(), 404);
    let r = http
        .get(&start)
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("start");
    assert_eq!(r.status().as_u16(), 302);
    let consent = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(
        consent.starts_with(&format!("{}/v2/oauth/chooselocation?", ghl.base_url)),
        "{consent}"
    );
    assert!(consent.contains("state="), "{consent}");

    // A forged state is refused.
    let r = http
        .get(format!("{}/oauth/callback?code=x&state=forged", server.url))
        .send()
        .await
        .expect("forged");
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.expect("page").contains("start again"));

    let back = approve(&ghl.base_url, &consent).await;
    assert!(
        back.starts_with(&format!("{}/oauth/callback?", server.url)),
        "{back}"
    );
    let r = http
        .get(&back)
        .header("accept", "application/json")
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["locations"][0]["_id"], ghl.location_id(), "{v}");
    assert!(
        v.to_string().find("sbx-").is_none(),
        "no token in the answer: {v}"
    );
    // The state is one-time.
    let r = http.get(&back).send().await.expect("again");
    assert_eq!(r.status().as_u16(), 400);

    let test = |name: &str| {
        http.get(format!("{}/api/v1/connections/{name}/test", server.url))
            .bearer_auth(ADMIN)
            .send()
    };
    let r = test("ghl").await.expect("test");
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["reachable"], true, "{v}");
    assert_eq!(v["authorized"], true, "{v}");
    assert_eq!(v["auth"], "oauth");
    assert_eq!(v["endpoints"]["readonly"].as_array().map(Vec::len), Some(8));
    assert_eq!(v["endpoints"]["write"].as_array().map(Vec::len), Some(9));
    assert!(v["token_expires_at"].is_string());
    let r = test("crm").await.expect("test crm");
    let v: Value = r.json().await.expect("json");
    assert_eq!(
        (v["reachable"].clone(), v["authorized"].clone()),
        (true.into(), true.into()),
        "{v}"
    );
    assert_eq!(test("nope").await.expect("404").status().as_u16(), 404);
    let doc: Value = reqwest::get(format!("{}/api/openapi.json", server.url))
        .await
        .expect("doc")
        .json()
        .await
        .expect("json");
    assert!(doc["paths"]["/api/v1/connections/{name}/test"]["get"].is_object());
    drop(server);

    // The engine runs on the stored tokens.
    std::fs::write(dir.join("flows/contacts.yaml"), FLOW).expect("flow");
    let o = command("run", &project, &db)
        .arg("--once")
        .output()
        .expect("run");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{out}");
    assert!(out.contains("polled 4 change(s)"), "{out}");

    // Refresh rotation across process restarts: each run finds its access token expired,
    // refreshes with the single-use refresh token and must have saved the new pair for the next
    // process — the old refresh token is dead at GHL.
    let mut seen = Vec::new();
    for round in 0..2 {
        let (access, refresh) = stored_tokens(&db, &key).await;
        assert!(
            !seen.contains(&refresh),
            "round {round}: the refresh token was not rotated"
        );
        seen.push(refresh);
        let r = reqwest::Client::new()
            .post(format!("{}/_sandbox/tokens/expire", ghl.base_url))
            .json(&serde_json::json!({"token": access}))
            .send()
            .await
            .expect("expire");
        assert!(r.status().is_success());
        let o = command("run", &project, &db)
            .arg("--once")
            .output()
            .expect("run");
        let out = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "round {round}: {out}");
        assert!(
            out.contains("GHL tokens refreshed and saved"),
            "round {round}: {out}"
        );
    }
    let (_, last) = stored_tokens(&db, &key).await;
    assert!(!seen.contains(&last), "the last refresh was saved too");
    ghl.shutdown().await;
}

/// The OAuth tokens the registry holds, opened with the project key.
async fn stored_tokens(db: &str, key: &SecretKey) -> (String, String) {
    let store = engine::store::open(db).await.expect("store");
    let c = engine::connections::oauth::load_credential(&*store, key, "ghl")
        .await
        .expect("opens");
    store.close().await;
    match c {
        Some(engine::connections::oauth::StoredCredential::Oauth {
            access_token,
            refresh_token,
            ..
        }) => (access_token, refresh_token.unwrap_or_default()),
        other => panic!("no OAuth tokens stored: {other:?}"),
    }
}
