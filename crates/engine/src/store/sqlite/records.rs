//! SQLite audit records, leader leases and the connection registry.

use std::time::Duration;

use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::SqliteConnection;

use super::group_commit::work;
use super::{col, db, now, time_col, ts, unsigned, SqliteStore};
use crate::store::types::*;
use crate::store::{micros, StoreError};

/// Appends a change record inside the caller's transaction.
pub(super) async fn insert_change(
    conn: &mut SqliteConnection,
    c: &ChangeAudit,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_changes (at, flow_id, identity_id, connection_id, kind, external_id, op, \
         diff, job_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .bind(ts(c.at))
    .bind(&c.flow_id)
    .bind(c.identity_id.map(|i| i.0))
    .bind(&c.connection_id)
    .bind(&c.kind)
    .bind(&c.external_id)
    .bind(c.op.as_str())
    .bind(Json(&c.diff))
    .bind(c.job_id.map(|j| j.0))
    .execute(&mut *conn)
    .await
    .map_err(db("record change"))?;
    Ok(())
}

fn change_from_row(row: &SqliteRow) -> Result<ChangeRecord, StoreError> {
    const T: &str = "audit_changes";
    let op: String = col(row, T, "op")?;
    let diff: Json<Vec<FieldDiff>> = col(row, T, "diff")?;
    Ok(ChangeRecord {
        id: col(row, T, "id")?,
        change: ChangeAudit {
            at: time_col(row, T, "at")?,
            flow_id: col(row, T, "flow_id")?,
            identity_id: col::<Option<i64>>(row, T, "identity_id")?.map(IdentityId),
            connection_id: col(row, T, "connection_id")?,
            kind: col(row, T, "kind")?,
            external_id: col(row, T, "external_id")?,
            op: ChangeOp::parse(&op).ok_or_else(|| StoreError::Corrupt {
                table: T,
                column: "op",
                why: format!("unknown op `{op}`"),
            })?,
            diff: diff.0,
            job_id: col::<Option<i64>>(row, T, "job_id")?.map(JobId),
        },
    })
}

fn call_from_row(row: &SqliteRow) -> Result<CallRecord, StoreError> {
    const T: &str = "audit_calls";
    let status: Option<i64> = col(row, T, "status")?;
    Ok(CallRecord {
        id: col(row, T, "id")?,
        call: CallAudit {
            at: time_col(row, T, "at")?,
            connection_id: col(row, T, "connection_id")?,
            app: col(row, T, "app")?,
            method: col(row, T, "method")?,
            path: col(row, T, "path")?,
            status: status.map(|s| unsigned(s, T, "status")).transpose()?,
            latency_ms: unsigned(col(row, T, "latency_ms")?, T, "latency_ms")?,
            job_id: col::<Option<i64>>(row, T, "job_id")?.map(JobId),
        },
    })
}

fn connection_from_row(row: &SqliteRow) -> Result<Connection, StoreError> {
    const T: &str = "connections";
    let settings: Json<Value> = col(row, T, "settings")?;
    let status: String = col(row, T, "status")?;
    Ok(Connection {
        id: col(row, T, "id")?,
        app: col(row, T, "app")?,
        name: col(row, T, "name")?,
        settings: settings.0,
        secret: col::<Option<Vec<u8>>>(row, T, "secret")?.map(SecretBlob),
        status: ConnectionStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
            table: T,
            column: "status",
            why: format!("unknown status `{status}`"),
        })?,
        created_at: time_col(row, T, "created_at")?,
        updated_at: time_col(row, T, "updated_at")?,
    })
}

/// Columns of a connection row.
macro_rules! conn_cols {
    () => {
        "id, app, name, settings, secret, status, created_at, updated_at"
    };
}

impl SqliteStore {
    pub(super) async fn record_call_impl(&self, c: CallAudit) -> Result<(), StoreError> {
        // Written with the next group commit, without waiting (see `group_commit`).
        self.group.record_call(&self.write, c);
        Ok(())
    }

    pub(super) async fn record_change_impl(&self, c: ChangeAudit) -> Result<(), StoreError> {
        let mut conn = self.write.acquire().await.map_err(db("record change"))?;
        insert_change(&mut conn, &c).await
    }

    pub(super) async fn calls_impl(&self, f: &CallFilter) -> Result<Vec<CallRecord>, StoreError> {
        // Every call recorded so far is visible to this read.
        self.group.flush(&self.write).await?;
        let (limit, offset) = f.page.sql();
        let rows = sqlx::query(
            "SELECT id, at, connection_id, app, method, path, status, latency_ms, job_id \
             FROM audit_calls WHERE (?1 IS NULL OR connection_id = ?1) AND (?2 IS NULL OR app = ?2) \
             AND (?3 IS NULL OR job_id = ?3) AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5) \
             ORDER BY at DESC, id DESC LIMIT ?6 OFFSET ?7",
        )
        .bind(&f.connection_id)
        .bind(&f.app)
        .bind(f.job_id.map(|j| j.0))
        .bind(f.since.map(ts))
        .bind(f.until.map(ts))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.read)
        .await
        .map_err(db("query calls"))?;
        rows.iter().map(call_from_row).collect()
    }

    pub(super) async fn changes_impl(
        &self,
        f: &ChangeFilter,
    ) -> Result<Vec<ChangeRecord>, StoreError> {
        let (limit, offset) = f.page.sql();
        let rows = sqlx::query(
            "SELECT id, at, flow_id, identity_id, connection_id, kind, external_id, op, diff, job_id \
             FROM audit_changes WHERE (?1 IS NULL OR connection_id = ?1) \
             AND (?2 IS NULL OR flow_id = ?2) AND (?3 IS NULL OR identity_id = ?3) \
             AND (?4 IS NULL OR job_id = ?4) AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at < ?6) \
             ORDER BY at DESC, id DESC LIMIT ?7 OFFSET ?8",
        )
        .bind(&f.connection_id)
        .bind(&f.flow_id)
        .bind(f.identity_id.map(|i| i.0))
        .bind(f.job_id.map(|j| j.0))
        .bind(f.since.map(ts))
        .bind(f.until.map(ts))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.read)
        .await
        .map_err(db("query changes"))?;
        rows.iter().map(change_from_row).collect()
    }

    pub(super) async fn try_lead_impl(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_string(), holder.to_string());
        let work = work(move |conn, now| {
            let (name, holder) = (name.clone(), holder.clone());
            Box::pin(async move {
                let won: Option<String> = sqlx::query_scalar(
                    "INSERT INTO leader_leases (name, holder, lease_until, acquired_at) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                       lease_until = excluded.lease_until, \
                       acquired_at = CASE WHEN leader_leases.holder = excluded.holder \
                         THEN leader_leases.acquired_at ELSE excluded.acquired_at END \
                     WHERE leader_leases.holder = excluded.holder OR leader_leases.lease_until < ?4 \
                     RETURNING holder",
                )
                .bind(&name)
                .bind(&holder)
                .bind(now.saturating_add(micros(ttl)))
                .bind(now)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db("acquire leader lease"))?;
                Ok(won.is_some())
            })
        });
        self.group.write(&self.write, work).await
    }

    pub(super) async fn release_lead_impl(
        &self,
        name: &str,
        holder: &str,
    ) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_string(), holder.to_string());
        let work = work(move |conn, _now| {
            let (name, holder) = (name.clone(), holder.clone());
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM leader_leases WHERE name = ?1 AND holder = ?2")
                    .bind(&name)
                    .bind(&holder)
                    .execute(&mut *conn)
                    .await
                    .map_err(db("release leader lease"))?;
                Ok(done.rows_affected() > 0)
            })
        });
        self.group.write(&self.write, work).await
    }

    pub(super) async fn create_connection_impl(
        &self,
        c: NewConnection,
    ) -> Result<Connection, StoreError> {
        if c.id.trim().is_empty() {
            return Err(StoreError::invalid("connection id", "must not be empty"));
        }
        let now = now();
        let row = sqlx::query(concat!(
            "INSERT INTO connections (id, app, name, settings, secret, status, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT (id) DO NOTHING \
             RETURNING ",
            conn_cols!()
        ),
        )
        .bind(&c.id)
        .bind(&c.app)
        .bind(&c.name)
        .bind(Json(&c.settings))
        .bind(c.secret.as_ref().map(|s| s.0.as_slice()))
        .bind(c.status.as_str())
        .bind(now)
        .fetch_optional(&self.write)
        .await
        .map_err(db("create connection"))?;
        match row {
            Some(row) => connection_from_row(&row),
            None => Err(StoreError::AlreadyExists {
                what: format!("connection `{}`", c.id),
            }),
        }
    }

    pub(super) async fn connection_impl(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            conn_cols!(),
            " FROM connections WHERE id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(db("read connection"))?;
        row.as_ref().map(connection_from_row).transpose()
    }

    pub(super) async fn connections_impl(&self) -> Result<Vec<Connection>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            conn_cols!(),
            " FROM connections ORDER BY id"
        ))
        .fetch_all(&self.read)
        .await
        .map_err(db("list connections"))?;
        rows.iter().map(connection_from_row).collect()
    }

    pub(super) async fn update_connection_impl(
        &self,
        id: &str,
        p: ConnectionPatch,
    ) -> Result<Connection, StoreError> {
        let (set_secret, secret) = match &p.secret {
            Some(s) => (true, s.as_ref().map(|s| s.0.as_slice())),
            None => (false, None),
        };
        let row = sqlx::query(concat!(
            "UPDATE connections SET name = COALESCE(?2, name), settings = COALESCE(?3, settings), \
             secret = CASE WHEN ?4 THEN ?5 ELSE secret END, status = COALESCE(?6, status), \
             updated_at = ?7 WHERE id = ?1 \
             RETURNING ",
            conn_cols!()
        ))
        .bind(id)
        .bind(&p.name)
        .bind(p.settings.as_ref().map(Json))
        .bind(set_secret)
        .bind(secret)
        .bind(p.status.map(|s| s.as_str()))
        .bind(now())
        .fetch_optional(&self.write)
        .await
        .map_err(db("update connection"))?;
        match row {
            Some(row) => connection_from_row(&row),
            None => Err(StoreError::not_found(format!("connection `{id}`"))),
        }
    }

    pub(super) async fn delete_connection_impl(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM connections WHERE id = ?1")
            .bind(id)
            .execute(&self.write)
            .await
            .map_err(db("delete connection"))?;
        Ok(done.rows_affected() > 0)
    }
}
