//! Every GHL Contacts-API operation by its `operationId`, for [`Connector::invoke`]: flows reach
//! the whole API (workflows, campaigns, followers, bulk tags …), not only what the canonical
//! record model covers.
//!
//! Each call goes through the typed client method of its operation, so it is paced, retried when
//! that is safe, and creates are sent at most once in effect (the client looks the record up
//! before any resend: contacts by email then phone, tasks by title, due date and body, notes by
//! body and title). Inputs are named as the spec names its path, query and body parameters; the
//! answer is GHL's response body as JSON. `locationId` is always the connection's location.
//!
//! [`Connector::invoke`]: crate::Connector::invoke

mod specs;
mod specs_more;

use std::sync::LazyLock;

use ghl::models::contact::{CreateContact, UpdateContact, UpsertContact};
use ghl::models::misc::{BulkBusiness, BulkTags};
use ghl::models::note::{CreateNote, UpdateNote};
use ghl::models::search::SearchRequest;
use ghl::models::task::{CreateTask, UpdateTask};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{connector_error, GhlConnector};
use crate::connector::{operation_of, ConnectorError, OperationSpec};

/// The 32 operations of `spec/ghl/contacts.json`, in the spec's order.
pub static OPERATIONS: LazyLock<Vec<OperationSpec>> = LazyLock::new(|| {
    let mut all = specs::FIRST.to_vec();
    all.extend(specs_more::LAST);
    all
});

/// Checked inputs of one call.
struct Input<'a> {
    op: &'a str,
    map: Map<String, Value>,
}

impl Input<'_> {
    fn text(&self, name: &str) -> Option<String> {
        self.map
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// A required text input (checked present by `check_input`).
    fn id(&self, name: &str) -> Result<String, ConnectorError> {
        self.text(name)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ConnectorError::Rejected(format!("`{}` needs `{name}`", self.op)))
    }

    fn strings(&self, name: &str) -> Vec<String> {
        self.map
            .get(name)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn number(&self, name: &str) -> Option<f64> {
        self.map.get(name).and_then(Value::as_f64)
    }

    /// The inputs other than `path` (path and query parameters) as a request model.
    fn body<T: DeserializeOwned>(&self, path: &[&str]) -> Result<T, ConnectorError> {
        let body: Map<String, Value> = self
            .map
            .iter()
            .filter(|(k, v)| !path.contains(&k.as_str()) && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        serde_json::from_value(Value::Object(body)).map_err(|e| {
            ConnectorError::Rejected(format!("`{}`: the inputs do not fit: {e}", self.op))
        })
    }
}

fn out(v: &impl Serialize) -> Result<Value, ConnectorError> {
    serde_json::to_value(v)
        .map_err(|e| ConnectorError::Transient(format!("GHL answer not serializable: {e}")))
}

fn spec_of(op: &str) -> Result<&'static OperationSpec, ConnectorError> {
    operation_of("ghl", op).ok_or_else(|| {
        ConnectorError::Unsupported(format!(
            "GHL has no operation `{op}` (see `ghl-bridge catalog --app ghl`)"
        ))
    })
}

impl GhlConnector {
    /// Runs one operation by `operationId` (see the module docs).
    pub async fn invoke_operation(
        &self,
        op: &str,
        input: &Map<String, Value>,
    ) -> Result<Value, ConnectorError> {
        let spec = spec_of(op)?;
        let i = Input {
            op: spec.id,
            map: spec.check_input(input)?,
        };
        let (c, err) = (self.client(), connector_error);
        match spec.id {
            "search-contacts-advanced" => {
                let mut fields = i.map.clone();
                fields.entry("pageLimit").or_insert(json!(100));
                let request: SearchRequest = Input {
                    op: i.op,
                    map: fields,
                }
                .body(&[])?;
                out(&c.search_contacts(&request).await.map_err(err)?)
            }
            "get-duplicate-contact" => {
                let (email, phone) = (i.text("email"), i.text("number"));
                if email.is_none() && phone.is_none() {
                    return Err(ConnectorError::Rejected(
                        "`get-duplicate-contact` needs `email` or `number`".into(),
                    ));
                }
                let found = c
                    .find_duplicate_contact(email.as_deref(), phone.as_deref())
                    .await
                    .map_err(err)?;
                Ok(json!({ "contact": found }))
            }
            "get-all-tasks" => {
                let tasks = c.list_tasks(&i.id("contactId")?).await.map_err(err)?;
                Ok(json!({ "tasks": tasks }))
            }
            "create-task" => {
                let contact = i.id("contactId")?;
                let mut fields = i.map.clone();
                fields.entry("completed").or_insert(Value::Bool(false));
                let task: CreateTask = Input {
                    op: i.op,
                    map: fields,
                }
                .body(&["contactId"])?;
                Ok(json!({ "task": c.create_task(&contact, &task).await.map_err(err)? }))
            }
            "get-task" => {
                let t = c.get_task(&i.id("contactId")?, &i.id("taskId")?).await;
                Ok(json!({ "task": t.map_err(err)? }))
            }
            "update-task" => {
                let update: UpdateTask = i.body(&["contactId", "taskId"])?;
                let (contact, task) = (i.id("contactId")?, i.id("taskId")?);
                let t = c.update_task(&contact, &task, &update).await;
                Ok(json!({ "task": t.map_err(err)? }))
            }
            "delete-task" => out(&c
                .delete_task(&i.id("contactId")?, &i.id("taskId")?)
                .await
                .map_err(err)?),
            "update-task-completed" => {
                let done = i
                    .map
                    .get("completed")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                let (contact, task) = (i.id("contactId")?, i.id("taskId")?);
                let t = c.complete_task(&contact, &task, done).await;
                Ok(json!({ "task": t.map_err(err)? }))
            }
            "get-appointments-for-contact" => {
                let events = c
                    .list_appointments(&i.id("contactId")?)
                    .await
                    .map_err(err)?;
                Ok(json!({ "events": events }))
            }
            "add-tags" => out(&c
                .add_tags(&i.id("contactId")?, &i.strings("tags"))
                .await
                .map_err(err)?),
            "remove-tags" => out(&c
                .remove_tags(&i.id("contactId")?, &i.strings("tags"))
                .await
                .map_err(err)?),
            "get-all-notes" => {
                let notes = c.list_notes(&i.id("contactId")?).await.map_err(err)?;
                Ok(json!({ "notes": notes }))
            }
            "create-note" => {
                let note: CreateNote = i.body(&["contactId"])?;
                let n = c.create_note(&i.id("contactId")?, &note).await;
                Ok(json!({ "note": n.map_err(err)? }))
            }
            "get-note" => {
                let n = c.get_note(&i.id("contactId")?, &i.id("id")?).await;
                Ok(json!({ "note": n.map_err(err)? }))
            }
            "update-note" => {
                let update: UpdateNote = i.body(&["contactId", "id"])?;
                let (contact, note) = (i.id("contactId")?, i.id("id")?);
                let n = c.update_note(&contact, &note, &update).await;
                Ok(json!({ "note": n.map_err(err)? }))
            }
            "delete-note" => out(&c
                .delete_note(&i.id("contactId")?, &i.id("id")?)
                .await
                .map_err(err)?),
            "create-association" => {
                let update: BulkTags = i.body(&["type"])?;
                let done = match i.id("type")?.as_str() {
                    "add" => c.bulk_add_tags(&update).await,
                    "remove" => c.bulk_remove_tags(&update).await,
                    other => {
                        return Err(ConnectorError::Rejected(format!(
                            "`create-association` input `type` is `add` or `remove`, not `{other}`"
                        )))
                    }
                };
                out(&done.map_err(err)?)
            }
            "add-remove-contact-from-business" => {
                let update = BulkBusiness {
                    location_id: None,
                    ids: i.strings("ids"),
                    business_id: i.text("businessId").filter(|b| !b.trim().is_empty()),
                };
                out(&c.bulk_set_business(&update).await.map_err(err)?)
            }
            "get-contact" => {
                let contact = c.get_contact(&i.id("contactId")?).await.map_err(err)?;
                Ok(json!({ "contact": contact }))
            }
            "update-contact" => {
                let update: UpdateContact = i.body(&["contactId"])?;
                let contact = c.update_contact(&i.id("contactId")?, &update).await;
                Ok(json!({ "contact": contact.map_err(err)? }))
            }
            "delete-contact" => out(&c.delete_contact(&i.id("contactId")?).await.map_err(err)?),
            "upsert-contact" => {
                let upsert: UpsertContact = i.body(&[])?;
                let keyless = [&upsert.email, &upsert.phone]
                    .iter()
                    .all(|k| k.as_deref().is_none_or(|s| s.trim().is_empty()));
                if keyless {
                    // Without a key to match on, an upsert is a create that a repeated run
                    // would make again.
                    return Err(ConnectorError::Rejected(
                        "`upsert-contact` needs `email` or `phone` to match on; use `create-contact` to create a contact without them".into(),
                    ));
                }
                out(&c.upsert_contact(&upsert).await.map_err(err)?)
            }
            "get-contacts-by-businessId" => {
                let skip = i.number("skip").unwrap_or(0.0).max(0.0) as u64;
                let limit = i.number("limit").unwrap_or(20.0).clamp(1.0, 100.0) as u32;
                let query = i.text("query");
                let page = c
                    .business_contacts(&i.id("businessId")?, skip, limit, query.as_deref())
                    .await;
                out(&page.map_err(err)?)
            }
            "add-followers-contact" => out(&c
                .add_followers(&i.id("contactId")?, &i.strings("followers"))
                .await
                .map_err(err)?),
            "remove-followers-contact" => out(&c
                .remove_followers(&i.id("contactId")?, &i.strings("followers"))
                .await
                .map_err(err)?),
            "add-contact-to-campaign" => out(&c
                .add_to_campaign(&i.id("contactId")?, &i.id("campaignId")?)
                .await
                .map_err(err)?),
            "remove-contact-from-campaign" => out(&c
                .remove_from_campaign(&i.id("contactId")?, &i.id("campaignId")?)
                .await
                .map_err(err)?),
            "remove-contact-from-every-campaign" => out(&c
                .remove_from_all_campaigns(&i.id("contactId")?)
                .await
                .map_err(err)?),
            "add-contact-to-workflow" => {
                let start = i.text("eventStartTime");
                let (contact, workflow) = (i.id("contactId")?, i.id("workflowId")?);
                out(&c
                    .add_to_workflow(&contact, &workflow, start.as_deref())
                    .await
                    .map_err(err)?)
            }
            "delete-contact-from-workflow" => out(&c
                .remove_from_workflow(&i.id("contactId")?, &i.id("workflowId")?)
                .await
                .map_err(err)?),
            "create-contact" => {
                let new: CreateContact = i.body(&[])?;
                Ok(json!({ "contact": c.create_contact(&new).await.map_err(err)? }))
            }
            "get-contacts" => {
                let limit = i.number("limit").unwrap_or(20.0).clamp(1.0, 100.0) as u32;
                let after = i.number("startAfter").map(|n| n as i64);
                let (after_id, query) = (i.text("startAfterId"), i.text("query"));
                let page = c
                    .list_contacts_legacy(limit, after_id.as_deref(), after, query.as_deref())
                    .await;
                out(&page.map_err(err)?)
            }
            other => Err(ConnectorError::Unsupported(format!(
                "GHL operation `{other}` is listed but not wired"
            ))),
        }
    }

    /// For a create whose earlier call may have happened: the record it made, looked up the way
    /// the client looks before a resend (see [`crate::Connector::find_invoked`]).
    pub async fn find_invoked_operation(
        &self,
        op: &str,
        input: &Map<String, Value>,
    ) -> Result<Option<Value>, ConnectorError> {
        let spec = spec_of(op)?;
        let i = Input {
            op: spec.id,
            map: spec.check_input(input)?,
        };
        let (c, err) = (self.client(), connector_error);
        Ok(match spec.id {
            "create-contact" => {
                let new: CreateContact = i.body(&[])?;
                let mut found = None;
                if let Some(e) = new.email.as_deref().filter(|e| !e.trim().is_empty()) {
                    found = c.find_duplicate_contact(Some(e), None).await.map_err(err)?;
                }
                if found.is_none() {
                    if let Some(p) = new.phone.as_deref().filter(|p| !p.trim().is_empty()) {
                        found = c.find_duplicate_contact(None, Some(p)).await.map_err(err)?;
                    }
                }
                found.map(|contact| json!({ "contact": contact }))
            }
            "create-task" => {
                let mut fields = i.map.clone();
                fields.entry("completed").or_insert(Value::Bool(false));
                let task: CreateTask = Input {
                    op: i.op,
                    map: fields,
                }
                .body(&["contactId"])?;
                let tasks = c.list_tasks(&i.id("contactId")?).await.map_err(err)?;
                tasks
                    .into_iter()
                    .find(|t| t.matches(&task))
                    .map(|task| json!({ "task": task }))
            }
            "create-note" => {
                let note: CreateNote = i.body(&["contactId"])?;
                let notes = c.list_notes(&i.id("contactId")?).await.map_err(err)?;
                notes
                    .into_iter()
                    .find(|n| n.matches(&note))
                    .map(|note| json!({ "note": note }))
            }
            _ => None,
        })
    }
}
