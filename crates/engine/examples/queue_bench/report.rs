//! Printing the figures as tables.

use super::*;

pub(crate) fn fmt(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "-".into()
    }
}

pub(crate) fn yes(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "NO"
    }
}

pub(crate) fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

pub(crate) const QUEUE_HEAD: [&str; 9] = [
    "backend",
    "procs",
    "events",
    "jobs",
    "ev/job",
    "ingest ev/s",
    "drain jobs/s",
    "through ev/s",
    "once",
];
pub(crate) const LATENCY_HEAD: [&str; 11] = [
    "backend",
    "procs",
    "events",
    "ingest ev/s",
    "ingest call p50/p99 ms",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "unfinished",
    "once",
];
pub(crate) const E2E_HEAD: [&str; 7] = [
    "backend",
    "procs",
    "jobs",
    "drain s",
    "jobs/s",
    "created/expected",
    "once",
];

pub(crate) fn print_table(title: &str, head: &[&str], rows: &[Vec<String>]) {
    if rows.is_empty() {
        return;
    }
    let mut width: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.len());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < 2 {
                    format!("{c:<w$}", w = width[i])
                } else {
                    format!("{c:>w$}", w = width[i])
                }
            })
            .collect();
        println!("  {}", parts.join("  "));
    };
    println!("\n{title}");
    line(head.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}

pub(crate) fn ratio(runs: &[RunFigures], f: impl Fn(&RunFigures) -> Option<f64>) -> Option<f64> {
    let pick = |n: usize| {
        runs.iter()
            .find(|r| r.backend == Backend::Postgres && r.processes == n)
            .and_then(&f)
    };
    match (pick(3), pick(1)) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() && b.is_finite() => Some(a / b),
        _ => None,
    }
}

/// The 1-minute load average (Linux), to tell a quiet machine from a busy one in the figures.
pub(crate) fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
