//! Memory and CPU time of a process, read from /proc (Linux only): the figures of the
//! memory and cpu scenarios, taken from the `serve` child and not the load generator.

use std::time::Duration;

/// One reading of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// Resident set size now (VmRSS), bytes.
    pub rss: u64,
    /// Peak resident set size since start (VmHWM), bytes.
    pub peak_rss: u64,
    /// User + system CPU time since start.
    pub cpu: Duration,
}

impl Sample {
    pub fn rss_mb(&self) -> f64 {
        self.rss as f64 / (1024.0 * 1024.0)
    }
    pub fn peak_mb(&self) -> f64 {
        self.peak_rss as f64 / (1024.0 * 1024.0)
    }
}

/// Reads RSS, peak RSS and CPU time of `pid`; the error names the file that failed.
pub fn sample(pid: u32) -> Result<Sample, String> {
    let status_path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&status_path)
        .map_err(|e| format!("{status_path}: {e} (is the process still running?)"))?;
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let stat_path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&stat_path).map_err(|e| format!("{stat_path}: {e}"))?;
    Ok(Sample {
        rss: kb("VmRSS:"),
        peak_rss: kb("VmHWM:"),
        cpu: cpu_of_stat(&stat).ok_or_else(|| format!("{stat_path}: unexpected format"))?,
    })
}

/// utime + stime (fields 14 and 15) of a /proc/PID/stat line, in clock ticks of 1/100 s
/// (USER_HZ is 100 on every Linux architecture Rust targets).
fn cpu_of_stat(stat: &str) -> Option<Duration> {
    // The command name (field 2) may hold spaces; fields after it start past the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14 → index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Samples `pid` every `every` until `stop` resolves; returns the highest RSS seen and the
/// last sample (VmHWM also keeps the peak between samples).
pub async fn sample_until(
    pid: u32,
    every: Duration,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(u64, Sample), String> {
    tokio::pin!(stop);
    let mut max_rss = 0;
    let mut last = sample(pid)?;
    loop {
        max_rss = max_rss.max(last.rss);
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(every) => {}
        }
        last = sample(pid)?;
    }
    last = sample(pid).unwrap_or(last);
    Ok((max_rss.max(last.rss), last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.rss > 0 && s.peak_rss >= s.rss, "{s:?}");
    }

    #[test]
    fn stat_with_spaces_in_name() {
        let line = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0";
        assert_eq!(cpu_of_stat(line), Some(Duration::from_millis(3000)));
    }
}
