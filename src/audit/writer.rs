//! Group commit for the audit entries requests write on their own (views, lists, queue
//! listings, logins, admin changes): each caller still waits until its entry is committed
//! before it answers, but the entries that arrive while one batch commits are appended
//! together in the next transaction. Under load that turns one committed write (and one
//! `fsync`) per request into one per batch, and on SQLite it stops dozens of requests
//! queueing for the write lock. The chain is unchanged: the batch is appended in arrival
//! order through [`store::append_all`].

use tokio::sync::{mpsc, oneshot};

use super::NewEntry;
use super::store;
use crate::clock::Millis;
use crate::storage::Db;

/// The most entries committed in one transaction.
const MAX_BATCH: usize = 256;
/// Entries waiting for the writer; callers wait for room beyond this.
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<(), String>>;

/// A handle to the writer task of one database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditWriter {
    tx: mpsc::Sender<(NewEntry, Millis, Reply)>,
}

/// The batch's transaction failed; every entry in it was rolled back.
#[derive(Debug, thiserror::Error)]
#[error("the audit entry could not be written: {0}")]
pub struct WriteFailed(pub String);

impl AuditWriter {
    /// Starts the writer task on the current runtime. It ends when the last handle is dropped.
    pub fn spawn(db: Db) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, rx));
        Self { tx }
    }

    /// Appends `entry` at `now`; returns once it is committed.
    pub async fn record(&self, entry: NewEntry, now: Millis) -> Result<(), WriteFailed> {
        let (reply, done) = oneshot::channel();
        self.tx.send((entry, now, reply)).await.map_err(|_| WriteFailed("the audit writer has stopped".into()))?;
        done.await.map_err(|_| WriteFailed("the audit writer stopped before committing".into()))?.map_err(WriteFailed)
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<(NewEntry, Millis, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let result = commit(&db, &batch).await.map_err(|e| {
            tracing::error!(error = %e, entries = batch.len(), "audit batch failed");
            e.to_string()
        });
        for (_, _, reply) in batch.drain(..) {
            // A caller that went away (request cancelled) no longer needs the answer.
            let _ = reply.send(result.clone());
        }
    }
}

async fn commit(db: &Db, batch: &[(NewEntry, Millis, Reply)]) -> Result<(), sqlx::Error> {
    let entries: Vec<(&NewEntry, Millis)> = batch.iter().map(|(e, at, _)| (e, *at)).collect();
    let mut tx = db.begin_write().await?;
    store::append_all(&mut tx, db.backend, &entries).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::action;

    #[tokio::test]
    async fn concurrent_entries_are_all_committed_on_one_linear_chain() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/a.db?mode=rwc", dir.path().display()), 4).await.unwrap();
        db.migrate().await.unwrap();
        let writer = AuditWriter::spawn(db.clone());
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let w = writer.clone();
                tokio::spawn(async move {
                    let entry = NewEntry::new(action::DICTATION_VIEW).target("dictation", &format!("d{i}"));
                    w.record(entry, 1_000 + i).await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let verified = store::verify(&db).await.unwrap().expect("the chain verifies");
        assert_eq!(verified.rows, 100);
        let mut targets: Vec<String> = store::search(&db, &store::Search { limit: 1000, ..Default::default() })
            .await
            .unwrap()
            .into_iter()
            .filter_map(|r| r.target_id)
            .collect();
        targets.sort();
        targets.dedup();
        assert_eq!(targets.len(), 100, "every entry is there once");
    }
}
