//! The latency chart, drawn on the server as inline SVG: no chart library, no script, readable
//! by screen readers (a `<title>` and a `<desc>` that states the latest values) and by people
//! who cannot tell the colours apart (p99 is dashed, p50 solid; both are in the legend).
//!
//! Everything written into the SVG is a number, a time or a fixed word, so nothing needs
//! escaping.

use std::fmt::Write;

use super::latency::{human_ms, Bucket};

const W: f64 = 720.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 40.0;

/// The smallest of 1, 2, 5 × 10ⁿ that is at least `v` (a round top for the y axis).
pub fn nice_ceiling(v: i64) -> i64 {
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if m * step >= v {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// The chart of p50 and p99 per bucket. `span` names the whole period for the description
/// (e.g. `the last hour`), `width` one bucket (`5-minute`).
pub fn latency_svg(buckets: &[Bucket], span: &str, width: &str) -> String {
    let max = buckets
        .iter()
        .filter_map(|b| b.p99_ms.max(b.p50_ms))
        .max()
        .unwrap_or(0);
    let top = nice_ceiling(max.max(10)).max(10);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let n = buckets.len().max(1);
    let x = |i: usize| LEFT + plot_w * (i as f64 + 0.5) / n as f64;
    let y = |ms: i64| TOP + plot_h * (1.0 - ms as f64 / top as f64);

    let total: u64 = buckets.iter().map(|b| b.runs).sum();
    let latest = buckets.iter().rev().find(|b| b.runs > 0);
    let desc = match latest {
        Some(b) => format!(
            "Time from change to finished sync, p50 and p99 per {width} bucket over {span}: {total} finished runs. Latest bucket ({}): p50 {}, p99 {}.",
            b.start.format("%H:%M"),
            human_ms(b.p50_ms.unwrap_or(0)),
            human_ms(b.p99_ms.unwrap_or(0)),
        ),
        None => format!("No runs finished in {span}, so there is no latency to show."),
    };

    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-labelledby="latency-title latency-desc" class="latency">"##
    );
    let _ = write!(
        s,
        r#"<title id="latency-title">Latency p50 and p99</title><desc id="latency-desc">{desc}</desc>"#
    );
    // Grid and y axis labels in fifths of the (round) top: 0, 20, 40… of 100.
    for k in 0..=5 {
        let v = top * k / 5;
        let yy = y(v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#dde1e8"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" fill="#5b6475">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            human_ms(v)
        );
    }
    // x axis: a tick and the start time at the left edge of every other bucket (the points
    // sit in the middle of theirs), and the axis names.
    let every = if n > 8 { 2 } else { 1 };
    for (i, b) in buckets.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let edge = LEFT + plot_w * i as f64 / n as f64;
        let _ = write!(
            s,
            r##"<line x1="{edge:.1}" y1="{:.1}" x2="{edge:.1}" y2="{:.1}" stroke="#5b6475"/><text x="{edge:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="#5b6475">{}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 4.0,
            H - BOTTOM + 16.0,
            b.start.format("%H:%M")
        );
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="#5b6475">time (UTC), {width} buckets</text><text x="12" y="{:.1}" font-size="11" fill="#5b6475" transform="rotate(-90 12 {:.1})" text-anchor="middle">latency</text>"##,
        LEFT + plot_w / 2.0,
        H - 6.0,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
    );
    // Legend.
    let _ = write!(
        s,
        r##"<g font-size="12" fill="#1d2330"><line x1="{lx}" y1="14" x2="{lx2}" y2="14" stroke="#2457d6" stroke-width="2.5"/><text x="{tx}" y="18">p50</text><line x1="{mx}" y1="14" x2="{mx2}" y2="14" stroke="#b3261e" stroke-width="2.5" stroke-dasharray="6 4"/><text x="{tx2}" y="18">p99</text></g>"##,
        lx = LEFT,
        lx2 = LEFT + 24.0,
        tx = LEFT + 30.0,
        mx = LEFT + 70.0,
        mx2 = LEFT + 94.0,
        tx2 = LEFT + 100.0,
    );
    if total == 0 {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13" fill="#5b6475">No finished runs yet</text>"##,
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
    }
    for (name, colour, dash, pick) in [
        ("p99", "#b3261e", r#" stroke-dasharray="6 4""#, 99),
        ("p50", "#2457d6", "", 50),
    ] {
        let value = |b: &Bucket| if pick == 50 { b.p50_ms } else { b.p99_ms };
        // A line per run of consecutive buckets with data; an empty bucket breaks the line.
        let mut segment: Vec<String> = Vec::new();
        let flush = |seg: &mut Vec<String>, s: &mut String| {
            if seg.len() > 1 {
                let _ = write!(
                    s,
                    r#"<polyline class="line {name}" fill="none" stroke="{colour}" stroke-width="2.5"{dash} points="{}"/>"#,
                    seg.join(" ")
                );
            }
            seg.clear();
        };
        for (i, b) in buckets.iter().enumerate() {
            match value(b) {
                Some(ms) => segment.push(format!("{:.1},{:.1}", x(i), y(ms))),
                None => flush(&mut segment, &mut s),
            }
        }
        flush(&mut segment, &mut s);
        for (i, b) in buckets.iter().enumerate() {
            if let Some(ms) = value(b) {
                let _ = write!(
                    s,
                    r#"<circle class="pt {name}" cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}"><title>{} {name} {} ({} runs)</title></circle>"#,
                    x(i),
                    y(ms),
                    b.start.format("%H:%M"),
                    human_ms(ms),
                    b.runs
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration};

    fn bucket(i: i64, runs: u64, p50: Option<i64>, p99: Option<i64>) -> Bucket {
        Bucket {
            start: DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(5 * i),
            runs,
            p50_ms: p50,
            p99_ms: p99,
        }
    }

    #[test]
    fn round_tops() {
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(120), 200);
        assert_eq!(nice_ceiling(500), 500);
        assert_eq!(nice_ceiling(501), 1000);
    }

    #[test]
    fn points_lines_and_description() {
        let b = vec![
            bucket(0, 3, Some(100), Some(400)),
            bucket(1, 0, None, None),
            bucket(2, 2, Some(150), Some(300)),
            bucket(3, 1, Some(90), Some(90)),
        ];
        let svg = latency_svg(&b, "the last hour", "5-minute");
        assert_eq!(svg.matches(r#"class="pt p50""#).count(), 3);
        assert_eq!(svg.matches(r#"class="pt p99""#).count(), 3);
        // The gap splits each series: only buckets 2–3 join into a line.
        assert_eq!(svg.matches(r#"class="line p50""#).count(), 1);
        assert!(svg.contains("<title id=\"latency-title\">"));
        assert!(svg.contains("6 finished runs"), "{svg}");
        assert!(svg.contains("p50 90 ms, p99 90 ms"), "{svg}");
        assert!(svg.contains(">500 ms<"), "top of the axis: {svg}");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn empty_chart_says_so() {
        let b = vec![bucket(0, 0, None, None), bucket(1, 0, None, None)];
        let svg = latency_svg(&b, "the last hour", "5-minute");
        assert!(svg.contains("No finished runs yet"));
        assert!(!svg.contains("<circle"));
        assert!(svg.contains("No runs finished in the last hour"));
    }
}
