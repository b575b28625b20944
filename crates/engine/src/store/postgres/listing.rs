//! PostgreSQL: the admin API's listings (recent events, recent runs) and flow overrides.

use sqlx::postgres::PgRow;

use super::queue::event_from_row;
use super::{col, db, unsigned, PostgresStore};
use crate::store::types::*;
use crate::store::StoreError;

fn run_from_row(row: &PgRow) -> Result<Run, StoreError> {
    const T: &str = "jobs";
    let state: String = col(row, T, "state")?;
    Ok(Run {
        job_id: JobId(col(row, T, "id")?),
        flow_id: col(row, T, "flow_id")?,
        entity_key: col(row, T, "entity_key")?,
        state: JobState::parse(&state).ok_or_else(|| StoreError::Corrupt {
            table: T,
            column: "state",
            why: format!("unknown state `{state}`"),
        })?,
        attempts: unsigned(col(row, T, "attempts")?, T, "attempts")?,
        max_attempts: unsigned(col(row, T, "max_attempts")?, T, "max_attempts")?,
        last_error: col(row, T, "last_error")?,
        coalesced: unsigned(col(row, T, "coalesced")?, T, "coalesced")?,
        created_at: col(row, T, "created_at")?,
        started_at: col(row, T, "started_at")?,
        finished_at: col(row, T, "finished_at")?,
        duration_ms: None,
        updated_at: col(row, T, "updated_at")?,
    }
    .with_duration())
}

impl PostgresStore {
    pub(super) async fn list_events_impl(
        &self,
        filter: &EventFilter,
    ) -> Result<Vec<Event>, StoreError> {
        let (limit, offset) = filter.page.sql();
        let rows = sqlx::query(
            "SELECT id, connection_id, event_key, kind, entity_id, parent_id, source, payload, \
             received_at FROM events \
             WHERE ($1::text IS NULL OR connection_id = $1) AND ($2::text IS NULL OR kind = $2) \
               AND ($3::text IS NULL OR source = $3) \
               AND ($4::timestamptz IS NULL OR received_at >= $4) \
             ORDER BY id DESC LIMIT $5 OFFSET $6",
        )
        .bind(&filter.connection_id)
        .bind(&filter.kind)
        .bind(filter.source.map(EventSource::as_str))
        .bind(filter.since)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list events"))?;
        rows.iter().map(event_from_row).collect()
    }

    pub(super) async fn list_runs_impl(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError> {
        let (limit, offset) = filter.page.sql();
        let rows = sqlx::query(
            "SELECT id, flow_id, entity_key, state, attempts, max_attempts, last_error, coalesced, \
             created_at, started_at, finished_at, updated_at FROM jobs \
             WHERE ($1::text IS NULL OR flow_id = $1) AND ($2::text IS NULL OR state = $2) \
               AND ($3::timestamptz IS NULL OR updated_at >= $3) \
             ORDER BY updated_at DESC, id DESC LIMIT $4 OFFSET $5",
        )
        .bind(&filter.flow_id)
        .bind(filter.state.map(JobState::as_str))
        .bind(filter.since)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list runs"))?;
        rows.iter().map(run_from_row).collect()
    }

    pub(super) async fn flow_states_impl(&self) -> Result<Vec<FlowState>, StoreError> {
        const T: &str = "flow_state";
        let rows =
            sqlx::query("SELECT flow_id, enabled, updated_at FROM flow_state ORDER BY flow_id")
                .fetch_all(&self.pool)
                .await
                .map_err(db("read flow overrides"))?;
        rows.iter()
            .map(|r| {
                Ok(FlowState {
                    flow_id: col(r, T, "flow_id")?,
                    enabled: col(r, T, "enabled")?,
                    updated_at: col(r, T, "updated_at")?,
                })
            })
            .collect()
    }

    pub(super) async fn set_flow_state_impl(
        &self,
        flow_id: &str,
        enabled: Option<bool>,
    ) -> Result<(), StoreError> {
        const OP: &str = "set flow override";
        let q = match enabled {
            Some(on) => sqlx::query(
                "INSERT INTO flow_state (flow_id, enabled, updated_at) VALUES ($1, $2, now()) \
                 ON CONFLICT (flow_id) DO UPDATE SET enabled = $2, updated_at = now()",
            )
            .bind(flow_id)
            .bind(on),
            None => sqlx::query("DELETE FROM flow_state WHERE flow_id = $1").bind(flow_id),
        };
        q.execute(&self.pool).await.map_err(db(OP))?;
        Ok(())
    }
}
