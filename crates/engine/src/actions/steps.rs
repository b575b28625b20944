//! The actions themselves. Each writes only what is not so already, so a job that runs again
//! (retry, redelivered webhook, the flow's own write coming back) changes nothing twice.

use connectors::{ConnectorError, EntityKind, Record};
use serde_json::{Map, Value};

use super::run::{idempotency_key, same_item, stable_hash, Marker, Run};
use crate::flow::{
    edit_tags, related_fields, render, render_fields, render_tags, tags_of, Action, Direction,
    FieldValue, Mapping, MatchOn, RelatedItem, Template,
};
use crate::store::{ChangeOp, FieldDiff, Link};
use crate::sync::keys;
use crate::sync::{diff_of, same, SyncError};

/// `fields` plus the record's version, for apps that write only if it is still current.
fn with_version(fields: &Map<String, Value>, current: &Record) -> Map<String, Value> {
    let mut send = fields.clone();
    if let Some(v) = current.fields.get("x.version") {
        send.insert("x.version".into(), v.clone());
    }
    send
}

impl Run<'_> {
    /// Runs one action (`index` is its place in the flow, part of its markers).
    pub async fn step(&mut self, index: usize, action: &Action) -> Result<(), SyncError> {
        match action {
            Action::Upsert {
                connection,
                kind,
                match_on,
                mapping,
            } => {
                self.upsert(index, connection, *kind, match_on, mapping)
                    .await
            }
            Action::CreateRelated {
                connection,
                kind,
                items,
            } => self.create_related(index, connection, *kind, items).await,
            Action::Update {
                connection,
                kind,
                set,
            } => self.update(connection, *kind, set).await,
            Action::CompleteTask { connection, title } => {
                self.complete_task(connection, title.as_ref()).await
            }
            Action::AddTags { connection, tags } => self.tags(index, connection, tags, true).await,
            Action::RemoveTags { connection, tags } => {
                self.tags(index, connection, tags, false).await
            }
            Action::AddNote { connection, body } => self.add_note(index, connection, body).await,
            Action::FetchRelated {
                connection,
                kind,
                as_name,
            } => self.fetch_related(connection, *kind, as_name).await,
            Action::Call {
                connection,
                operation,
                input,
                as_name,
            } => {
                self.call(index, connection, operation, input, as_name.as_deref())
                    .await
            }
            Action::Report { kind, format, to } => self.report(*kind, *format, to).await,
        }
    }

    /// Maps the triggering record into `connection` and creates or updates it there, linking
    /// both in the store as a sync does. Without a triggering record (scheduled runs) the
    /// mapping's constants and templates make the record.
    async fn upsert(
        &mut self,
        index: usize,
        connection: &str,
        kind: EntityKind,
        match_on: &[MatchOn],
        mapping: &Mapping,
    ) -> Result<(), SyncError> {
        let source = match &self.start {
            Some(s) => s.record.clone(),
            None => Record::new(kind, "", Map::new()),
        };
        let out = mapping.apply(&source, Direction::ToTarget);
        self.warnings.extend(out.warnings);
        let mapped = out.fields;
        // Keys of what the target will hold first (a mapping may change the email), then the
        // source's own.
        let mut keys = keys::keys_of(&Record::new(kind, "", mapped.clone()), match_on);
        if source.kind == kind {
            for k in keys::keys_of(&source, match_on) {
                if !keys.iter().any(|(s, _)| *s == k.0) {
                    keys.push(k);
                }
            }
        }
        let source_ref = self
            .start
            .as_ref()
            .filter(|s| s.record.kind == kind && s.r.connection != connection)
            .map(|s| (s.r.connection.clone(), s.record.id.clone()));
        let store = self.job.store;
        let identity = match &source_ref {
            Some((conn, id)) => {
                let mut strings: Vec<String> = keys.iter().map(|(s, _)| s.clone()).collect();
                strings.push(keys::external_key(conn, kind, id));
                Some(
                    store
                        .resolve_identity(kind.as_str(), conn, id, &strings)
                        .await?
                        .identity_id,
                )
            }
            None => None,
        };
        let target = self.connector(connection)?;
        let parent = match kind.has_parent() {
            true => Some(self.contact_id_in(connection, "upsert").await?),
            false => None,
        };
        let mut existing = None;
        if let Some(identity) = identity {
            let link = store
                .links_of(identity)
                .await?
                .into_iter()
                .find(|l| l.connection_id == connection && l.kind == kind.as_str());
            if let Some(l) = link {
                existing = target.get(kind, &l.external_id, parent.as_deref()).await?;
            }
        }
        if existing.as_ref().is_none_or(|e| e.deleted) {
            existing = self.find(connection, kind, &keys).await?;
        }
        let target_id = match existing.filter(|e| !e.deleted) {
            Some(current) => {
                let wanted: Map<String, Value> = mapped
                    .iter()
                    .filter(|(k, v)| !same(current.fields.get(*k), Some(v)))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !wanted.is_empty() {
                    let send = with_version(&wanted, &current);
                    let after = target
                        .update(kind, &current.id, parent.as_deref(), &send)
                        .await?;
                    let diff = diff_of(&current.fields, &wanted);
                    self.audit(
                        identity,
                        connection,
                        (kind, &current.id),
                        ChangeOp::Update,
                        diff,
                    );
                    self.remember(connection, &after);
                }
                current.id
            }
            None => {
                // Stable for this logical create: the source's identity, or (no source) this run.
                let who = match (identity, &self.job.job_id) {
                    (Some(i), _) => format!("identity {i}"),
                    (None, Some(job)) => format!("job {job}"),
                    (None, None) => format!("at {}", self.now.timestamp_micros()),
                };
                let idem = idempotency_key(&format!(
                    "{}#{index} upsert {kind} into {connection} for {who}",
                    self.flow_name()
                ));
                let created = target
                    .create(kind, parent.as_deref(), &mapped, &idem)
                    .await?;
                // Linked at once, not only in the commit: should a later step fail, the retry
                // finds the record by its link (records without match keys, such as tasks,
                // could otherwise be created twice in apps that take no idempotency key). The
                // source's `ext:` key, attached to its identity above, names that identity.
                if let Some((conn, id)) = &source_ref {
                    store
                        .resolve_identity(
                            kind.as_str(),
                            connection,
                            &created.id,
                            &[keys::external_key(conn, kind, id)],
                        )
                        .await?;
                }
                let diff = diff_of(&Map::new(), &mapped);
                self.audit(
                    identity,
                    connection,
                    (kind, &created.id),
                    ChangeOp::Create,
                    diff,
                );
                created.id
            }
        };
        if let (Some(identity), Some((conn, id))) = (identity, source_ref) {
            for (c, x) in [(conn, id), (connection.to_string(), target_id)] {
                self.commit.links.push(Link {
                    identity_id: identity,
                    connection_id: c,
                    kind: kind.as_str().into(),
                    external_id: x,
                });
            }
        }
        Ok(())
    }

    /// Creates each item once under the triggering contact.
    async fn create_related(
        &mut self,
        index: usize,
        connection: &str,
        kind: EntityKind,
        items: &[RelatedItem],
    ) -> Result<(), SyncError> {
        let contact = self.contact_id_in(connection, "create_related").await?;
        for (i, item) in items.iter().enumerate() {
            let ctx = self.ctx();
            let fields = related_fields(&mut self.warnings, &ctx, item, self.now);
            let marker = format!("{}#{index}.{i}@{contact}", self.flow_name());
            self.create_once(connection, kind, &contact, &marker, fields)
                .await?;
        }
        Ok(())
    }

    /// Adds a note to the triggering contact, once per text.
    async fn add_note(
        &mut self,
        index: usize,
        connection: &str,
        body: &Template,
    ) -> Result<(), SyncError> {
        let ctx = self.ctx();
        let text = render(&mut self.warnings, &ctx, "body", body);
        if text.trim().is_empty() {
            tracing::warn!(flow = %self.flow_name(), "add_note: the note renders empty; not added");
            return Ok(());
        }
        let contact = self.contact_id_in(connection, "add_note").await?;
        let marker = format!(
            "{}#{index}:{:016x}@{contact}",
            self.flow_name(),
            stable_hash(&text, 0)
        );
        let mut fields = Map::new();
        fields.insert("body".into(), Value::String(text));
        self.create_once(connection, EntityKind::Note, &contact, &marker, fields)
            .await
    }

    /// Creates a child of `contact` unless its marker says it was made (see `run`).
    async fn create_once(
        &mut self,
        connection: &str,
        kind: EntityKind,
        contact: &str,
        marker: &str,
        fields: Map<String, Value>,
    ) -> Result<(), SyncError> {
        let identity = match self.marker(connection, marker).await? {
            Marker::Done => return Ok(()),
            Marker::Fresh(identity) => identity,
            Marker::Unconfirmed(identity) => {
                // An earlier attempt reserved it and may have made it before failing.
                let existing = self.related(connection, kind, contact).await?;
                if let Some(made) = existing.iter().find(|r| same_item(r, &fields)) {
                    self.confirm(identity, connection, made).await?;
                    return Ok(());
                }
                identity
            }
        };
        let target = self.connector(connection)?;
        let created = target
            .create(kind, Some(contact), &fields, &idempotency_key(marker))
            .await?;
        self.confirm(identity, connection, &created).await?;
        let diff = diff_of(&Map::new(), &fields);
        self.audit(
            None,
            connection,
            (kind, &created.id),
            ChangeOp::Create,
            diff,
        );
        Ok(())
    }

    /// Sets fields on the triggering record, or on its linked record in `connection`.
    async fn update(
        &mut self,
        connection: &str,
        kind: EntityKind,
        set: &std::collections::BTreeMap<String, FieldValue>,
    ) -> Result<(), SyncError> {
        let ctx = self.ctx();
        let fields = render_fields(&mut self.warnings, &ctx, set.iter());
        let start = self.start_or_err("update")?;
        let current = if start.r.connection == connection {
            start.record.clone()
        } else {
            let (conn, id) = (start.r.connection.clone(), start.record.id.clone());
            let linked = self.linked_id(&conn, kind, &id, connection).await?;
            let linked = linked.ok_or_else(|| {
                SyncError::Retry(format!(
                    "`update`: {kind} {id} of `{conn}` is not linked to `{connection}` yet"
                ))
            })?;
            let parent = match kind.has_parent() {
                true => Some(self.contact_id_in(connection, "update").await?),
                false => None,
            };
            let found = self
                .connector(connection)?
                .get(kind, &linked, parent.as_deref())
                .await?;
            match found.filter(|r| !r.deleted) {
                Some(r) => r,
                None => {
                    tracing::warn!(flow = %self.flow_name(), %kind, id = %linked, connection, "update: the linked record is gone; skipped");
                    return Ok(());
                }
            }
        };
        let wanted: Map<String, Value> = fields
            .into_iter()
            .filter(|(k, v)| !same(current.fields.get(k), Some(v)))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let after = self
            .connector(connection)?
            .update(
                kind,
                &current.id,
                current.parent_id.as_deref(),
                &with_version(&wanted, &current),
            )
            .await?;
        let diff = diff_of(&current.fields, &wanted);
        self.audit(
            None,
            connection,
            (kind, &current.id),
            ChangeOp::Update,
            diff,
        );
        self.remember(connection, &after);
        Ok(())
    }

    /// Completes the triggering task, or the contact's open tasks titled `title` (every open
    /// task so titled in the connection when the run has no record).
    async fn complete_task(
        &mut self,
        connection: &str,
        title: Option<&Template>,
    ) -> Result<(), SyncError> {
        let Some(title) = title else {
            let start = self.start_or_err("complete_task")?;
            if start.record.kind != EntityKind::Task {
                return Err(SyncError::Permanent(format!(
                    "`complete_task` without `title` completes the triggering task, but the run is about a {}",
                    start.record.kind
                )));
            }
            let task = if start.r.connection == connection {
                Some(start.record.clone())
            } else {
                let (conn, id) = (start.r.connection.clone(), start.record.id.clone());
                let linked = self
                    .linked_id(&conn, EntityKind::Task, &id, connection)
                    .await?;
                let linked = linked.ok_or_else(|| {
                    SyncError::Retry(format!(
                        "`complete_task`: task {id} of `{conn}` is not linked to `{connection}` yet"
                    ))
                })?;
                let parent = self.contact_id_in(connection, "complete_task").await?;
                self.connector(connection)?
                    .get(EntityKind::Task, &linked, Some(&parent))
                    .await?
            };
            return match task {
                Some(t) => self.complete(connection, t).await,
                None => Ok(()),
            };
        };
        let ctx = self.ctx();
        let title = render(&mut self.warnings, &ctx, "title", title);
        let tasks = match self.start {
            Some(_) => {
                let contact = self.contact_id_in(connection, "complete_task").await?;
                self.related(connection, EntityKind::Task, &contact).await?
            }
            None => self.all_of(connection, EntityKind::Task, None).await?,
        };
        for t in tasks {
            let titled = t
                .text("title")
                .is_some_and(|x| x.trim().eq_ignore_ascii_case(title.trim()));
            if titled {
                self.complete(connection, t).await?;
            }
        }
        Ok(())
    }

    async fn complete(&mut self, connection: &str, task: Record) -> Result<(), SyncError> {
        let before = task.fields.get("completed").cloned();
        if before == Some(Value::Bool(true)) || task.deleted {
            return Ok(());
        }
        let mut fields = Map::new();
        fields.insert("completed".into(), Value::Bool(true));
        let after = self
            .connector(connection)?
            .update(
                EntityKind::Task,
                &task.id,
                task.parent_id.as_deref(),
                &with_version(&fields, &task),
            )
            .await?;
        let diff = vec![FieldDiff {
            field: "completed".into(),
            before,
            after: Some(Value::Bool(true)),
        }];
        self.audit(
            None,
            connection,
            (EntityKind::Task, &task.id),
            ChangeOp::Update,
            diff,
        );
        self.remember(connection, &after);
        Ok(())
    }

    /// Adds or removes the contact's tags: one tag at a time where the app can (no lost update
    /// of tags someone else changes meanwhile), else by writing the contact's `tags` field.
    async fn tags(
        &mut self,
        index: usize,
        connection: &str,
        tags: &[Template],
        adding: bool,
    ) -> Result<(), SyncError> {
        let ctx = self.ctx();
        let names: Vec<String> = render_tags(&mut self.warnings, &ctx, tags)
            .into_iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        let action = if adding { "add_tags" } else { "remove_tags" };
        let contact = self.contact_in(connection, action).await?;
        let before = tags_of(&contact.fields);
        let after = edit_tags(&before, &names, adding);
        if after == before {
            return Ok(());
        }
        let changed: Vec<String> = if adding {
            after
                .iter()
                .filter(|t| !before.contains(t))
                .cloned()
                .collect()
        } else {
            before
                .iter()
                .filter(|t| !after.contains(t))
                .cloned()
                .collect()
        };
        let target = self.connector(connection)?;
        for tag in &changed {
            let done = if adding {
                let mut f = Map::new();
                f.insert("name".into(), Value::String(tag.clone()));
                let idem = idempotency_key(&format!(
                    "{}#{index} tag {tag}@{}",
                    self.flow_name(),
                    contact.id
                ));
                target
                    .create(EntityKind::Tag, Some(&contact.id), &f, &idem)
                    .await
                    .map(drop)
            } else {
                target.delete(EntityKind::Tag, tag, Some(&contact.id)).await
            };
            match done {
                Ok(()) => {}
                Err(ConnectorError::Unsupported(_)) => {
                    let mut f = Map::new();
                    f.insert("tags".into(), Value::from(after.clone()));
                    target
                        .update(
                            EntityKind::Contact,
                            &contact.id,
                            None,
                            &with_version(&f, &contact),
                        )
                        .await?;
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let diff = vec![FieldDiff {
            field: "tags".into(),
            before: Some(Value::from(before)),
            after: Some(Value::from(after.clone())),
        }];
        self.audit(
            None,
            connection,
            (EntityKind::Contact, &contact.id),
            ChangeOp::Update,
            diff,
        );
        // The contact's version moved: read it again if a later step needs it; templates see
        // the new tags now.
        let mut now = contact;
        now.fields.insert("tags".into(), Value::from(after));
        self.remember(connection, &now);
        self.contacts.remove(connection);
        Ok(())
    }
}
