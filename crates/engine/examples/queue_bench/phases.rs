//! The three phases: queue backlog, open-loop latency, end-to-end sync.

use super::*;

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Ingested {
    pub(crate) events: usize,
    pub(crate) duplicates: usize,
    pub(crate) jobs: usize,
}

/// Ingests `hints` in batches from several tasks as fast as the store takes them.
pub(crate) async fn ingest_backlog(
    engine: &Arc<Engine>,
    connection: &'static str,
    hints: Vec<ChangeHint>,
) -> Res<(Ingested, f64)> {
    let hints = Arc::new(hints);
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + INGEST_DEADLINE;
    let started = Instant::now();
    let tasks: Vec<_> = (0..BACKLOG_TASKS)
        .map(|_| {
            let (engine, hints, next) = (engine.clone(), hints.clone(), next.clone());
            tokio::spawn(async move {
                let mut total = Ingested::default();
                loop {
                    let i = next.fetch_add(BACKLOG_BATCH, Ordering::Relaxed);
                    if i >= hints.len() {
                        return Ok(total);
                    }
                    if Instant::now() >= deadline {
                        return Err(format!("ingest did not finish within {INGEST_DEADLINE:?}"));
                    }
                    let batch = &hints[i..(i + BACKLOG_BATCH).min(hints.len())];
                    let r = engine
                        .ingest(connection, batch, EventSource::Poll)
                        .await
                        .map_err(|e| format!("ingest: {e}"))?;
                    total.events += r.events;
                    total.duplicates += r.duplicates;
                    total.jobs += r.jobs;
                }
            })
        })
        .collect();
    let mut sum = Ingested::default();
    for t in tasks {
        let part = t.await.map_err(|e| format!("ingest task: {e}"))??;
        sum.events += part.events;
        sum.duplicates += part.duplicates;
        sum.jobs += part.jobs;
    }
    Ok((sum, started.elapsed().as_secs_f64()))
}

pub(crate) fn hint(id: String, event_id: String) -> ChangeHint {
    ChangeHint {
        kind: EntityKind::Contact,
        id,
        parent_id: None,
        deleted: false,
        event_id,
        event_type: "ContactUpdate".into(),
    }
}

/// Half the events for distinct contacts, half for a hot eighth of contacts (four each),
/// interleaved. Returns the hints and the number of distinct contacts.
pub(crate) fn queue_hints(n: usize) -> (Vec<ChangeHint>, usize) {
    let hot = (n / 8).max(1);
    let hints: Vec<ChangeHint> = (0..n)
        .map(|i| {
            let id = if i % 2 == 0 {
                format!("u{}", i / 2)
            } else {
                format!("h{}", (i / 2) % hot)
            };
            hint(id, format!("q-{i}"))
        })
        .collect();
    let entities = hints
        .iter()
        .map(|h| h.id.as_str())
        .collect::<HashSet<_>>()
        .len();
    (hints, entities)
}

pub(crate) fn micros_between(start: chrono::DateTime<Utc>, end_us: Option<i64>) -> f64 {
    match end_us {
        Some(end) => ((end - start.timestamp_micros()) as f64 / 1e6).max(0.0),
        None => f64::NAN,
    }
}

/// Runs `body` on a fresh store and removes the store afterwards, whatever happened.
pub(crate) async fn with_db<T, F, Fut>(backend: Backend, args: &Args, body: F) -> Res<T>
where
    F: FnOnce(Arc<dyn Store>, String, Arc<BenchDb>) -> Fut,
    Fut: std::future::Future<Output = Res<T>>,
{
    let (db, store) = BenchDb::open(backend, args).await?;
    let db = Arc::new(db);
    let out = body(store.clone(), db.url.clone(), db.clone()).await;
    store.close().await;
    let removed = match Arc::try_unwrap(db) {
        Ok(db) => db.remove().await,
        Err(_) => Err("the bench store is still in use".into()),
    };
    let out = out?;
    removed?;
    Ok(out)
}

pub(crate) async fn phase_queue(
    args: &Args,
    backend: Backend,
    processes: usize,
) -> Res<QueueFigures> {
    with_db(backend, args, |store, url, db| async move {
        let spec = WorkerSpec {
            db_url: url,
            executor: ExecutorSpec::Noop,
            workers: args.workers,
            idle_ms: args.idle_ms,
            claim_batch: args.claim_batch,
            max_secs: CHILD_LIFETIME.as_secs(),
        };
        let (engine, executions) = build_engine(&spec, store)?;
        let mut workers = Workers::prepare(processes, &spec, &engine, &executions).await?;
        let (hints, entities) = queue_hints(args.events);
        let (ingested, ingest_s) = ingest_backlog(&engine, "app", hints).await?;
        let jobs = usize::try_from(db.open_jobs().await?).unwrap_or(0);
        let drain_start = Utc::now();
        workers.start().await?;
        let drained = db.wait_drained(DRAIN_DEADLINE).await?;
        let runs = workers.finish().await?;
        let drain_s = micros_between(drain_start, db.last_finished_us().await?);
        let once = check_once(&db, &runs).await?;
        Ok(QueueFigures {
            events: ingested.events,
            entities,
            jobs,
            events_per_job: ingested.events as f64 / jobs.max(1) as f64,
            ingest_s,
            ingest_events_per_s: rate(ingested.events, ingest_s),
            drain_s,
            drain_jobs_per_s: rate(jobs, drain_s),
            through_events_per_s: rate(ingested.events, ingest_s + drain_s),
            drained,
            once,
        })
    })
    .await
}

pub(crate) async fn phase_latency(
    args: &Args,
    backend: Backend,
    processes: usize,
) -> Res<LatencyFigures> {
    with_db(backend, args, |store, url, db| async move {
        let spec = WorkerSpec {
            db_url: url,
            executor: ExecutorSpec::Noop,
            workers: args.workers,
            idle_ms: args.idle_ms,
            claim_batch: args.claim_batch,
            max_secs: CHILD_LIFETIME.as_secs(),
        };
        let (engine, executions) = build_engine(&spec, store)?;
        let mut workers = Workers::prepare(processes, &spec, &engine, &executions).await?;
        workers.start().await?;
        let total = usize::try_from(u64::from(args.rate) * args.seconds).unwrap_or(usize::MAX);
        let period = Duration::from_secs_f64(1.0 / f64::from(args.rate));
        let t0 = Instant::now() + Duration::from_millis(200);
        let mut calls = Vec::with_capacity(total);
        for i in 0..total {
            tokio::time::sleep_until(t0 + period.mul_f64(i as f64)).await;
            let engine = engine.clone();
            calls.push(tokio::spawn(async move {
                let h = hint(format!("l{i}"), format!("l-{i}"));
                let started = Instant::now();
                let r = engine
                    .ingest("app", std::slice::from_ref(&h), EventSource::Webhook)
                    .await;
                (started.elapsed(), Instant::now(), r.is_ok())
            }));
        }
        let deadline = Instant::now() + LATENCY_GRACE;
        let (mut call_ms, mut last, mut errors) = (Vec::with_capacity(total), t0, 0);
        for c in calls {
            match tokio::time::timeout_at(deadline, c).await {
                Ok(Ok((took, at, ok))) => {
                    call_ms.push(took.as_secs_f64() * 1e3);
                    last = last.max(at);
                    errors += usize::from(!ok);
                }
                _ => errors += 1,
            }
        }
        let achieved = rate(total - errors, (last - t0).as_secs_f64());
        let _ = db.wait_drained(LATENCY_GRACE).await?;
        let runs = workers.finish().await?;
        let mut lat: Vec<f64> = db
            .latencies_us()
            .await?
            .into_iter()
            .map(|us| us as f64 / 1e3)
            .collect();
        lat.sort_by(f64::total_cmp);
        call_ms.sort_by(f64::total_cmp);
        let events = usize::try_from(db.events().await?).unwrap_or(0);
        let once = check_once(&db, &runs).await?;
        Ok(LatencyFigures {
            offered_per_s: args.rate,
            seconds: args.seconds,
            events,
            ingest_errors: errors,
            achieved_per_s: achieved,
            ingest_call_p50_ms: percentile(&call_ms, 0.50),
            ingest_call_p99_ms: percentile(&call_ms, 0.99),
            p50_ms: percentile(&lat, 0.50),
            p90_ms: percentile(&lat, 0.90),
            p99_ms: percentile(&lat, 0.99),
            max_ms: lat.last().copied().unwrap_or(f64::NAN),
            unfinished: events.saturating_sub(lat.len()),
            once,
        })
    })
    .await
}

/// The GHL side of the end-to-end phase, shared by every configuration (it is only read).
pub(crate) struct GhlSide {
    pub(crate) sandbox: GhlSandbox,
    pub(crate) contact_ids: Vec<String>,
    /// One per distinct email plus one per contact without an email.
    pub(crate) expected: usize,
}

pub(crate) async fn start_ghl(contacts: usize) -> Res<GhlSide> {
    let sandbox = GhlSandbox::start(GhlSandboxConfig {
        contacts,
        limits: LimitConfig {
            burst_max: 1_000_000,
            burst_interval_ms: 10_000,
            daily_max: 100_000_000,
        },
        ..Default::default()
    })
    .await
    .map_err(|e| format!("GHL sandbox: {e}"))?;
    let location = sandbox.location_id();
    let (contact_ids, expected) = {
        let st = sandbox.state.store.read();
        let mine: Vec<_> = st
            .contacts
            .values()
            .filter(|c| c.location_id == location)
            .collect();
        let mut emails = HashSet::new();
        let mut without = 0;
        for c in &mine {
            match &c.email {
                Some(e) if !e.trim().is_empty() => {
                    emails.insert(e.trim().to_lowercase());
                }
                _ => without += 1,
            }
        }
        let mut ids: Vec<String> = mine.iter().map(|c| c.id.clone()).collect();
        ids.sort();
        (ids, emails.len() + without)
    };
    Ok(GhlSide {
        sandbox,
        contact_ids,
        expected,
    })
}

pub(crate) async fn phase_e2e(
    args: &Args,
    backend: Backend,
    processes: usize,
    ghl: &GhlSide,
) -> Res<E2eFigures> {
    let crm = RestSandbox::start(RestConfig {
        contacts: 0,
        limits: RateLimit {
            limit: 100_000_000,
            window_secs: 60,
        },
        ..Default::default()
    })
    .await
    .map_err(|e| format!("Your App emulator: {e}"))?;
    let out = with_db(backend, args, |store, url, db| {
        let crm = &crm;
        async move {
            let spec = WorkerSpec {
                db_url: url,
                executor: ExecutorSpec::Sync {
                    ghl_url: ghl.sandbox.base_url.clone(),
                    location_id: ghl.sandbox.location_id(),
                    token: ghl.sandbox.token(),
                    crm_url: crm.api_url(),
                    crm_key: crm.api_key(),
                },
                workers: args.workers,
                idle_ms: args.idle_ms,
                claim_batch: args.claim_batch,
                max_secs: CHILD_LIFETIME.as_secs(),
            };
            let (engine, executions) = build_engine(&spec, store)?;
            let mut workers = Workers::prepare(processes, &spec, &engine, &executions).await?;
            let hints: Vec<ChangeHint> = ghl
                .contact_ids
                .iter()
                .enumerate()
                .map(|(i, id)| hint(id.clone(), format!("e-{i}")))
                .collect();
            let (ingested, ingest_s) =
                ingest_backlog(&engine, source_connection(&spec.executor), hints).await?;
            let jobs = usize::try_from(db.open_jobs().await?).unwrap_or(0);
            let drain_start = Utc::now();
            workers.start().await?;
            let drained = db.wait_drained(DRAIN_DEADLINE).await?;
            let runs = workers.finish().await?;
            let drain_s = micros_between(drain_start, db.last_finished_us().await?);
            let once = check_once(&db, &runs).await?;
            let counts = crm.state.store.lock().counts();
            let created = counts["contacts"]["live"].as_u64().unwrap_or(0) as usize;
            Ok(E2eFigures {
                events: ingested.events,
                jobs,
                ingest_s,
                drain_s,
                drain_jobs_per_s: rate(jobs, drain_s),
                created,
                expected: ghl.expected,
                drained,
                once,
            })
        }
    })
    .await;
    crm.shutdown().await;
    out
}
