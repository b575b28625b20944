//! Operations of the generic REST contract by name, for [`Connector::invoke`]: what flows need
//! beyond the canonical record actions — reading a record as the app answers it, and deleting
//! records (there is no delete action in the flow language; `call` with these is how a flow
//! deletes in Your App, InvestNext or Invoco). Paths come from the connection's config, so a
//! re-mapped app keeps working.
//!
//! [`Connector::invoke`]: crate::Connector::invoke

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::{fill, Req, YourAppConnector};
use crate::connector::{ConnectorError, OperationEffect, OperationField, OperationSpec};
use crate::record::EntityKind;

const ID: &[OperationField] = &[OperationField {
    name: "id",
    ty: "string",
    required: true,
    description: "the record's id in the app",
}];

const DELETED: &[OperationField] = &[
    OperationField {
        name: "deleted",
        ty: "boolean",
        required: false,
        description: "true (also when the record was already gone)",
    },
    OperationField {
        name: "id",
        ty: "string",
        required: false,
        description: "the record's id",
    },
];

const fn delete(id: &'static str, path: &'static str, summary: &'static str) -> OperationSpec {
    OperationSpec {
        id,
        method: "DELETE",
        path,
        summary,
        effect: OperationEffect::Delete,
        inputs: ID,
        outputs: DELETED,
    }
}

/// The operations of the contract (the same for Your App, InvestNext and Invoco).
pub static OPERATIONS: &[OperationSpec] = &[
    OperationSpec {
        id: "get-contact",
        method: "GET",
        path: "/contacts/{id}",
        summary: "Get a contact as the app answers it",
        effect: OperationEffect::Read,
        inputs: ID,
        outputs: &[OperationField {
            name: "(record)",
            ty: "object",
            required: false,
            description: "the app's contact record (`id`, `first_name`, `tags`, `version` …)",
        }],
    },
    delete("delete-contact", "/contacts/{id}", "Delete a contact"),
    delete("delete-task", "/tasks/{id}", "Delete a task"),
    delete("delete-note", "/notes/{id}", "Delete a note"),
    delete(
        "delete-appointment",
        "/appointments/{id}",
        "Delete an appointment",
    ),
];

impl YourAppConnector {
    /// Runs one of [`OPERATIONS`] (see the module docs).
    pub async fn invoke_operation(
        &self,
        op: &str,
        input: &Map<String, Value>,
    ) -> Result<Value, ConnectorError> {
        let spec = OPERATIONS.iter().find(|o| o.id == op).ok_or_else(|| {
            let known: Vec<&str> = OPERATIONS.iter().map(|o| o.id).collect();
            ConnectorError::Unsupported(format!(
                "{} has no operation `{op}` (operations: {})",
                self.cfg.app,
                known.join(", ")
            ))
        })?;
        let input = spec.check_input(input)?;
        let id = input
            .get("id")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_string();
        let kind = match op {
            "get-contact" | "delete-contact" => EntityKind::Contact,
            "delete-task" => EntityKind::Task,
            "delete-note" => EntityKind::Note,
            _ => EntityKind::Appointment,
        };
        let path = fill(&self.kind(kind)?.item_path, Some(&id), None);
        if spec.effect == OperationEffect::Read {
            let (_, body) = self.send(Req::new(Method::GET, path)).await?;
            return Ok(body);
        }
        match self.send(Req::new(Method::DELETE, path)).await {
            Ok(_) | Err(ConnectorError::NotFound(_)) => Ok(json!({ "deleted": true, "id": id })),
            Err(e) => Err(e),
        }
    }
}
