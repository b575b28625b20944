//! Group commit of the store's frequent writes. With `synchronous = FULL` every commit is an
//! fsync of the WAL, and everything written on the engine's path (appended events, claims,
//! identity locks, the call audit, identity resolution, completions) was its own transaction on
//! the single writer connection: about eight fsyncs per synced event, queued one behind the
//! other. Here the writes that arrive while a transaction is being written wait, and the next
//! transaction carries all of them: one `BEGIN IMMEDIATE … COMMIT` for the group, and every
//! caller is answered only after the group's COMMIT returned. The durability guarantee is
//! unchanged ("done" means committed); only the number of fsyncs drops under load (an idle
//! server still commits each write at once: a group of one).
//!
//! A caller's write can fail (a lost lease, a rejected value) after others in its group wrote.
//! Savepoints around each part would isolate it, but every statement is a round trip to the
//! connection's thread, and three more per part cost more than the failures they guard against,
//! which are rare. So a group runs optimistically: if any part fails, the whole transaction is
//! rolled back and each part runs again in a transaction of its own, in the same order, so the
//! failing caller gets its own error and the others commit as if they had run one by one. This
//! is why a part's work must be runnable more than once ([`Work`] is `Fn`).
//!
//! The call audit (one row per outbound call, several per job) does not wait at all: a call's
//! row goes into a buffer that the next group writes with one multi-row insert, and a group is
//! started for it if none is coming. Every group drains the buffer, so the calls a job made are
//! committed no later than the job's own completion, which is submitted after them. What a crash
//! can lose is the audit of calls made in the last moment by work that had not completed yet
//! (that work runs again, and audits its calls again).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{oneshot, Mutex};

use super::{db, now, ts};
use crate::store::{CallAudit, StoreError};

/// At most this many callers share a transaction, so one commit stays short.
const MAX_GROUP: usize = 256;

/// One caller's write: runs on the group's connection inside its transaction, with the group's
/// clock (microseconds since the epoch). It may run a second time (see the module's doc), so it
/// clones what it captured into each run.
pub(super) type Work<T> = Box<
    dyn for<'c> Fn(&'c mut SqliteConnection, i64) -> BoxFuture<'c, Result<T, StoreError>>
        + Send
        + Sync,
>;

/// A caller's part of a group, whatever it returns.
trait Part: Send {
    /// Runs the write; keeps its result until the group committed.
    fn write<'c>(
        &'c mut self,
        conn: &'c mut SqliteConnection,
        now: i64,
    ) -> BoxFuture<'c, Result<(), StoreError>>;
    /// The group committed: answer the result.
    fn done(self: Box<Self>);
    /// This part, or the whole group, failed.
    fn failed(self: Box<Self>, e: StoreError);
}

struct Typed<T> {
    work: Work<T>,
    out: Option<T>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T: Send + 'static> Part for Typed<T> {
    fn write<'c>(
        &'c mut self,
        conn: &'c mut SqliteConnection,
        now: i64,
    ) -> BoxFuture<'c, Result<(), StoreError>> {
        Box::pin(async move {
            self.out = Some((self.work)(conn, now).await?);
            Ok(())
        })
    }

    fn done(self: Box<Self>) {
        let reply = match self.out {
            Some(out) => Ok(out),
            None => Err(lost()),
        };
        let _ = self.reply.send(reply);
    }

    fn failed(self: Box<Self>, e: StoreError) {
        let _ = self.reply.send(Err(e));
    }
}

/// Callers waiting for the next transaction, and the lock its writer holds.
#[derive(Default, Clone)]
pub(super) struct GroupWriter {
    pending: Arc<parking_lot::Mutex<Vec<Box<dyn Part>>>>,
    leader: Arc<Mutex<()>>,
    calls: Arc<CallBuffer>,
}

/// Call-audit rows waiting for the next group, and whether a group is already on its way.
#[derive(Default)]
struct CallBuffer {
    rows: parking_lot::Mutex<Vec<CallAudit>>,
    flush_scheduled: AtomicBool,
}

impl CallBuffer {
    /// Everything buffered; calls recorded after this schedule a group of their own.
    fn take(&self) -> Vec<CallAudit> {
        self.flush_scheduled.store(false, Ordering::SeqCst);
        std::mem::take(&mut *self.rows.lock())
    }
}

impl GroupWriter {
    /// Buffers a call-audit row for the next group (see the module's doc) and makes sure one
    /// comes. Does not wait.
    pub(super) fn record_call(&self, pool: &SqlitePool, call: CallAudit) {
        self.calls.rows.lock().push(call);
        if !self.calls.flush_scheduled.swap(true, Ordering::SeqCst) {
            let (me, pool) = (self.clone(), pool.clone());
            tokio::spawn(async move {
                if let Err(e) = me.flush(&pool).await {
                    tracing::warn!(error = %e, "could not write the call audit");
                }
            });
        }
    }

    /// Returns once everything buffered so far is committed (a group with nothing else in it),
    /// so a reader of the call audit sees every call made before.
    pub(super) async fn flush(&self, pool: &SqlitePool) -> Result<(), StoreError> {
        self.write(pool, work(|_, _| Box::pin(async { Ok(()) })))
            .await
    }

    /// Runs `work` in the next group transaction and returns its result after the group
    /// committed. `work` may run several statements; if it fails, none of its writes is kept
    /// and its error is returned.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        pool: &SqlitePool,
        work: Work<T>,
    ) -> Result<T, StoreError> {
        let (reply, mut rx) = oneshot::channel();
        self.pending.lock().push(Box::new(Typed {
            work,
            out: None,
            reply,
        }));
        loop {
            tokio::select! {
                biased;
                r = &mut rx => return r.unwrap_or_else(|_| Err(lost())),
                guard = self.leader.clone().lock_owned() => {
                    if let Ok(r) = rx.try_recv() {
                        return r; // committed by the previous writer
                    }
                    let group: Vec<_> = {
                        let mut p = self.pending.lock();
                        let n = p.len().min(MAX_GROUP);
                        p.drain(..n).collect()
                    };
                    if group.is_empty() {
                        continue; // answered by the previous writer; `rx` is ready
                    }
                    // The group is written by its own task, so a caller that goes away (a
                    // webhook sender that hung up) does not abandon the others' transaction.
                    let calls = self.calls.take();
                    let pool = pool.clone();
                    let task = tokio::spawn(async move {
                        commit_group(&pool, group, calls).await;
                        drop(guard);
                    });
                    let _ = task.await;
                }
            }
        }
    }
}

const OP: &str = "group commit";

/// Writes one group (and the buffered call audit) in one transaction and answers every caller
/// in it; if a part fails, writes the call audit and then every part again alone (see the
/// module's doc).
async fn commit_group(pool: &SqlitePool, mut group: Vec<Box<dyn Part>>, calls: Vec<CallAudit>) {
    if group.len() > 1 || !calls.is_empty() {
        match try_together(pool, &calls, &mut group).await {
            Ok(()) => {
                for part in group {
                    part.done();
                }
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, parts = group.len(), "a group commit failed; writing its parts one by one")
            }
        }
        if let Err(e) = calls_alone(pool, &calls).await {
            tracing::warn!(error = %e, calls = calls.len(), "could not write the call audit");
        }
    }
    for mut part in group {
        match alone(pool, part.as_mut()).await {
            Ok(()) => part.done(),
            Err(e) => part.failed(e),
        }
    }
}

/// The call audit and every part in one transaction; the first error rolls all of it back.
async fn try_together(
    pool: &SqlitePool,
    calls: &[CallAudit],
    group: &mut [Box<dyn Part>],
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db(OP))?;
    let now = now();
    insert_calls(&mut tx, calls).await?;
    for part in group.iter_mut() {
        part.write(&mut tx, now).await?;
    }
    tx.commit().await.map_err(db(OP))
}

async fn calls_alone(pool: &SqlitePool, calls: &[CallAudit]) -> Result<(), StoreError> {
    if calls.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db(OP))?;
    insert_calls(&mut tx, calls).await?;
    tx.commit().await.map_err(db(OP))
}

/// Call-audit rows, a few hundred per statement.
async fn insert_calls(conn: &mut SqliteConnection, calls: &[CallAudit]) -> Result<(), StoreError> {
    for chunk in calls.chunks(500) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO audit_calls (at, connection_id, app, method, path, status, latency_ms, job_id) ",
        );
        q.push_values(chunk, |mut row, c| {
            row.push_bind(ts(c.at))
                .push_bind(c.connection_id.clone())
                .push_bind(c.app.clone())
                .push_bind(c.method.clone())
                .push_bind(c.path.clone())
                .push_bind(c.status.map(i64::from))
                .push_bind(i64::try_from(c.latency_ms).unwrap_or(i64::MAX))
                .push_bind(c.job_id.map(|j| j.0));
        });
        q.build()
            .execute(&mut *conn)
            .await
            .map_err(db("record calls"))?;
    }
    Ok(())
}

/// One part in a transaction of its own.
async fn alone(pool: &SqlitePool, part: &mut dyn Part) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db(OP))?;
    part.write(&mut tx, now()).await?;
    tx.commit().await.map_err(db(OP))
}

fn lost() -> StoreError {
    db(OP)(sqlx::Error::Protocol(
        "the group commit ended without an answer; nothing is known to be stored, retry".into(),
    ))
}

/// Boxes a closure as [`Work`] (naming the bound lets the compiler infer the closure's
/// higher-ranked signature).
pub(super) fn work<T, F>(f: F) -> Work<T>
where
    F: for<'c> Fn(&'c mut SqliteConnection, i64) -> BoxFuture<'c, Result<T, StoreError>>
        + Send
        + Sync
        + 'static,
{
    Box::new(f)
}
