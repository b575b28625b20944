//! Merging a person's app sections into one [`Summary`]: copies of one record in several apps
//! (linked by a flow) count once, and each count or "next"/"latest" pick reads the copy that
//! changed most recently.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use connectors::EntityKind;

use super::model::{AppSection, Brief, Item, Summary, TaskCounts};
use crate::store::IdentityId;

/// A record and the connection it was read from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held<'a> {
    pub connection: &'a str,
    pub app: &'a str,
    pub item: &'a Item,
}

/// The records of one kind grouped so that linked copies share a group; groups keep the order
/// of their first copy, and copies keep section order.
pub(crate) fn groups<'a>(sections: &'a [AppSection], kind: EntityKind) -> Vec<Vec<Held<'a>>> {
    let mut out: Vec<Vec<Held<'a>>> = Vec::new();
    let mut by_identity: BTreeMap<IdentityId, usize> = BTreeMap::new();
    for s in sections {
        let items = match kind {
            EntityKind::Task => &s.tasks,
            EntityKind::Note => &s.notes,
            EntityKind::Appointment => &s.appointments,
            _ => continue,
        };
        for item in items {
            let copy = Held {
                connection: &s.connection,
                app: &s.app,
                item,
            };
            match item.linked_as.and_then(|id| by_identity.get(&id).copied()) {
                Some(i) => out[i].push(copy),
                None => {
                    if let Some(id) = item.linked_as {
                        by_identity.insert(id, out.len());
                    }
                    out.push(vec![copy]);
                }
            }
        }
    }
    out
}

/// The copy of a group changed most recently (the first one when none says when).
pub(crate) fn freshest<'a>(group: &[Held<'a>]) -> Option<Held<'a>> {
    let mut best: Option<Held<'a>> = None;
    for c in group {
        let newer = match &best {
            None => true,
            Some(b) => c.item.updated_at > b.item.updated_at,
        };
        if newer {
            best = Some(*c);
        }
    }
    best
}

fn brief(c: Held<'_>, at: Option<DateTime<Utc>>) -> Brief {
    Brief {
        title: c.item.title.clone().unwrap_or_default(),
        at,
        connection: c.connection.to_string(),
        id: c.item.id.clone(),
    }
}

/// Merges the sections; `now` decides what is overdue and what is next.
pub(crate) fn summarize(sections: &[AppSection], now: DateTime<Utc>) -> Summary {
    let mut s = Summary::default();
    let contacts = sections.iter().filter_map(|a| a.contact.as_ref());
    for c in contacts {
        let field = |name: &str| {
            c.fields
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        if s.name.is_none() {
            s.name = c.title.clone();
        }
        if s.email.is_none() {
            s.email = field("email");
        }
        if s.phone.is_none() {
            s.phone = field("phone");
        }
        if s.company.is_none() {
            s.company = field("company_name");
        }
    }
    for a in sections {
        if a.contact.is_some() {
            s.apps.push(a.connection.clone());
        }
        for t in &a.tags {
            if !s.tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                s.tags.push(t.clone());
            }
        }
        for item in a.items() {
            if item.updated_at > s.last_activity_at {
                s.last_activity_at = item.updated_at;
            }
        }
    }

    let mut counts = TaskCounts::default();
    let mut next_task: Option<Held<'_>> = None;
    for g in groups(sections, EntityKind::Task) {
        let Some(c) = freshest(&g) else { continue };
        match c.item.status.as_deref() {
            Some("completed") => counts.completed += 1,
            status => {
                counts.open += 1;
                if status == Some("overdue") {
                    counts.overdue += 1;
                }
                let sooner = match (&next_task, c.item.due_at) {
                    (None, _) => true,
                    (Some(n), Some(due)) => n.item.due_at.is_none_or(|d| due < d),
                    (Some(_), None) => false,
                };
                if sooner {
                    next_task = Some(c);
                }
            }
        }
    }
    s.tasks = counts;
    s.next_task = next_task.map(|c| brief(c, c.item.due_at));

    let notes = groups(sections, EntityKind::Note);
    s.notes = notes.len();
    s.latest_note = notes
        .iter()
        .filter_map(|g| freshest(g))
        .max_by_key(|c| c.item.updated_at)
        .map(|c| brief(c, c.item.updated_at));

    let appts = groups(sections, EntityKind::Appointment);
    s.appointments = appts.len();
    s.next_appointment = appts
        .iter()
        .filter_map(|g| freshest(g))
        .filter(|c| c.item.start_at.is_some_and(|t| t >= now))
        .filter(|c| c.item.status.as_deref() != Some("cancelled"))
        .min_by_key(|c| c.item.start_at)
        .map(|c| brief(c, c.item.start_at));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors::Record;
    use serde_json::json;

    fn item(
        kind: EntityKind,
        id: &str,
        linked: Option<i64>,
        fields: serde_json::Value,
        at: &str,
    ) -> Item {
        let mut r = Record::new(kind, id, fields.as_object().cloned().unwrap_or_default());
        r.updated_at = DateTime::parse_from_rfc3339(at)
            .ok()
            .map(|t| t.with_timezone(&Utc));
        let now = DateTime::parse_from_rfc3339("2030-01-10T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        Item::of(&r, linked.map(IdentityId), now)
    }

    fn section(conn: &str, tasks: Vec<Item>, notes: Vec<Item>) -> AppSection {
        AppSection {
            connection: conn.into(),
            app: conn.into(),
            contact_id: format!("{conn}-c"),
            contact: Some(item(
                EntityKind::Contact,
                &format!("{conn}-c"),
                None,
                json!({"first_name": "Ada", "last_name": "L", "email": "ada@example.com"}),
                "2030-01-01T00:00:00Z",
            )),
            tags: vec!["VIP".into(), conn.into()],
            tasks,
            notes,
            appointments: vec![],
            problems: vec![],
        }
    }

    #[test]
    fn linked_copies_count_once_and_the_freshest_copy_decides() {
        let now = DateTime::parse_from_rfc3339("2030-01-10T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        // Task 7 is in both apps: open in GHL (older), completed in the CRM (newer).
        let ghl = section(
            "ghl",
            vec![
                item(
                    EntityKind::Task,
                    "t1",
                    Some(7),
                    json!({"title": "Call", "due_at": "2030-01-05T00:00:00Z", "completed": false}),
                    "2030-01-02T00:00:00Z",
                ),
                item(
                    EntityKind::Task,
                    "t2",
                    None,
                    json!({"title": "Late", "due_at": "2030-01-08T00:00:00Z"}),
                    "2030-01-02T00:00:00Z",
                ),
                item(
                    EntityKind::Task,
                    "t3",
                    None,
                    json!({"title": "Later", "due_at": "2030-02-01T00:00:00Z"}),
                    "2030-01-02T00:00:00Z",
                ),
            ],
            vec![item(
                EntityKind::Note,
                "n1",
                Some(9),
                json!({"body": "Hello\nworld"}),
                "2030-01-03T00:00:00Z",
            )],
        );
        let crm = section(
            "crm",
            vec![item(
                EntityKind::Task,
                "x1",
                Some(7),
                json!({"title": "Call", "completed": true}),
                "2030-01-04T00:00:00Z",
            )],
            vec![item(
                EntityKind::Note,
                "y1",
                Some(9),
                json!({"body": "Hello\nworld"}),
                "2030-01-03T00:00:00Z",
            )],
        );
        let s = summarize(&[ghl, crm], now);
        assert_eq!(
            s.tasks,
            TaskCounts {
                open: 2,
                overdue: 1,
                completed: 1
            }
        );
        assert_eq!(s.next_task.as_ref().map(|b| b.title.as_str()), Some("Late"));
        assert_eq!(s.notes, 1);
        assert_eq!(
            s.latest_note.as_ref().map(|b| b.title.as_str()),
            Some("Hello")
        );
        assert_eq!(s.tags, ["VIP", "ghl", "crm"]);
        assert_eq!(s.apps, ["ghl", "crm"]);
        assert_eq!(s.name.as_deref(), Some("Ada L"));
        assert_eq!(s.email.as_deref(), Some("ada@example.com"));
        assert_eq!(
            s.last_activity_at.map(|t| t.to_rfc3339()),
            Some("2030-01-04T00:00:00+00:00".to_string())
        );
    }
}
