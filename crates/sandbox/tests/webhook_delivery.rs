//! Webhook delivery: GHL's 429-only retries, duplicates, drops, reordering and missing fields,
//! against a real receiver on loopback.

mod webhook_support;

use webhook_support::*;

#[tokio::test]
async fn answers_429_are_retried_until_accepted() {
    let receiver = Receiver::start(Behaviour {
        fail_429: 2,
        ..Behaviour::default()
    })
    .await;
    let event = vec![example("ContactCreate")];
    let (d, ids) = run(&receiver, cfg(|_| {}), 2, event).await;

    let hits = receiver.take();
    assert_eq!(hits.len(), 3);
    for hit in &hits {
        assert_common(hit);
        assert_eq!(hit.body, hits[0].body, "retries resend the same bytes");
        let signature = hit.header("x-ghl-signature");
        assert_eq!(signature, hits[0].header("x-ghl-signature"));
        assert_eq!(hit.webhook_id(), ids[0]);
    }
    let log = d.deliveries();
    let expected = [
        (1, Retrying, Some(429)),
        (2, Retrying, Some(429)),
        (3, Delivered, Some(200)),
    ];
    assert_eq!(summary(&log), expected);
    assert!(log
        .iter()
        .all(|r| r.webhook_id == ids[0] && r.app_id == "app"));
    assert_eq!(log[0].event_type, "ContactCreate");
    assert_eq!(log[0].location_id.as_deref(), Some("ve9EPM428h8vShlRW1KT"));
    let stats = d.stats();
    assert_eq!((stats.emitted, stats.retried, stats.delivered), (1, 2, 1));
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let receiver = Receiver::start(Behaviour {
        fail_429: 1,
        retry_after: Some("1"),
        ..Behaviour::default()
    })
    .await;
    run(&receiver, cfg(|_| {}), 3, vec![example("NoteCreate")]).await;
    let hits = receiver.take();
    assert_eq!(hits.len(), 2);
    let waited = hits[1].at.duration_since(hits[0].at);
    assert!(waited >= Duration::from_millis(950), "waited {waited:?}");
}

#[tokio::test]
async fn persistent_429_gives_up_after_max_attempts() {
    let receiver = Receiver::start(Behaviour {
        fail_429: 100,
        ..Behaviour::default()
    })
    .await;
    let config = cfg(|c| c.max_attempts = 3);
    let (d, _) = run(&receiver, config, 4, vec![example("TaskCreate")]).await;
    assert_eq!(receiver.take().len(), 3);
    let last = summary(&d.deliveries()).pop();
    assert_eq!(last, Some((3, Failed, Some(429))));
    assert_eq!(d.stats().failed, 1);
}

#[tokio::test]
async fn server_error_is_not_retried() {
    let receiver = Receiver::start(Behaviour {
        status: Some(500),
        ..Behaviour::default()
    })
    .await;
    let event = vec![example("ContactDelete")];
    let (d, _) = run(&receiver, cfg(|_| {}), 5, event).await;
    assert_eq!(receiver.take().len(), 1);
    assert_eq!(summary(&d.deliveries()), [(1, Rejected, Some(500))]);
    assert_eq!((d.stats().retried, d.stats().failed), (0, 1));
}

#[tokio::test]
async fn connection_error_is_not_retried() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let d = WebhookDispatcher::new(keys(), cfg(|_| {}), 6);
    let target = WebhookTarget {
        app_id: "app".into(),
        url: format!("http://127.0.0.1:{port}/hook"),
    };
    d.emit(&[target], example("ContactCreate"));
    d.idle().await;
    let log = d.deliveries();
    assert_eq!(summary(&log), [(1, Failed, None)]);
    assert!(log[0].error.is_some());
}

// ---------- faults ----------

#[tokio::test]
async fn drop_rate_one_delivers_nothing() {
    let receiver = Receiver::start(Behaviour::default()).await;
    let config = cfg(|c| c.drop_rate = 1.0);
    let (d, ids) = run(&receiver, config, 7, contacts(10)).await;
    assert!(receiver.take().is_empty());
    let log = d.deliveries();
    assert_eq!(summary(&log), [(0, Dropped, None); 10]);
    let logged: Vec<String> = log.into_iter().map(|r| r.webhook_id).collect();
    assert_eq!(logged, ids);
    assert_eq!((d.stats().emitted, d.stats().dropped), (10, 10));
}

#[tokio::test]
async fn duplicate_rate_one_delivers_each_id_exactly_twice() {
    let receiver = Receiver::start(Behaviour::default()).await;
    let config = cfg(|c| c.duplicate_rate = 1.0);
    let (d, ids) = run(&receiver, config, 8, contacts(10)).await;
    let hits = receiver.take();
    let mut by_id: HashMap<String, Vec<&Hit>> = HashMap::new();
    for hit in &hits {
        assert_common(hit);
        by_id.entry(hit.webhook_id()).or_default().push(hit);
    }
    assert_eq!(by_id.len(), 10);
    for id in &ids {
        let copies = &by_id[id];
        assert_eq!(copies.len(), 2, "{id}");
        assert_eq!(copies[0].body, copies[1].body, "copies differ");
        let signature = copies[0].header("x-ghl-signature");
        assert_eq!(signature, copies[1].header("x-ghl-signature"));
    }
    let duplicates = d.deliveries().iter().filter(|r| r.duplicate).count();
    assert_eq!(duplicates, 10);
    assert_eq!((d.stats().duplicated, d.stats().delivered), (10, 20));
}

#[tokio::test]
async fn fault_rates_are_observed_in_a_sane_band() {
    let receiver = Receiver::start(Behaviour::default()).await;
    let config = cfg(|c| {
        c.duplicate_rate = 0.3;
        c.drop_rate = 0.3;
    });
    let n = 500;
    let (d, _) = run(&receiver, config, 9, contacts(n)).await;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for hit in receiver.take() {
        *counts.entry(hit.webhook_id()).or_default() += 1;
    }
    assert!(counts.values().all(|&c| c == 1 || c == 2));
    let twice = counts.values().filter(|&&c| c == 2).count();
    let drop_fraction = (n - counts.len()) as f64 / n as f64;
    let duplicate_fraction = twice as f64 / counts.len() as f64;
    assert!((0.2..0.4).contains(&drop_fraction), "drops {drop_fraction}");
    let in_band = (0.2..0.4).contains(&duplicate_fraction);
    assert!(in_band, "duplicates {duplicate_fraction}");
    let stats = d.stats();
    assert_eq!(stats.dropped as usize, n - counts.len());
    assert_eq!(stats.duplicated as usize, twice);
}

#[tokio::test]
async fn reorder_delivers_some_events_after_later_ones() {
    let receiver = Receiver::start(Behaviour::default()).await;
    let config = cfg(|c| {
        c.reorder_rate = 0.5;
        c.reorder_delay_ms = 50;
    });
    let (d, _) = run(&receiver, config, 10, contacts(50)).await;
    let arrived: Vec<u64> = receiver.take().iter().map(Hit::seq).collect();
    let distinct: BTreeSet<u64> = arrived.iter().copied().collect();
    assert_eq!(distinct, (0..50).collect(), "every event arrives once");
    let out_of_order = arrived.windows(2).any(|w| w[0] > w[1]);
    assert!(out_of_order, "no out-of-order arrival: {arrived:?}");
    assert!(d.stats().reordered > 0);
}

#[tokio::test]
async fn without_faults_each_target_gets_its_own_id_in_order() {
    let r1 = Receiver::start(Behaviour::default()).await;
    let r2 = Receiver::start(Behaviour::default()).await;
    let d = WebhookDispatcher::new(keys(), cfg(|_| {}), 11);
    let targets = [r1.target("app-one"), r2.target("app-two")];
    let (mut ids1, mut ids2) = (Vec::new(), Vec::new());
    for event in contacts(100) {
        let created = d.emit(&targets, event);
        assert_eq!(created.len(), 2);
        assert_ne!(created[0], created[1], "one webhookId per (event, target)");
        ids1.push(created[0].clone());
        ids2.push(created[1].clone());
    }
    d.idle().await;
    for (receiver, expected) in [(&r1, ids1), (&r2, ids2)] {
        let hits = receiver.take();
        hits.iter().for_each(assert_common);
        let got: Vec<String> = hits.iter().map(Hit::webhook_id).collect();
        assert_eq!(got, expected, "per-target FIFO");
    }
    assert_eq!(d.stats().delivered, 200);
    assert!(d.deliveries().iter().all(|r| r.outcome == Delivered));
    d.clear_log();
    assert!(d.deliveries().is_empty());
}

#[tokio::test]
async fn missing_fields_keep_the_identifying_ones() {
    let receiver = Receiver::start(Behaviour::default()).await;
    let names = [
        "ContactUpdate",
        "NoteCreate",
        "TaskCreate",
        "AppointmentCreate",
    ];
    let events = names.iter().flat_map(|n| vec![example(n); 5]).collect();
    let config = cfg(|c| c.missing_fields_rate = 1.0);
    run(&receiver, config, 12, events).await;
    let hits = receiver.take();
    assert_eq!(hits.len(), names.len() * 5);
    for hit in &hits {
        assert_common(hit);
        let event_type = hit.json["type"].as_str().expect("type").to_owned();
        let original = example(&event_type);
        assert_eq!(hit.json["locationId"], original["locationId"]);
        // The object that fields were removed from, and its original.
        let (got, full) = if event_type.starts_with("Appointment") {
            (&hit.json["appointment"], &original["appointment"])
        } else {
            (&hit.json, &original)
        };
        assert_eq!(got["id"], full["id"], "{event_type}");
        assert_eq!(got["contactId"], full["contactId"], "{event_type}");
        let (got, full) = (
            got.as_object().expect("obj"),
            full.as_object().expect("obj"),
        );
        let removed = full.keys().any(|k| !got.contains_key(k));
        assert!(removed, "{event_type}: nothing removed");
        // What is left is unchanged.
        for (key, value) in got {
            if key != "timestamp" && key != "webhookId" {
                assert_eq!(Some(value), full.get(key), "{event_type}.{key}");
            }
        }
    }
}

#[tokio::test]
async fn same_seed_same_faults_but_fresh_ids() {
    let receiver = Receiver::start(Behaviour::default()).await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        let config = cfg(|c| c.drop_rate = 0.5);
        let (d, ids) = run(&receiver, config, 42, contacts(40)).await;
        let dropped: BTreeSet<String> = d
            .deliveries()
            .into_iter()
            .filter(|r| r.outcome == Dropped)
            .map(|r| r.webhook_id)
            .collect();
        let pattern: Vec<bool> = ids.iter().map(|id| dropped.contains(id)).collect();
        runs.push((pattern, ids));
    }
    assert_eq!(runs[0].0, runs[1].0, "same seed, same drops");
    assert!(runs[0].0.contains(&true) && runs[0].0.contains(&false));
    assert_ne!(runs[0].1, runs[1].1, "webhookIds must stay fresh");
}

#[test]
fn config_defaults_and_camel_case() {
    let partial = json!({ "dropRate": 0.25, "maxAttempts": 2 });
    let config: DeliveryConfig = serde_json::from_value(partial).expect("parse");
    assert_eq!((config.drop_rate, config.max_attempts), (0.25, 2));
    assert_eq!(config.duplicate_rate, 0.0);
    assert_eq!(config.reorder_delay_ms, 200);
    assert_eq!((config.retry_base_ms, config.timeout_ms), (100, 5000));
    let value = serde_json::to_value(DeliveryConfig::default()).expect("serialise");
    assert_eq!(value["missingFieldsRate"], json!(0.0));
    assert_eq!(value["maxAttempts"], json!(5));
}
