//! The per-flow summary of a demo run, read from the engine's own SQLite store (read-only, by
//! SQL over its tables, so it shows what the store recorded rather than what the demo believes):
//! events that started the flow's jobs (by source), writes the flow made (audit of changes),
//! retries (failed attempts of jobs that went on), jobs in the dead-letter queue, and the
//! latency from a change's first event (webhook or poll, during the activity) to its job done,
//! p50 and p99.

use std::path::Path;

use engine::flow::{FlowBody, SyncDirection};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::Row;

/// The figures of one flow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowSummary {
    pub flow: String,
    /// `ghl → your_app`, `ghl ⇄ investnext`.
    pub apps: String,
    pub two_way: bool,
    pub events: u64,
    pub webhook_events: u64,
    pub poll_events: u64,
    pub reconcile_events: u64,
    pub writes: u64,
    pub creates: u64,
    pub updates: u64,
    pub deletes: u64,
    pub retries: u64,
    pub dlq: u64,
    /// Event → done, in milliseconds: webhook and poll events since the activity started
    /// (reconcile backfill left out).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

async fn pool(db_file: &Path) -> Result<SqlitePool, String> {
    let opts = SqliteConnectOptions::new()
        .filename(db_file)
        .read_only(true);
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .map_err(|e| format!("reading the demo's store {}: {e}", db_file.display()))
}

fn q(e: sqlx::Error) -> String {
    format!("reading the demo's store: {e}")
}

/// The figures of every sync flow of the project.
/// Latencies count only events received at or after `live_since` (the activity's start), so
/// the backlog of the first sync does not stand for the engine's speed.
pub async fn collect(
    db_file: &Path,
    flows: &[&engine::flow::Flow],
    live_since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<FlowSummary>, String> {
    let pool = pool(db_file).await?;
    let mut out = Vec::new();
    for f in flows {
        let FlowBody::Sync(s) = &f.body else { continue };
        let two_way = s.direction == SyncDirection::TwoWay;
        let mut row = FlowSummary {
            flow: f.name.clone(),
            apps: format!(
                "{} {} {}",
                s.source,
                if two_way { "⇄" } else { "→" },
                s.target
            ),
            two_way,
            ..FlowSummary::default()
        };
        let by_source = sqlx::query(
            "SELECT e.source AS source, COUNT(DISTINCT e.id) AS n \
             FROM jobs j, json_each(j.event_ids) je JOIN events e ON e.id = je.value \
             WHERE j.flow_id = ?1 GROUP BY e.source",
        )
        .bind(&f.name)
        .fetch_all(&pool)
        .await
        .map_err(q)?;
        for r in by_source {
            let n = r.try_get::<i64, _>("n").map_err(q)?.max(0) as u64;
            match r.try_get::<String, _>("source").map_err(q)?.as_str() {
                "webhook" => row.webhook_events += n,
                "poll" => row.poll_events += n,
                "reconcile" => row.reconcile_events += n,
                _ => {}
            }
            row.events += n;
        }
        let ops = sqlx::query(
            "SELECT op, COUNT(*) AS n FROM audit_changes WHERE flow_id = ?1 GROUP BY op",
        )
        .bind(&f.name)
        .fetch_all(&pool)
        .await
        .map_err(q)?;
        for r in ops {
            let n = r.try_get::<i64, _>("n").map_err(q)?.max(0) as u64;
            match r.try_get::<String, _>("op").map_err(q)?.as_str() {
                "create" => row.creates += n,
                "update" => row.updates += n,
                "delete" => row.deletes += n,
                _ => {}
            }
            row.writes += n;
        }
        let jobs = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN state != 'dead' THEN attempts ELSE 0 END), 0) AS retries, \
                    COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0) AS dead \
             FROM jobs WHERE flow_id = ?1",
        )
        .bind(&f.name)
        .fetch_one(&pool)
        .await
        .map_err(q)?;
        row.retries = jobs.try_get::<i64, _>("retries").map_err(q)?.max(0) as u64;
        row.dlq = jobs.try_get::<i64, _>("dead").map_err(q)?.max(0) as u64;
        let lat: Vec<i64> = sqlx::query_scalar(
            "SELECT j.finished_at - MIN(e.received_at) \
             FROM jobs j, json_each(j.event_ids) je JOIN events e ON e.id = je.value \
             WHERE j.flow_id = ?1 AND j.state = 'done' AND j.finished_at IS NOT NULL \
               AND e.source IN ('webhook', 'poll') AND e.received_at >= ?2 \
             GROUP BY j.id",
        )
        .bind(&f.name)
        .bind(live_since.timestamp_micros())
        .fetch_all(&pool)
        .await
        .map_err(q)?;
        let mut ms: Vec<f64> = lat
            .into_iter()
            .map(|us| us.max(0) as f64 / 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        row.p50_ms = percentile(&ms, 0.50);
        row.p99_ms = percentile(&ms, 0.99);
        out.push(row);
    }
    pool.close().await;
    Ok(out)
}

/// The nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn ms(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x < 10.0 => format!("{x:.1}ms"),
        Some(x) if x < 10_000.0 => format!("{x:.0}ms"),
        Some(x) => format!("{:.1}s", x / 1000.0),
    }
}

/// The summary table. Each flow row ends with the same eight columns (`EVENTS WRITES
/// CONFLICTS RETRIES DLQ P50 P99`, conflicts `-` for one-way flows), so scripts can read a row
/// from its end; `conflicts` is how many conflicting edits the activity made to that flow's pairs.
pub fn render(rows: &[FlowSummary], conflicts: u64) -> String {
    let name_w = rows
        .iter()
        .map(|r| r.flow.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let apps_w = rows
        .iter()
        .map(|r| r.apps.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:<name_w$}  {:<apps_w$}  {:>7} {:>7} {:>9} {:>7} {:>4} {:>8} {:>8}\n",
        "FLOW", "APPS", "EVENTS", "WRITES", "CONFLICTS", "RETRIES", "DLQ", "P50", "P99"
    );
    for r in rows {
        let c = if r.two_way {
            conflicts.to_string()
        } else {
            "-".into()
        };
        out.push_str(&format!(
            "{:<name_w$}  {:<apps_w$}  {:>7} {:>7} {:>9} {:>7} {:>4} {:>8} {:>8}\n",
            r.flow,
            r.apps,
            r.events,
            r.writes,
            c,
            r.retries,
            r.dlq,
            ms(r.p50_ms),
            ms(r.p99_ms)
        ));
    }
    out.push_str("\nEvents by source and writes by kind:\n");
    for r in rows {
        out.push_str(&format!(
            "  {}: events {} webhook / {} poll / {} reconcile; writes {} created / {} updated / {} deleted\n",
            r.flow,
            r.webhook_events,
            r.poll_events,
            r.reconcile_events,
            r.creates,
            r.updates,
            r.deletes
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn rows_end_with_the_same_columns() {
        let rows = vec![FlowSummary {
            flow: "GHL tasks to Your App".into(),
            apps: "ghl → your_app".into(),
            events: 12,
            writes: 5,
            p50_ms: Some(31.4),
            p99_ms: Some(250.0),
            ..FlowSummary::default()
        }];
        let text = render(&rows, 3);
        let row = text.lines().nth(1).expect("a row");
        let tail: Vec<&str> = row.split_whitespace().rev().take(7).collect();
        assert_eq!(tail, ["250ms", "31ms", "0", "0", "-", "5", "12"]);
    }
}
