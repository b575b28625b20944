//! Audit of every outbound call: each connector is wrapped so that every operation the engine
//! makes (read, list, find, create, update, delete) is recorded with its method, path, outcome
//! and latency — never a secret, never field values. The job that made the call is taken from a
//! task-local set by the worker, so the dashboard can show a job's calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::Utc;
use connectors::{
    Capabilities, ChangeHint, ChangePage, Connector, ConnectorError, EntityKind, MatchKey, Record,
};
use serde_json::{Map, Value};

use crate::store::{CallAudit, ConnectionPatch, ConnectionStatus, JobId, Store};
use crate::sync::Connectors;

tokio::task_local! {
    /// The job whose work is running in this task.
    pub static CURRENT_JOB: Option<JobId>;
}

fn status_of<T>(r: &Result<T, ConnectorError>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(ConnectorError::NotFound(_)) => 404,
        Err(ConnectorError::Rejected(_)) => 422,
        Err(ConnectorError::Reconnect(_)) => 401,
        Err(ConnectorError::BadWebhook(_)) => 400,
        Err(ConnectorError::Unsupported(_)) => 501,
        Err(ConnectorError::Transient(_)) => 503,
    }
}

const REAUTH_UNKNOWN: u8 = 0;
const REAUTH_CLEAR: u8 = 1;
const REAUTH_FLAGGED: u8 = 2;

/// A connector whose calls are recorded in the store's call audit.
pub struct Audited {
    connection: String,
    inner: Arc<dyn Connector>,
    store: Arc<dyn Store>,
    /// What this wrapper last told the registry of the credentials: [`REAUTH_UNKNOWN`] at
    /// start (the registry may hold `needs_reauth` from before), [`REAUTH_CLEAR`] or
    /// [`REAUTH_FLAGGED`]; the registry is written only when this changes.
    reauth: AtomicU8,
}

impl Audited {
    async fn record<T>(
        &self,
        method: &str,
        path: String,
        started: Instant,
        result: &Result<T, ConnectorError>,
    ) {
        let status = status_of(result);
        crate::telemetry::app_call(
            &self.connection,
            self.inner.app(),
            status,
            started.elapsed(),
        );
        let call = CallAudit {
            at: Utc::now(),
            connection_id: self.connection.clone(),
            app: self.inner.app().to_string(),
            method: method.to_string(),
            path,
            status: Some(status),
            latency_ms: started.elapsed().as_millis() as u64,
            job_id: CURRENT_JOB.try_with(|j| *j).ok().flatten(),
        };
        if let Err(e) = self.store.record_call(call).await {
            tracing::warn!(error = %e, "could not record an outbound call in the audit");
        }
        self.track_reauth(result).await;
    }

    /// Keeps the connection registry's status in step with what the app says of the
    /// credentials, so the `reconnect_needed` alert and the dashboard see a dead token the
    /// moment a call finds it, and see it cleared once calls work again. Connections not in the
    /// registry (credentials only in the project file) are left alone.
    async fn track_reauth<T>(&self, result: &Result<T, ConnectorError>) {
        let to = match result {
            Err(ConnectorError::Reconnect(_)) => {
                if self.reauth.swap(REAUTH_FLAGGED, Ordering::SeqCst) == REAUTH_FLAGGED {
                    return;
                }
                ConnectionStatus::NeedsReauth
            }
            Ok(_) if self.reauth.swap(REAUTH_CLEAR, Ordering::SeqCst) != REAUTH_CLEAR => {
                match self.store.connection(&self.connection).await {
                    Ok(Some(c)) if c.status == ConnectionStatus::NeedsReauth => {}
                    _ => return,
                }
                ConnectionStatus::Active
            }
            _ => return,
        };
        if let Ok(Some(_)) = self.store.connection(&self.connection).await {
            let patch = ConnectionPatch {
                status: Some(to),
                ..ConnectionPatch::default()
            };
            match self.store.update_connection(&self.connection, patch).await {
                Ok(_) => {
                    tracing::warn!(connection = %self.connection, status = to.as_str(), "connection status changed")
                }
                Err(e) => {
                    tracing::warn!(connection = %self.connection, error = %e, "could not record the connection's status")
                }
            }
        }
    }
}

/// Wraps every connector so its calls are audited.
pub fn audited(connectors: Connectors, store: &Arc<dyn Store>) -> Connectors {
    connectors
        .into_iter()
        .map(|(name, inner)| {
            let wrapped: Arc<dyn Connector> = Arc::new(Audited {
                connection: name.clone(),
                inner,
                store: store.clone(),
                reauth: AtomicU8::new(REAUTH_UNKNOWN),
            });
            (name, wrapped)
        })
        .collect()
}

fn key_kind(key: &MatchKey) -> &'static str {
    match key {
        MatchKey::Email(_) => "email",
        MatchKey::Phone(_) => "phone",
        MatchKey::ExternalId { .. } => "external_id",
    }
}

#[async_trait]
impl Connector for Audited {
    fn app(&self) -> &str {
        self.inner.app()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    /// Not a call (no audit record): the wrapped connector's pacer state, which the scheduler
    /// and the workers must see through the wrapper.
    fn budget(&self) -> Option<connectors::Budget> {
        self.inner.budget()
    }

    fn account(&self) -> Option<String> {
        self.inner.account()
    }

    /// Not a call either: the wrapped connector's token state, for `/metrics`.
    async fn token_expires_at(&self) -> Option<chrono::DateTime<Utc>> {
        self.inner.token_expires_at().await
    }

    async fn list_changed(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        let t = Instant::now();
        let r = self.inner.list_changed(kind, cursor).await;
        self.record("GET", format!("/{kind}?changed"), t, &r).await;
        r
    }

    async fn list_all(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        let t = Instant::now();
        let r = self.inner.list_all(kind, cursor).await;
        self.record("GET", format!("/{kind}"), t, &r).await;
        r
    }

    async fn get(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
    ) -> Result<Option<Record>, ConnectorError> {
        let t = Instant::now();
        let r = self.inner.get(kind, id, parent_id).await;
        self.record("GET", format!("/{kind}/{id}"), t, &r).await;
        r
    }

    async fn find(
        &self,
        kind: EntityKind,
        key: &MatchKey,
    ) -> Result<Option<Record>, ConnectorError> {
        let t = Instant::now();
        let r = self.inner.find(kind, key).await;
        self.record("GET", format!("/{kind}?match={}", key_kind(key)), t, &r)
            .await;
        r
    }

    async fn children(
        &self,
        kind: EntityKind,
        contact_id: &str,
    ) -> Result<Vec<Record>, ConnectorError> {
        let t = Instant::now();
        let r = self.inner.children(kind, contact_id).await;
        self.record("GET", format!("/contact/{contact_id}/{kind}"), t, &r)
            .await;
        r
    }

    async fn create(
        &self,
        kind: EntityKind,
        parent_id: Option<&str>,
        fields: &Map<String, Value>,
        idempotency_key: &str,
    ) -> Result<Record, ConnectorError> {
        let t = Instant::now();
        let r = self
            .inner
            .create(kind, parent_id, fields, idempotency_key)
            .await;
        self.record("POST", format!("/{kind}"), t, &r).await;
        r
    }

    async fn update(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
        fields: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        let t = Instant::now();
        let r = self.inner.update(kind, id, parent_id, fields).await;
        self.record("PATCH", format!("/{kind}/{id}"), t, &r).await;
        r
    }

    async fn delete(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let t = Instant::now();
        let r = self.inner.delete(kind, id, parent_id).await;
        self.record("DELETE", format!("/{kind}/{id}"), t, &r).await;
        r
    }

    fn operations(&self) -> &'static [connectors::OperationSpec] {
        self.inner.operations()
    }

    /// Forwarded, so flows' `call` steps reach the app through the wrapper (the trait's default
    /// answers `Unsupported`); recorded as `CALL <operation>`, without its inputs.
    async fn invoke(
        &self,
        operation: &str,
        input: &Map<String, Value>,
    ) -> Result<Value, ConnectorError> {
        let t = Instant::now();
        let r = self.inner.invoke(operation, input).await;
        self.record("CALL", operation.to_string(), t, &r).await;
        r
    }

    async fn find_invoked(
        &self,
        operation: &str,
        input: &Map<String, Value>,
    ) -> Result<Option<Value>, ConnectorError> {
        let t = Instant::now();
        let r = self.inner.find_invoked(operation, input).await;
        self.record("GET", format!("{operation}?lookup"), t, &r)
            .await;
        r
    }

    fn parse_webhook(
        &self,
        headers: &HashMap<String, String>,
        body: &[u8],
    ) -> Result<Vec<ChangeHint>, ConnectorError> {
        self.inner.parse_webhook(headers, body)
    }
}
