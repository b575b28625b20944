//! The Monitor page's numbers, as pure functions over the store's runs so they are tested
//! directly: percentiles, per-flow counts and per-time-bucket latency.
//!
//! Latency here is what a user feels: from the moment the change was queued (the event's
//! arrival; the job is created in the same transaction) until its run finished, so it includes
//! waiting in the queue and retry backoff, not just the last attempt's duration.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use engine::store::{JobState, Run};
use serde::Serialize;

/// The `p`-th percentile (0 < p ≤ 100) of values sorted ascending, by the nearest-rank method
/// (always one of the values, never an interpolation); `None` for no values.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A done run's queued-to-finished time in milliseconds.
pub fn latency_ms(run: &Run) -> Option<i64> {
    if run.state != JobState::Done {
        return None;
    }
    let finished = run.finished_at?;
    let ms = (finished - run.created_at).num_milliseconds();
    (ms >= 0).then_some(ms)
}

/// One flow's work over the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowStats {
    pub flow: String,
    /// Runs that finished successfully.
    pub done: u64,
    /// Runs that gave up (now in the dead-letter queue).
    pub failed: u64,
    /// Runs that needed more than one attempt and have not given up (recovered or retrying).
    pub retried: u64,
    /// Runs waiting or running now.
    pub waiting: u64,
    pub p50_ms: Option<i64>,
    pub p99_ms: Option<i64>,
}

/// Per-flow counts and latency percentiles of the runs finished (or still open) since `since`.
/// Every flow in `flows` gets a row, even without runs, so a quiet flow is visibly quiet.
pub fn flow_stats(runs: &[Run], flows: &[String], since: DateTime<Utc>) -> Vec<FlowStats> {
    let mut by_flow: BTreeMap<&str, (FlowStats, Vec<i64>)> = BTreeMap::new();
    let blank = |flow: &str| {
        (
            FlowStats {
                flow: flow.to_string(),
                done: 0,
                failed: 0,
                retried: 0,
                waiting: 0,
                p50_ms: None,
                p99_ms: None,
            },
            Vec::new(),
        )
    };
    for f in flows {
        by_flow.entry(f).or_insert_with(|| blank(f));
    }
    for r in runs {
        let recent = r.finished_at.is_none_or(|f| f >= since);
        if !recent {
            continue;
        }
        let (s, lat) = by_flow
            .entry(&r.flow_id)
            .or_insert_with(|| blank(&r.flow_id));
        match r.state {
            JobState::Done => s.done += 1,
            JobState::Dead => s.failed += 1,
            JobState::Pending | JobState::Leased => s.waiting += 1,
        }
        if r.attempts > 0 && r.state != JobState::Dead {
            s.retried += 1;
        }
        if let Some(ms) = latency_ms(r) {
            lat.push(ms);
        }
    }
    by_flow
        .into_values()
        .map(|(mut s, mut lat)| {
            lat.sort_unstable();
            s.p50_ms = percentile(&lat, 50.0);
            s.p99_ms = percentile(&lat, 99.0);
            s
        })
        .collect()
}

/// Latency of the runs that finished within one time slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub runs: u64,
    pub p50_ms: Option<i64>,
    pub p99_ms: Option<i64>,
}

/// `count` consecutive slots of `width` ending at `end` (oldest first), each with the p50 and
/// p99 latency of the done runs that finished in it.
pub fn buckets(runs: &[Run], end: DateTime<Utc>, width: Duration, count: usize) -> Vec<Bucket> {
    let start = end - width * count as i32;
    let mut slots: Vec<Vec<i64>> = vec![Vec::new(); count];
    for r in runs {
        let (Some(ms), Some(finished)) = (latency_ms(r), r.finished_at) else {
            continue;
        };
        if finished < start || finished >= end {
            continue;
        }
        let i = ((finished - start).num_milliseconds() / width.num_milliseconds()) as usize;
        if let Some(slot) = slots.get_mut(i) {
            slot.push(ms);
        }
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(i, mut lat)| {
            lat.sort_unstable();
            Bucket {
                start: start + width * i as i32,
                runs: lat.len() as u64,
                p50_ms: percentile(&lat, 50.0),
                p99_ms: percentile(&lat, 99.0),
            }
        })
        .collect()
}

/// Milliseconds for people: `850 ms`, `1.2 s`, `3.5 min`.
pub fn human_ms(ms: i64) -> String {
    match ms {
        ..=999 => format!("{ms} ms"),
        1000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{:.1} min", ms as f64 / 60_000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::store::JobId;

    fn run(flow: &str, state: JobState, attempts: u32, created: i64, finished: Option<i64>) -> Run {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let at = |ms: i64| t0 + Duration::milliseconds(ms);
        Run {
            job_id: JobId(1),
            flow_id: flow.into(),
            entity_key: "contact:1".into(),
            state,
            attempts,
            max_attempts: 5,
            last_error: None,
            coalesced: 0,
            created_at: at(created),
            started_at: finished.map(at),
            finished_at: finished.map(at),
            duration_ms: None,
            updated_at: at(finished.unwrap_or(created)),
        }
    }

    #[test]
    fn percentile_by_nearest_rank() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4, 5], 50.0), Some(3));
        let hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 50.0), Some(50));
        assert_eq!(percentile(&hundred, 99.0), Some(99));
        assert_eq!(percentile(&hundred, 100.0), Some(100));
        let mut two_hundred: Vec<i64> = (1..=200).collect();
        two_hundred.push(10_000);
        assert_eq!(percentile(&two_hundred, 99.0), Some(199));
    }

    #[test]
    fn flow_stats_count_states_and_latency() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let runs = vec![
            run("sync", JobState::Done, 0, 0, Some(100)),
            run("sync", JobState::Done, 2, 0, Some(300)),
            run("sync", JobState::Dead, 5, 0, Some(50)),
            run("sync", JobState::Pending, 1, 0, None),
            run("welcome", JobState::Leased, 0, 0, None),
            // Finished before the window: not counted.
            run("sync", JobState::Done, 0, -7_200_000, Some(-7_100_000)),
        ];
        let flows = vec!["quiet".to_string(), "sync".to_string()];
        let s = flow_stats(&runs, &flows, t0 - Duration::hours(1));
        let names: Vec<&str> = s.iter().map(|f| f.flow.as_str()).collect();
        assert_eq!(names, ["quiet", "sync", "welcome"]);
        assert_eq!(s[0].done + s[0].failed + s[0].waiting, 0);
        assert_eq!(s[0].p50_ms, None);
        let sync = &s[1];
        assert_eq!(
            (sync.done, sync.failed, sync.retried, sync.waiting),
            (2, 1, 2, 1)
        );
        assert_eq!((sync.p50_ms, sync.p99_ms), (Some(100), Some(300)));
        assert_eq!(s[2].waiting, 1);
    }

    #[test]
    fn buckets_split_by_finish_time() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let five = Duration::minutes(5);
        // Ends 15 minutes after t0: slots [t0, +5), [+5, +10), [+10, +15).
        let end = t0 + Duration::minutes(15);
        let runs = vec![
            run("a", JobState::Done, 0, 0, Some(1_000)),
            run("a", JobState::Done, 0, 0, Some(3_000)),
            run("a", JobState::Done, 0, 600_000, Some(600_400)),
            run("a", JobState::Dead, 0, 0, Some(2_000)),
            run("a", JobState::Done, 0, 0, Some(900_000)), // at `end`: outside
        ];
        let b = buckets(&runs, end, five, 3);
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].start, t0);
        assert_eq!(
            (b[0].runs, b[0].p50_ms, b[0].p99_ms),
            (2, Some(1_000), Some(3_000))
        );
        assert_eq!((b[1].runs, b[1].p50_ms), (0, None));
        assert_eq!((b[2].runs, b[2].p50_ms), (1, Some(400)));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_ms(850), "850 ms");
        assert_eq!(human_ms(1_234), "1.2 s");
        assert_eq!(human_ms(210_000), "3.5 min");
    }
}
