//! Recent runs, recent events and the queue's depth.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::store::{EventFilter, EventSource, JobState, RunFilter};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::handlers::list;
use super::query::Params;
use crate::AppState;

type Q = Result<Query<HashMap<String, String>>, QueryRejection>;

/// Documentation only: one run as `/runs` lists it (the store's `Run`, serialized as is; a test keeps the two in
/// step).
#[allow(dead_code)]
#[derive(Debug, Serialize, ToSchema)]
pub struct RunOut {
    pub job_id: i64,
    pub flow_id: String,
    pub entity_key: String,
    /// `pending`, `leased`, `done` or `dead`.
    pub state: String,
    /// Failed attempts so far.
    pub attempts: u32,
    pub max_attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Webhooks merged into this run.
    pub coalesced: u32,
    pub created_at: String,
    /// When the last attempt started; null until it first ran.
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub updated_at: String,
}

/// A page of runs.
#[allow(dead_code)]
#[derive(Debug, Serialize, ToSchema)]
pub struct RunsPage {
    pub items: Vec<RunOut>,
    pub limit: u32,
    pub offset: u32,
}

/// One stored event, as `/events` lists it (the store's `Event`, serialized as is).
#[allow(dead_code)]
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub id: i64,
    pub connection_id: String,
    /// The app's event id (duplicates are recognised by it).
    pub event_key: String,
    /// `contact`, `opportunity`, …
    pub kind: String,
    pub entity_id: String,
    pub parent_id: Option<String>,
    /// `webhook`, `poll`, `reconcile` or `manual`.
    pub source: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub received_at: String,
}

/// A page of events.
#[allow(dead_code)]
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsPage {
    pub items: Vec<EventOut>,
    pub limit: u32,
    pub offset: u32,
}

/// Queue depth.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueOut {
    pub pending: u64,
    /// Pending and due now.
    pub due: u64,
    pub leased: u64,
    pub dead: u64,
    /// How long the longest-waiting due job has waited.
    pub oldest_due_age_ms: Option<u64>,
}

/// Queue depth: pending, due, leased and dead jobs.
#[utoipa::path(get, path = "/api/v1/queue", responses(
    (status = 200, body = QueueOut), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn queue(State(s): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let q = s.engine.store.queue_stats().await?;
    Ok(Json(QueueOut {
        pending: q.pending,
        due: q.due,
        leased: q.leased,
        dead: q.dead,
        oldest_due_age_ms: q.oldest_due_age_ms,
    })
    .into_response())
}

/// Recent runs (jobs in every state; finished ones until pruned), most recently changed first,
/// with attempts, last error, start, finish and duration.
#[utoipa::path(get, path = "/api/v1/runs", params(
    ("flow" = Option<String>, Query, description = "only this flow"),
    ("state" = Option<String>, Query, description = "pending, leased, done or dead"),
    ("since" = Option<String>, Query, description = "changed at or after (RFC 3339)"),
    ("limit" = Option<u32>, Query, description = "1-1000, default 100"),
    ("offset" = Option<u32>, Query)),
    responses((status = 200, body = RunsPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn runs(State(s): State<Arc<AppState>>, q: Q) -> Result<Response, ApiError> {
    let p = Params::new(q, &["flow", "state", "since", "limit", "offset"])?;
    let state = p
        .text("state")
        .map(|v| {
            JobState::parse(&v).ok_or_else(|| {
                ApiError::bad_param(
                    "state",
                    format!("`{v}` is not pending, leased, done or dead"),
                )
            })
        })
        .transpose()?;
    let filter = RunFilter {
        flow_id: p.text("flow"),
        state,
        since: p.time("since")?,
        page: p.page()?,
    };
    Ok(list(s.engine.store.list_runs(&filter).await?, filter.page))
}

/// Recent events (what webhooks, polls, reconciles and people reported), newest first.
#[utoipa::path(get, path = "/api/v1/events", params(
    ("connection" = Option<String>, Query, description = "only this connection"),
    ("kind" = Option<String>, Query, description = "only this record kind (contact, opportunity, …)"),
    ("source" = Option<String>, Query, description = "webhook, poll, reconcile or manual"),
    ("since" = Option<String>, Query, description = "received at or after (RFC 3339)"),
    ("limit" = Option<u32>, Query, description = "1-1000, default 100"),
    ("offset" = Option<u32>, Query)),
    responses((status = 200, body = EventsPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn events(State(s): State<Arc<AppState>>, q: Q) -> Result<Response, ApiError> {
    let p = Params::new(
        q,
        &["connection", "kind", "source", "since", "limit", "offset"],
    )?;
    let source = p
        .text("source")
        .map(|v| {
            EventSource::parse(&v).ok_or_else(|| {
                ApiError::bad_param(
                    "source",
                    format!("`{v}` is not webhook, poll, reconcile or manual"),
                )
            })
        })
        .transpose()?;
    let filter = EventFilter {
        connection_id: p.text("connection"),
        kind: p.text("kind"),
        source,
        since: p.time("since")?,
        page: p.page()?,
    };
    Ok(list(
        s.engine.store.list_events(&filter).await?,
        filter.page,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use engine::store::{Event, EventId, JobId, NewEvent, Run};
    use utoipa::PartialSchema;

    /// The property names of a documented schema.
    fn documented<T: PartialSchema>() -> Vec<String> {
        let v = serde_json::to_value(T::schema()).expect("schema");
        let mut keys: Vec<String> = v["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    fn served<T: Serialize>(v: &T) -> Vec<String> {
        let v = serde_json::to_value(v).expect("json");
        let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn documented_rows_match_what_the_store_serializes() {
        let run = Run {
            job_id: JobId(1),
            flow_id: "f".into(),
            entity_key: "k".into(),
            state: JobState::Done,
            attempts: 0,
            max_attempts: 5,
            last_error: None,
            coalesced: 0,
            created_at: Utc::now(),
            started_at: None,
            finished_at: None,
            duration_ms: None,
            updated_at: Utc::now(),
        };
        assert_eq!(served(&run), documented::<RunOut>());
        let event = Event {
            id: EventId(1),
            event: NewEvent {
                connection_id: "ghl".into(),
                event_key: "e".into(),
                kind: "contact".into(),
                entity_id: "c".into(),
                parent_id: None,
                source: EventSource::Webhook,
                payload: serde_json::Value::Null,
                received_at: Utc::now(),
            },
        };
        assert_eq!(served(&event), documented::<EventOut>());
    }
}
