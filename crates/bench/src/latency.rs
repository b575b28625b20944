//! Latency percentiles. A sorted `Vec<u32>` of microseconds is enough: a 10 s run at
//! ~10k/s is 100k samples (400 KB), sorted once; `hdrhistogram` would add a dependency for
//! no gain at these sizes.

use std::time::Duration;

/// Collected latencies of one phase, in microseconds.
#[derive(Clone, Debug, Default)]
pub struct Latencies {
    us: Vec<u32>,
    sorted: bool,
}

impl Latencies {
    pub fn new() -> Latencies {
        Latencies::default()
    }

    pub fn record(&mut self, d: Duration) {
        self.us.push(d.as_micros().min(u32::MAX as u128) as u32);
        self.sorted = false;
    }

    /// Adds another collector's samples (one per worker task, merged at the end).
    pub fn merge(&mut self, other: Latencies) {
        self.us.extend(other.us);
        self.sorted = false;
    }

    pub fn len(&self) -> usize {
        self.us.len()
    }

    pub fn is_empty(&self) -> bool {
        self.us.is_empty()
    }

    /// The `p`-th percentile (0..=100) in milliseconds (nearest rank); 0 when empty.
    pub fn percentile_ms(&mut self, p: f64) -> f64 {
        if self.us.is_empty() {
            return 0.0;
        }
        if !self.sorted {
            self.us.sort_unstable();
            self.sorted = true;
        }
        let rank = ((p / 100.0) * self.us.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.us.len()) - 1;
        self.us[i] as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut l = Latencies::new();
        for ms in 1..=100u64 {
            l.record(Duration::from_millis(ms));
        }
        assert_eq!(l.percentile_ms(50.0), 50.0);
        assert_eq!(l.percentile_ms(99.0), 99.0);
        assert_eq!(l.percentile_ms(100.0), 100.0);
        assert_eq!(Latencies::new().percentile_ms(99.0), 0.0);
    }
}
