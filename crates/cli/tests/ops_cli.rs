//! The operator commands as a user meets them, through the real binary: `--help` on every
//! command, completion scripts, errors that say what to do, and — against the GHL sandbox and
//! the Your App emulator with a SQLite store — `flows list|validate|test|disable|enable`,
//! `sync backfill|run|status`, `dlq list|replay|discard`, `audit calls|changes` and `export`.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use engine::store::{DlqFilter, JobState, NewJob, Page, Priority};
use serde_json::{json, Value};
use support::*;

/// Runs the binary with the world's environment (or none); returns (exit code, stdout, stderr).
async fn cli(w: Option<&World>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null());
    if let Some(w) = w {
        cmd.env("GHL_URL", &w.ghl.base_url)
            .env("GHL_LOCATION", w.ghl.location_id())
            .env("GHL_TOKEN", w.ghl.token())
            .env("CRM_URL", w.crm.api_url())
            .env("CRM_KEY", w.crm.api_key());
    }
    let out = cmd.output().await.expect("run ghl-bridge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `ghl-bridge <args> --project <world> --database <world db>`.
async fn ops(w: &World, args: &[&str]) -> (i32, String, String) {
    let project = w.project.display().to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--project", &project, "--database", &w.db_url]);
    cli(Some(w), &all).await
}

fn parse(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// The subcommand names listed under `Commands:` in a help text.
fn commands_in(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_has_help_and_every_shell_gets_a_completion_script() {
    let (code, top, _) = cli(None, &["--help"]).await;
    assert_eq!(code, 0);
    let commands = commands_in(&top);
    for c in [
        "flows",
        "sync",
        "dlq",
        "audit",
        "export",
        "completions",
        "run",
        "view",
    ] {
        assert!(commands.iter().any(|x| x == c), "`{c}` in --help: {top}");
    }
    // Every command and every nested command answers --help with its usage.
    let mut todo: Vec<Vec<String>> = commands.iter().map(|c| vec![c.clone()]).collect();
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (code, out, err) = cli(None, &args).await;
        assert_eq!(code, 0, "{path:?} --help: {err}");
        assert!(out.contains("Usage: ghl-bridge"), "{path:?}: {out}");
        seen += 1;
        for sub in commands_in(&out) {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
    }
    assert!(
        seen >= commands.len() + 12,
        "nested commands are visited ({seen})"
    );

    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, script, err) = cli(None, &["completions", shell]).await;
        assert_eq!(code, 0, "{shell}: {err}");
        for c in &commands {
            assert!(script.contains(c.as_str()), "{shell} script names `{c}`");
        }
        assert!(
            script.contains("backfill") && script.contains("replay"),
            "{shell}: nested commands"
        );
    }
    let (code, _, err) = cli(None, &["completions", "tcsh"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("bash"), "the shells are listed: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_project_every_command_says_how_to_get_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope/ghl-bridge.yaml");
    let missing = missing.to_str().unwrap_or_default();
    for args in [
        vec!["flows", "list"],
        vec!["flows", "validate"],
        vec!["sync", "status"],
        vec!["sync", "run"],
        vec!["dlq", "list"],
        vec!["audit", "calls"],
        vec!["export"],
    ] {
        let mut all = args.clone();
        all.extend(["--project", missing]);
        let (code, _, err) = cli(None, &all).await;
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("ghl-bridge init") && err.contains("--project"),
            "{args:?}: {err}"
        );
    }
}

/// Puts one job in the dead-letter queue the way a job that failed every attempt gets there.
async fn dead_job(w: &World, contact: &str) -> i64 {
    let store = open_store(&w.db_url).await;
    let payload = json!({"connection": "ghl", "kind": "contact", "id": contact});
    let job = NewJob {
        payload,
        max_attempts: Some(1),
        priority: Priority::REALTIME,
        ..NewJob::new("contacts to crm", format!("ghl:contact:{contact}"))
    };
    let id = store.enqueue(job).await.expect("enqueue").job_id;
    let claimed = store
        .claim("test-worker", 10, std::time::Duration::from_secs(30))
        .await
        .expect("claim");
    assert!(claimed.iter().any(|j| j.id == id), "the job is claimed");
    store
        .fail(
            id,
            "test-worker",
            "Your App answered 503 three times",
            std::time::Duration::ZERO,
        )
        .await
        .expect("fail");
    store.close().await;
    id.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_sync_dlq_audit_and_export_against_the_emulators() {
    let w = world(25, ONE_WAY).await;
    std::fs::write(
        folder(&w).join("sample.json"),
        r#"{"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"}"#,
    )
    .expect("sample");

    // flows list / validate / test
    let (code, out, err) = ops(&w, &["flows", "list"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("contacts to crm") && out.contains("changes on ghl"),
        "{out}"
    );
    let (code, out, _) = ops(&w, &["flows", "list", "--json"]).await;
    assert_eq!(code, 0);
    let flows = parse(&out);
    assert_eq!(flows[0]["name"], "contacts to crm");
    assert_eq!(flows[0]["kind"], "sync");
    assert_eq!(flows[0]["enabled"], true);
    assert_eq!(flows[0]["connections"], json!(["ghl", "crm"]));
    let (code, out, err) = ops(&w, &["flows", "validate"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok (1 flow)"), "{out}");
    let sample = folder(&w).join("sample.json").display().to_string();
    let (code, out, err) = ops(
        &w,
        &[
            "flows",
            "test",
            "contacts to crm",
            "--sample",
            &sample,
            "--json",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let run = parse(&out);
    assert_eq!(run["written"], false);
    assert_eq!(run["after"]["email"], "ada@example.com", "{run}");
    let (code, out, err) = ops(
        &w,
        &["flows", "test", "contacts to crm", "--sample", &sample],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("would write to `crm`") && out.contains("ada@example.com"),
        "{out}"
    );
    let (first_id, (first_email, _)) = w.ghl_contacts().into_iter().next().expect("a contact");
    let from = format!("ghl:{first_id}");
    let (code, out, err) = ops(
        &w,
        &[
            "flows",
            "test",
            "contacts to crm",
            "--record-from",
            &from,
            "--json",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        parse(&out)["after"]["email"]
            .as_str()
            .map(str::to_lowercase),
        first_email.map(|e| e.to_lowercase())
    );
    let (code, _, err) = ops(
        &w,
        &["flows", "test", "contacts to cmr", "--sample", &sample],
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("did you mean `contacts to crm`?"), "{err}");
    assert!(
        w.crm_contacts().await.is_empty(),
        "a dry run writes nothing"
    );

    // Nothing run yet: the DLQ and the audit log say so.
    let (code, _, err) = ops(&w, &["dlq", "list"]).await;
    assert_eq!(code, 1, "no database yet");
    assert!(
        err.contains("no database") && err.contains("sync run"),
        "{err}"
    );

    // sync backfill writes every record to the other side and summarises in JSON.
    let (code, out, err) = ops(
        &w,
        &["sync", "backfill", "--flow", "contacts to crm", "--json"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let summary = parse(&out);
    assert_eq!(summary["jobs"], 25, "{summary}");
    assert_eq!(summary["done"], 25, "{summary}");
    assert_eq!(summary["dead"], 0, "{summary}");
    assert_eq!(summary["writes"][0]["created"], 25, "{summary}");
    assert_each_contact_once(&w).await;
    let (code, out, err) = ops(&w, &["sync", "backfill", "--flow", "contacts to crm"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("25 of 25 record(s) synced"), "{out}");
    assert!(
        out.contains("already in step"),
        "a second backfill writes nothing: {out}"
    );
    assert!(
        !out.contains('\u{1b}'),
        "no progress bar when stdout is not a terminal: {out:?}"
    );

    let (code, out, err) = ops(
        &w,
        &[
            "sync",
            "backfill",
            "--flow",
            "contacts to crm",
            "--since",
            "2999-01-01",
            "--json",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let summary = parse(&out);
    assert_eq!(summary["jobs"], 0, "{summary}");
    assert_eq!(summary["skipped_as_older"], 25, "{summary}");

    // sync run: one pass picks up an edit.
    let (code, _, err) = ops(&w, &["sync", "run"]).await;
    assert_eq!(code, 0, "{err}");
    w.edit_ghl(&first_id, city("Lisbon"));
    let (code, out, err) = ops(&w, &["sync", "run", "--flow", "contacts to crm"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("→ crm contact: 0 created, 1 updated"), "{out}");
    let (code, out, err) = ops(&w, &["sync", "run", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let pass = parse(&out);
    assert_eq!(pass["writes"], json!([]), "{pass}");
    assert_eq!(pass["queue"]["pending"], 0, "{pass}");

    // sync status
    let (code, out, err) = ops(&w, &["sync", "status", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let status = parse(&out);
    let ghl = status["connections"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["connection"] == "ghl"))
        .cloned()
        .expect("ghl in status");
    assert!(
        ghl["cursors"]["contact"].is_string(),
        "ghl contacts were polled: {ghl}"
    );
    assert!(ghl["last_call"]["at"].is_string(), "{ghl}");
    assert_eq!(status["queue"]["dead"], 0);
    let (code, out, _) = ops(&w, &["sync", "status"]).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("crm (your_app)") && out.contains("queue"),
        "{out}"
    );

    // audit
    let (code, out, err) = ops(
        &w,
        &[
            "audit",
            "changes",
            "--flow",
            "contacts to crm",
            "--json",
            "--limit",
            "1000",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let changes = parse(&out);
    assert_eq!(
        changes.as_array().map(Vec::len),
        Some(26),
        "25 creates and 1 update"
    );
    let (code, out, _) = ops(
        &w,
        &[
            "audit",
            "calls",
            "--connection",
            "crm",
            "--json",
            "--limit",
            "5",
        ],
    )
    .await;
    assert_eq!(code, 0);
    let calls = parse(&out);
    assert_eq!(calls.as_array().map(Vec::len), Some(5));
    assert!(calls
        .as_array()
        .into_iter()
        .flatten()
        .all(|c| c["connection_id"] == "crm"));
    let (code, out, _) = ops(&w, &["audit", "changes", "--since", "2999-01-01"]).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("no changes recorded matching the filters"),
        "{out}"
    );

    // export
    let csv = folder(&w).join("people.csv");
    let (code, _, err) = ops(&w, &["export", "--out", csv.to_str().unwrap_or_default()]).await;
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&csv).expect("csv written");
    let emails: BTreeSet<String> = w
        .ghl_contacts()
        .values()
        .filter_map(|(e, _)| e.clone())
        .collect();
    assert!(
        text.lines().next().unwrap_or_default().contains("email"),
        "{text}"
    );
    for e in &emails {
        assert!(
            text.to_lowercase().contains(&e.to_lowercase()),
            "{e} exported"
        );
    }
    let one = emails.iter().next().cloned().unwrap_or_default();
    let (code, out, err) = ops(&w, &["export", "--email", &one, "--report"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "a header and one person: {out}");

    dlq_round_trip(&w, &first_id).await;
    flow_switches(&w).await;
}

async fn dlq_round_trip(w: &World, contact: &str) {
    let (code, out, _) = ops(w, &["dlq", "list"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("the dead-letter queue is empty"), "{out}");
    let (code, out, _) = ops(w, &["dlq", "replay", "--all"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("nothing to replay"), "{out}");

    let id = dead_job(w, contact).await;
    let (_, out, _) = ops(w, &["sync", "status", "--json"]).await;
    let status = parse(&out);
    let ghl = &status["connections"][1];
    assert_eq!(ghl["connection"], "ghl", "{status}");
    assert_eq!(ghl["dead_jobs"], 1, "{status}");
    assert_eq!(ghl["pending_jobs"], 0, "{status}");
    assert_eq!(ghl["last_job_error"], "Your App answered 503 three times");
    let (code, out, _) = ops(w, &["dlq", "list", "--json"]).await;
    assert_eq!(code, 0);
    let dead = parse(&out);
    assert_eq!(dead[0]["id"], id);
    assert_eq!(dead[0]["connection"], "ghl");
    assert_eq!(dead[0]["last_error"], "Your App answered 503 three times");
    let (_, out, _) = ops(w, &["dlq", "list", "--connection", "crm", "--json"]).await;
    assert_eq!(parse(&out), json!([]), "filtered by connection");
    let (code, out, _) = ops(w, &["dlq", "list", "--flow", "contacts to crm"]).await;
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("#{id}")) && out.contains("dlq replay"),
        "{out}"
    );

    let (code, out, err) = ops(w, &["dlq", "replay", &id.to_string()]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("replayed 1 job(s)"), "{out}");
    let store = open_store(&w.db_url).await;
    let job = store
        .job(engine::store::JobId(id))
        .await
        .expect("job")
        .expect("exists");
    assert_eq!(job.state, JobState::Pending, "back in the queue");
    assert_eq!(job.attempts, 0);
    let left = store
        .dlq_list(&DlqFilter::default(), Page::default())
        .await
        .expect("dlq");
    assert!(left.is_empty());
    store.close().await;
    let (code, _, err) = ops(w, &["dlq", "replay", &id.to_string()]).await;
    assert_eq!(code, 1);
    assert!(err.contains("not in the dead-letter queue"), "{err}");
    let (code, _, _) = ops(w, &["sync", "run"]).await;
    assert_eq!(code, 0, "the replayed job runs");

    let id = dead_job(w, contact).await;
    let (code, out, err) = ops(w, &["dlq", "discard", &id.to_string()]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("discarded job #{id}")));
    let (_, out, _) = ops(w, &["dlq", "list", "--json"]).await;
    assert_eq!(parse(&out), json!([]));
}

async fn flow_switches(w: &World) {
    let (code, out, err) = ops(w, &["flows", "disable", "contacts to crm"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("is off"), "{out}");
    let (_, out, _) = ops(w, &["flows", "list", "--json"]).await;
    let flows = parse(&out);
    assert_eq!(flows[0]["enabled"], false);
    assert_eq!(flows[0]["enabled_in_file"], true);
    let (code, _, err) = ops(w, &["sync", "backfill", "--flow", "contacts to crm"]).await;
    assert_eq!(code, 1, "a switched-off flow is not backfilled");
    assert!(err.contains("flows enable 'contacts to crm'"), "{err}");
    let (code, out, err) = ops(w, &["flows", "enable", "contacts to crm"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("is on"), "{out}");
    let (_, out, _) = ops(w, &["flows", "list", "--json"]).await;
    assert_eq!(parse(&out)[0]["enabled"], true);
    let (code, _, err) = ops(w, &["flows", "disable", "contcts"]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("no flow named `contcts`") && err.contains("contacts to crm"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_lists_every_problem_with_its_place_and_exits_1() {
    let w = world(0, ONE_WAY).await;
    std::fs::write(
        folder(&w).join("flows/broken.yaml"),
        "name: broken\nsync:\n  source: ghl\n  target: nowhere\n  kinds: [contact, widget]\n",
    )
    .expect("broken flow");
    let (code, _, err) = ops(&w, &["flows", "validate"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("broken.yaml:4:"), "file:line:col: {err}");
    assert!(err.contains("nowhere") && err.contains("widget"), "{err}");
    let (code, out, _) = ops(&w, &["flows", "validate", "--json"]).await;
    assert_eq!(code, 1);
    let v = parse(&out);
    assert_eq!(v["ok"], false);
    let problems = v["problems"].as_array().cloned().unwrap_or_default();
    assert!(problems.len() >= 2, "{v}");
    assert!(
        problems.iter().all(|p| p["line"].as_u64().unwrap_or(0) > 0
            && p["file"]
                .as_str()
                .is_some_and(|f| Path::new(f).ends_with("flows/broken.yaml"))),
        "{v}"
    );
    let (code, _, err) = ops(&w, &["flows", "list"]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("flows validate"),
        "says how to see the problems: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_against_a_failing_app_stops_when_only_retries_are_left() {
    let w = world(5, ONE_WAY).await;
    let set = reqwest::Client::new()
        .put(format!("{}/_sandbox/faults", w.crm.base_url))
        .json(&json!({"rules": [{"route": "*", "errorRate": 1.0}]}))
        .send()
        .await
        .expect("set faults");
    assert!(set.status().is_success());
    let started = std::time::Instant::now();
    let (code, out, err) = ops(&w, &["sync", "backfill", "--flow", "contacts to crm"]).await;
    assert_eq!(code, 0, "nothing failed for good yet: {err}");
    assert!(
        out.contains("0 of 5 record(s) synced") && out.contains("5 job(s) wait for a retry"),
        "{out}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "it does not wait out the retries"
    );
    let (_, out, _) = ops(&w, &["sync", "status", "--json"]).await;
    let status = parse(&out);
    let ghl = &status["connections"][1];
    assert_eq!(ghl["pending_jobs"], 5, "{status}");
    assert!(ghl["retry_error"].is_string(), "{status}");
    assert!(w.crm_contacts().await.is_empty());
}
