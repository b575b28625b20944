//! Progress while the demo works: an indicatif bar (activity) or spinner (waiting for the engine)
//! on a terminal, and a plain line every few seconds otherwise (CI logs, pipes).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::activity::Tally;

/// The demo's progress display.
pub struct Progress {
    bar: Mutex<Option<ProgressBar>>,
    tty: bool,
    last_line: Mutex<Option<Instant>>,
    /// The activity's length, for the bar.
    total: Duration,
}

const PLAIN_EVERY: Duration = Duration::from_secs(3);

impl Progress {
    /// A display for an activity of `total`.
    pub fn new(total: Duration) -> Self {
        Self {
            bar: Mutex::new(None),
            tty: std::io::stderr().is_terminal(),
            last_line: Mutex::new(None),
            total,
        }
    }

    fn plain_due(&self) -> bool {
        let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < PLAIN_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    fn with_bar(&self, make: impl FnOnce() -> ProgressBar, f: impl FnOnce(&ProgressBar)) {
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        let b = bar.get_or_insert_with(make);
        f(b);
    }

    /// The activity has run for `elapsed` and done what `tally` says.
    pub fn activity(&self, elapsed: Duration, tally: &Tally) {
        if !self.tty {
            if self.plain_due() {
                println!(
                    "  activity {:>3}s/{}s: {} changes",
                    elapsed.as_secs(),
                    self.total.as_secs(),
                    tally.total()
                );
            }
            return;
        }
        let total = self.total.as_millis() as u64;
        self.with_bar(
            || {
                let b = ProgressBar::new(total.max(1));
                b.set_style(
                    ProgressStyle::with_template(
                        "  activity [{bar:30}] {elapsed:>4} of {len_s}  {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .with_key(
                        "len_s",
                        move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{}s", total / 1000);
                        },
                    )
                    .progress_chars("=> "),
                );
                b
            },
            |b| {
                b.set_position((elapsed.as_millis() as u64).min(total));
                b.set_message(format!("{} changes", tally.total()));
            },
        );
    }

    /// Waiting for the engine: `what` (`initial sync`, `draining`) with `left` jobs to go.
    pub fn waiting(&self, what: &str, left: u64) {
        if !self.tty {
            if self.plain_due() {
                println!("  {what}: {left} job(s) left");
            }
            return;
        }
        self.with_bar(
            || {
                let b = ProgressBar::new_spinner();
                b.set_style(
                    ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                b.enable_steady_tick(Duration::from_millis(120));
                b
            },
            |b| b.set_message(format!("{what}: {left} job(s) left")),
        );
    }

    /// Ends the current bar or spinner, leaving `line` in its place.
    pub fn finish(&self, line: &str) {
        let bar = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        *self.last_line.lock().unwrap_or_else(|e| e.into_inner()) = None;
        println!("  {line}");
    }
}
