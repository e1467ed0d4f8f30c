//! Retention: a dictation's audio is deleted `retention.audio_days_after_dispatch` days
//! after the letter was dispatched. The dictation row, its letter and history stay; the
//! row records `audio_purged_at`, and each purge is written to the audit trail. A file
//! shared by several dictations (identical uploads) goes when the last of them is purged.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use crate::audit::{NewEntry, action, store as audit};
use crate::clock::{Clock, Millis};
use crate::storage::{BlobStore, Db};

const DAY_MS: Millis = 86_400_000;
/// How often the server looks for audio to purge.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Purges the audio of every dictation dispatched at least `days` days before `now`;
/// returns the dictation ids purged. `days == 0` keeps audio forever.
pub async fn purge_due(db: &Db, blobs: &dyn BlobStore, days: u32, now: Millis) -> anyhow::Result<Vec<String>> {
    if days == 0 {
        return Ok(Vec::new());
    }
    let cutoff = now - i64::from(days) * DAY_MS;
    let due = sqlx::query(
        "SELECT d.id, d.audio_sha256, MAX(e.at) AS dispatched_at FROM dictations d \
         JOIN events e ON e.dictation_id = d.id AND e.to_status = 'dispatched' \
         WHERE d.status = 'dispatched' AND d.audio_purged_at IS NULL \
         GROUP BY d.id, d.audio_sha256 HAVING MAX(e.at) <= $1 ORDER BY MAX(e.at) LIMIT 500",
    )
    .bind(cutoff)
    .fetch_all(&db.pool)
    .await?;
    let mut purged = Vec::with_capacity(due.len());
    for row in &due {
        let id: String = row.try_get("id")?;
        let sha: String = row.try_get("audio_sha256")?;
        let dispatched_at: i64 = row.try_get("dispatched_at")?;
        let mut tx = db.begin_write().await?;
        let done = sqlx::query("UPDATE dictations SET audio_purged_at = $1 WHERE id = $2 AND audio_purged_at IS NULL")
            .bind(now)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            continue; // another process purged it first
        }
        let still_used: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM dictations WHERE audio_sha256 = $1 AND audio_purged_at IS NULL")
                .bind(&sha)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        let details = json!({
            "sha256": sha, "dispatched_at": crate::clock::rfc3339(dispatched_at),
            "retention_days": days, "file_deleted": still_used == 0,
        });
        let mut entry = NewEntry::new(action::AUDIO_PURGE).target("dictation", &id).details(details);
        entry.actor = Some("retention".into());
        audit::append(&mut tx, db.backend, &entry, now).await?;
        tx.commit().await?;
        if still_used == 0 {
            blobs.delete(&sha).await?;
        }
        tracing::info!(dictation = %id, "audio purged under the retention policy");
        purged.push(id);
    }
    Ok(purged)
}

/// Sweeps every few minutes until `shutdown`.
pub async fn run(db: Db, blobs: Arc<dyn BlobStore>, clock: Clock, days: u32, shutdown: CancellationToken) {
    if days == 0 {
        return;
    }
    loop {
        if let Err(e) = purge_due(&db, blobs.as_ref(), days, clock.now_ms()).await {
            tracing::error!(error = ?e, "retention sweep failed; retrying later");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}
