//! PostgreSQL identities, links, snapshots, cursors and the job-completion commit.
//!
//! Identity resolution relies on the unique keys of `links` and `identity_keys`: when two
//! transactions try to create an identity for the same person (same key) or to link the same
//! record, the second one's insert waits for the first and then fails with a unique violation;
//! the caller's retry re-reads and finds the winner's identity. A new identity's keys are
//! therefore inserted without `ON CONFLICT`, so a race can never split one person in two.

use crate::store::Page;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::PgConnection;

use super::{col, db, PostgresStore};
use crate::store::types::*;
use crate::store::StoreError;

fn link_from_row(row: &PgRow) -> Result<Link, StoreError> {
    const T: &str = "links";
    Ok(Link {
        identity_id: IdentityId(col(row, T, "identity_id")?),
        connection_id: col(row, T, "connection_id")?,
        kind: col(row, T, "kind")?,
        external_id: col(row, T, "external_id")?,
    })
}

fn require(what: &'static str, v: &str) -> Result<(), StoreError> {
    if v.trim().is_empty() {
        return Err(StoreError::invalid(what, "must not be empty"));
    }
    Ok(())
}

/// Creates or re-points a link.
async fn upsert_link(conn: &mut PgConnection, l: &Link) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO links (identity_id, connection_id, kind, external_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, now(), now()) ON CONFLICT (connection_id, kind, external_id) \
         DO UPDATE SET identity_id = EXCLUDED.identity_id, updated_at = EXCLUDED.updated_at",
    )
    .bind(l.identity_id.0)
    .bind(&l.connection_id)
    .bind(&l.kind)
    .bind(&l.external_id)
    .execute(&mut *conn)
    .await
    .map_err(db("write link"))?;
    Ok(())
}

async fn upsert_snapshot(conn: &mut PgConnection, s: &SnapshotPut) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO snapshots (identity_id, connection_id, fields, hash, updated_at, peer) \
         VALUES ($1, $2, $3, $4, now(), $5) ON CONFLICT (identity_id, connection_id, peer) \
         DO UPDATE SET fields = EXCLUDED.fields, hash = EXCLUDED.hash, updated_at = EXCLUDED.updated_at",
    )
    .bind(s.identity_id.0)
    .bind(&s.connection_id)
    .bind(Json(&s.fields))
    .bind(&s.hash)
    .bind(&s.peer)
    .execute(&mut *conn)
    .await
    .map_err(db("write snapshot"))?;
    Ok(())
}

async fn upsert_cursor(conn: &mut PgConnection, c: &CursorSet) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cursors (connection_id, stream, value, updated_at) VALUES ($1, $2, $3, now()) \
         ON CONFLICT (connection_id, stream) DO UPDATE SET value = EXCLUDED.value, \
         updated_at = EXCLUDED.updated_at",
    )
    .bind(&c.connection_id)
    .bind(&c.stream)
    .bind(&c.value)
    .execute(&mut *conn)
    .await
    .map_err(db("write cursor"))?;
    Ok(())
}

async fn delete_link(conn: &mut PgConnection, l: &LinkRef) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "DELETE FROM links WHERE connection_id = $1 AND kind = $2 AND external_id = $3",
    )
    .bind(&l.connection_id)
    .bind(&l.kind)
    .bind(&l.external_id)
    .execute(&mut *conn)
    .await
    .map_err(db("remove link"))?;
    Ok(done.rows_affected() > 0)
}

/// Applies everything a finished job writes, inside the caller's transaction.
pub(super) async fn apply_commit(conn: &mut PgConnection, c: &Commit) -> Result<(), StoreError> {
    for l in &c.links {
        upsert_link(conn, l).await?;
    }
    for l in &c.unlinks {
        delete_link(conn, l).await?;
    }
    for s in &c.snapshots {
        upsert_snapshot(conn, s).await?;
    }
    for ch in &c.changes {
        super::records::insert_change(conn, ch).await?;
    }
    for cur in &c.cursors {
        upsert_cursor(conn, cur).await?;
    }
    Ok(())
}

impl PostgresStore {
    /// One attempt at resolving; `keys` are already cleaned. See the module docs for races.
    pub(super) async fn resolve_impl(
        &self,
        kind: &str,
        connection_id: &str,
        external_id: &str,
        keys: &[String],
    ) -> Result<Resolution, StoreError> {
        const OP: &str = "resolve identity";
        require("identity kind", kind)?;
        require("link connection_id", connection_id)?;
        require("link external_id", external_id)?;
        let mut tx = self.begin(OP).await?;
        let linked: Option<i64> = sqlx::query_scalar(
            "SELECT identity_id FROM links WHERE connection_id = $1 AND kind = $2 AND external_id = $3",
        )
        .bind(connection_id)
        .bind(kind)
        .bind(external_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db(OP))?;
        let resolution = match linked {
            Some(id) => Resolution {
                identity_id: IdentityId(id),
                created: false,
            },
            None => {
                // The owner of the strongest (first-listed) key any identity owns.
                let owner: Option<i64> = sqlx::query_scalar(
                    "SELECT k.identity_id FROM unnest($2::text[]) WITH ORDINALITY AS wanted(key, pos) \
                     JOIN identity_keys k ON k.kind = $1 AND k.key = wanted.key \
                     ORDER BY wanted.pos LIMIT 1",
                )
                .bind(kind)
                .bind(keys)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db(OP))?;
                let (id, created) = match owner {
                    Some(id) => (id, false),
                    None => {
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO identities (kind, created_at) VALUES ($1, now()) RETURNING id",
                        )
                        .bind(kind)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db(OP))?;
                        // No ON CONFLICT: a concurrent creator of the same key must make this fail.
                        sqlx::query(
                            "INSERT INTO identity_keys (kind, key, identity_id, created_at) \
                             SELECT $1, key, $3, now() FROM unnest($2::text[]) AS wanted(key)",
                        )
                        .bind(kind)
                        .bind(keys)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db(OP))?;
                        (id, true)
                    }
                };
                // Plain insert: a concurrent link of the same record fails here and is retried.
                sqlx::query(
                    "INSERT INTO links (identity_id, connection_id, kind, external_id, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, now(), now())",
                )
                .bind(id)
                .bind(connection_id)
                .bind(kind)
                .bind(external_id)
                .execute(&mut *tx)
                .await
                .map_err(db(OP))?;
                Resolution {
                    identity_id: IdentityId(id),
                    created,
                }
            }
        };
        if !resolution.created {
            sqlx::query(
                "INSERT INTO identity_keys (kind, key, identity_id, created_at) \
                 SELECT $1, key, $3, now() FROM unnest($2::text[]) AS wanted(key) \
                 ON CONFLICT (kind, key) DO NOTHING",
            )
            .bind(kind)
            .bind(keys)
            .bind(resolution.identity_id.0)
            .execute(&mut *tx)
            .await
            .map_err(db(OP))?;
        }
        tx.commit().await.map_err(db(OP))?;
        Ok(resolution)
    }

    pub(super) async fn links_of_impl(
        &self,
        identity_id: IdentityId,
    ) -> Result<Vec<Link>, StoreError> {
        let rows = sqlx::query(
            "SELECT identity_id, connection_id, kind, external_id FROM links WHERE identity_id = $1 \
             ORDER BY connection_id, kind, external_id",
        )
        .bind(identity_id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db("read links"))?;
        rows.iter().map(link_from_row).collect()
    }

    pub(super) async fn find_link_impl(
        &self,
        connection_id: &str,
        kind: &str,
        external_id: &str,
    ) -> Result<Option<Link>, StoreError> {
        let row = sqlx::query(
            "SELECT identity_id, connection_id, kind, external_id FROM links \
             WHERE connection_id = $1 AND kind = $2 AND external_id = $3",
        )
        .bind(connection_id)
        .bind(kind)
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("find link"))?;
        row.as_ref().map(link_from_row).transpose()
    }

    pub(super) async fn links_in_impl(
        &self,
        connection_id: &str,
        kind: &str,
        page: Page,
    ) -> Result<Vec<Link>, StoreError> {
        let (limit, offset) = page.sql();
        let rows = sqlx::query(
            "SELECT identity_id, connection_id, kind, external_id FROM links \
             WHERE connection_id = $1 AND kind = $2 ORDER BY external_id LIMIT $3 OFFSET $4",
        )
        .bind(connection_id)
        .bind(kind)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list links"))?;
        rows.iter().map(link_from_row).collect()
    }

    pub(super) async fn remove_link_impl(
        &self,
        connection_id: &str,
        kind: &str,
        external_id: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db("remove link"))?;
        let link = LinkRef {
            connection_id: connection_id.to_string(),
            kind: kind.to_string(),
            external_id: external_id.to_string(),
        };
        delete_link(&mut conn, &link).await
    }

    pub(super) async fn add_keys_impl(
        &self,
        identity_id: IdentityId,
        keys: &[String],
    ) -> Result<Vec<KeyConflict>, StoreError> {
        const OP: &str = "add identity keys";
        let mut tx = self.begin(OP).await?;
        let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM identities WHERE id = $1")
            .bind(identity_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db(OP))?;
        let Some(kind) = kind else {
            return Err(StoreError::not_found(format!("identity {identity_id}")));
        };
        let mut conflicts = Vec::new();
        for key in keys {
            // The no-op update makes RETURNING report the owner of an existing key.
            let owner: i64 = sqlx::query_scalar(
                "INSERT INTO identity_keys (kind, key, identity_id, created_at) VALUES ($1, $2, $3, now()) \
                 ON CONFLICT (kind, key) DO UPDATE SET kind = EXCLUDED.kind RETURNING identity_id",
            )
            .bind(&kind)
            .bind(key)
            .bind(identity_id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db(OP))?;
            if owner != identity_id.0 {
                conflicts.push(KeyConflict {
                    key: key.clone(),
                    identity_id: IdentityId(owner),
                });
            }
        }
        tx.commit().await.map_err(db(OP))?;
        Ok(conflicts)
    }

    pub(super) async fn keys_of_impl(
        &self,
        identity_id: IdentityId,
    ) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT key FROM identity_keys WHERE identity_id = $1 ORDER BY key")
            .bind(identity_id.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db("read identity keys"))
    }

    pub(super) async fn snapshot_impl(
        &self,
        identity_id: IdentityId,
        connection_id: &str,
        peer: Option<&str>,
    ) -> Result<Option<Snapshot>, StoreError> {
        const T: &str = "snapshots";
        // `peer` NULL: any peer, the latest first.
        let row = sqlx::query(
            "SELECT identity_id, connection_id, peer, fields, hash, updated_at FROM snapshots \
             WHERE identity_id = $1 AND connection_id = $2 AND ($3::TEXT IS NULL OR peer = $3) \
             ORDER BY updated_at DESC, peer LIMIT 1",
        )
        .bind(identity_id.0)
        .bind(connection_id)
        .bind(peer)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read snapshot"))?;
        row.map(|row| {
            let fields: Json<Value> = col(&row, T, "fields")?;
            Ok(Snapshot {
                identity_id: IdentityId(col(&row, T, "identity_id")?),
                connection_id: col(&row, T, "connection_id")?,
                peer: col(&row, T, "peer")?,
                fields: fields.0,
                hash: col(&row, T, "hash")?,
                updated_at: col(&row, T, "updated_at")?,
            })
        })
        .transpose()
    }

    pub(super) async fn put_snapshot_impl(&self, s: SnapshotPut) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db("write snapshot"))?;
        upsert_snapshot(&mut conn, &s).await
    }

    pub(super) async fn cursor_impl(
        &self,
        connection_id: &str,
        stream: &str,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value FROM cursors WHERE connection_id = $1 AND stream = $2")
            .bind(connection_id)
            .bind(stream)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read cursor"))
    }

    pub(super) async fn set_cursor_impl(&self, c: CursorSet) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db("write cursor"))?;
        upsert_cursor(&mut conn, &c).await
    }
}
