//! Figures, percentiles and the exactly-once check's results.

use super::*;

/// Whether every job ran exactly once.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct OnceCheck {
    /// Jobs done.
    pub(crate) done: usize,
    /// Runs seen by the connectors, over all processes.
    pub(crate) runs: u64,
    /// Done jobs that needed more than one attempt (their extra runs are retries, not duplicates).
    pub(crate) retried: usize,
    /// Done jobs that ran more often than `attempts + 1`.
    pub(crate) duplicate_runs: usize,
    /// Done jobs no process ran.
    pub(crate) never_ran: usize,
    /// Runs of jobs that are not done.
    pub(crate) runs_of_unfinished: usize,
    /// Jobs left pending, leased or dead.
    pub(crate) left: i64,
    pub(crate) ok: bool,
}

pub(crate) async fn check_once(db: &BenchDb, runs: &HashMap<i64, u32>) -> Res<OnceCheck> {
    let done = db.done_jobs().await?;
    let states = db.states().await?;
    let left = states
        .iter()
        .filter(|(s, _)| s.as_str() != "done")
        .map(|(_, n)| n)
        .sum();
    let mut c = OnceCheck {
        done: done.len(),
        runs: runs.values().map(|n| u64::from(*n)).sum(),
        left,
        ..Default::default()
    };
    let ids: HashSet<i64> = done.iter().map(|(id, _)| *id).collect();
    for (id, attempts) in &done {
        match runs.get(id) {
            None => c.never_ran += 1,
            Some(&n) => {
                if *attempts > 0 {
                    c.retried += 1;
                }
                if i64::from(n) > attempts + 1 {
                    c.duplicate_runs += 1;
                }
            }
        }
    }
    c.runs_of_unfinished = runs.keys().filter(|id| !ids.contains(id)).count();
    c.ok = c.duplicate_runs == 0 && c.never_ran == 0 && c.runs_of_unfinished == 0 && c.left == 0;
    if !c.ok {
        for e in db.some_errors().await? {
            eprintln!("    job error: {e}");
        }
    }
    Ok(c)
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct QueueFigures {
    pub(crate) events: usize,
    pub(crate) entities: usize,
    pub(crate) jobs: usize,
    pub(crate) events_per_job: f64,
    pub(crate) ingest_s: f64,
    pub(crate) ingest_events_per_s: f64,
    pub(crate) drain_s: f64,
    pub(crate) drain_jobs_per_s: f64,
    /// Events / (ingest + drain time).
    pub(crate) through_events_per_s: f64,
    pub(crate) drained: bool,
    pub(crate) once: OnceCheck,
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct LatencyFigures {
    pub(crate) offered_per_s: u32,
    pub(crate) seconds: u64,
    pub(crate) events: usize,
    pub(crate) ingest_errors: usize,
    /// Events / (last ingest returned − first offered).
    pub(crate) achieved_per_s: f64,
    pub(crate) ingest_call_p50_ms: f64,
    pub(crate) ingest_call_p99_ms: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    /// Events without a done job at the deadline.
    pub(crate) unfinished: usize,
    pub(crate) once: OnceCheck,
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct E2eFigures {
    pub(crate) events: usize,
    pub(crate) jobs: usize,
    pub(crate) ingest_s: f64,
    pub(crate) drain_s: f64,
    pub(crate) drain_jobs_per_s: f64,
    /// Contacts the Your App emulator holds afterwards, and how many it should (one per distinct
    /// email, plus one per contact without an email).
    pub(crate) created: usize,
    pub(crate) expected: usize,
    pub(crate) drained: bool,
    pub(crate) once: OnceCheck,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunFigures {
    pub(crate) backend: Backend,
    pub(crate) processes: usize,
    pub(crate) workers_per_process: usize,
    pub(crate) queue: Option<QueueFigures>,
    pub(crate) latency: Option<LatencyFigures>,
    pub(crate) e2e: Option<E2eFigures>,
    pub(crate) errors: Vec<String>,
    /// The machine's 1-minute load average when this configuration started and ended (this
    /// benchmark itself adds about 2 on a 2-core machine; more means other work was running).
    pub(crate) load_1m: (Option<f64>, Option<f64>),
}

/// Nearest-rank percentile of sorted values.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

pub(crate) fn rate(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        f64::NAN
    }
}
