//! Start-up reconciliation of the audio store with the database after a crash.
//!
//! Uploads become durable files before their rows commit, so a crash can leave
//! (a) temporary files, removed once their process is provably gone and they are older
//! than a grace period, and (b) stored files with no row, removed once older than the
//! grace period (another process may be about to commit one). A row whose file this
//! process cannot see is reported (log, metric, the report's list), never changed:
//! another process with its own data directory may hold that file and serve it.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use sqlx::Row;

use super::{BlobStore, Db};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub temporary_removed: usize,
    pub orphans_removed: usize,
    pub rows_missing_audio: usize,
    /// The dictations whose audio this process cannot see (left in their state).
    pub missing_audio: Vec<String>,
}

pub async fn reconcile(db: &Db, blobs: &dyn BlobStore, grace: Duration) -> anyhow::Result<ReconcileReport> {
    let mut report = ReconcileReport { temporary_removed: blobs.clean_temporary(grace).await?, ..Default::default() };
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
        let ids: Vec<String> = sqlx::query(
            "SELECT id FROM dictations WHERE audio_sha256 = $1 AND status NOT IN ('failed', 'cancelled') \
                 AND audio_purged_at IS NULL",
        )
        .bind(sha)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
        for id in &ids {
            tracing::error!(dictation = %id, sha256 = %sha,
                "audio file not in this process's audio store; the dictation is left as it is (check the data directory)");
        }
        report.missing_audio.extend(ids);
    }
    report.missing_audio.sort();
    report.rows_missing_audio = report.missing_audio.len();
    crate::metrics::count("dictaflow_audio_missing_at_start", &[], report.rows_missing_audio as f64);
    Ok(report)
}
