//! Start-up reconciliation of the audio store with the database after a crash.
//!
//! Uploads become durable files before their rows commit, so a crash can leave
//! (a) temporary files, removed at once, and (b) stored files with no row,
//! removed once older than a grace period (another process may be about to
//! commit one). A row whose file is missing is marked `failed` with a reason
//! instead of pointing at nothing.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use sqlx::Row;

use super::{BlobStore, Db};
use crate::clock::Millis;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub temporary_removed: usize,
    pub orphans_removed: usize,
    pub rows_missing_audio: usize,
}

pub async fn reconcile(
    db: &Db,
    blobs: &dyn BlobStore,
    grace: Duration,
    now: Millis,
) -> anyhow::Result<ReconcileReport> {
    let mut report = ReconcileReport { temporary_removed: blobs.clean_temporary().await?, ..Default::default() };
    let known: HashSet<String> = sqlx::query("SELECT sha256 FROM blobs")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| r.try_get("sha256"))
        .collect::<Result<_, _>>()?;
    let stored = blobs.list().await?;
    let stored_set: HashSet<&str> = stored.iter().map(|(s, _)| s.as_str()).collect();
    for (sha, modified) in &stored {
        let age = SystemTime::now().duration_since(*modified).unwrap_or_default();
        if !known.contains(sha) && age >= grace {
            blobs.delete(sha).await?;
            report.orphans_removed += 1;
            tracing::warn!(sha256 = %sha, "removed an orphaned audio file left by an interrupted upload");
        }
    }
    for sha in known.iter().filter(|s| !stored_set.contains(s.as_str())) {
        let mut tx = db.begin_write().await?;
        let ids: Vec<String> = sqlx::query(
            "SELECT id FROM dictations WHERE audio_sha256 = $1 AND status NOT IN ('failed', 'cancelled') \
                 AND audio_purged_at IS NULL",
        )
        .bind(sha)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
        for id in &ids {
            tracing::error!(dictation = %id, sha256 = %sha, "audio file missing from the store; marking the dictation failed");
            let reason = "the audio file is missing from the audio store";
            sqlx::query("UPDATE dictations SET status = 'failed', failure_reason = $1, updated_at = $2, version = version + 1 WHERE id = $3")
                .bind(reason)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE jobs SET status = 'failed', last_error = $1, finished_at = $2 WHERE dictation_id = $3 AND status IN ('queued', 'running')")
                .bind(reason)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            super::dictations::insert_event(&mut tx, id, now, None, "fail", None, Some("failed"), Some(reason)).await?;
        }
        report.rows_missing_audio += ids.len();
        tx.commit().await?;
    }
    Ok(report)
}
