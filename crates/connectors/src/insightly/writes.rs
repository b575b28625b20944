//! Writes: contacts (with their organisation and tags), activities linked to their contact,
//! organisations and tags — each create preceded by the lookup that keeps a retried create
//! from making a second record (see the module docs of [`super`]).

use aws_lc_rs::digest;
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::mapping::NO_NAME;
use super::models::{derived_title, id_text, parse_time, write_of, Object, Write};
use super::{seg, InsightlyConnector};
use crate::connector::{ConnectorError, MatchKey};
use crate::record::{EntityKind, Record};

/// The link marker of a create: `ghl-bridge:<first 16 hex of SHA-256(key)>`.
pub fn marker(idempotency_key: &str) -> String {
    let d = digest::digest(&digest::SHA256, idempotency_key.as_bytes());
    let hex: String = d.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("ghl-bridge:{hex}")
}

/// An id as Insightly's JSON wants it: a number when it is one.
fn id_value(id: &str) -> Value {
    id.trim()
        .parse::<i64>()
        .map_or_else(|_| json!(id), |n| json!(n))
}

fn tag_names(v: &Value) -> Vec<String> {
    v.get("TAGS")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("TAG_NAME").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

fn has_marker(row: &Value, marker: &str) -> Option<bool> {
    let links = row.get("LINKS")?.as_array()?;
    Some(
        links
            .iter()
            .any(|l| l.get("DETAILS").and_then(Value::as_str) == Some(marker)),
    )
}

fn blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

impl InsightlyConnector {
    /// Canonical fields → a write, with the custom-field definitions fetched again once when a
    /// name is unknown (someone may have just added the field in Insightly).
    async fn write(
        &self,
        obj: Object,
        fields: &Map<String, Value>,
    ) -> Result<Write, ConnectorError> {
        let mut w = write_of(obj, fields, &*self.custom_defs(obj, true).await?)?;
        if !w.unknown_custom.is_empty() {
            w = write_of(obj, fields, &*self.custom_defs(obj, false).await?)?;
        }
        if !w.unknown_custom.is_empty() {
            tracing::warn!(object = obj.path(), fields = ?w.unknown_custom,
                "no Insightly custom field matches; not sent (add it in Insightly)");
        }
        if !w.skipped.is_empty() {
            tracing::debug!(object = obj.path(), fields = ?w.skipped, "fields Insightly cannot hold; not sent");
        }
        Ok(w)
    }

    async fn org_exists(&self, id: &str) -> Result<bool, ConnectorError> {
        if self.org_name(id).is_some() {
            return Ok(true);
        }
        let found = self
            .client
            .get_opt(&format!("Organisations/{}", seg(id)))
            .await?;
        if let Some(name) = found
            .as_ref()
            .and_then(|o| o.get("ORGANISATION_NAME"))
            .and_then(Value::as_str)
        {
            self.remember_org(id, name);
        }
        Ok(found.is_some())
    }

    /// The organisation named `name` (exact, ignoring case; the oldest if several), created
    /// when there is none.
    pub(super) async fn find_or_create_org(&self, name: &str) -> Result<Value, ConnectorError> {
        let _one_at_a_time = self.org_lock.lock().await;
        let query = vec![
            ("field_name", "ORGANISATION_NAME".to_string()),
            ("field_value", name.trim().to_string()),
            ("brief", "true".to_string()),
        ];
        let rows = self.all_rows("Organisations/Search", query).await?;
        let mut hits: Vec<(i64, String)> = rows
            .iter()
            .filter(|o| {
                o.get("ORGANISATION_NAME")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case(name.trim()))
            })
            .filter_map(|o| {
                Some((
                    o.get("ORGANISATION_ID")?.as_i64()?,
                    o["ORGANISATION_NAME"].as_str()?.to_string(),
                ))
            })
            .collect();
        hits.sort();
        if let Some((id, found)) = hits.first() {
            self.remember_org(&id.to_string(), found);
            return Ok(json!(id));
        }
        let body = json!({"ORGANISATION_NAME": name.trim()});
        let made = self
            .client
            .call(Method::POST, "Organisations", &[], Some(&body))
            .await?;
        let id = made
            .get("ORGANISATION_ID")
            .and_then(id_text)
            .ok_or_else(|| {
                ConnectorError::Transient("Insightly created an organisation without id".into())
            })?;
        self.remember_org(&id, name.trim());
        Ok(id_value(&id))
    }

    /// `ORGANISATION_ID` for a contact write: an existing organisation's id, else the one named
    /// `company_name` (found or created), else null when the write clears both; `None` leaves it.
    async fn organisation_of(&self, w: &Write) -> Result<Option<Value>, ConnectorError> {
        if let Some(Some(bid)) = &w.business_id {
            if bid.parse::<i64>().is_ok() {
                if self.org_exists(bid).await? {
                    return Ok(Some(id_value(bid)));
                }
                tracing::warn!(business_id = bid, "no Insightly organisation has this id");
            }
        }
        Ok(match (&w.business_id, &w.company_name) {
            (_, Some(Some(name))) => Some(self.find_or_create_org(name).await?),
            (_, Some(None)) | (Some(None), None) => Some(Value::Null),
            _ => None,
        })
    }

    /// Creates a contact, or adopts the one an earlier attempt made (same email).
    pub(super) async fn create_contact(
        &self,
        fields: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        if let Some(email) = fields.get("email").and_then(Value::as_str) {
            if let Some(existing) = self
                .find_contact(&MatchKey::Email(email.to_string()))
                .await?
            {
                tracing::info!(
                    contact = existing.id,
                    "Insightly contact with this email exists; adopted, not created again"
                );
                // It then holds what the create asked for; nothing is sent when it already
                // does (the usual case: a retried create).
                let differs = fields
                    .iter()
                    .any(|(k, v)| !v.is_null() && existing.fields.get(k) != Some(v));
                if !differs {
                    return Ok(existing);
                }
                return self.update_contact(&existing.id, fields).await;
            }
        }
        let w = self.write(Object::Contacts, fields).await?;
        let mut body = w.body.clone();
        if blank(body.get("FIRST_NAME")) {
            body.insert("FIRST_NAME".into(), json!(NO_NAME));
        }
        if let Some(org) = self.organisation_of(&w).await? {
            body.insert("ORGANISATION_ID".into(), org);
        }
        if let Some(tags) = &w.tags {
            let tags: Vec<Value> = tags.iter().map(|t| json!({"TAG_NAME": t})).collect();
            body.insert("TAGS".into(), Value::Array(tags));
        }
        let v = self
            .client
            .call(Method::POST, "Contacts", &[], Some(&Value::Object(body)))
            .await?;
        self.record(Object::Contacts, &v).await
    }

    /// Partial update of a contact: one PUT for its fields and organisation, then one call per
    /// tag added or removed (so tags someone else set meanwhile stay).
    pub(super) async fn update_contact(
        &self,
        id: &str,
        fields: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        let w = self.write(Object::Contacts, fields).await?;
        let mut body = w.body.clone();
        if body.contains_key("FIRST_NAME") && blank(body.get("FIRST_NAME")) {
            body.insert("FIRST_NAME".into(), json!(NO_NAME));
        }
        if let Some(org) = self.organisation_of(&w).await? {
            body.insert("ORGANISATION_ID".into(), org);
        }
        let path = format!("Contacts/{}", seg(id));
        let mut v = if body.is_empty() {
            self.client.call(Method::GET, &path, &[], None).await?
        } else {
            body.insert("CONTACT_ID".into(), id_value(id));
            let b = Value::Object(body);
            self.client
                .call(Method::PUT, "Contacts", &[], Some(&b))
                .await?
        };
        if let Some(want) = &w.tags {
            let mut have = tag_names(&v);
            let has = |list: &[String], t: &str| list.iter().any(|x| x.eq_ignore_ascii_case(t));
            let add: Vec<&String> = want.iter().filter(|t| !has(&have, t)).collect();
            let remove: Vec<String> = have.iter().filter(|t| !has(want, t)).cloned().collect();
            for t in &remove {
                match self.remove_tag(id, t).await {
                    Ok(_) | Err((Some(417), _)) => {}
                    Err((_, e)) => return Err(e),
                }
            }
            for t in &add {
                self.add_tag(id, t).await?;
            }
            have.retain(|t| !has(&remove, t));
            for t in add {
                if !has(&have, t) {
                    have.push(t.clone());
                }
            }
            let tags: Vec<Value> = have.iter().map(|t| json!({"TAG_NAME": t})).collect();
            v["TAGS"] = Value::Array(tags);
        }
        self.record(Object::Contacts, &v).await
    }

    /// Partial update of a task, note, event or organisation (`PUT /{Object}` with its id).
    pub(super) async fn update_record(
        &self,
        obj: Object,
        id: &str,
        fields: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        let w = self.write(obj, fields).await?;
        let mut body = w.body;
        if obj == Object::Notes && body.contains_key("TITLE") && blank(body.get("TITLE")) {
            // TITLE cannot be cleared: it falls back to the body's first line.
            let text = match body.get("BODY").and_then(Value::as_str) {
                Some(b) => Some(b.to_string()),
                None => self
                    .client
                    .get_opt(&format!("Notes/{}", seg(id)))
                    .await?
                    .and_then(|n| n.get("BODY").and_then(Value::as_str).map(str::to_string)),
            };
            let title = text
                .as_deref()
                .and_then(derived_title)
                .unwrap_or_else(|| "Note".into());
            body.insert("TITLE".into(), json!(title));
        }
        let v = if body.is_empty() {
            let path = format!("{}/{}", obj.path(), seg(id));
            self.client.call(Method::GET, &path, &[], None).await?
        } else {
            body.insert(obj.id_field().into(), id_value(id));
            let b = Value::Object(body);
            self.client
                .call(Method::PUT, obj.path(), &[], Some(&b))
                .await?
        };
        self.record(obj, &v).await
    }

    /// Creates an organisation, or answers the one with that exact name.
    pub(super) async fn create_business(
        &self,
        fields: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        let w = self.write(Object::Organisations, fields).await?;
        let name = w
            .body
            .get("ORGANISATION_NAME")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ConnectorError::Rejected(
                    "an Insightly organisation needs a name (field `name`)".into(),
                )
            })?
            .to_string();
        let id = self.find_or_create_org(&name).await?;
        let id = id_text(&id).unwrap_or_default();
        let mut rest = fields.clone();
        rest.remove("name");
        if rest.is_empty() {
            return self
                .get_record(Object::Organisations, &id)
                .await?
                .ok_or_else(|| {
                    ConnectorError::Transient(format!("Insightly organisation {id} vanished"))
                });
        }
        self.update_record(Object::Organisations, &id, &rest).await
    }

    /// The activity an earlier attempt of this create made, found by its link marker.
    async fn made_before(
        &self,
        obj: Object,
        contact_id: &str,
        marker: &str,
    ) -> Result<Option<Value>, ConnectorError> {
        let path = format!("Contacts/{}/{}", seg(contact_id), obj.path());
        let rows = match self.all_rows(&path, Vec::new()).await {
            Ok(rows) => rows,
            Err(ConnectorError::NotFound(_)) => {
                return Err(ConnectorError::Rejected(format!(
                    "Insightly contact {contact_id} does not exist"
                )))
            }
            Err(e) => Err(e)?,
        };
        let recent = Utc::now() - chrono::Duration::days(1);
        for row in rows {
            match has_marker(&row, marker) {
                Some(true) => return Ok(Some(row)),
                Some(false) => {}
                // A list without links: read the recent ones one by one.
                None => {
                    let fresh = row
                        .get("DATE_CREATED_UTC")
                        .and_then(Value::as_str)
                        .and_then(parse_time)
                        .is_none_or(|t| t >= recent);
                    let Some(id) = row.get(obj.id_field()).and_then(id_text) else {
                        continue;
                    };
                    if fresh {
                        let full = self
                            .client
                            .get_opt(&format!("{}/{}", obj.path(), seg(&id)))
                            .await?;
                        if full.as_ref().and_then(|f| has_marker(f, marker)) == Some(true) {
                            return Ok(full);
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    /// Creates a task, note or event linked to its contact, unless an earlier attempt did.
    pub(super) async fn create_activity(
        &self,
        kind: EntityKind,
        contact_id: &str,
        fields: &Map<String, Value>,
        idempotency_key: &str,
    ) -> Result<Record, ConnectorError> {
        let obj = Object::of(kind)
            .ok_or_else(|| ConnectorError::Unsupported(format!("Insightly: create of {kind}")))?;
        let mark = marker(idempotency_key);
        let done = |r: Record| {
            let mut r = r;
            r.parent_id = Some(contact_id.to_string());
            r
        };
        if let Some(v) = self.made_before(obj, contact_id, &mark).await? {
            tracing::info!(%kind, contact = contact_id, "Insightly record of an earlier attempt found; not created again");
            return Ok(done(self.record(obj, &v).await?));
        }
        let w = self.write(obj, fields).await?;
        let mut body = w.body;
        if obj == Object::Notes && blank(body.get("TITLE")) {
            let title = body
                .get("BODY")
                .and_then(Value::as_str)
                .and_then(derived_title)
                .unwrap_or_else(|| "Note".into());
            body.insert("TITLE".into(), json!(title));
        }
        let link = json!({"LINK_OBJECT_NAME": "Contact", "LINK_OBJECT_ID": id_value(contact_id), "DETAILS": mark});
        body.insert("LINKS".into(), json!([link]));
        let b = Value::Object(body);
        let v = match obj {
            // v3.1 has no POST /Notes: a note is made under its contact.
            Object::Notes => {
                let path = format!("Contacts/{}/Notes", seg(contact_id));
                self.client.call(Method::POST, &path, &[], Some(&b)).await?
            }
            _ => {
                self.client
                    .call(Method::POST, obj.path(), &[], Some(&b))
                    .await?
            }
        };
        Ok(done(self.record(obj, &v).await?))
    }

    pub(super) async fn add_tag(&self, contact_id: &str, name: &str) -> Result<(), ConnectorError> {
        let path = format!("Contacts/{}/Tags", seg(contact_id));
        let body = json!({"TAG_NAME": name});
        self.client
            .call(Method::POST, &path, &[], Some(&body))
            .await
            .map(drop)
    }

    /// `DELETE Contacts/{id}/Tags` with the tag in the body; the status comes with an error.
    pub(super) async fn remove_tag(
        &self,
        contact_id: &str,
        name: &str,
    ) -> Result<Value, (Option<u16>, ConnectorError)> {
        let path = format!("Contacts/{}/Tags", seg(contact_id));
        let body = json!({"TAG_NAME": name});
        self.client
            .send(Method::DELETE, &path, &[], Some(&body))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_stable_short_and_distinct() {
        let a = marker("flow:task:42:insightly");
        assert_eq!(a, marker("flow:task:42:insightly"));
        assert_ne!(a, marker("flow:task:43:insightly"));
        assert_eq!(a.len(), "ghl-bridge:".len() + 16);
        let row = json!({"LINKS": [{"DETAILS": a}]});
        assert_eq!(has_marker(&row, &a), Some(true));
        assert_eq!(has_marker(&json!({}), &a), None);
    }
}
