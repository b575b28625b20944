//! Cases of the engine's own actions: `report` writes the unified view into the project folder
//! when the flow's schedule fires (`Engine::run_schedules` with chosen clock readings).

use catalog::Entry;
use chrono::{Duration, Utc};
use engine::unified::{csv, REPORT_COLUMNS};
use serde_json::json;

use super::cases::CaseFn;
use super::World;
use crate::case;

pub fn cases() -> Vec<(String, CaseFn)> {
    vec![("engine.action.report".into(), case!(report))]
}

async fn report(w: &World, e: &Entry) {
    let eng = w.engine(e);
    // One person in two apps (linked as a sync would), with records in each.
    let (c, email) = w.ghl_person("Rita");
    w.ghl_task(&c, "Send the quarterly numbers");
    w.ghl_note(&c, "Prefers email");
    let (y, _) = w.person("your_app", "Rita").await;
    w.child(
        "your_app",
        &y,
        "notes",
        json!({"body": "Renewed in Your App"}),
    )
    .await;
    w.link(
        connectors::EntityKind::Contact,
        ("ghl", &c),
        ("your_app", &y),
    )
    .await;

    let reports = w.project_dir().join("reports");
    let t0 = Utc::now();
    assert_eq!(
        eng.run_schedules(t0).await.expect("tick"),
        Some(0),
        "first sight: counting"
    );
    assert!(!reports.exists(), "nothing before the due time");
    assert_eq!(
        eng.run_schedules(t0 + Duration::days(8))
            .await
            .expect("tick"),
        Some(1)
    );
    w.run(&eng).await;

    let files: Vec<_> = std::fs::read_dir(&reports)
        .expect("reports/ was made")
        .filter_map(Result::ok)
        .map(|f| f.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().expect("name").to_string_lossy();
    assert!(
        name.starts_with("weekly-20") && name.ends_with(".csv"),
        "{name}"
    );
    let text = std::fs::read_to_string(&files[0]).expect("report");
    let rows = csv::parse(&text).expect("CSV reads");
    assert_eq!(rows[0], REPORT_COLUMNS);
    let col = |c: &str| REPORT_COLUMNS.iter().position(|x| *x == c).expect("column");
    let rita = rows[1..]
        .iter()
        .find(|r| r[col("email")] == email)
        .unwrap_or_else(|| panic!("{email} in {rows:?}"));
    assert_eq!(
        (
            rita[col("apps")].as_str(),
            rita[col("open_tasks")].as_str(),
            rita[col("next_task")].as_str(),
            rita[col("notes")].as_str(),
        ),
        ("ghl; your_app", "1", "Send the quarterly numbers", "2")
    );
}
