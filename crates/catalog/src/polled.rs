//! Insightly and SalesNexus: apps whose API has no change webhooks, so their triggers are the
//! scheduler's polls. A poll sees that a record changed, not whether it is new, so these apps
//! offer `changed` triggers only; a delete is found only by a sync's reconcile, so there are no
//! `deleted` triggers either. Each app also has an optional push that is read as a hint to
//! re-read a record — Insightly workflow posts (any kind), SalesNexus Stage Trigger posts
//! (contacts only) — and starts the same `changed` flows sooner. Their actions are in
//! [`crate::polled_actions`].

use connectors::EntityKind::{self, Appointment, Business, Contact, Note, Task};

use crate::ghl::trigger;
use crate::Entry;

/// Apps whose triggers are polls.
pub const APPS: [&str; 2] = ["insightly", "salesnexus"];

/// `APP` in a snippet → the app.
pub(crate) fn s(text: &str, app: &str) -> String {
    text.replace("APP", app)
}

const COUNTING: &str = "A poll cannot tell a new record from a changed one, so only `changed` exists. Polling starts counting when the flow is first seen: records changed before that do not start it.";

/// How each app finds a change of `kind`, for the trigger's description.
fn found_by(app: &str, kind: EntityKind) -> String {
    match (app, kind) {
        ("insightly", _) => {
            let (object, extra) = match kind {
                Contact => ("Contacts", ""),
                Task => ("Tasks", " Tasks linked to no contact are not seen; actions on \"the contact\" act on the task's first linked contact."),
                Note => ("Notes", " Notes linked to no contact are not seen; actions on \"the contact\" act on the note's contact."),
                Appointment => ("Events", " Events linked to no contact are not seen; actions on \"the contact\" act on the event's contact."),
                _ => ("Organisations", " An organisation has no contact: the flow's actions work on the organisation itself (`update`)."),
            };
            format!(
                "Found by the scheduler's poll of `/{object}/Search?updated_after_utc=` (Insightly has no webhook subscriptions), or sooner when an Insightly workflow posts the record to ghl-bridge: the post is only a hint to re-read it (with `webhook_secret` set, it must carry that Basic-auth password). Insightly stamps changes to the second: a second change within the same second as the one a poll already saw is seen at the record's next change.{extra} {COUNTING}"
            )
        }
        (_, Contact) => format!(
            "Found by the scheduler's poll, a full scan of the contact list (the API has no \"updated since\" filter: each poll costs one request per 100 contacts), or sooner when a pipeline Stage Trigger with the action \"Post Webhook\" posts the contact to ghl-bridge: the post is only a hint to re-read it (with `webhook_token` set, it must carry it in `X-Webhook-Token`). {COUNTING}"
        ),
        (_, Task) => format!(
            "Found by the scheduler's poll, a full scan of the task list (SalesNexus sends no task webhooks and has no \"updated since\" filter). Tasks of type Meeting are appointments, not tasks. Actions on \"the contact\" act on the task's contact. {COUNTING}"
        ),
        (_, Appointment) => format!(
            "A meeting (a SalesNexus task of type Meeting) found by the scheduler's poll, a full scan of the task list; a task whose type becomes Meeting shows up here. Actions on \"the contact\" act on the meeting's contact. {COUNTING}"
        ),
        _ => format!(
            "Found by the scheduler's poll, a full scan of the notes list (SalesNexus sends no note webhooks; records without a change time are compared by content). Actions on \"the contact\" act on the note's contact. {COUNTING}"
        ),
    }
}

/// The kinds each app's triggers cover, with their names in ids and snippets.
fn trigger_kinds(app: &str) -> &'static [(EntityKind, &'static str)] {
    match app {
        "insightly" => &[
            (Contact, "contact"),
            (Task, "task"),
            (Note, "note"),
            (Appointment, "appointment"),
            (Business, "business"),
        ],
        _ => &[
            (Contact, "contact"),
            (Task, "task"),
            (Note, "note"),
            (Appointment, "appointment"),
        ],
    }
}

/// The snippet of a `changed` trigger: tag the contact (a record of a contact kind), or tidy an
/// organisation's name (businesses have no contact to tag).
fn trigger_snippet(app: &str, k: &str) -> String {
    match k {
        "contact" => format!(
            "name: {app} contact changed\ntrigger: {app}.contact.changed\nactions:\n  - add_tags: [seen-by-bridge]\n"
        ),
        "business" => format!(
            "name: Tidy {app} organisation names\ntrigger: {app}.business.changed\nactions:\n  - update: {{set: {{name: \"{{{{ name | trim }}}}\"}}}}\n"
        ),
        _ => format!(
            "name: {app} {k} changed\ntrigger: {app}.{k}.changed\nactions:\n  - add_tags: [{k}-activity]\n"
        ),
    }
}

/// The entries of both polled apps.
pub(crate) fn entries() -> Vec<Entry> {
    let mut v = Vec::new();
    for app in APPS {
        for (kind, k) in trigger_kinds(app) {
            let what = match *k {
                "appointment" if app == "insightly" => "appointment (event)",
                "appointment" => "appointment (meeting)",
                "business" => "organisation (business)",
                other => other,
            };
            let title = format!("{what} created or updated");
            let lead = match *k {
                "business" => "An organisation is created or changes.".to_string(),
                "appointment" => "An appointment is booked or changes.".to_string(),
                _ => format!("A {k} is created or changes."),
            };
            v.push(trigger(
                app,
                &format!("{k}_changed"),
                *kind,
                &title,
                &format!("{lead} {}", found_by(app, *kind)),
                &trigger_snippet(app, k),
            ));
        }
        v.extend(crate::polled_actions::entries(app));
    }
    v
}
