//! Which change a hint reports, and which event triggers it fires.
//!
//! Apps name their events differently; the hint's `event_type` is read as:
//!
//! | hint | is | fires triggers |
//! |---|---|---|
//! | GHL `ContactCreate`, `TaskCreate`, `NoteCreate`, `AppointmentCreate`; Your App `contact.created`, `task.created` … | created | `created`, `changed` |
//! | GHL `ContactUpdate`, `ContactTagUpdate`, `ContactDndUpdate`, `NoteUpdate`, `AppointmentUpdate`; Your App `*.updated` | updated | `updated`, `changed` |
//! | GHL `TaskComplete`; `*.completed` | completed | `completed`, `updated`, `changed` |
//! | GHL `*Delete`; `*.deleted`; any hint marked deleted | deleted | `deleted` |
//! | `poll`, and any type not listed (`manual`, `test` …) | changed | `changed` |
//! | `reconcile` (and any hint a reconcile ingests) | — | nothing |
//!
//! Polls run for syncs and for actions flows triggered on `changed` ([`polled_streams`]).
//!
//! A completion is also an update of the task (its `completed` field changed). A poll sees
//! that a record changed but not whether it is new, so only `changed` flows run for it; a
//! `created` flow needs the app's webhooks (or a manual run). A reconcile re-reads every record
//! periodically: it is not a change, and firing flows for it would re-run them for every
//! record every hour.

use std::collections::BTreeSet;

use connectors::EntityKind;
use serde::{Deserialize, Serialize};

use crate::flow::{EventType, Flow, FlowBody, Trigger};

/// The (connection, kind) streams the scheduler polls for enabled actions flows triggered on
/// `changed`: a poll is how apps without webhooks (Insightly, SalesNexus) start flows, and how
/// changes whose webhook was dropped still do. Such a stream starts counting at its first poll
/// (records changed before it do not start the flow), as a new schedule does; a stream a sync
/// also polls is backfilled as the sync's.
pub(crate) fn polled_streams(flows: &[Flow]) -> BTreeSet<(String, EntityKind)> {
    flows
        .iter()
        .filter(|f| f.enabled && matches!(f.body, FlowBody::Actions(_)))
        .filter_map(|f| match &f.trigger {
            Trigger::Event {
                connection,
                kind,
                event: EventType::Changed,
                ..
            } => Some((connection.clone(), *kind)),
            _ => None,
        })
        .collect()
}

/// What a change hint says happened to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HintEvent {
    Created,
    Updated,
    Completed,
    Deleted,
    /// Created or updated, the hint cannot say which (polls, unknown types).
    Changed,
    /// A periodic full re-read: no change at all.
    Reconcile,
}

impl HintEvent {
    /// Reads an app's event name (see the module table).
    pub fn classify(event_type: &str, deleted: bool) -> Self {
        if deleted {
            return Self::Deleted;
        }
        let t = event_type.trim();
        // `contact.updated` → `updated`; GHL's `ContactTagUpdate` stays whole (suffix match).
        let action = t
            .rsplit_once('.')
            .map_or(t, |(_, a)| a)
            .to_ascii_lowercase();
        let ends = |suffixes: &[&str]| suffixes.iter().any(|s| action.ends_with(s));
        if action == "reconcile" {
            Self::Reconcile
        } else if ends(&["delete", "deleted"]) {
            Self::Deleted
        } else if ends(&["complete", "completed"]) {
            Self::Completed
        } else if ends(&["create", "created"]) {
            Self::Created
        } else if ends(&["update", "updated"]) {
            Self::Updated
        } else {
            Self::Changed
        }
    }

    /// Whether a flow triggered on `trigger` runs for this change.
    pub fn fires(self, trigger: EventType) -> bool {
        use EventType as T;
        match self {
            Self::Created => matches!(trigger, T::Created | T::Changed),
            Self::Updated => matches!(trigger, T::Updated | T::Changed),
            Self::Completed => matches!(trigger, T::Completed | T::Updated | T::Changed),
            Self::Deleted => trigger == T::Deleted,
            Self::Changed => trigger == T::Changed,
            Self::Reconcile => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HintEvent::*;

    #[test]
    fn app_event_names_are_read() {
        let cases = [
            ("ContactCreate", Created),
            ("ContactUpdate", Updated),
            ("ContactTagUpdate", Updated),
            ("ContactDndUpdate", Updated),
            ("ContactDelete", Deleted),
            ("TaskCreate", Created),
            ("TaskComplete", Completed),
            ("NoteUpdate", Updated),
            ("AppointmentDelete", Deleted),
            ("contact.created", Created),
            ("contact.updated", Updated),
            ("task.completed", Completed),
            ("note.deleted", Deleted),
            ("poll", Changed),
            ("test", Changed),
            ("reconcile", Reconcile),
        ];
        for (name, want) in cases {
            assert_eq!(HintEvent::classify(name, false), want, "{name}");
        }
        assert_eq!(HintEvent::classify("ContactUpdate", true), Deleted);
    }

    #[test]
    fn which_triggers_fire() {
        assert!(Created.fires(EventType::Created) && Created.fires(EventType::Changed));
        assert!(!Created.fires(EventType::Updated));
        assert!(Completed.fires(EventType::Updated) && Completed.fires(EventType::Completed));
        assert!(!Updated.fires(EventType::Completed));
        assert!(Changed.fires(EventType::Changed) && !Changed.fires(EventType::Created));
        assert!(!Reconcile.fires(EventType::Changed));
        assert!(Deleted.fires(EventType::Deleted) && !Deleted.fires(EventType::Changed));
    }
}
