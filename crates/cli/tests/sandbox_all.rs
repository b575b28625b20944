//! `ghl-bridge sandbox all` as a user runs it: one JSON ready line keyed by app, and each of the
//! six emulators answering its own API with the credentials that line gives, holding the number
//! of contacts asked for.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");
/// A guard against a hung child, not a wait for anything: the read resolves on output.
const GUARD: Duration = Duration::from_secs(120);

fn s<'a>(v: &'a Value, app: &str, field: &str) -> &'a str {
    v[app][field]
        .as_str()
        .unwrap_or_else(|| panic!("{app}.{field} missing in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_all_starts_six_emulators_that_answer_with_the_printed_credentials() {
    let mut child = Command::new(BIN)
        .args(["sandbox", "all", "--contacts", "6", "--seed", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ghl-bridge");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = tokio::time::timeout(GUARD, lines.next_line())
        .await
        .expect("no ready line in time")
        .expect("read stdout")
        .expect("stdout closed early");
    let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let mut apps: Vec<&String> = ready.as_object().expect("object").keys().collect();
    apps.sort();
    assert_eq!(
        apps,
        [
            "ghl",
            "insightly",
            "investnext",
            "invoco",
            "salesnexus",
            "your_app"
        ]
    );
    let http = reqwest::Client::new();

    // GHL: search the location with the printed token.
    let ghl: Value = http
        .post(format!("{}/contacts/search", s(&ready, "ghl", "base_url")))
        .bearer_auth(s(&ready, "ghl", "token"))
        .header("Version", "2021-07-28")
        .json(&serde_json::json!({"locationId": s(&ready, "ghl", "location_id"), "pageLimit": 100}))
        .send()
        .await
        .expect("ghl search")
        .json()
        .await
        .expect("ghl JSON");
    assert_eq!(ghl["total"], 6, "{ghl}");

    // The three profiles of the generic REST contract, each on its own port and key.
    let mut ports = std::collections::BTreeSet::new();
    for app in ["your_app", "investnext", "invoco"] {
        let base = s(&ready, app, "base_url");
        ports.insert(base.to_string());
        let resp = http
            .get(format!("{base}/v1/contacts?limit=100"))
            .bearer_auth(s(&ready, app, "api_key"))
            .send()
            .await
            .expect("rest list");
        assert_eq!(resp.status().as_u16(), 200, "{app}");
        let wrong = http
            .get(format!("{base}/v1/contacts"))
            .bearer_auth("not-the-key")
            .send()
            .await
            .expect("rest list");
        assert_eq!(wrong.status().as_u16(), 401, "{app} takes only its key");
    }
    assert_eq!(ports.len(), 3, "each profile on its own port");

    let rows: Value = http
        .get(format!(
            "{}/Contacts?top=500",
            s(&ready, "insightly", "base_url")
        ))
        .basic_auth(s(&ready, "insightly", "api_key"), Some(""))
        .send()
        .await
        .expect("insightly list")
        .json()
        .await
        .expect("insightly JSON");
    assert_eq!(rows.as_array().map(Vec::len), Some(6), "{rows}");

    let page: Value = http
        .get(format!(
            "{}/api/v1/contacts?pageSize=100",
            s(&ready, "salesnexus", "base_url")
        ))
        .header("X-Api-Key", s(&ready, "salesnexus", "api_key"))
        .send()
        .await
        .expect("salesnexus list")
        .json()
        .await
        .expect("salesnexus JSON");
    assert_eq!(page["totalItems"], 6, "{page}");
    child.kill().await.expect("stop");
}
