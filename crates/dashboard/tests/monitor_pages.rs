//! The Monitor, Dead letters, Alerts and Overview pages over real HTTP: the server's and the
//! dashboard's routers on a loopback port, a real SQLite store holding real events, done runs
//! and dead jobs made through the store's own API, and a browser-like client that signs in
//! with the admin token through the login form.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use engine::runtime::{Engine, EngineOptions};
use engine::store::{
    self, Commit, EventSource, EventWithJobs, FailOutcome, JobId, JobState, NewEvent, NewJob, Store,
};
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;
use server::{AppState, Metrics};

const TOKEN: &str = "monitor-test-admin-token";
const ALERTS: &str = r#"
channels:
  ops:
    type: webhook
    url: https://hooks.example.com/SECRET-PATH/abc?key=SECRET-QUERY
rules:
  - name: dead letters piling up
    condition: {type: dlq_growth, min_new: 1, window: 15m}
    channels: [ops]
"#;

struct Site {
    base: String,
    http: reqwest::Client,
    cookie: String,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

impl Site {
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .expect("GET");
        (r.status(), r.text().await.expect("body"))
    }

    /// A POST as htmx sends it from the dashboard's own page.
    async fn post(&self, path: &str, origin: &str) -> (StatusCode, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(ORIGIN, origin)
            .header("hx-request", "true")
            .send()
            .await
            .expect("POST");
        (r.status(), r.text().await.expect("body"))
    }

    async fn state_of(&self, id: JobId) -> Option<JobState> {
        self.store.job(id).await.expect("read job").map(|j| j.state)
    }
}

fn event(key: &str, contact: &str) -> NewEvent {
    NewEvent {
        connection_id: "ghl".into(),
        event_key: key.into(),
        kind: "contact".into(),
        entity_id: contact.into(),
        parent_id: None,
        source: EventSource::Webhook,
        payload: json!({"type": "ContactUpdate", "id": contact}),
        received_at: Utc::now(),
    }
}

/// Four webhook events: two `sync` runs that finish, two `welcome` runs that die at once.
/// Returns the dead jobs' ids.
async fn fill(store: &Arc<dyn Store>) -> Vec<JobId> {
    let batch: Vec<EventWithJobs> = [
        ("wh-1", "c1", "sync"),
        ("wh-2", "c2", "sync"),
        ("wh-3", "c3", "welcome"),
        ("wh-4", "c4", "welcome"),
    ]
    .into_iter()
    .map(|(key, contact, flow)| {
        let mut job = NewJob::new(flow, format!("ghl:contact:{contact}"));
        if flow == "welcome" {
            job.max_attempts = Some(1);
        }
        EventWithJobs {
            event: event(key, contact),
            jobs: vec![job],
        }
    })
    .collect();
    store
        .append_events_and_enqueue(&batch)
        .await
        .expect("append");
    let lease = Duration::from_secs(30);
    let claimed = store.claim("w1", 10, lease).await.expect("claim");
    assert_eq!(claimed.len(), 4);
    tokio::time::sleep(Duration::from_millis(30)).await;
    let mut dead = Vec::new();
    for j in claimed {
        if j.flow_id == "sync" {
            store
                .complete(j.id, "w1", Commit::default())
                .await
                .expect("complete");
        } else {
            let out = store
                .fail(j.id, "w1", "HTTP 500 from the CRM: <b>boom</b>", lease)
                .await
                .expect("fail");
            assert!(matches!(out, FailOutcome::Dead { .. }), "{out:?}");
            dead.push(j.id);
        }
    }
    dead.sort();
    dead
}

async fn start() -> (Site, Vec<JobId>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let store = store::open(&url).await.expect("open store");
    let dead = fill(&store).await;

    let alerts = alerts::Alerts::new(alerts::parse_alerts(ALERTS, &|_| None).expect("alerts file"));
    let board = alerts.board();
    // What `Alerts::run` does after a check: the reading, then the notification and how the
    // channel took it.
    let fired = alerts::AlertEvent {
        rule: "dead letters piling up".into(),
        kind: "dlq_growth",
        status: alerts::AlertStatus::Firing,
        summary: "2 jobs dead-lettered in the last 15m (threshold 1)".into(),
        at: Utc::now(),
    };
    board.observe(&fired.rule, true, &fired.summary, fired.at);
    let refused = alerts::DeliveryError {
        channel: "ops".into(),
        message: "HTTP 503 from the receiver".into(),
        retryable: true,
    };
    board.record(&fired, &["ops".to_string()], &[refused]);

    let engine = Arc::new(Engine {
        store: store.clone(),
        flows: Vec::new(),
        connectors: BTreeMap::new(),
        options: EngineOptions::default(),
    });
    let state = Arc::new(AppState {
        engine,
        project_connections: BTreeSet::from(["ghl".to_string()]),
        metrics: Metrics::default(),
        admin_token: Some(server::admin::AdminToken::new(TOKEN)),
        admin: server::admin::AdminOptions {
            alerts: Some(board),
            ..Default::default()
        },
        connect: None,
    });
    let app = server::router(state.clone()).merge(dashboard::router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve")
    });
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // Not signed in: every page sends the browser to the login form.
    for path in [
        "/ui/",
        "/ui/monitor",
        "/ui/monitor/events",
        "/ui/dlq",
        "/ui/alerts",
    ] {
        let r = http.get(format!("{base}{path}")).send().await.expect("GET");
        assert!(r.status().is_redirection(), "{path}: {}", r.status());
        assert_eq!(r.headers()[LOCATION], "/ui/login", "{path}");
    }
    let r = http
        .post(format!("{base}/ui/dlq/{}/discard", dead[0].0))
        .header(ORIGIN, &base)
        .send()
        .await
        .expect("POST");
    assert!(
        r.status().is_redirection(),
        "unsigned discard: {}",
        r.status()
    );

    let r = http
        .post(format!("{base}/ui/login"))
        .header(ORIGIN, &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .expect("login");
    assert!(r.status().is_redirection(), "login: {}", r.status());
    let cookie = r.headers()[SET_COOKIE]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_string();
    let site = Site {
        base,
        http,
        cookie,
        store,
        _dir: dir,
    };
    (site, dead)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_pages_show_and_act_on_real_work() {
    let (site, dead) = start().await;

    // Monitor: every part is on the page, with the real rows.
    let (status, html) = site.get("/ui/monitor").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for id in [
        "id=\"live-events\"",
        "id=\"live-runs\"",
        "id=\"flow-stats\"",
        "id=\"latency-chart\"",
        "id=\"queue-depth\"",
        "hx-trigger=\"every 2s",
        "id=\"pause-live\"",
        "aria-current=\"page\"",
    ] {
        assert!(html.contains(id), "monitor page lacks {id}");
    }
    assert_eq!(html.matches("<h1>").count(), 1);

    let (status, events) = site.get("/ui/monitor/events").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!events.contains("<html"), "a fragment, not a page");
    assert_eq!(events.matches("data-event-id=").count(), 4, "{events}");
    assert!(events.contains("ghl") && events.contains("c4"));

    let (_, runs) = site.get("/ui/monitor/runs").await;
    assert_eq!(runs.matches("data-state=\"done\"").count(), 2, "{runs}");
    assert_eq!(runs.matches("data-state=\"dead\"").count(), 2, "{runs}");
    assert!(
        runs.contains("HTTP 500 from the CRM: &lt;b&gt;boom") && !runs.contains("<b>"),
        "errors are shown, escaped: {runs}"
    );

    let (_, stats) = site.get("/ui/monitor/stats").await;
    let sync_row = stats
        .split("data-flow=\"sync\"")
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .expect("a sync row in #flow-stats");
    assert!(sync_row.contains("<td class=\"done\">2</td>"), "{sync_row}");
    assert!(
        sync_row.contains("ms</td>") || sync_row.contains(" s</td>"),
        "p50/p99: {sync_row}"
    );
    let welcome_row = stats
        .split("data-flow=\"welcome\"")
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .expect("a welcome row");
    assert!(welcome_row.contains("badge err\">2<"), "{welcome_row}");
    let svg = stats
        .split("<svg")
        .nth(1)
        .expect("the latency chart is inline SVG");
    assert!(svg.contains("<title id=\"latency-title\">") && svg.contains("<desc"));
    assert!(svg.contains("class=\"pt p50\""), "p50 point: {svg}");
    assert!(svg.contains("class=\"pt p99\""), "p99 point");
    assert!(svg.contains("2 finished runs"), "{svg}");

    let (_, queue) = site.get("/ui/monitor/queue").await;
    assert!(
        queue.contains("<dd class=\"q-dead\"><a href=\"/ui/dlq\">2</a>"),
        "{queue}"
    );

    // Dead letters: both dead jobs, with error, attempts, flow and connection.
    let (status, html) = site.get("/ui/dlq").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"dlq\""));
    for id in &dead {
        let row = html
            .split(&format!("data-job-id=\"{}\"", id.0))
            .nth(1)
            .and_then(|s| s.split("</tr>").next())
            .expect("a DLQ row per dead job");
        assert!(row.contains("data-label=\"Flow\">welcome<"), "{row}");
        assert!(row.contains("data-label=\"Connection\">ghl<"), "{row}");
        assert!(row.contains("data-label=\"Attempts\">1/1<"), "{row}");
        assert!(row.contains("&lt;b&gt;boom"), "{row}");
        assert!(row.contains("class=\"replay\"") && row.contains("class=\"discard danger\""));
        assert!(row.contains("data-confirm=\"Discard job"), "{row}");
    }

    // A change from another site is refused and changes nothing.
    let (status, _) = site
        .post(
            &format!("/ui/dlq/{}/replay", dead[0].0),
            "http://evil.example",
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(site.state_of(dead[0]).await, Some(JobState::Dead));

    // Replay: back to pending, and the refreshed list says so.
    let origin = site.base.clone();
    let (status, frag) = site
        .post(&format!("/ui/dlq/{}/replay", dead[0].0), &origin)
        .await;
    assert_eq!(status, StatusCode::OK, "{frag}");
    assert!(frag.contains("is back in the queue"), "{frag}");
    assert!(!frag.contains(&format!("data-job-id=\"{}\"", dead[0].0)));
    let job = site.store.job(dead[0]).await.expect("read").expect("kept");
    assert_eq!((job.state, job.attempts), (JobState::Pending, 0));

    // Replaying it again explains why not.
    let (_, frag) = site
        .post(&format!("/ui/dlq/{}/replay", dead[0].0), &origin)
        .await;
    assert!(
        frag.contains("role=\"alert\"") && frag.contains("it is pending"),
        "{frag}"
    );

    // Discard: gone for good; the queue is then empty.
    let (status, frag) = site
        .post(&format!("/ui/dlq/{}/discard", dead[1].0), &origin)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(frag.contains("was discarded"), "{frag}");
    assert_eq!(site.state_of(dead[1]).await, None);
    assert!(frag.contains("id=\"dlq-empty\""), "{frag}");
    let (_, html) = site.get("/ui/dlq").await;
    assert!(html.contains("id=\"dlq-empty\"") && !html.contains("id=\"dlq\""));

    // Without htmx the buttons are plain forms and get the whole page back.
    let r = site
        .http
        .post(format!("{}/ui/dlq/999999/replay", site.base))
        .header(COOKIE, &site.cookie)
        .header(ORIGIN, &origin)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r
        .text()
        .await
        .expect("body")
        .contains("<h1>Dead letters</h1>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_and_overview_pages() {
    let (site, dead) = start().await;

    let (status, html) = site.get("/ui/alerts").await;
    assert_eq!(status, StatusCode::OK);
    let rules = html
        .split("id=\"alert-rules\"")
        .nth(1)
        .and_then(|s| s.split("</table>").next())
        .expect("table#alert-rules");
    assert!(rules.contains("dead letters piling up"));
    assert!(
        rules.contains("at least 1 new dead jobs within 15m"),
        "{rules}"
    );
    assert!(rules.contains("badge err\">firing<"), "{rules}");
    assert!(
        html.contains("hooks.example.com"),
        "the channel's host is shown"
    );
    assert!(
        !html.contains("SECRET-PATH") && !html.contains("SECRET-QUERY"),
        "never the URL's secret parts"
    );
    let history = html
        .split("id=\"alert-history\"")
        .nth(1)
        .and_then(|s| s.split("</table>").next())
        .expect("table#alert-history");
    assert!(history.contains("data-status=\"firing\""), "{history}");
    assert!(
        history.contains("<time datetime=\"20"),
        "the time is shown: {history}"
    );
    assert!(history.contains("2 jobs dead-lettered"));
    assert!(
        history.contains("HTTP 503 from the receiver"),
        "delivery result: {history}"
    );
    let (_, frag) = site.get("/ui/alerts/history").await;
    assert!(frag.contains("id=\"alert-history\"") && !frag.contains("<html"));

    let (status, html) = site.get("/ui/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"stat-dead\">2<"), "dead letters card");
    assert!(
        html.contains("id=\"stat-done\">2<"),
        "done in the last hour"
    );
    assert!(html.contains("id=\"stat-alerts\">1<"), "one rule firing");
    assert!(html.contains("Firing now: dead letters piling up"));
    let failures = html
        .split("id=\"recent-failures\"")
        .nth(1)
        .expect("table#recent-failures");
    for id in &dead {
        assert!(failures.contains(&format!("data-job-id=\"{}\"", id.0)));
    }
    for link in [
        "/ui/monitor",
        "/ui/dlq",
        "/ui/alerts",
        "/ui/flows",
        "/ui/connections",
    ] {
        assert!(html.contains(&format!("href=\"{link}\"")), "link to {link}");
    }
}
