//! Group commit of appended events. With `synchronous = FULL` every commit is an fsync of the
//! WAL, and a webhook is answered 200 only after its event committed; committed one by one,
//! concurrent webhooks queue on the single writer connection and pay one transaction (and one
//! fsync) each. Here the callers that arrive while a transaction is being written wait, and the
//! next transaction carries all of them: one `BEGIN IMMEDIATE … COMMIT` for the group, each
//! caller's part inside its own savepoint (a failing caller is rolled back alone), and every
//! caller is answered only after the group's COMMIT returned. The durability guarantee is
//! unchanged; only the number of fsyncs per event drops under load (an idle server still
//! commits each event at once: a group of one).

use std::sync::Arc;

use sqlx::SqlitePool;
use tokio::sync::{oneshot, Mutex};

use super::queue::append_in;
use super::{db, now};
use crate::store::types::{AppendOutcome, EventWithJobs};
use crate::store::StoreError;

const OP: &str = "append events";

/// At most this many callers share a transaction, so one commit stays short.
const MAX_GROUP: usize = 256;

type Reply = oneshot::Sender<Result<Vec<AppendOutcome>, StoreError>>;

/// Callers waiting for the next transaction, and the lock its writer holds.
#[derive(Default)]
pub(super) struct Appender {
    pending: parking_lot::Mutex<Vec<(Vec<EventWithJobs>, Reply)>>,
    leader: Arc<Mutex<()>>,
}

impl Appender {
    /// Appends `batch` (events and their jobs, atomically) and returns after it committed.
    pub(super) async fn append(
        &self,
        pool: &SqlitePool,
        batch: &[EventWithJobs],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        let (reply, mut rx) = oneshot::channel();
        self.pending.lock().push((batch.to_vec(), reply));
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

/// Writes one group in one transaction and answers every caller in it.
async fn commit_group(pool: &SqlitePool, group: Vec<(Vec<EventWithJobs>, Reply)>) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => return fail_all(group.into_iter().map(|(_, r)| r), &db(OP)(e)),
    };
    let now = now();
    let alone = group.len() == 1;
    let mut done = Vec::with_capacity(group.len());
    for (batch, reply) in group {
        if alone {
            match append_in(&mut tx, now, &batch).await {
                Ok(out) => done.push((reply, out)),
                Err(e) => {
                    let _ = reply.send(Err(e));
                    return; // rolled back when `tx` drops
                }
            }
            continue;
        }
        let step = async {
            sqlx::query("SAVEPOINT append_one")
                .execute(&mut *tx)
                .await
                .map_err(db(OP))?;
            let out = append_in(&mut tx, now, &batch).await;
            if out.is_err() {
                sqlx::query("ROLLBACK TO append_one")
                    .execute(&mut *tx)
                    .await
                    .map_err(db(OP))?;
            }
            sqlx::query("RELEASE append_one")
                .execute(&mut *tx)
                .await
                .map_err(db(OP))?;
            Ok::<_, StoreError>(out)
        };
        match step.await {
            Ok(Ok(out)) => done.push((reply, out)),
            // Only this caller's part was rolled back; nothing of it will commit.
            Ok(Err(e)) => {
                let _ = reply.send(Err(e));
            }
            // The transaction itself is broken: nobody in the group is committed.
            Err(e) => {
                let _ = reply.send(Err(shared(&e)));
                return fail_all(done.into_iter().map(|(r, _)| r), &e);
            }
        }
    }
    match tx.commit().await {
        Ok(()) => {
            for (reply, out) in done {
                let _ = reply.send(Ok(out));
            }
        }
        Err(e) => fail_all(done.into_iter().map(|(r, _)| r), &db(OP)(e)),
    }
}

fn fail_all(replies: impl Iterator<Item = Reply>, e: &StoreError) {
    for r in replies {
        let _ = r.send(Err(shared(e)));
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
