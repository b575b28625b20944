//! Cases of the schedule and manual triggers: the scheduler fires the flow at its due times
//! (`Engine::run_schedules` with chosen clock readings), or a person runs it.

use catalog::Entry;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use super::cases::CaseFn;
use super::World;
use crate::case;

pub fn cases() -> Vec<(String, CaseFn)> {
    vec![
        ("schedule.trigger.every_n_minutes".into(), case!(every)),
        ("schedule.trigger.cron".into(), case!(cron)),
        ("manual.trigger.run".into(), case!(manual)),
    ]
}

async fn every(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Sched");
    let review = w.ghl_task(&c, "Daily review");
    let other = w.ghl_task(&c, "Other");
    let t0 = Utc::now();
    assert_eq!(
        eng.run_schedules(t0).await.expect("tick"),
        Some(0),
        "first sight: counting"
    );
    assert_eq!(
        eng.run_schedules(t0 + Duration::minutes(10))
            .await
            .expect("tick"),
        Some(0)
    );
    assert_eq!(
        eng.run_schedules(t0 + Duration::minutes(16))
            .await
            .expect("tick"),
        Some(1)
    );
    w.run(&eng).await;
    let done = |id: &str| {
        w.ghl_tasks(&c)
            .into_iter()
            .any(|t| t.id == id && t.completed)
    };
    assert!(done(&review) && !done(&other));
}

async fn cron(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.person("your_app", "Cron").await;
    let t = w
        .child("your_app", &c, "tasks", json!({"title": "Hourly check"}))
        .await;
    let t0 = Utc::now();
    assert_eq!(
        eng.run_schedules(t0).await.expect("tick"),
        Some(0),
        "first sight: counting"
    );
    assert_eq!(
        eng.run_schedules(t0 + Duration::minutes(61))
            .await
            .expect("tick"),
        Some(1)
    );
    w.run(&eng).await;
    let got = w.get("your_app", &format!("/tasks/{t}")).await;
    assert_eq!(got["completed"], Value::Bool(true));
}

async fn manual(w: &World, e: &Entry) {
    let eng = w.engine(e);
    eng.run_manual(&eng.flows[0].name, None).await.expect("run");
    w.run(&eng).await;
    let found = w
        .ghl
        .state
        .store
        .read()
        .contacts_with_email(&w.ghl.location_id(), "team@example.com");
    assert_eq!(found.len(), 1);
}
