//! Background work: the durable job queue and the transcription workers that drain it.

pub mod queue;
pub mod runtime;
pub mod settings;
pub mod transcribe;
pub mod worker;

use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

/// The idle workers of this process wait on this between polls.
pub fn waker() -> Arc<Notify> {
    static WAKE: OnceLock<Arc<Notify>> = OnceLock::new();
    WAKE.get_or_init(|| Arc::new(Notify::new())).clone()
}

/// A job was queued (committed): wake one idle worker of this process now instead of at
/// its next poll. On PostgreSQL the enqueuing transaction also sends [`NOTIFY_CHANNEL`],
/// which [`listen`] turns into the same wake-up in worker processes.
pub fn wake() {
    waker().notify_one();
}

/// The PostgreSQL channel a new job is announced on.
pub const NOTIFY_CHANNEL: &str = "dictaflow_jobs";

/// Announces a queued job to the workers of every process (PostgreSQL; a no-op on SQLite,
/// where only one process writes). Call inside the enqueuing transaction: PostgreSQL
/// delivers the notification at commit, and not at all on rollback.
pub async fn announce(tx: &mut crate::storage::Tx, backend: crate::storage::Backend) -> Result<(), sqlx::Error> {
    if backend == crate::storage::Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, '')").bind(NOTIFY_CHANNEL).execute(&mut **tx).await?;
    }
    Ok(())
}

/// On PostgreSQL, wakes this process's workers when another process queues a job, until
/// `shutdown`. Reconnects after errors; the workers' poll covers any gap.
pub async fn listen(db: crate::storage::Db, shutdown: tokio_util::sync::CancellationToken) {
    if db.backend != crate::storage::Backend::Postgres {
        return;
    }
    while !shutdown.is_cancelled() {
        let result = async {
            let mut listener = sqlx::postgres::PgListener::connect(db.url()).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            loop {
                listener.recv().await?;
                waker().notify_one();
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        let err = tokio::select! {
            Err(e) = result => e,
            _ = shutdown.cancelled() => return,
            else => return,
        };
        tracing::warn!(error = %err, "job notifications lost; relying on polling while reconnecting");
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
