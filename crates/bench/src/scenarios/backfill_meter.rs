//! What the backfill scenario measures outside the system under test: every GHL request as the
//! sandbox logged it (counted per second, per status and per operation while the run goes on, so
//! a 100k run needs no more memory than a small one), and the records at both ends afterwards.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ghl_sandbox::ghl::Ghl;
use ghl_sandbox::rest::schema::Kind;
use ghl_sandbox::rest::RestApp;
use tokio::sync::watch;

/// GHL requests seen so far.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub total: u64,
    pub too_many: u64,
    /// Other answers ≥ 400 (faults are off, so these point at a bug).
    pub errors: u64,
    /// Requests per whole second since the Unix epoch.
    pub per_second: BTreeMap<i64, u64>,
    /// Requests per GHL operation id ("get-contact", "search-contacts-advanced", …).
    pub per_operation: BTreeMap<String, u64>,
}

impl Counts {
    fn add(&mut self, at: &str, status: u16, op: Option<&str>) {
        self.total += 1;
        self.too_many += u64::from(status == 429);
        self.errors += u64::from(status >= 400 && status != 429);
        let sec = chrono::DateTime::parse_from_rfc3339(at)
            .map(|t| t.timestamp())
            .unwrap_or_default();
        *self.per_second.entry(sec).or_default() += 1;
        *self
            .per_operation
            .entry(op.unwrap_or("other").to_string())
            .or_default() += 1;
    }

    /// Seconds from the first request's second to the last one's, inclusive.
    pub fn span_secs(&self) -> i64 {
        match (
            self.per_second.keys().next(),
            self.per_second.keys().next_back(),
        ) {
            (Some(a), Some(b)) => b - a + 1,
            _ => 0,
        }
    }

    /// Requests per second over the steady part: whole seconds at least `skip` seconds after
    /// the first request and before the last one (the first window may spend a full burst at
    /// once, the last holds only the stragglers). `None` when the run is too short for that.
    pub fn steady_rate(&self, skip: i64) -> Option<f64> {
        let first = *self.per_second.keys().next()?;
        let last = *self.per_second.keys().next_back()?;
        let (from, to) = (first + skip, last - skip);
        if to - from < skip {
            return None;
        }
        let n: u64 = self.per_second.range(from..to).map(|(_, n)| n).sum();
        Some(n as f64 / (to - from) as f64)
    }
}

/// Drains the sandbox's request log every 200 ms into [`Counts`] until `stop` turns true.
/// The log keeps 200,000 entries; reading this often keeps up with any rate the limits allow.
pub async fn meter(ghl: Arc<Ghl>, mut stop: watch::Receiver<bool>) -> Counts {
    let mut counts = Counts::default();
    let mut seq = 0u64;
    loop {
        let done = *stop.borrow();
        loop {
            let batch = ghl.log.since(seq, 20_000);
            for e in &batch {
                seq = seq.max(e.seq);
                counts.add(&e.at, e.status, e.operation_id.as_deref());
            }
            if batch.len() < 20_000 {
                break;
            }
        }
        if done {
            return counts;
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

/// Records in GHL and in Your App, and where they differ.
#[derive(Clone, Debug, Default)]
pub struct Check {
    pub ghl_contacts: u64,
    pub ghl_tasks: u64,
    pub ghl_notes: u64,
    pub app_contacts: u64,
    pub app_tasks: u64,
    pub app_notes: u64,
    /// GHL contacts with no Your App contact of the same email.
    pub missing_contacts: u64,
    /// Your App contacts sharing an email with another (a contact created twice).
    pub duplicate_contacts: u64,
    /// Contacts whose task (or note) count differs between the apps: lost or duplicated ones.
    pub task_mismatches: u64,
    pub note_mismatches: u64,
}

impl Check {
    /// Every record written once: nothing missing, nothing twice.
    pub fn exact(&self) -> bool {
        self.ghl_contacts == self.app_contacts
            && self.ghl_tasks == self.app_tasks
            && self.ghl_notes == self.app_notes
            && self.missing_contacts == 0
            && self.duplicate_contacts == 0
            && self.task_mismatches == 0
            && self.note_mismatches == 0
    }
}

/// Compares both stores directly (no API calls, so the check costs the figures nothing):
/// contacts are paired by email, then each pair's task and note counts must be equal.
pub fn compare(ghl: &Ghl, app: &RestApp) -> Check {
    let g = ghl.store.read();
    let a = app.store.lock();
    let mut c = Check {
        ghl_contacts: g.contacts.len() as u64,
        ghl_tasks: g.tasks.values().map(|v| v.len() as u64).sum(),
        ghl_notes: g.notes.values().map(|v| v.len() as u64).sum(),
        ..Check::default()
    };
    let live = |kind: &str| a.counts()[kind]["live"].as_u64().unwrap_or(0);
    c.app_contacts = live(Kind::Contact.plural());
    c.app_tasks = live(Kind::Task.plural());
    c.app_notes = live(Kind::Note.plural());
    for contact in g.contacts.values() {
        let Some(email) = contact.email.as_deref() else {
            continue;
        };
        let Some(app_id) = a.email_owner(email, None) else {
            c.missing_contacts += 1;
            continue;
        };
        if a.email_owner(email, Some(&app_id)).is_some() {
            c.duplicate_contacts += 1;
        }
        let tasks = g.tasks.get(&contact.id).map_or(0, Vec::len);
        let notes = g.notes.get(&contact.id).map_or(0, Vec::len);
        c.task_mismatches += u64::from(a.live_children(&app_id, Kind::Task).len() != tasks);
        c.note_mismatches += u64::from(a.live_children(&app_id, Kind::Note).len() != notes);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_rate_leaves_out_the_first_and_last_window() {
        let mut c = Counts::default();
        // A burst of 50 in the first second, then 10/s for 39 s, then 3 stragglers.
        for _ in 0..50 {
            c.add("2026-11-25T10:00:00.100Z", 200, Some("get-contact"));
        }
        for s in 1..40 {
            for _ in 0..10 {
                c.add(
                    &format!("2026-11-25T10:00:{s:02}.500Z"),
                    200,
                    Some("get-task"),
                );
            }
        }
        for _ in 0..3 {
            c.add("2026-11-25T10:00:40.000Z", 429, None);
        }
        assert_eq!(c.total, 50 + 390 + 3);
        assert_eq!((c.too_many, c.errors), (3, 0));
        assert_eq!(c.span_secs(), 41);
        assert_eq!(c.steady_rate(10), Some(10.0));
        assert_eq!(c.steady_rate(15), None, "41 s leave no steady part of 15 s");
        assert_eq!(c.per_operation["other"], 3);
    }
}
