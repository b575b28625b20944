//! What a convergence case does (its operations) and what the two apps must hold afterwards (the
//! model).
//!
//! The model follows a case segment by segment; a segment ends at a checkpoint (a full sync, after
//! which both apps are checked). Within a segment it keeps, per person, side and field, the last
//! value a person wrote there, and how many engine runs had happened before that write. From that
//! it derives what each field must be at the next checkpoint:
//!
//! * written on one side only: that side's last value (both policies; anything else is a lost
//!   edit);
//! * written on neither: the value both sides held at the previous checkpoint;
//! * written on both, `source_of_truth`: the winning side's last value when it was written after
//!   the engine last ran before the losing side's last write (the two changes then always meet as
//!   a conflict, which the winner takes); otherwise the losing side may legitimately have changed
//!   the field after the engine had already synced the winner's value, so either last value.
//!   Also either when the winner's last value is empty (`null`, no tags): emptying a field the
//!   engine last saw empty, or never saw (two contacts matched on first sight), is no change
//!   the engine can see — on first sight an empty field is filled from the other side, not
//!   taken as a deliberate clear;
//! * written on both, `last_writer_wins`: either side's last value. The engine compares the
//!   records' `updated_at`, which the engine's own writes move too, so the test cannot tell which
//!   one is "later" without re-implementing the engine; both sides must still agree, on one of
//!   the two values a person actually wrote last.
//!
//! Deletes win: a deleted person must be gone from both apps, whatever was edited meanwhile.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{json, Value};

/// People a case may touch (`p0@convergence.test` … `p5@…`).
pub const PEOPLE: usize = 6;

/// One of the two synced apps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// GoHighLevel (the sync's `source`).
    Ghl,
    /// Your App (the sync's `target`).
    Crm,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Ghl, Side::Crm];

    /// The connection's name in the project.
    pub fn connection(self) -> &'static str {
        match self {
            Side::Ghl => "ghl",
            Side::Crm => "crm",
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::Ghl => Side::Crm,
            Side::Crm => Side::Ghl,
        }
    }

    fn letter(self) -> char {
        match self {
            Side::Ghl => 'g',
            Side::Crm => 'c',
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.connection())
    }
}

/// A synced field the operations edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    FirstName,
    City,
    Tags,
}

impl Field {
    pub const ALL: [Field; 3] = [Field::FirstName, Field::City, Field::Tags];

    /// The canonical (and Your App) field name.
    pub fn canonical(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::City => "city",
            Field::Tags => "tags",
        }
    }

    /// The value operation number `op` writes on `side`: unique to the operation, so every
    /// write changes the field and every value names its writer. `shape` 0 clears the field
    /// (`null`, or no tags); otherwise text is new and there are `shape` tags, lower case (GHL
    /// lower-cases them) and sorted.
    pub fn value(self, op: usize, side: Side, shape: u8) -> Value {
        let s = side.letter();
        match self {
            _ if shape == 0 && self != Field::Tags => Value::Null,
            Field::FirstName => json!(format!("F{op}{s}")),
            Field::City => json!(format!("City{op}{s}")),
            Field::Tags => {
                let list: Vec<String> = (0..shape).map(|k| format!("t{op}{s}{k}")).collect();
                json!(list)
            }
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.canonical())
    }
}

/// A person's synced fields, normalised (text or `null`; tags as a sorted list).
pub type Values = BTreeMap<Field, Value>;

/// The sync's conflict policy under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    LastWriterWins,
    /// GHL (the source) wins by default; Your App (the target) owns `city`.
    SourceOfTruth,
}

impl Policy {
    /// The flow file's `conflict:` entry.
    pub fn yaml(self) -> &'static str {
        match self {
            Policy::LastWriterWins => "  conflict: last_writer_wins\n",
            Policy::SourceOfTruth => {
                "  conflict:\n    default: source\n    source_of_truth:\n      city: target\n"
            }
        }
    }

    /// The side that wins `field` in a conflict; `None` for "the latest change".
    pub fn winner(self, field: Field) -> Option<Side> {
        match (self, field) {
            (Policy::LastWriterWins, _) => None,
            (Policy::SourceOfTruth, Field::City) => Some(Side::Crm),
            (Policy::SourceOfTruth, _) => Some(Side::Ghl),
        }
    }
}

/// Webhook delivery faults of the two emulators for one case, in percent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    pub ghl_duplicate: u8,
    pub ghl_reorder: u8,
    pub ghl_drop: u8,
    pub ghl_missing_fields: u8,
    pub crm_duplicate: u8,
    pub crm_drop: u8,
}

/// How one delivery step hands the captured webhooks to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliverPlan {
    /// Shuffles the deliveries (out of order on top of the emulators' own reordering).
    pub shuffle: u64,
    /// Percent of deliveries held back to a later step (stale by the time they arrive).
    pub hold: u8,
    /// Percent delivered twice (on top of the emulators' own duplicates).
    pub duplicate: u8,
}

/// One step of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A person creates `person` in an app (email, first name, city and `tags` tags). Skipped
    /// when the person is already there or was deleted.
    Create { side: Side, person: u8, tags: u8 },
    /// A person edits one field of a contact: [`Field::value`] of `shape` (0 clears it). The
    /// contact is the `who`-th (modulo their number) of the people live in that app, so edits
    /// meet contacts whatever the engine has synced so far; skipped when there is none.
    Edit {
        side: Side,
        who: u8,
        field: Field,
        shape: u8,
    },
    /// A person deletes a contact in one app (chosen as for `Edit`).
    Delete { side: Side, who: u8 },
    /// The webhooks that arrived so far reach the engine (per the plan), which runs its jobs.
    Deliver(DeliverPlan),
    /// Full sync (every webhook, jobs until idle, reconcile twice), then every property is
    /// checked. Every case ends with one.
    Checkpoint,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Create { side, person, tags } => {
                write!(f, "create p{person} in {side} ({tags} tags)")
            }
            Op::Edit {
                side,
                who,
                field: Field::Tags,
                shape,
            } => write!(f, "edit tags of contact [{who}] in {side} ({shape} tags)"),
            Op::Edit {
                side,
                who,
                field,
                shape: 0,
            } => write!(f, "clear {field} of contact [{who}] in {side}"),
            Op::Edit {
                side, who, field, ..
            } => write!(f, "edit {field} of contact [{who}] in {side}"),
            Op::Delete { side, who } => write!(f, "delete contact [{who}] in {side}"),
            Op::Deliver(p) => write!(
                f,
                "deliver webhooks (shuffle {}, hold {}%, duplicate {}%) and run jobs",
                p.shuffle, p.hold, p.duplicate
            ),
            Op::Checkpoint => f.write_str("checkpoint (full sync + checks)"),
        }
    }
}

/// One generated case.
#[derive(Clone, PartialEq, Eq)]
pub struct Case {
    pub policy: Policy,
    /// Seed of the emulators (ids, delivery fault draws).
    pub seed: u64,
    pub faults: Faults,
    pub ops: Vec<Op>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = &self.faults;
        writeln!(f, "Case {{ policy: {:?}, seed: {},", self.policy, self.seed)?;
        writeln!(
            f,
            "  ghl webhooks: duplicate {}%, reorder {}%, drop {}%, missing fields {}%",
            x.ghl_duplicate, x.ghl_reorder, x.ghl_drop, x.ghl_missing_fields
        )?;
        writeln!(
            f,
            "  crm webhooks: duplicate {}%, drop {}%",
            x.crm_duplicate, x.crm_drop
        )?;
        writeln!(f, "  ops:")?;
        for (i, op) in self.ops.iter().enumerate() {
            writeln!(f, "    #{i} {op}")?;
        }
        write!(f, "    (final checkpoint) }}")
    }
}

/// The email of person `p`.
pub fn email_of(p: usize) -> String {
    format!("p{p}@convergence.test")
}

/// The person an email belongs to.
pub fn person_of(email: &str) -> Option<usize> {
    let n = email
        .strip_prefix('p')?
        .strip_suffix("@convergence.test")?
        .parse()
        .ok()?;
    (n < PEOPLE).then_some(n)
}

/// No value: `null` or no tags. Emptying a field the engine last saw empty (or never saw) is no
/// change to it, so such a write does not take part in conflicts.
fn is_empty(v: &Value) -> bool {
    v.is_null() || v.as_array().is_some_and(Vec::is_empty)
}

/// What a field must hold at a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    Exactly(Value),
    /// Any of these (both sides must still agree).
    OneOf(Vec<Value>),
}

impl Expect {
    pub fn admits(&self, v: &Value) -> bool {
        match self {
            Expect::Exactly(e) => e == v,
            Expect::OneOf(all) => all.contains(v),
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Exactly(v) => write!(f, "{v}"),
            Expect::OneOf(all) => {
                let all: Vec<String> = all.iter().map(Value::to_string).collect();
                write!(f, "one of {}", all.join(", "))
            }
        }
    }
}

/// A person's write in the current segment.
#[derive(Clone, Debug)]
struct Write {
    op: usize,
    /// Engine runs before the write.
    runs: usize,
    value: Value,
}

#[derive(Clone, Debug, Default)]
struct Person {
    created: bool,
    deleted: bool,
    /// Values both sides held at the last checkpoint (None: not created then).
    baseline: Option<Values>,
    /// Last write per side and field since the last checkpoint.
    writes: BTreeMap<(Side, Field), Write>,
}

/// The model of a case (see the module documentation).
#[derive(Clone, Debug)]
pub struct Model {
    policy: Policy,
    people: Vec<Person>,
    runs: usize,
}

impl Model {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            people: vec![Person::default(); PEOPLE],
            runs: 0,
        }
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    pub fn is_deleted(&self, p: usize) -> bool {
        self.people[p].deleted
    }

    /// A person created `p` on `side` with these values.
    pub fn created(&mut self, p: usize, side: Side, op: usize, values: &Values) {
        self.people[p].created = true;
        for (f, v) in values {
            self.edited(p, side, op, *f, v.clone());
        }
    }

    /// A person wrote `value` into `field` of `p` on `side`.
    pub fn edited(&mut self, p: usize, side: Side, op: usize, field: Field, value: Value) {
        let runs = self.runs;
        self.people[p]
            .writes
            .insert((side, field), Write { op, runs, value });
    }

    /// A person deleted `p` (in either app).
    pub fn deleted(&mut self, p: usize) {
        self.people[p].deleted = true;
    }

    /// The engine ran (it may have synced anything written so far).
    pub fn engine_ran(&mut self) {
        self.runs += 1;
    }

    /// The people that must be live in both apps.
    pub fn expected_live(&self) -> BTreeSet<usize> {
        (0..PEOPLE)
            .filter(|p| self.people[*p].created && !self.people[*p].deleted)
            .collect()
    }

    /// What `field` of live person `p` must hold now (see the module documentation).
    pub fn expect(&self, p: usize, field: Field) -> Expect {
        let person = &self.people[p];
        let last = |side: Side| person.writes.get(&(side, field));
        match (last(Side::Ghl), last(Side::Crm)) {
            (None, None) => Expect::Exactly(
                person
                    .baseline
                    .as_ref()
                    .and_then(|b| b.get(&field).cloned())
                    .unwrap_or(Value::Null),
            ),
            (Some(w), None) | (None, Some(w)) => Expect::Exactly(w.value.clone()),
            (Some(g), Some(c)) => match self.policy.winner(field) {
                None => Expect::OneOf(vec![g.value.clone(), c.value.clone()]),
                Some(winner) => {
                    let (w, l) = if winner == Side::Ghl { (g, c) } else { (c, g) };
                    if !is_empty(&w.value) && (w.op > l.op || w.runs == l.runs) {
                        Expect::Exactly(w.value.clone())
                    } else {
                        Expect::OneOf(vec![w.value.clone(), l.value.clone()])
                    }
                }
            },
        }
    }

    /// A checkpoint passed with both apps holding `live`: a new segment starts from there.
    pub fn checkpoint(&mut self, live: &BTreeMap<usize, Values>) {
        self.runs += 1;
        for (p, person) in self.people.iter_mut().enumerate() {
            person.writes.clear();
            person.baseline = live.get(&p).cloned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_of_truth_expectations() {
        let mut m = Model::new(Policy::SourceOfTruth);
        m.edited(0, Side::Crm, 1, Field::FirstName, json!("b"));
        m.edited(0, Side::Ghl, 2, Field::FirstName, json!("a"));
        assert_eq!(m.expect(0, Field::FirstName), Expect::Exactly(json!("a")));
        m.edited(0, Side::Crm, 3, Field::FirstName, json!("c"));
        assert_eq!(m.expect(0, Field::FirstName), Expect::Exactly(json!("a")));
        m.engine_ran();
        m.edited(0, Side::Crm, 4, Field::FirstName, json!("d"));
        assert!(matches!(m.expect(0, Field::FirstName), Expect::OneOf(_)));
        // Your App owns city, but its clear may be no change the engine can see.
        m.edited(1, Side::Ghl, 5, Field::City, json!("x"));
        m.edited(1, Side::Crm, 6, Field::City, Value::Null);
        assert!(matches!(m.expect(1, Field::City), Expect::OneOf(_)));
        assert_eq!(person_of(&email_of(5)), Some(5));
    }
}
