use super::*;
use crate::config::Dur;

fn rule(condition: Condition, cooldown_s: u64) -> Rule {
    Rule {
        name: "r".into(),
        condition,
        channels: vec!["c".into()],
        cooldown: Duration::from_secs(cooldown_s),
    }
}

fn mins(m: u64) -> Dur {
    Dur(Duration::from_secs(m * 60))
}

#[test]
fn dlq_growth_threshold() {
    let c = Condition::DlqGrowth {
        min_new: 3,
        window: mins(15),
    };
    assert!(!judge(&c, &Reading::DlqNew(2)).firing);
    let v = judge(&c, &Reading::DlqNew(3));
    assert!(v.firing);
    assert_eq!(
        v.summary,
        "3 jobs dead-lettered in the last 15m (threshold 3)"
    );
}

#[test]
fn error_rate_needs_enough_calls() {
    let c = Condition::ErrorRate {
        percent: 50.0,
        window: mins(5),
        min_calls: 4,
    };
    assert!(
        !judge(
            &c,
            &Reading::Calls {
                total: 3,
                failed: 3
            }
        )
        .firing,
        "too few calls"
    );
    assert!(
        judge(
            &c,
            &Reading::Calls {
                total: 4,
                failed: 2
            }
        )
        .firing
    );
    assert!(
        !judge(
            &c,
            &Reading::Calls {
                total: 10,
                failed: 4
            }
        )
        .firing
    );
    assert!(
        !judge(
            &c,
            &Reading::Calls {
                total: 0,
                failed: 0
            }
        )
        .firing
    );
}

#[test]
fn delay_and_reconnect_and_quota() {
    let c = Condition::Delay { max_age: mins(5) };
    assert!(!judge(&c, &Reading::OldestDue(None)).firing);
    assert!(!judge(&c, &Reading::OldestDue(Some(Duration::from_secs(299)))).firing);
    assert!(judge(&c, &Reading::OldestDue(Some(Duration::from_secs(300)))).firing);

    let c = Condition::ReconnectNeeded {
        window: mins(15),
        min_401: 2,
    };
    let mut unauthorized = BTreeMap::new();
    unauthorized.insert("ghl-main".to_owned(), 1);
    let r = Reading::Reconnect {
        needs_reauth: vec![],
        unauthorized: unauthorized.clone(),
    };
    assert!(!judge(&c, &r).firing);
    unauthorized.insert("ghl-main".to_owned(), 2);
    let v = judge(
        &c,
        &Reading::Reconnect {
            needs_reauth: vec!["ins".into()],
            unauthorized,
        },
    );
    assert!(v.firing);
    assert!(
        v.summary.contains("ins (needs_reauth)") && v.summary.contains("ghl-main (2× 401"),
        "{}",
        v.summary
    );

    let b = |left: u64| Budget {
        burst_max: 100,
        burst_remaining: 100,
        interval_ms: 10_000,
        daily_max: 1000,
        daily_remaining: left,
    };
    let c = Condition::QuotaLow {
        max_left: 0.1,
        budget: BudgetKind::Daily,
    };
    assert!(!judge(&c, &Reading::Budgets(vec![("g".into(), b(101))])).firing);
    let v = judge(
        &c,
        &Reading::Budgets(vec![("g".into(), b(101)), ("h".into(), b(100))]),
    );
    assert!(v.firing);
    assert_eq!(v.summary, "daily budget low: h at 10.0% left");
    let burst = Condition::QuotaLow {
        max_left: 0.1,
        budget: BudgetKind::Burst,
    };
    assert!(!judge(&burst, &Reading::Budgets(vec![("h".into(), b(0))])).firing);
}

#[test]
fn wrong_reading_never_fires() {
    let c = Condition::Delay { max_age: mins(1) };
    assert!(!judge(&c, &Reading::DlqNew(100)).firing);
}

#[test]
fn cooldown_then_resolved() {
    let r = rule(
        Condition::DlqGrowth {
            min_new: 1,
            window: mins(15),
        },
        600,
    );
    let mut t = Tracker::default();
    let t0 = Utc::now();
    let at = |s: i64| t0 + chrono::Duration::seconds(s);
    let fire = Verdict {
        firing: true,
        summary: "x".into(),
    };
    let calm = Verdict {
        firing: false,
        summary: "y".into(),
    };

    assert_eq!(t.step(&r, calm.clone(), at(0)), None);
    let e = t
        .step(&r, fire.clone(), at(10))
        .expect("first firing is told");
    assert_eq!(
        (e.status, e.kind, e.at),
        (AlertStatus::Firing, "dlq_growth", at(10))
    );
    assert!(t.is_firing("r"));
    assert_eq!(t.step(&r, fire.clone(), at(300)), None, "within cooldown");
    assert_eq!(
        t.step(&r, fire.clone(), at(609)),
        None,
        "still within cooldown"
    );
    let e = t
        .step(&r, fire.clone(), at(610))
        .expect("reminder after cooldown");
    assert_eq!(e.status, AlertStatus::Firing);
    assert_eq!(t.step(&r, fire.clone(), at(700)), None);
    let e = t.step(&r, calm.clone(), at(800)).expect("resolved is told");
    assert_eq!((e.status, e.summary.as_str()), (AlertStatus::Resolved, "y"));
    assert!(!t.is_firing("r"));
    assert_eq!(t.step(&r, calm, at(900)), None, "resolved only once");
    assert_eq!(
        t.step(&r, fire, at(910)).map(|e| e.status),
        Some(AlertStatus::Firing),
        "fires again at once"
    );
}

#[test]
fn human_durations() {
    assert_eq!(human(Duration::from_secs(90)), "90s");
    assert_eq!(human(Duration::from_secs(900)), "15m");
    assert_eq!(human(Duration::from_secs(7200)), "2h");
    assert_eq!(human(Duration::from_secs(7500)), "2h5m");
}
