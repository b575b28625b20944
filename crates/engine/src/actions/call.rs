//! The `call` action: one operation of an app by id (`connectors::Connector::invoke`), its inputs
//! rendered against the run, its answer kept for later templates.
//!
//! **Re-running.** What a repeat does depends on the operation's declared effect
//! ([`OperationEffect`]):
//!
//! * `read` and `converges` (get, search, update, add or remove tags, followers, campaigns, bulk
//!   tag and business updates, upsert by email or phone): called on every run; a repeat leaves
//!   the app as it is.
//! * `delete`: called on every run; a record already gone counts as deleted (the answer is then
//!   `{"already_gone": true}`).
//! * `once` (creates, workflow enrollment): called **once per flow step and triggering record**
//!   (runs without a record: once per run), guarded by a marker like `create_related`'s: reserved
//!   before the call, confirmed with the answer right after it, and a repeat answers the stored
//!   answer without calling. A marker reserved but never confirmed (the run died in between) is
//!   settled by looking the result up first (`Connector::find_invoked`: GHL finds a contact by
//!   email or phone, a task by title and due date, a note by body); only when nothing is found is
//!   the operation called again.

use chrono::Utc;
use connectors::{ConnectorError, OperationEffect};
use serde_json::{json, Map, Value};

use super::run::{Marker, Run, MARKER_KIND};
use crate::flow::{render_input, InputValue};
use crate::store::{ChangeAudit, ChangeOp, FieldDiff, IdentityId, SnapshotPut};
use crate::sync::{hash_fields, SyncError};

impl Run<'_> {
    /// Runs `operation` in `connection` (see the module docs) and keeps its answer under `as_name`.
    pub(super) async fn call(
        &mut self,
        index: usize,
        connection: &str,
        operation: &str,
        input: &std::collections::BTreeMap<String, InputValue>,
        as_name: Option<&str>,
    ) -> Result<(), SyncError> {
        let ctx = self.ctx();
        let rendered = render_input(&mut self.warnings, &ctx, input);
        let target = self.connector(connection)?;
        let effect = connectors::operation_of(target.app(), operation)
            .map(|s| s.effect)
            .ok_or_else(|| {
                SyncError::Permanent(format!(
                    "`call`: {} (connection `{connection}`) has no operation `{operation}`",
                    target.app()
                ))
            })?;
        let (output, called) = match effect {
            OperationEffect::Read | OperationEffect::Converges => {
                (target.invoke(operation, &rendered).await?, true)
            }
            OperationEffect::Delete => match target.invoke(operation, &rendered).await {
                Ok(v) => (v, true),
                Err(ConnectorError::NotFound(_)) => (json!({ "already_gone": true }), false),
                Err(e) => return Err(e.into()),
            },
            OperationEffect::Once => {
                self.call_once(index, connection, operation, &rendered)
                    .await?
            }
        };
        if called && effect != OperationEffect::Read {
            self.audit_call(connection, operation, effect, &rendered);
        }
        if let Some(name) = as_name {
            self.fetched.insert(name.to_string(), output);
        }
        Ok(())
    }

    /// A `once` operation: its stored answer when a run made it already, else called now (true:
    /// called by this run).
    async fn call_once(
        &mut self,
        index: usize,
        connection: &str,
        operation: &str,
        input: &Map<String, Value>,
    ) -> Result<(Value, bool), SyncError> {
        let subject = match (&self.start, &self.job.job_id) {
            (Some(s), _) => s.r.entity_key(),
            (None, Some(job)) => format!("job {job}"),
            (None, None) => format!("at {}", self.now.timestamp_micros()),
        };
        let marker = format!("{}#{index} call {operation}@{subject}", self.flow_name());
        let target = self.connector(connection)?;
        let identity = match self.marker(connection, &marker).await? {
            Marker::Done => return Ok((self.stored_answer(connection, &marker).await?, false)),
            Marker::Fresh(identity) => identity,
            Marker::Unconfirmed(identity) => {
                if let Some(found) = target.find_invoked(operation, input).await? {
                    self.confirm_answer(identity, connection, operation, &found)
                        .await?;
                    return Ok((found, false));
                }
                identity
            }
        };
        let answer = target.invoke(operation, input).await?;
        self.confirm_answer(identity, connection, operation, &answer)
            .await?;
        Ok((answer, true))
    }

    /// Records that the marker's call was made, with its answer (for repeats).
    async fn confirm_answer(
        &self,
        identity: IdentityId,
        connection: &str,
        operation: &str,
        answer: &Value,
    ) -> Result<(), SyncError> {
        let mut fields = Map::new();
        fields.insert("flow".into(), json!(self.flow_name()));
        fields.insert("operation".into(), json!(operation));
        fields.insert("answer".into(), answer.clone());
        let hash = hash_fields(&fields);
        self.job
            .store
            .put_snapshot(SnapshotPut {
                identity_id: identity,
                connection_id: connection.to_string(),
                peer: String::new(),
                fields: Value::Object(fields),
                hash,
            })
            .await?;
        Ok(())
    }

    /// The answer a confirmed marker holds.
    async fn stored_answer(&self, connection: &str, marker: &str) -> Result<Value, SyncError> {
        let store = self.job.store;
        let Some(link) = store.find_link(connection, MARKER_KIND, marker).await? else {
            return Ok(Value::Null);
        };
        let snap = store.snapshot(link.identity_id, connection).await?;
        Ok(snap
            .and_then(|s| s.fields.get("answer").cloned())
            .unwrap_or(Value::Null))
    }

    /// Audits a write call: kind `call`, the record it names (its `contactId`, else `id`, else
    /// the operation), each input as a field.
    fn audit_call(
        &mut self,
        connection: &str,
        operation: &str,
        effect: OperationEffect,
        input: &Map<String, Value>,
    ) {
        let subject = ["contactId", "id", "taskId"]
            .iter()
            .find_map(|k| input.get(*k).and_then(Value::as_str))
            .unwrap_or(operation);
        let op = match effect {
            OperationEffect::Once => ChangeOp::Create,
            OperationEffect::Delete => ChangeOp::Delete,
            _ => ChangeOp::Update,
        };
        let mut diff = vec![FieldDiff {
            field: "operation".into(),
            before: None,
            after: Some(json!(operation)),
        }];
        diff.extend(input.iter().map(|(k, v)| FieldDiff {
            field: k.clone(),
            before: None,
            after: Some(v.clone()),
        }));
        self.commit.changes.push(ChangeAudit {
            at: Utc::now(),
            flow_id: self.flow_name().to_string(),
            identity_id: None,
            connection_id: connection.to_string(),
            kind: "call".into(),
            external_id: subject.to_string(),
            op,
            diff,
            job_id: self.job.job_id,
        });
    }
}
