//! In-memory records of one Insightly emulator: the five objects keyed by their int64 ids (lists
//! come out in id order, which keeps `skip`/`top` paging stable while records change), the links
//! between records, the custom-field definitions per object, and the API user.
//!
//! Links are stored once and shown from both ends (`IS_FORWARD` says which end created it).
//! Which links real Insightly shows on a contact is not documented; here a contact or
//! organisation lists its links to contacts and organisations, while a task, note or event lists
//! every link it has — the activity's links are how it hangs off its contact.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::schema::{fmt_time, Obj};

/// One record of any object.
#[derive(Debug, Clone, PartialEq)]
pub struct Rec {
    pub obj: Obj,
    pub id: i64,
    /// Every scalar field of the object (nulls included), read-only ones too.
    pub fields: Map<String, Value>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Custom-field values by `FIELD_NAME` (`Hobby__c`), in the order they were set.
    pub custom: Vec<(String, Value)>,
    /// Tag names, in the order they were added (contacts and organisations).
    pub tags: Vec<String>,
    /// `DATES` entries as given, with `DATE_ID` filled in.
    pub dates: Vec<Value>,
    /// `EMAILDOMAINS` entries as given (organisations).
    pub email_domains: Vec<Value>,
}

impl Rec {
    /// A text field, if set.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// Whether the record carries this tag (ignoring case).
    pub fn has_tag(&self, name: &str) -> bool {
        self.tags
            .iter()
            .any(|t| t.eq_ignore_ascii_case(name.trim()))
    }
}

/// A link between two records; `from` made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub id: i64,
    pub from: (Obj, i64),
    pub to: (Obj, i64),
    pub role: Option<String>,
    pub details: Option<String>,
}

impl Link {
    /// The link as `record` sees it: `OBJECT_*` is that record, `LINK_OBJECT_*` the other end.
    pub fn to_json(&self, record: (Obj, i64)) -> Value {
        let forward = self.from == record;
        let other = if forward { self.to } else { self.from };
        json!({
            "LINK_ID": self.id,
            "OBJECT_NAME": record.0.singular(),
            "OBJECT_ID": record.1,
            "LINK_OBJECT_NAME": other.0.singular(),
            "LINK_OBJECT_ID": other.1,
            "ROLE": self.role,
            "DETAILS": self.details,
            "RELATIONSHIP_ID": null,
            "IS_FORWARD": forward,
        })
    }

    /// The end that is not `record`, if `record` is an end at all.
    pub fn other(&self, record: (Obj, i64)) -> Option<(Obj, i64)> {
        if self.from == record {
            Some(self.to)
        } else if self.to == record {
            Some(self.from)
        } else {
            None
        }
    }
}

/// One custom-field definition (`GET /CustomFields/{object}`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CustomFieldDef {
    /// `Hobby__c`: the name values are written under.
    pub name: String,
    /// `Hobby`: what a person sees.
    pub label: String,
    /// `TEXT`, `NUMERIC`, `BIT`, `DATE`, `DROPDOWN`, `MULTISELECT`, `MULTILINETEXT`, …
    pub field_type: String,
    /// Choices of `DROPDOWN` / `MULTISELECT` fields.
    #[serde(default)]
    pub options: Vec<String>,
}

impl CustomFieldDef {
    /// The definition as `APICustomFieldMetadata`.
    pub fn to_json(&self, obj: Obj, order: usize) -> Value {
        let options: Vec<Value> = self
            .options
            .iter()
            .enumerate()
            .map(|(i, o)| json!({"OPTION_ID": i + 1, "OPTION_VALUE": o, "OPTION_DEFAULT": false}))
            .collect();
        json!({
            "FIELD_NAME": self.name,
            "FIELD_ORDER": order + 1,
            "FIELD_FOR": obj.field_for(),
            "FIELD_LABEL": self.label,
            "FIELD_TYPE": self.field_type,
            "FIELD_HELP_TEXT": null,
            "DEFAULT_VALUE": null,
            "EDITABLE": self.field_type != "AUTONUMBER",
            "VISIBLE": true,
            "CUSTOM_FIELD_OPTIONS": options,
            "DEPENDENCY": null,
            "JOIN_OBJECT": null,
        })
    }
}

/// The user the API key belongs to.
pub const USER_ID: i64 = 1_234_567;

/// Everything one emulator holds; guarded by one lock in [`super::InsightlyApp`].
#[derive(Debug, Default)]
pub struct Store {
    records: HashMap<Obj, BTreeMap<i64, Rec>>,
    links: BTreeMap<i64, Link>,
    next_ids: HashMap<Obj, i64>,
    next_link: i64,
    next_date: i64,
    /// Custom-field definitions per object.
    pub custom_defs: BTreeMap<Obj, Vec<CustomFieldDef>>,
}

/// Where an object's ids start, so an id alone hints at what it names.
fn first_id(obj: Obj) -> i64 {
    match obj {
        Obj::Organisation => 100_000_001,
        Obj::Task => 200_000_001,
        Obj::Contact => 300_000_001,
        Obj::Note => 400_000_001,
        Obj::Event => 500_000_001,
    }
}

impl Store {
    pub fn new() -> Self {
        Self {
            next_link: 600_000_001,
            next_date: 700_000_001,
            ..Self::default()
        }
    }

    /// A fresh id of `obj`.
    pub fn new_id(&mut self, obj: Obj) -> i64 {
        let next = self.next_ids.entry(obj).or_insert_with(|| first_id(obj));
        let id = *next;
        *next += 1;
        id
    }

    /// A fresh `DATE_ID`.
    pub fn new_date_id(&mut self) -> i64 {
        self.next_date += 1;
        self.next_date
    }

    pub fn get(&self, obj: Obj, id: i64) -> Option<&Rec> {
        self.records.get(&obj)?.get(&id)
    }

    pub fn get_mut(&mut self, obj: Obj, id: i64) -> Option<&mut Rec> {
        self.records.get_mut(&obj)?.get_mut(&id)
    }

    pub fn put(&mut self, rec: Rec) {
        self.records.entry(rec.obj).or_default().insert(rec.id, rec);
    }

    /// Removes a record and every link it takes part in; contacts of a removed organisation
    /// lose their `ORGANISATION_ID`.
    pub fn remove(&mut self, obj: Obj, id: i64) -> Option<Rec> {
        let rec = self.records.get_mut(&obj)?.remove(&id)?;
        self.links
            .retain(|_, l| l.from != (obj, id) && l.to != (obj, id));
        if obj == Obj::Organisation {
            for c in self.records.entry(Obj::Contact).or_default().values_mut() {
                if c.fields.get("ORGANISATION_ID").and_then(Value::as_i64) == Some(id) {
                    c.fields.insert("ORGANISATION_ID".into(), Value::Null);
                }
            }
        }
        Some(rec)
    }

    /// Every record of `obj`, in id order.
    pub fn all(&self, obj: Obj) -> impl Iterator<Item = &Rec> {
        self.records.get(&obj).into_iter().flat_map(|m| m.values())
    }

    pub fn count(&self, obj: Obj) -> usize {
        self.records.get(&obj).map_or(0, BTreeMap::len)
    }

    /// Counts per object and of links, for the admin overview.
    pub fn counts(&self) -> Value {
        let mut m: Map<String, Value> = Obj::ALL
            .iter()
            .map(|o| (o.plural().to_string(), json!(self.count(*o))))
            .collect();
        m.insert("Links".into(), json!(self.links.len()));
        Value::Object(m)
    }

    /// Links a record to another; returns the new link's id.
    pub fn add_link(
        &mut self,
        from: (Obj, i64),
        to: (Obj, i64),
        role: Option<String>,
        details: Option<String>,
    ) -> i64 {
        let id = self.next_link;
        self.next_link += 1;
        self.links.insert(
            id,
            Link {
                id,
                from,
                to,
                role,
                details,
            },
        );
        id
    }

    pub fn link(&self, id: i64) -> Option<&Link> {
        self.links.get(&id)
    }

    pub fn remove_link(&mut self, id: i64) -> Option<Link> {
        self.links.remove(&id)
    }

    /// The links `record` shows (see the module docs), in id order.
    pub fn links_of(&self, record: (Obj, i64)) -> Vec<&Link> {
        self.links
            .values()
            .filter(|l| match l.other(record) {
                Some(other) => record.0.is_activity() || !other.0.is_activity(),
                None => false,
            })
            .collect()
    }

    /// The records of `obj` linked to `parent` (a contact's tasks, …), in id order.
    pub fn linked(&self, obj: Obj, parent: (Obj, i64)) -> Vec<&Rec> {
        let mut ids: Vec<i64> = self
            .links
            .values()
            .filter_map(|l| l.other(parent))
            .filter(|(o, _)| *o == obj)
            .map(|(_, id)| id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().filter_map(|id| self.get(obj, id)).collect()
    }

    /// The custom-field definitions of `obj`.
    pub fn defs(&self, obj: Obj) -> &[CustomFieldDef] {
        self.custom_defs.get(&obj).map_or(&[], Vec::as_slice)
    }

    /// A record as the API answers it; `brief` drops the sub-collections.
    pub fn render(&self, rec: &Rec, brief: bool) -> Value {
        let mut m = rec.fields.clone();
        m.insert(rec.obj.id_field().into(), json!(rec.id));
        m.insert("DATE_CREATED_UTC".into(), json!(fmt_time(rec.created)));
        m.insert("DATE_UPDATED_UTC".into(), json!(fmt_time(rec.updated)));
        if brief {
            return Value::Object(m);
        }
        if rec.obj.has_custom() {
            let custom: Vec<Value> = rec
                .custom
                .iter()
                .map(|(k, v)| json!({"FIELD_NAME": k, "FIELD_VALUE": v, "CUSTOM_FIELD_ID": k}))
                .collect();
            m.insert("CUSTOMFIELDS".into(), Value::Array(custom));
        }
        if rec.obj.has_tags() {
            let tags: Vec<Value> = rec.tags.iter().map(|t| json!({"TAG_NAME": t})).collect();
            m.insert("TAGS".into(), Value::Array(tags));
            m.insert("DATES".into(), Value::Array(rec.dates.clone()));
        }
        if rec.obj == Obj::Organisation {
            m.insert(
                "EMAILDOMAINS".into(),
                Value::Array(rec.email_domains.clone()),
            );
        }
        let links: Vec<Value> = self
            .links_of((rec.obj, rec.id))
            .into_iter()
            .map(|l| l.to_json((rec.obj, rec.id)))
            .collect();
        m.insert("LINKS".into(), Value::Array(links));
        Value::Object(m)
    }

    /// The API user (`GET /Users/Me`).
    pub fn me(&self, created: DateTime<Utc>) -> Value {
        json!({
            "USER_ID": USER_ID,
            "CONTACT_ID": null,
            "FIRST_NAME": "Sandbox",
            "LAST_NAME": "User",
            "TIMEZONE_ID": "UTC",
            "EMAIL_ADDRESS": "api.user@sandbox.insightly.local",
            "EMAIL_DROPBOX_IDENTIFIER": "sandbox",
            "EMAIL_DROPBOX_ADDRESS": "sandbox@mailbox.insight.ly",
            "ADMINISTRATOR": true,
            "ACCOUNT_OWNER": true,
            "ACTIVE": true,
            "DATE_CREATED_UTC": fmt_time(created),
            "DATE_UPDATED_UTC": fmt_time(created),
            "USER_CURRENCY": "USD",
            "CONTACT_DISPLAY": "LastFirst",
            "CONTACT_ORDER": "LastFirst",
            "TASK_WEEK_START": 1,
            "INSTANCE_ID": 987_654,
            "PROFILE_ID": 1,
            "ROLE_ID": 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(obj: Obj, id: i64) -> Rec {
        Rec {
            obj,
            id,
            fields: Map::new(),
            created: DateTime::<Utc>::UNIX_EPOCH,
            updated: DateTime::<Utc>::UNIX_EPOCH,
            custom: Vec::new(),
            tags: Vec::new(),
            dates: Vec::new(),
            email_domains: Vec::new(),
        }
    }

    #[test]
    fn links_show_from_both_ends_and_go_with_their_records() {
        let mut s = Store::new();
        let c = s.new_id(Obj::Contact);
        let t = s.new_id(Obj::Task);
        let o = s.new_id(Obj::Organisation);
        s.put(rec(Obj::Contact, c));
        s.put(rec(Obj::Task, t));
        s.put(rec(Obj::Organisation, o));
        s.add_link((Obj::Task, t), (Obj::Contact, c), None, Some("d".into()));
        s.add_link((Obj::Contact, c), (Obj::Organisation, o), None, None);
        assert_eq!(s.linked(Obj::Task, (Obj::Contact, c)).len(), 1);
        assert_eq!(s.links_of((Obj::Task, t)).len(), 1);
        assert_eq!(s.links_of((Obj::Contact, c)).len(), 1, "activities hidden");
        let v = s.links_of((Obj::Task, t))[0].to_json((Obj::Task, t));
        assert_eq!(v["LINK_OBJECT_NAME"], "Contact");
        assert_eq!(v["IS_FORWARD"], true);
        s.remove(Obj::Contact, c);
        assert!(s.links_of((Obj::Task, t)).is_empty());
    }
}
