//! SQLite identities, links, snapshots, cursors and the job-completion commit. Identity
//! resolution runs under `BEGIN IMMEDIATE`, so two sides resolving the same person serialize and
//! the second finds what the first created.

use crate::store::Page;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::SqliteConnection;

use super::group_commit::work;
use super::{col, db, now, time_col, SqliteStore};
use crate::store::types::*;
use crate::store::StoreError;

fn link_from_row(row: &SqliteRow) -> Result<Link, StoreError> {
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
async fn upsert_link(conn: &mut SqliteConnection, now: i64, l: &Link) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO links (identity_id, connection_id, kind, external_id, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (connection_id, kind, external_id) \
         DO UPDATE SET identity_id = excluded.identity_id, updated_at = excluded.updated_at",
    )
    .bind(l.identity_id.0)
    .bind(&l.connection_id)
    .bind(&l.kind)
    .bind(&l.external_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db("write link"))?;
    Ok(())
}

async fn upsert_snapshot(
    conn: &mut SqliteConnection,
    now: i64,
    s: &SnapshotPut,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO snapshots (identity_id, connection_id, fields, hash, updated_at, peer) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (identity_id, connection_id, peer) \
         DO UPDATE SET fields = excluded.fields, hash = excluded.hash, updated_at = excluded.updated_at",
    )
    .bind(s.identity_id.0)
    .bind(&s.connection_id)
    .bind(Json(&s.fields))
    .bind(&s.hash)
    .bind(now)
    .bind(&s.peer)
    .execute(&mut *conn)
    .await
    .map_err(db("write snapshot"))?;
    Ok(())
}

async fn upsert_cursor(
    conn: &mut SqliteConnection,
    now: i64,
    c: &CursorSet,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cursors (connection_id, stream, value, updated_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (connection_id, stream) DO UPDATE SET value = excluded.value, \
         updated_at = excluded.updated_at",
    )
    .bind(&c.connection_id)
    .bind(&c.stream)
    .bind(&c.value)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db("write cursor"))?;
    Ok(())
}

async fn delete_link(conn: &mut SqliteConnection, l: &LinkRef) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "DELETE FROM links WHERE connection_id = ?1 AND kind = ?2 AND external_id = ?3",
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
pub(super) async fn apply_commit(
    conn: &mut SqliteConnection,
    now: i64,
    c: &Commit,
) -> Result<(), StoreError> {
    for l in &c.links {
        upsert_link(conn, now, l).await?;
    }
    for l in &c.unlinks {
        delete_link(conn, l).await?;
    }
    for s in &c.snapshots {
        upsert_snapshot(conn, now, s).await?;
    }
    for ch in &c.changes {
        super::records::insert_change(conn, ch).await?;
    }
    for cur in &c.cursors {
        upsert_cursor(conn, now, cur).await?;
    }
    Ok(())
}

impl SqliteStore {
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
        let keys = clean_keys(keys)?;
        // Most calls are for a record synced before whose keys are all known: nothing to write,
        // so answer from a reader and leave the single writer to others.
        let known: Option<(i64, i64)> = sqlx::query_as(
            "SELECT l.identity_id, (SELECT COUNT(*) FROM identity_keys k WHERE k.kind = ?2 \
               AND k.key IN (SELECT value FROM json_each(?4))) \
             FROM links l WHERE l.connection_id = ?1 AND l.kind = ?2 AND l.external_id = ?3",
        )
        .bind(connection_id)
        .bind(kind)
        .bind(external_id)
        .bind(Json(&keys))
        .fetch_optional(&self.read)
        .await
        .map_err(db(OP))?;
        if let Some((id, n)) = known {
            if usize::try_from(n).is_ok_and(|n| n == keys.len()) {
                return Ok(Resolution {
                    identity_id: IdentityId(id),
                    created: false,
                });
            }
        }
        let (kind, connection_id, external_id) = (
            kind.to_string(),
            connection_id.to_string(),
            external_id.to_string(),
        );
        let work = work(move |tx, now| {
            let (kind, connection_id, external_id, keys) = (
                kind.clone(),
                connection_id.clone(),
                external_id.clone(),
                keys.clone(),
            );
            Box::pin(async move {
                let (kind, connection_id, external_id) =
                    (kind.as_str(), connection_id.as_str(), external_id.as_str());
                let linked: Option<i64> = sqlx::query_scalar(
            "SELECT identity_id FROM links WHERE connection_id = ?1 AND kind = ?2 AND external_id = ?3",
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
                        let mut owner = None;
                        for key in &keys {
                            owner = sqlx::query_scalar(
                        "SELECT identity_id FROM identity_keys WHERE kind = ?1 AND key = ?2",
                    )
                    .bind(kind)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db(OP))?;
                            if owner.is_some() {
                                break;
                            }
                        }
                        let (id, created) = match owner {
                            Some(id) => (id, false),
                            None => {
                                let id: i64 =
                            sqlx::query_scalar("INSERT INTO identities (kind, created_at) VALUES (?1, ?2) RETURNING id")
                                .bind(kind)
                                .bind(now)
                                .fetch_one(&mut *tx)
                                .await
                                .map_err(db(OP))?;
                                (id, true)
                            }
                        };
                        let link = Link {
                            identity_id: IdentityId(id),
                            connection_id: connection_id.to_string(),
                            kind: kind.to_string(),
                            external_id: external_id.to_string(),
                        };
                        upsert_link(tx, now, &link).await?;
                        Resolution {
                            identity_id: IdentityId(id),
                            created,
                        }
                    }
                };
                for key in &keys {
                    sqlx::query(
                "INSERT INTO identity_keys (kind, key, identity_id, created_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (kind, key) DO NOTHING",
            )
            .bind(kind)
            .bind(key)
            .bind(resolution.identity_id.0)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db(OP))?;
                }
                Ok(resolution)
            })
        });
        self.group.write(&self.write, work).await
    }

    pub(super) async fn links_of_impl(
        &self,
        identity_id: IdentityId,
    ) -> Result<Vec<Link>, StoreError> {
        let rows = sqlx::query(
            "SELECT identity_id, connection_id, kind, external_id FROM links WHERE identity_id = ?1 \
             ORDER BY connection_id, kind, external_id",
        )
        .bind(identity_id.0)
        .fetch_all(&self.read)
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
             WHERE connection_id = ?1 AND kind = ?2 AND external_id = ?3",
        )
        .bind(connection_id)
        .bind(kind)
        .bind(external_id)
        .fetch_optional(&self.read)
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
             WHERE connection_id = ?1 AND kind = ?2 ORDER BY external_id LIMIT ?3 OFFSET ?4",
        )
        .bind(connection_id)
        .bind(kind)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.read)
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
        let mut conn = self.write.acquire().await.map_err(db("remove link"))?;
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
        let keys = clean_keys(keys)?;
        let mut tx = self.begin(OP).await?;
        let now = now();
        let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM identities WHERE id = ?1")
            .bind(identity_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db(OP))?;
        let Some(kind) = kind else {
            return Err(StoreError::not_found(format!("identity {identity_id}")));
        };
        let mut conflicts = Vec::new();
        for key in keys {
            let owner: i64 = sqlx::query_scalar(
                "INSERT INTO identity_keys (kind, key, identity_id, created_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (kind, key) DO UPDATE SET kind = excluded.kind RETURNING identity_id",
            )
            .bind(&kind)
            .bind(&key)
            .bind(identity_id.0)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(db(OP))?;
            if owner != identity_id.0 {
                conflicts.push(KeyConflict {
                    key,
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
        sqlx::query_scalar("SELECT key FROM identity_keys WHERE identity_id = ?1 ORDER BY key")
            .bind(identity_id.0)
            .fetch_all(&self.read)
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
             WHERE identity_id = ?1 AND connection_id = ?2 AND (?3 IS NULL OR peer = ?3) \
             ORDER BY updated_at DESC, peer LIMIT 1",
        )
        .bind(identity_id.0)
        .bind(connection_id)
        .bind(peer)
        .fetch_optional(&self.read)
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
                updated_at: time_col(&row, T, "updated_at")?,
            })
        })
        .transpose()
    }

    pub(super) async fn put_snapshot_impl(&self, s: SnapshotPut) -> Result<(), StoreError> {
        let mut conn = self.write.acquire().await.map_err(db("write snapshot"))?;
        upsert_snapshot(&mut conn, now(), &s).await
    }

    pub(super) async fn cursor_impl(
        &self,
        connection_id: &str,
        stream: &str,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value FROM cursors WHERE connection_id = ?1 AND stream = ?2")
            .bind(connection_id)
            .bind(stream)
            .fetch_optional(&self.read)
            .await
            .map_err(db("read cursor"))
    }

    pub(super) async fn set_cursor_impl(&self, c: CursorSet) -> Result<(), StoreError> {
        let mut conn = self.write.acquire().await.map_err(db("write cursor"))?;
        upsert_cursor(&mut conn, now(), &c).await
    }
}
