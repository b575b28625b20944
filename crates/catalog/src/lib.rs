//! The operations catalog: every trigger and action ghl-bridge offers, per app, with its inputs,
//! its outputs and a flow file that uses it.
//!
//! A person browsing the catalog (`ghl-bridge catalog`, the dashboard) picks an entry and starts
//! from its snippet: a complete flow that loads as it is in a project whose connections are named
//! after their apps (`ghl`, `your_app`, `investnext`, `invoco`, `insightly`, `salesnexus`). Every
//! entry is something the engine really does: the catalog's tests run each snippet against the
//! emulators and check its effect, and fail when an entry has no such test.
//!
//! GHL's 32 Contacts-API operations come from the connector's operation table
//! (`connectors::operations_of("ghl")`), so they cannot drift from what `call` accepts.

mod builtin;
mod ghl;
mod ghl_ops;
mod polled;
mod polled_actions;
mod rest;
mod timers;

use std::sync::LazyLock;

use serde::Serialize;

/// Whether an entry starts flows or is a step of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    Trigger,
    Action,
}

impl EntryType {
    /// `trigger` or `action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trigger => "trigger",
            Self::Action => "action",
        }
    }

    /// Parses `trigger` or `action`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "trigger" => Some(Self::Trigger),
            "action" => Some(Self::Action),
            _ => None,
        }
    }
}

/// One input or output of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: String,
    /// `string`, `boolean`, `number`, `duration`, `object`, `string[]`, `object[]` …
    #[serde(rename = "type")]
    pub ty: String,
    pub required: bool,
    pub description: String,
}

/// One trigger or action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Stable: `<app>.<type>.<name>` (`ghl.trigger.contact_created`,
    /// `ghl.action.add-contact-to-workflow`, `schedule.trigger.every_n_minutes`).
    pub id: String,
    /// `ghl`, `your_app`, `investnext`, `invoco`, `insightly`, `salesnexus`, `schedule`, `manual`,
    /// `engine` (actions of the engine itself: `report`).
    pub app: &'static str,
    #[serde(rename = "type")]
    pub kind: EntryType,
    /// "GHL: contact created".
    pub title: String,
    pub description: String,
    pub inputs: Vec<Field>,
    pub outputs: Vec<Field>,
    /// A complete flow file using the entry.
    pub snippet: String,
}

/// The apps of the catalog, in display order, with their display names.
pub const APPS: [(&str, &str); 9] = [
    ("ghl", "GHL"),
    ("your_app", "Your App"),
    ("investnext", "InvestNext"),
    ("invoco", "Invoco"),
    ("insightly", "Insightly"),
    ("salesnexus", "SalesNexus"),
    ("schedule", "Schedule"),
    ("manual", "Manual"),
    ("engine", "Engine"),
];

/// The display name of an app of [`APPS`].
pub fn app_name(app: &str) -> &'static str {
    APPS.iter()
        .find(|(a, _)| *a == app)
        .map_or("?", |(_, name)| name)
}

static CATALOG: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    let mut all = Vec::new();
    all.extend(ghl::entries());
    all.extend(ghl_ops::entries());
    for app in rest::APPS {
        all.extend(rest::entries(app));
    }
    all.extend(polled::entries());
    all.extend(timers::entries());
    all.extend(builtin::entries());
    all
});

/// Every entry, grouped by app in [`APPS`] order.
pub fn catalog() -> &'static [Entry] {
    &CATALOG
}

/// Entries of `app` (any when `None`) and type (any when `None`).
pub fn filtered(app: Option<&str>, kind: Option<EntryType>) -> Vec<&'static Entry> {
    catalog()
        .iter()
        .filter(|e| app.is_none_or(|a| e.app == a))
        .filter(|e| kind.is_none_or(|k| e.kind == k))
        .collect()
}

/// `(app, triggers, actions)` per app of [`APPS`].
pub fn counts() -> Vec<(&'static str, usize, usize)> {
    APPS.iter()
        .map(|(app, _)| {
            let of = |k| filtered(Some(app), Some(k)).len();
            (*app, of(EntryType::Trigger), of(EntryType::Action))
        })
        .collect()
}

/// The counts as the Markdown table `docs/catalog.md` carries (a test keeps them equal).
pub fn counts_markdown() -> String {
    let mut out = String::from("| app | triggers | actions | entries |\n|---|---:|---:|---:|\n");
    let (mut t, mut a) = (0, 0);
    for (app, triggers, actions) in counts() {
        out.push_str(&format!(
            "| {} (`{app}`) | {triggers} | {actions} | {} |\n",
            app_name(app),
            triggers + actions
        ));
        t += triggers;
        a += actions;
    }
    out.push_str(&format!("| **all** | {t} | {a} | {} |\n", t + a));
    out
}

/// Builds a [`Field`].
pub(crate) fn field(name: &str, ty: &str, required: bool, description: &str) -> Field {
    Field {
        name: name.into(),
        ty: ty.into(),
        required,
        description: description.into(),
    }
}

/// The fields a triggering record gives templates: `id`, `contact.id` and the kind's canonical
/// fields.
pub(crate) fn record_outputs(kind: connectors::EntityKind) -> Vec<Field> {
    let mut out = vec![
        field("id", "string", false, "the record's id in its app"),
        field(
            "contact.id",
            "string",
            false,
            "the contact's id (the record itself, or the contact of a task, note or appointment)",
        ),
    ];
    out.extend(
        engine::flow::canonical_fields(kind)
            .iter()
            .map(|f| field(f, "any", false, &format!("the {kind}'s `{f}`"))),
    );
    out
}

/// The optional `connection` input every trigger and action has.
pub(crate) fn connection_input(default: &str) -> Field {
    field("connection", "string", false, default)
}
