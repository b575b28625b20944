//! Group commit of the store's frequent writes. With `synchronous = FULL` every commit is an
//! fsync of the WAL, and everything written on the engine's path (appended events, claims,
//! identity locks, the call audit, identity resolution, completions) was its own transaction on
//! the single writer connection: about eight fsyncs per synced event, queued one behind the
//! other. Here the writes that arrive while a transaction is being written wait, and the next
//! transaction carries all of them: one `BEGIN IMMEDIATE … COMMIT` for the group, each caller's
//! part inside its own savepoint (a failing caller is rolled back alone; a part that is a single
//! statement needs none, since SQLite undoes a failed statement by itself), and every caller is
//! answered only after the group's COMMIT returned. The durability guarantee is unchanged ("done"
//! means committed); only the number of fsyncs drops under load (an idle server still commits
//! each write at once: a group of one).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::{oneshot, Mutex};

use super::{db, now};
use crate::store::StoreError;

/// At most this many callers share a transaction, so one commit stays short.
const MAX_GROUP: usize = 256;

/// One caller's write: runs on the group's connection inside its transaction, with the group's
/// clock (microseconds since the epoch).
pub(super) type Work<T> = Box<
    dyn for<'c> FnOnce(&'c mut SqliteConnection, i64) -> BoxFuture<'c, Result<T, StoreError>>
        + Send,
>;

/// A caller's part of a group, whatever it returns.
trait Part: Send {
    /// Runs the write; keeps its result until the group committed.
    fn write<'c>(
        &'c mut self,
        conn: &'c mut SqliteConnection,
        now: i64,
    ) -> BoxFuture<'c, Result<(), StoreError>>;
    /// A single statement: SQLite undoes it alone if it fails, so it needs no savepoint.
    fn single_statement(&self) -> bool;
    /// The group committed: answer the result.
    fn done(self: Box<Self>);
    /// This part, or the whole group, failed.
    fn failed(self: Box<Self>, e: StoreError);
}

struct Typed<T> {
    work: Option<Work<T>>,
    out: Option<T>,
    single: bool,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T: Send + 'static> Part for Typed<T> {
    fn write<'c>(
        &'c mut self,
        conn: &'c mut SqliteConnection,
        now: i64,
    ) -> BoxFuture<'c, Result<(), StoreError>> {
        Box::pin(async move {
            let work = self.work.take().ok_or_else(lost)?;
            self.out = Some(work(conn, now).await?);
            Ok(())
        })
    }

    fn single_statement(&self) -> bool {
        self.single
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
#[derive(Default)]
pub(super) struct GroupWriter {
    pending: parking_lot::Mutex<Vec<Box<dyn Part>>>,
    leader: Arc<Mutex<()>>,
}

impl GroupWriter {
    /// Runs `work` in the next group transaction and returns its result after the group
    /// committed. `work` may run several statements; if it fails, only its own part is rolled
    /// back and its error returned.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        pool: &SqlitePool,
        work: Work<T>,
    ) -> Result<T, StoreError> {
        self.submit(pool, work, false).await
    }

    /// [`GroupWriter::write`] for work that is one statement (no savepoint needed).
    pub(super) async fn write_one<T: Send + 'static>(
        &self,
        pool: &SqlitePool,
        work: Work<T>,
    ) -> Result<T, StoreError> {
        self.submit(pool, work, true).await
    }

    async fn submit<T: Send + 'static>(
        &self,
        pool: &SqlitePool,
        work: Work<T>,
        single: bool,
    ) -> Result<T, StoreError> {
        let (reply, mut rx) = oneshot::channel();
        self.pending.lock().push(Box::new(Typed {
            work: Some(work),
            out: None,
            single,
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
                    let pool = pool.clone();
                    let task = tokio::spawn(async move {
                        commit_group(&pool, group).await;
                        drop(guard);
                    });
                    let _ = task.await;
                }
            }
        }
    }
}

const OP: &str = "group commit";

/// Writes one group in one transaction and answers every caller in it.
async fn commit_group(pool: &SqlitePool, group: Vec<Box<dyn Part>>) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => return fail_all(group, &db(OP)(e)),
    };
    let now = now();
    let alone = group.len() == 1;
    let mut done: Vec<Box<dyn Part>> = Vec::with_capacity(group.len());
    for mut part in group {
        if alone || part.single_statement() {
            match part.write(&mut tx, now).await {
                Ok(()) => done.push(part),
                Err(e) if alone => return part.failed(e), // rolled back when `tx` drops
                Err(e) => part.failed(e),
            }
            continue;
        }
        let step = async {
            sqlx::query("SAVEPOINT group_part")
                .execute(&mut *tx)
                .await
                .map_err(db(OP))?;
            let out = part.write(&mut tx, now).await;
            if out.is_err() {
                sqlx::query("ROLLBACK TO group_part")
                    .execute(&mut *tx)
                    .await
                    .map_err(db(OP))?;
            }
            sqlx::query("RELEASE group_part")
                .execute(&mut *tx)
                .await
                .map_err(db(OP))?;
            Ok::<_, StoreError>(out)
        };
        match step.await {
            Ok(Ok(())) => done.push(part),
            // Only this caller's part was rolled back; nothing of it will commit.
            Ok(Err(e)) => part.failed(e),
            // The transaction itself is broken: nobody in the group is committed.
            Err(e) => {
                part.failed(shared(&e));
                return fail_all(done, &e);
            }
        }
    }
    match tx.commit().await {
        Ok(()) => {
            for part in done {
                part.done();
            }
        }
        Err(e) => fail_all(done, &db(OP)(e)),
    }
}

fn fail_all(parts: Vec<Box<dyn Part>>, e: &StoreError) {
    for p in parts {
        p.failed(shared(e));
    }
}

/// The group's error for each of its callers (the driver's error is not `Clone`).
fn shared(e: &StoreError) -> StoreError {
    db(OP)(sqlx::Error::Protocol(e.to_string()))
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
    F: for<'c> FnOnce(&'c mut SqliteConnection, i64) -> BoxFuture<'c, Result<T, StoreError>>
        + Send
        + 'static,
{
    Box::new(f)
}
