//! What happens to the data when the API or a person in the GHL UI (the admin API) changes it:
//! validation against location settings, duplicate rules, and the webhook each change emits.
//! Routes and admin handlers both call these, so both emit the same events.

use serde_json::{json, Map, Value};

use super::errors::{ApiError, ApiResult};
use super::model::{Contact, Location};
use super::store::Store;
use super::Ghl;

/// Which webhook-worthy aspects of a contact changed.
#[derive(Debug, Default, Clone, Copy)]
pub struct ContactChanges {
    pub any: bool,
    pub tags: bool,
    pub dnd: bool,
}

const STRING_FIELDS: &[&str] = &[
    "firstName",
    "lastName",
    "email",
    "phone",
    "address1",
    "city",
    "state",
    "postalCode",
    "website",
    "timezone",
    "source",
    "country",
    "companyName",
    "assignedTo",
    "gender",
];

fn slot<'a>(c: &'a mut Contact, key: &str) -> Option<&'a mut Option<String>> {
    Some(match key {
        "firstName" => &mut c.first_name,
        "lastName" => &mut c.last_name,
        "email" => &mut c.email,
        "phone" => &mut c.phone,
        "address1" => &mut c.address1,
        "city" => &mut c.city,
        "state" => &mut c.state,
        "postalCode" => &mut c.postal_code,
        "website" => &mut c.website,
        "timezone" => &mut c.timezone,
        "source" => &mut c.source,
        "country" => &mut c.country,
        "companyName" => &mut c.company_name,
        "assignedTo" => &mut c.assigned_to,
        "gender" => &mut c.gender,
        _ => return None,
    })
}

/// GHL stores tags trimmed and lower-cased, without repeats.
pub fn normalize_tags(tags: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags.iter().filter_map(Value::as_str) {
        let t = t.trim().to_lowercase();
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

fn normalize_dob(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.len() == 10 => Some(format!("{s}T00:00:00.000Z")),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => n
            .as_i64()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(super::model::iso),
        _ => None,
    }
}

/// Applies the fields of a create/update/upsert body to a contact. `replace_tags`: PUT and
/// create set the whole tag list; upsert merges (as GHL's upsert does).
pub fn apply_fields(
    c: &mut Contact,
    body: &Map<String, Value>,
    location: &Location,
    replace_tags: bool,
) -> ApiResult<ContactChanges> {
    let mut ch = ContactChanges::default();
    for key in STRING_FIELDS {
        if let Some(v) = body.get(*key) {
            let new = v
                .as_str()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            if let Some(s) = slot(c, key) {
                if *s != new {
                    *s = new;
                    ch.any = true;
                }
            }
        }
    }
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        if !body.contains_key("firstName") && !body.contains_key("lastName") {
            let mut parts = name.trim().splitn(2, ' ');
            let first = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
            let last = parts
                .next()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            if c.first_name != first || c.last_name != last {
                c.first_name = first;
                c.last_name = last;
                ch.any = true;
            }
        }
    }
    if let Some(v) = body.get("dateOfBirth") {
        let new = normalize_dob(v);
        if c.date_of_birth != new {
            c.date_of_birth = new;
            ch.any = true;
        }
    }
    if let Some(d) = body.get("dnd").and_then(Value::as_bool) {
        if c.dnd != d {
            c.dnd = d;
            ch.dnd = true;
        }
    }
    if let Some(Value::Object(s)) = body.get("dndSettings") {
        for (channel, setting) in s {
            if c.dnd_settings.get(channel) != Some(setting) {
                c.dnd_settings.insert(channel.clone(), setting.clone());
                ch.dnd = true;
            }
        }
    }
    if let Some(Value::Object(s)) = body.get("inboundDndSettings") {
        for (k, v) in s {
            c.inbound_dnd_settings.insert(k.clone(), v.clone());
        }
    }
    if let Some(Value::Array(tags)) = body.get("tags") {
        let tags = normalize_tags(tags);
        let merged = if replace_tags {
            tags
        } else {
            let mut all = c.tags.clone();
            all.extend(tags.into_iter().filter(|t| !c.tags.contains(t)));
            all
        };
        if merged != c.tags {
            c.tags = merged;
            ch.tags = true;
        }
    }
    if let Some(Value::Array(fields)) = body.get("customFields") {
        for (i, f) in fields.iter().enumerate() {
            let key = f
                .get("id")
                .or_else(|| f.get("key"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            // GHL ignores custom fields it does not know; so does the sandbox.
            let Some(def) = location.custom_field(key) else {
                continue;
            };
            let value = f
                .get("field_value")
                .or_else(|| f.get("value"))
                .cloned()
                .unwrap_or(Value::Null);
            let value = coerce_custom(&def.data_type, value).map_err(|m| {
                ApiError::unprocessable(vec![format!("customFields.{i}.field_value {m}")])
            })?;
            let pos = c.custom_fields.iter().position(|(id, _)| *id == def.id);
            match (pos, value) {
                (Some(p), Value::Null) => {
                    c.custom_fields.remove(p);
                    ch.any = true;
                }
                (Some(p), v) if c.custom_fields[p].1 != v => {
                    c.custom_fields[p].1 = v;
                    ch.any = true;
                }
                (None, Value::Null) | (Some(_), _) => {}
                (None, v) => {
                    c.custom_fields.push((def.id.clone(), v));
                    ch.any = true;
                }
            }
        }
    }
    ch.any |= ch.tags || ch.dnd;
    Ok(ch)
}

fn coerce_custom(data_type: &str, v: Value) -> Result<Value, &'static str> {
    match (data_type, v) {
        (_, Value::Null) => Ok(Value::Null),
        (_, Value::String(s)) if s.is_empty() => Ok(Value::Null),
        ("NUMERICAL" | "MONETORY", Value::Number(n)) => Ok(Value::Number(n)),
        // "42" becomes 42 (not 42.0), like the numbers the API and seed data store.
        ("NUMERICAL" | "MONETORY", Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(n) => Ok(json!(n)),
            Err(_) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or("must be a number"),
        },
        ("NUMERICAL" | "MONETORY", _) => Err("must be a number"),
        ("CHECKBOX" | "MULTIPLE_OPTIONS", Value::Array(a)) => Ok(Value::Array(a)),
        ("CHECKBOX" | "MULTIPLE_OPTIONS", Value::String(s)) => Ok(json!(s
            .split(',')
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>())),
        ("CHECKBOX" | "MULTIPLE_OPTIONS", _) => Err("must be an array of options"),
        ("FILE_UPLOAD", v) => Ok(v),
        (_, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (_, Value::Bool(b)) => Ok(Value::String(b.to_string())),
        (_, Value::String(s)) => Ok(Value::String(s)),
        (_, _) => Err("must be a string"),
    }
}

/// The contact another record already uses this email or phone, when the location forbids duplicates.
pub fn find_duplicate(store: &Store, c: &Contact) -> Option<(String, &'static str)> {
    let allow = store
        .location(&c.location_id)
        .map(|l| l.allow_duplicates)
        .unwrap_or(false);
    if allow {
        return None;
    }
    if let Some(e) = &c.email {
        if let Some(id) = store
            .contacts_with_email(&c.location_id, e)
            .into_iter()
            .find(|id| *id != c.id)
        {
            return Some((id, "email"));
        }
    }
    if let Some(p) = &c.phone {
        if let Some(id) = store
            .contacts_with_phone(&c.location_id, p)
            .into_iter()
            .find(|id| *id != c.id)
        {
            return Some((id, "phone"));
        }
    }
    None
}

fn duplicate_error(store: &Store, id: &str, field: &str) -> ApiError {
    let name = store.contacts.get(id).and_then(Contact::full_name);
    ApiError::bad_request_with_meta(
        "This location does not allow duplicated contacts.",
        json!({"contactName": name, "contactId": id, "matchingField": field}),
    )
}

impl Ghl {
    /// Sends a webhook to every app installed on the location.
    pub fn emit(&self, location_id: &str, event_type: &str, mut body: Map<String, Value>) {
        let targets = self.auth.lock().webhook_targets(location_id);
        if targets.is_empty() {
            return;
        }
        let mut payload = Map::new();
        payload.insert("type".into(), json!(event_type));
        payload.insert("locationId".into(), json!(location_id));
        payload.append(&mut body);
        self.webhooks.emit(&targets, Value::Object(payload));
    }

    /// Tells an app it was installed on (`INSTALL`) or removed from (`UNINSTALL`) a location,
    /// as GHL's AppInstall / AppUninstall webhooks do.
    pub fn announce_install(&self, client_id: &str, location_id: &str, installed: bool) {
        let target = self.auth.lock().app_target(client_id);
        let Some(target) = target else { return };
        let (company_id, company_name) = {
            let s = self.store.read();
            (s.company_id.clone(), s.company_name.clone())
        };
        let payload = if installed {
            json!({"type": "INSTALL", "appId": client_id, "installType": "Location", "locationId": location_id,
                   "companyId": company_id, "companyName": company_name, "isWhitelabelCompany": false})
        } else {
            json!({"type": "UNINSTALL", "appId": client_id, "locationId": location_id, "companyId": company_id})
        };
        self.webhooks.emit(&[target], payload);
    }

    fn emit_contact_changes(&self, c: &Contact, ch: ContactChanges) {
        if ch.any {
            self.emit(&c.location_id, "ContactUpdate", c.to_webhook_json(false));
        }
        if ch.tags {
            self.emit(&c.location_id, "ContactTagUpdate", c.to_webhook_json(false));
        }
        if ch.dnd {
            self.emit(&c.location_id, "ContactDndUpdate", c.to_webhook_json(true));
        }
    }

    /// Creates a contact in a location (POST /contacts/, admin create).
    pub fn create_contact(
        &self,
        location_id: &str,
        body: &Map<String, Value>,
    ) -> ApiResult<Contact> {
        let contact = {
            let mut s = self.store.write();
            let location = s
                .location(location_id)
                .cloned()
                .ok_or_else(|| ApiError::bad_request("Location not found"))?;
            let now = s.now();
            let id = s.ids.next_id();
            let mut c = Contact {
                id,
                location_id: location_id.to_string(),
                contact_type: "lead".into(),
                date_added: now,
                date_updated: now,
                ..Default::default()
            };
            if let Some(t) = body.get("type").and_then(Value::as_str) {
                c.contact_type = t.to_string();
            }
            apply_fields(&mut c, body, &location, true)?;
            if let Some((dup, field)) = find_duplicate(&s, &c) {
                return Err(duplicate_error(&s, &dup, field));
            }
            s.put_contact(c.clone());
            c
        };
        self.emit(location_id, "ContactCreate", contact.to_webhook_json(false));
        Ok(contact)
    }

    /// Updates a contact (PUT /contacts/:id, admin edit). Emits only when something changed.
    pub fn update_contact(
        &self,
        id: &str,
        body: &Map<String, Value>,
        replace_tags: bool,
    ) -> ApiResult<Contact> {
        let (c, ch) = {
            let mut s = self.store.write();
            let mut c = s.contacts.get(id).cloned().ok_or_else(contact_not_found)?;
            let location = s
                .location(&c.location_id)
                .cloned()
                .ok_or_else(contact_not_found)?;
            let ch = apply_fields(&mut c, body, &location, replace_tags)?;
            if let Some((dup, field)) = find_duplicate(&s, &c) {
                return Err(duplicate_error(&s, &dup, field));
            }
            if ch.any {
                c.date_updated = s.now();
                s.put_contact(c.clone());
            }
            (c, ch)
        };
        self.emit_contact_changes(&c, ch);
        Ok(c)
    }

    /// POST /contacts/upsert: match by email then phone (GHL's default priority); update or create.
    pub fn upsert_contact(
        &self,
        location_id: &str,
        body: &Map<String, Value>,
    ) -> ApiResult<(bool, Contact)> {
        let existing = {
            let s = self.store.read();
            let allow = s
                .location(location_id)
                .map(|l| l.allow_duplicates)
                .unwrap_or(false);
            let create_new = allow
                && body
                    .get("createNewIfDuplicateAllowed")
                    .and_then(Value::as_bool)
                    == Some(true);
            let by_email = body
                .get("email")
                .and_then(Value::as_str)
                .and_then(|e| s.contacts_with_email(location_id, e).into_iter().next());
            let by_phone = || {
                body.get("phone")
                    .and_then(Value::as_str)
                    .and_then(|p| s.contacts_with_phone(location_id, p).into_iter().next())
            };
            if create_new {
                None
            } else {
                by_email.or_else(by_phone)
            }
        };
        match existing {
            Some(id) => Ok((false, self.update_contact(&id, body, false)?)),
            None => Ok((true, self.create_contact(location_id, body)?)),
        }
    }

    /// DELETE /contacts/:id: the contact and everything under it go.
    pub fn delete_contact(&self, id: &str) -> ApiResult<Contact> {
        let c = self
            .store
            .write()
            .remove_contact(id)
            .ok_or_else(contact_not_found)?;
        self.emit(&c.location_id, "ContactDelete", c.to_webhook_json(false));
        Ok(c)
    }

    /// Adds (or removes) tags on one contact; emits ContactTagUpdate when the set changed.
    pub fn change_tags(&self, id: &str, tags: &[Value], add: bool) -> ApiResult<Contact> {
        let (c, changed) = {
            let mut s = self.store.write();
            let mut c = s.contacts.get(id).cloned().ok_or_else(contact_not_found)?;
            let tags = normalize_tags(tags);
            let before = c.tags.clone();
            if add {
                for t in tags {
                    if !c.tags.contains(&t) {
                        c.tags.push(t);
                    }
                }
            } else {
                c.tags.retain(|t| !tags.contains(t));
            }
            let changed = before != c.tags;
            if changed {
                c.date_updated = s.now();
                s.put_contact(c.clone());
            }
            (c, changed)
        };
        if changed {
            self.emit(&c.location_id, "ContactTagUpdate", c.to_webhook_json(false));
        }
        Ok(c)
    }

    /// Links a contact to a business (or unlinks it with `None`); emits ContactUpdate on change.
    pub fn set_business(&self, id: &str, business_id: Option<String>) {
        let changed = {
            let mut s = self.store.write();
            let now = s.now();
            match s.contacts.get_mut(id) {
                Some(c) if c.business_id != business_id => {
                    c.business_id = business_id;
                    c.date_updated = now;
                    Some(c.clone())
                }
                _ => None,
            }
        };
        if let Some(c) = changed {
            self.emit(&c.location_id, "ContactUpdate", c.to_webhook_json(false));
        }
    }

    /// A contact of the caller's location, or GHL's answers for missing (400) and foreign (403) ones.
    pub fn contact_in(&self, location_id: &str, id: &str) -> ApiResult<Contact> {
        let s = self.store.read();
        let c = s.contacts.get(id).ok_or_else(contact_not_found)?;
        if c.location_id != location_id {
            return Err(ApiError::forbidden(
                "The token does not have access to this location.",
            ));
        }
        Ok(c.clone())
    }
}

/// GHL answers an unknown contact id with 400 (the spec lists no 404).
pub fn contact_not_found() -> ApiError {
    ApiError::bad_request("Contact not found")
}
