//! The demo's end check: once the engine has drained and reconciled, every sync flow's two sides
//! must agree. For each flow, direction (both for two-way flows) and kind, every live record on
//! the side changes come from that passes the flow's filter is read, mapped with the flow's own
//! mapping, and compared field by field with its twin (found through the engine's identity
//! links) on the other side. A record never synced, a twin missing, a mapped field that differs,
//! or (under `delete: propagate`) a record whose twin was deleted while it stayed, is a
//! disagreement.
//!
//! Two values agree when they are equal after the normalisations the apps themselves apply:
//! null and absent are the same, text is compared trimmed, times as instants, lists (tags) as
//! case-insensitive sets, numbers and numeric text by value. A mapped field the other app's
//! records never carry (it cannot hold it) is not compared.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use connectors::{Connector, EntityKind, Record};
use engine::flow::{DeletePolicy, Direction, FlowBody, SyncDirection, SyncSpec};
use engine::store::Store;
use serde_json::{Map, Value};

/// One pair that does not agree.
#[derive(Debug, Clone, PartialEq)]
pub struct Disagreement {
    pub flow: String,
    /// `ghl contact abc123 → your_app contact 42`.
    pub what: String,
    /// What differs: `city: "Lisbon" ≠ "Porto"`, or `never reached your_app`.
    pub detail: String,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}: {}", self.flow, self.what, self.detail)
    }
}

/// What the check compared and found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Pairs compared, per flow (in flow order).
    pub pairs: Vec<(String, u64)>,
    pub disagreements: Vec<Disagreement>,
}

impl CheckReport {
    pub fn total_pairs(&self) -> u64 {
        self.pairs.iter().map(|(_, n)| n).sum()
    }
}

/// Every live record of a kind on one connection, read in full.
async fn records(c: &dyn Connector, kind: EntityKind) -> Result<Vec<Record>, String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = match c.list_all(kind, cursor.as_deref()).await {
            Ok(p) => p,
            Err(connectors::ConnectorError::Unsupported(_)) => return Ok(out),
            Err(e) => return Err(format!("listing {kind}s of {}: {e}", c.app())),
        };
        for r in page.records.into_iter().filter(|r| !r.deleted) {
            // Listings may carry only ids and times: read each record as a job would.
            match c.get(kind, &r.id, r.parent_id.as_deref()).await {
                Ok(Some(mut full)) if !full.deleted => {
                    if full.parent_id.is_none() {
                        full.parent_id = r.parent_id.clone();
                    }
                    out.push(full);
                }
                Ok(_) => {}
                Err(e) => return Err(format!("reading {kind} {} of {}: {e}", r.id, c.app())),
            }
        }
        match page.next_cursor {
            Some(c) if !page.done => cursor = Some(c),
            _ => return Ok(out),
        }
    }
}

/// The id of `id`'s twin in `other` (same kind), through the identity links.
async fn twin(
    store: &dyn Store,
    conn: &str,
    kind: EntityKind,
    id: &str,
    other: &str,
) -> Result<(Option<i64>, Option<String>), String> {
    let e = |e: engine::store::StoreError| format!("reading links: {e}");
    let Some(link) = store.find_link(conn, kind.as_str(), id).await.map_err(e)? else {
        return Ok((None, None));
    };
    let found = store
        .links_of(link.identity_id)
        .await
        .map_err(e)?
        .into_iter()
        .find(|l| l.connection_id == other && l.kind == kind.as_str())
        .map(|l| l.external_id);
    Ok((Some(link.identity_id.0), found))
}

/// Checks every sync flow; `Err` only when an app or the store could not be read.
pub async fn run(
    flows: &[&engine::flow::Flow],
    connectors: &BTreeMap<String, Arc<dyn Connector>>,
    store: &dyn Store,
) -> Result<CheckReport, String> {
    let mut report = CheckReport::default();
    for f in flows {
        let FlowBody::Sync(spec) = &f.body else {
            continue;
        };
        let mut dirs = vec![(&spec.source, &spec.target, Direction::ToTarget, Pass::Full)];
        if spec.direction == SyncDirection::TwoWay {
            dirs.push((&spec.target, &spec.source, Direction::ToSource, Pass::Full));
        } else if spec.delete == DeletePolicy::Propagate {
            // What the source deleted must be gone from the target too.
            dirs.push((
                &spec.target,
                &spec.source,
                Direction::ToSource,
                Pass::DeletesOnly,
            ));
        }
        let mut pairs = 0;
        for (from, to, dir, pass) in dirs {
            for kind in &spec.kinds {
                pairs += check_one(
                    &f.name,
                    spec,
                    (from, to, dir, pass),
                    *kind,
                    connectors,
                    store,
                    &mut report.disagreements,
                )
                .await?;
            }
        }
        report.pairs.push((f.name.clone(), pairs));
    }
    Ok(report)
}

/// What one direction of a flow is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Every record reached the other side, and its mapped fields agree there.
    Full,
    /// Only that a record whose twin was deleted is gone too (the target side of a one-way
    /// flow with `delete: propagate`).
    DeletesOnly,
}

async fn check_one(
    flow: &str,
    spec: &SyncSpec,
    (from, to, dir, pass): (&String, &String, Direction, Pass),
    kind: EntityKind,
    connectors: &BTreeMap<String, Arc<dyn Connector>>,
    store: &dyn Store,
    out: &mut Vec<Disagreement>,
) -> Result<u64, String> {
    let conn = |n: &str| {
        connectors
            .get(n)
            .cloned()
            .ok_or_else(|| format!("connection `{n}` is not set up"))
    };
    let (src, dst) = (conn(from)?, conn(to)?);
    let Some(mapping) = spec.mapping.get(&kind) else {
        return Ok(0);
    };
    let filter = spec.filters.get(&kind);
    let theirs = records(dst.as_ref(), kind).await?;
    // The fields the other app's records of this kind carry: only those can be compared.
    let held: BTreeSet<String> = theirs
        .iter()
        .flat_map(|r| r.fields.keys().cloned())
        .collect();
    let theirs: BTreeMap<String, Record> = theirs.into_iter().map(|r| (r.id.clone(), r)).collect();
    let mut pairs = 0;
    for rec in records(src.as_ref(), kind).await? {
        if pass == Pass::Full && filter.is_some_and(|f| !f.matches(&rec.fields)) {
            continue;
        }
        if kind.has_parent() {
            // A child follows its contact; a contact the flow does not carry has none.
            let parent = rec.parent_id.clone().unwrap_or_default();
            let (_, parent_twin) = twin(store, from, EntityKind::Contact, &parent, to).await?;
            if parent_twin.is_none() {
                continue;
            }
        }
        let what = format!("{from} {kind} {}", rec.id);
        let (identity, twin_id) = twin(store, from, kind, &rec.id, to).await?;
        let Some(twin_id) = twin_id else {
            // Synced once, and its twin deleted since: left alone under `delete: ignore` (or
            // `archive`), a disagreement under `delete: propagate`.
            let synced_before = match identity {
                Some(i) => store
                    .snapshot_with(engine::store::IdentityId(i), from, to)
                    .await
                    .map_err(|e| format!("reading snapshots: {e}"))?
                    .is_some(),
                None => false,
            };
            let detail = match (synced_before, pass) {
                (true, _) if spec.delete == DeletePolicy::Propagate => Some(format!(
                    "its twin in {to} was deleted, and `delete: propagate` should have deleted it"
                )),
                (false, Pass::Full) => Some(format!("never reached {to}")),
                _ => None,
            };
            if let Some(detail) = detail {
                out.push(Disagreement {
                    flow: flow.into(),
                    what,
                    detail,
                });
            }
            continue;
        };
        if pass == Pass::DeletesOnly {
            continue;
        }
        pairs += 1;
        let what = format!("{what} → {to} {kind} {twin_id}");
        let Some(other) = theirs.get(&twin_id) else {
            out.push(Disagreement {
                flow: flow.into(),
                what,
                detail: format!("its twin is missing in {to}"),
            });
            continue;
        };
        let mapped = mapping.apply(&rec, dir).fields;
        let diffs = differences(&mapped, &other.fields, &held);
        if !diffs.is_empty() {
            out.push(Disagreement {
                flow: flow.into(),
                what,
                detail: diffs.join("; "),
            });
        }
    }
    Ok(pairs)
}

/// The mapped fields the other record holds differently, as `field: "mine" ≠ "theirs"`.
pub fn differences(
    mapped: &Map<String, Value>,
    theirs: &Map<String, Value>,
    held: &BTreeSet<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in mapped {
        let other = theirs.get(k);
        if other.is_none() && !held.contains(k) {
            continue;
        }
        if !agree(Some(v), other) {
            let show = |v: Option<&Value>| v.map_or("(absent)".to_string(), Value::to_string);
            out.push(format!("{k}: {} ≠ {}", show(Some(v)), show(other)));
        }
    }
    out
}

fn blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

fn instant(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    }
}

/// Whether two values hold the same thing (see the module docs).
pub fn agree(a: Option<&Value>, b: Option<&Value>) -> bool {
    if blank(a) || blank(b) {
        return blank(a) && blank(b);
    }
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            let set = |v: &Vec<Value>| -> BTreeSet<String> {
                v.iter().map(|i| text(i).to_lowercase()).collect()
            };
            set(x) == set(y)
        }
        (Value::String(x), Value::String(y)) => {
            x.trim() == y.trim() || matches!((instant(x), instant(y)), (Some(p), Some(q)) if p == q)
        }
        (Value::Number(_) | Value::Bool(_), _) | (_, Value::Number(_) | Value::Bool(_)) => {
            text(a) == text(b)
                || matches!((text(a).parse::<f64>(), text(b).parse::<f64>()), (Ok(p), Ok(q)) if p == q)
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_agree_as_the_apps_hold_them() {
        assert!(agree(None, Some(&json!(null))));
        assert!(agree(Some(&json!("")), None));
        assert!(agree(Some(&json!(" Ada ")), Some(&json!("Ada"))));
        assert!(agree(
            Some(&json!("2030-01-02T15:00:00.000Z")),
            Some(&json!("2030-01-02T15:00:00Z"))
        ));
        assert!(agree(
            Some(&json!(["VIP", "b"])),
            Some(&json!(["b", "vip"]))
        ));
        assert!(agree(Some(&json!(3)), Some(&json!("3.0"))));
        assert!(!agree(Some(&json!("Lisbon")), Some(&json!("Porto"))));
        assert!(!agree(Some(&json!("Lisbon")), None));
        assert!(!agree(Some(&json!(true)), Some(&json!(false))));
    }

    #[test]
    fn only_fields_the_other_app_holds_are_compared() {
        let mapped = json!({"city": "Oslo", "x.priority": "high", "first_name": "Ada"});
        let theirs = json!({"city": "Porto", "first_name": "Ada"});
        let held: BTreeSet<String> = ["city", "first_name"].map(String::from).into();
        let d = differences(
            mapped.as_object().expect("object"),
            theirs.as_object().expect("object"),
            &held,
        );
        assert_eq!(d, ["city: \"Oslo\" ≠ \"Porto\""]);
    }
}
