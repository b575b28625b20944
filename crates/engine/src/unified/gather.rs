//! Reading a person's records: the store's identity links say which contact each connection
//! holds; each connector then gives the contact as it is now and its tasks, notes and
//! appointments; each child's own link says which records are copies of each other.

use std::collections::BTreeSet;

use connectors::{Connector, ConnectorError, EntityKind, MatchKey, Record};
use futures_util::{stream, StreamExt};

use super::model::{AppSection, Item, PeoplePage, PersonView};
use super::summary::summarize;
use super::{UnifiedView, ViewError, Who};
use crate::flow::normalize_email;
use crate::store::{IdentityId, Page};

/// The kinds shown under a contact.
const CHILD_KINDS: [EntityKind; 3] = [EntityKind::Task, EntityKind::Note, EntityKind::Appointment];

/// People whose views are read at once in list mode.
const LIST_CONCURRENCY: usize = 4;

impl UnifiedView<'_> {
    /// Connection names, GHL connections first, then by name: the order of sections and of
    /// lookups.
    pub(crate) fn ordered_connections(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.connectors.keys().map(String::as_str).collect();
        names.sort_by_key(|n| (self.connectors[*n].app() != "ghl", *n));
        names
    }

    fn connector(&self, name: &str) -> Option<&dyn Connector> {
        self.connectors.get(name).map(|c| c.as_ref())
    }

    /// The view of one person, found by identity, contact id or email. `None` when nothing
    /// matches.
    pub async fn person(&self, who: &Who) -> Result<Option<PersonView>, ViewError> {
        match who {
            Who::Identity(id) => self.identity(*id).await,
            Who::Contact { connection, id } => self.by_contact(connection.as_deref(), id).await,
            Who::Email(email) => self.by_email(email).await,
        }
    }

    /// The view of an identity; `None` when it links no contact.
    pub async fn identity(&self, id: IdentityId) -> Result<Option<PersonView>, ViewError> {
        let links: Vec<_> = self
            .store
            .links_of(id)
            .await?
            .into_iter()
            .filter(|l| l.kind == EntityKind::Contact.as_str())
            .collect();
        if links.is_empty() {
            return Ok(None);
        }
        let reads = links
            .iter()
            .map(|l| self.section(&l.connection_id, &l.external_id));
        let mut sections = Vec::with_capacity(links.len());
        for s in futures_util::future::join_all(reads).await {
            sections.push(s?);
        }
        let order = self.ordered_connections();
        sections.sort_by_key(|s| {
            (
                order
                    .iter()
                    .position(|c| *c == s.connection)
                    .unwrap_or(usize::MAX),
                s.connection.clone(),
                s.contact_id.clone(),
            )
        });
        Ok(Some(self.person_of(Some(id), sections)))
    }

    fn person_of(&self, identity_id: Option<IdentityId>, apps: Vec<AppSection>) -> PersonView {
        PersonView {
            identity_id,
            summary: summarize(&apps, self.now),
            apps,
        }
    }

    async fn by_contact(
        &self,
        connection: Option<&str>,
        id: &str,
    ) -> Result<Option<PersonView>, ViewError> {
        let candidates: Vec<&str> = match connection {
            Some(c) if self.connectors.contains_key(c) => vec![c],
            Some(c) => {
                return Err(ViewError::Invalid(format!(
                    "no connection named `{c}` in the project (known: {})",
                    self.ordered_connections().join(", ")
                )))
            }
            None => self.ordered_connections(),
        };
        for conn in &candidates {
            if let Some(link) = self
                .store
                .find_link(conn, EntityKind::Contact.as_str(), id)
                .await?
            {
                return self.identity(link.identity_id).await;
            }
        }
        // Never linked: the contact alone, from the first app that has it.
        let mut first_error = None;
        for conn in candidates {
            let Some(c) = self.connector(conn) else {
                continue;
            };
            match c.get(EntityKind::Contact, id, None).await {
                Ok(Some(r)) if !r.deleted => {
                    let section = self.section(conn, &r.id).await?;
                    return Ok(Some(self.person_of(None, vec![section])));
                }
                Ok(_) | Err(ConnectorError::NotFound(_)) => {}
                Err(e) => {
                    first_error.get_or_insert(ViewError::Connector {
                        connection: conn.to_string(),
                        error: e,
                    });
                }
            }
        }
        first_error.map_or(Ok(None), Err)
    }

    async fn by_email(&self, email: &str) -> Result<Option<PersonView>, ViewError> {
        let Some(email) = normalize_email(email) else {
            return Err(ViewError::Invalid(format!(
                "`{email}` is not an email address"
            )));
        };
        let key = MatchKey::Email(email);
        let mut unlinked: Option<(String, Record)> = None;
        let mut first_error = None;
        for conn in self.ordered_connections() {
            let Some(c) = self.connector(conn) else {
                continue;
            };
            match c.find(EntityKind::Contact, &key).await {
                Ok(Some(r)) => {
                    if let Some(link) = self
                        .store
                        .find_link(conn, EntityKind::Contact.as_str(), &r.id)
                        .await?
                    {
                        return self.identity(link.identity_id).await;
                    }
                    unlinked.get_or_insert((conn.to_string(), r));
                }
                Ok(None) | Err(ConnectorError::Unsupported(_)) => {}
                Err(e) => {
                    first_error.get_or_insert(ViewError::Connector {
                        connection: conn.to_string(),
                        error: e,
                    });
                }
            }
        }
        match (unlinked, first_error) {
            (Some((conn, r)), _) => {
                let section = self.section(&conn, &r.id).await?;
                Ok(Some(self.person_of(None, vec![section])))
            }
            (None, Some(e)) => Err(e),
            (None, None) => Ok(None),
        }
    }

    /// Every identity that links a contact in one of the project's connections, ascending.
    pub async fn linked_people(&self) -> Result<Vec<IdentityId>, ViewError> {
        let mut ids = BTreeSet::new();
        for conn in self.connectors.keys() {
            let mut page = Page {
                limit: 1000,
                offset: 0,
            };
            loop {
                let links = self
                    .store
                    .links_in(conn, EntityKind::Contact.as_str(), page)
                    .await?;
                ids.extend(links.iter().map(|l| l.identity_id));
                if links.len() < page.limit as usize {
                    break;
                }
                page.offset += page.limit;
            }
        }
        Ok(ids.into_iter().collect())
    }

    /// One page of every linked person (ordered by identity), `limit` at most 1000.
    pub async fn list(&self, offset: usize, limit: usize) -> Result<PeoplePage, ViewError> {
        let limit = limit.clamp(1, 1000);
        let all = self.linked_people().await?;
        let page: Vec<IdentityId> = all.iter().skip(offset).take(limit).copied().collect();
        let views: Vec<Result<Option<PersonView>, ViewError>> = stream::iter(page)
            .map(|id| self.identity(id))
            .buffered(LIST_CONCURRENCY)
            .collect()
            .await;
        let mut people = Vec::with_capacity(views.len());
        for v in views {
            if let Some(p) = v? {
                people.push(p);
            }
        }
        Ok(PeoplePage {
            total: all.len(),
            offset,
            limit,
            people,
        })
    }

    /// What one connection holds of a contact. App failures become the section's problems;
    /// only a store failure fails the call.
    async fn section(&self, conn: &str, contact_id: &str) -> Result<AppSection, ViewError> {
        let mut s = AppSection {
            connection: conn.to_string(),
            app: String::new(),
            contact_id: contact_id.to_string(),
            contact: None,
            tags: Vec::new(),
            tasks: Vec::new(),
            notes: Vec::new(),
            appointments: Vec::new(),
            problems: Vec::new(),
        };
        let Some(c) = self.connector(conn) else {
            s.problems.push(format!(
                "connection `{conn}` is not in the project (it was linked by an earlier version)"
            ));
            return Ok(s);
        };
        s.app = c.app().to_string();
        match c.get(EntityKind::Contact, contact_id, None).await {
            Ok(Some(r)) if !r.deleted => {
                s.tags = r
                    .fields
                    .get("tags")
                    .and_then(|t| t.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect();
                s.contact = Some(Item::of(&r, None, self.now));
            }
            Ok(_) | Err(ConnectorError::NotFound(_)) => {
                s.problems
                    .push("the contact is gone (deleted since it was linked)".into());
                return Ok(s);
            }
            Err(e) => {
                s.problems.push(format!("reading the contact: {e}"));
                return Ok(s);
            }
        }
        let kinds = c.capabilities().kinds;
        for kind in CHILD_KINDS.into_iter().filter(|k| kinds.contains(k)) {
            let records = match c.children(kind, contact_id).await {
                Ok(r) => r,
                Err(ConnectorError::Unsupported(_)) => {
                    s.problems.push(format!(
                        "{} cannot list one contact's {kind} records",
                        s.app
                    ));
                    continue;
                }
                Err(e) => {
                    s.problems.push(format!("reading {kind} records: {e}"));
                    continue;
                }
            };
            let mut items = Vec::with_capacity(records.len());
            for r in records.iter().filter(|r| !r.deleted) {
                let link = self.store.find_link(conn, kind.as_str(), &r.id).await?;
                items.push(Item::of(r, link.map(|l| l.identity_id), self.now));
            }
            match kind {
                EntityKind::Task => {
                    // Dated tasks first, soonest first; undated ones after them.
                    items.sort_by(|a, b| {
                        (a.due_at.is_none(), a.due_at, &a.title).cmp(&(
                            b.due_at.is_none(),
                            b.due_at,
                            &b.title,
                        ))
                    });
                    s.tasks = items;
                }
                EntityKind::Note => {
                    items.sort_by_key(|a| std::cmp::Reverse(a.updated_at));
                    s.notes = items;
                }
                _ => {
                    items.sort_by_key(|a| a.start_at);
                    s.appointments = items;
                }
            }
        }
        Ok(s)
    }
}
