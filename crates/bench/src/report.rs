//! What a scenario prints: figures with their targets, notes, and the machine they ran on,
//! as an aligned text table or JSON. Figures without the machine and its load are not comparable.

use serde::Serialize;

/// One measured value, with the target it is judged against (if any).
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    /// What was measured, e.g. "accepted/s (concurrency 32)".
    pub label: String,
    pub value: f64,
    /// Unit of `value` and `target`, e.g. "/s", "ms", "MB".
    pub unit: String,
    /// The target, as text ("≥ 5000", "≤ 20"); `None` when the figure is informational.
    pub target: Option<String>,
    /// Whether the target was met; `None` without a target.
    pub met: Option<bool>,
}

impl Figure {
    /// A figure without a target.
    pub fn info(label: impl Into<String>, value: f64, unit: &str) -> Figure {
        Figure {
            label: label.into(),
            value,
            unit: unit.into(),
            target: None,
            met: None,
        }
    }

    /// A figure that should be at least `min`.
    pub fn at_least(label: impl Into<String>, value: f64, unit: &str, min: f64) -> Figure {
        Figure {
            target: Some(format!(">= {}", fmt_num(min))),
            met: Some(value >= min),
            ..Figure::info(label, value, unit)
        }
    }

    /// A figure that should be at most `max`.
    pub fn at_most(label: impl Into<String>, value: f64, unit: &str, max: f64) -> Figure {
        Figure {
            target: Some(format!("<= {}", fmt_num(max))),
            met: Some(value <= max),
            ..Figure::info(label, value, unit)
        }
    }
}

/// Where the figures were taken: the same run on a busier or smaller machine differs.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cores: usize,
    /// 1-minute load average when the scenario started and ended.
    pub load_start: f64,
    pub load_end: f64,
    /// `uname -r`-like kernel release (from /proc).
    pub kernel: String,
    /// `git rev-parse --short HEAD` of the working directory, when available.
    pub commit: String,
}

impl Machine {
    /// Reads cores, kernel and commit now; `load_start` is the current load, `load_end` is set
    /// by [`Report::finish`].
    pub fn now() -> Machine {
        let load = load_average();
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_start: load,
            load_end: load,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into()),
            commit: std::process::Command::new("git")
                .args(["rev-parse", "--short", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_else(|| "unknown".into()),
        }
    }
}

/// The 1-minute load average, 0 when /proc/loadavg is unreadable.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// The outcome of one scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Scenario name ("ingest", ...).
    pub name: String,
    pub figures: Vec<Figure>,
    /// What ran concurrently, sizes, checks made: what a reader needs to trust the figures.
    pub notes: Vec<String>,
    pub machine: Machine,
    /// False when a correctness check failed (e.g. events lost); the command then exits non-zero.
    pub ok: bool,
}

impl Report {
    /// An empty report; call at the start of a scenario so `load_start` is the load before it.
    pub fn start(name: &str) -> Report {
        Report {
            name: name.into(),
            figures: Vec::new(),
            notes: Vec::new(),
            machine: Machine::now(),
            ok: true,
        }
    }

    /// Records the load average at the end.
    pub fn finish(mut self) -> Report {
        self.machine.load_end = load_average();
        self
    }

    pub fn figure(&mut self, f: Figure) {
        self.figures.push(f);
    }

    pub fn note(&mut self, n: impl Into<String>) {
        self.notes.push(n.into());
    }

    /// An aligned table: label, value, unit, target, met.
    pub fn to_text(&self) -> String {
        let rows: Vec<[String; 4]> = self
            .figures
            .iter()
            .map(|f| {
                [
                    f.label.clone(),
                    format!("{} {}", fmt_num(f.value), f.unit),
                    f.target
                        .as_ref()
                        .map(|t| format!("{t} {}", f.unit))
                        .unwrap_or_default(),
                    match f.met {
                        Some(true) => "met".into(),
                        Some(false) => "MISSED".into(),
                        None => String::new(),
                    },
                ]
            })
            .collect();
        let head = ["figure", "value", "target", ""].map(String::from);
        let mut width = [0usize; 4];
        for r in rows.iter().chain([&head]) {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let m = &self.machine;
        let mut out = format!(
            "== bench {} ({}) ==\nmachine: {} cores, kernel {}, commit {}, load {:.2} -> {:.2}\n",
            self.name,
            if self.ok { "ok" } else { "FAILED" },
            m.cores,
            m.kernel,
            m.commit,
            m.load_start,
            m.load_end
        );
        for r in [&head].into_iter().chain(rows.iter()) {
            let line = format!(
                "  {:<w0$}  {:>w1$}  {:<w2$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                w0 = width[0],
                w1 = width[1],
                w2 = width[2]
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        for n in &self.notes {
            out.push_str(&format!("  note: {n}\n"));
        }
        out
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Numbers without noise: integers as integers, others with up to 3 decimals.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_without_noise() {
        assert_eq!(fmt_num(5000.0), "5000");
        assert_eq!(fmt_num(23.9), "23.9");
        assert_eq!(fmt_num(0.3), "0.3");
        assert_eq!(fmt_num(2.865), "2.865");
        assert_eq!(fmt_num(109.123), "109.1");
    }

    #[test]
    fn text_table_marks_targets() {
        let mut r = Report::start("t");
        r.figure(Figure::at_least("rate", 10.0, "/s", 5.0));
        r.figure(Figure::at_most("p99", 30.0, "ms", 20.0));
        let t = r.to_text();
        assert!(t.contains(" met") && t.contains("MISSED"), "{t}");
        let j = r.to_json();
        assert_eq!(j["figures"][1]["met"], false);
        assert_eq!(j["figures"][0]["target"], ">= 5");
    }
}
