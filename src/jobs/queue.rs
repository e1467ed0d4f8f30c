//! The durable job queue: rows claimed under a lease, kept alive by heartbeats,
//! taken again when their worker dies, failed after bounded attempts.
//!
//! Claiming is one `UPDATE ... RETURNING` (with `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL so several processes share the queue without blocking).

use sqlx::Row;

use crate::clock::Millis;
use crate::storage::{Backend, Db, Tx};

/// A job this worker holds the lease on.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: String,
    pub kind: String,
    pub dictation_id: Option<String>,
    pub attempt: i64,
    pub max_attempts: i64,
    pub owner: String,
}

/// Takes the most urgent runnable job of `kind`: queued (and due), or running
/// with an expired lease (its worker died). Priority rank first, then oldest.
pub async fn claim(
    db: &Db,
    kind: &str,
    owner: &str,
    now: Millis,
    lease_ms: Millis,
) -> Result<Option<ClaimedJob>, sqlx::Error> {
    let lock = if db.backend == Backend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $1, lease_expires_at = $2, \
         started_at = $3, progress = 0 \
         WHERE id = (SELECT id FROM jobs WHERE kind = $4 AND attempts < max_attempts AND \
             ((status = 'queued' AND run_after <= $3) OR (status = 'running' AND lease_expires_at < $3)) \
             ORDER BY priority_rank, created_at, id LIMIT 1 {lock}) \
         RETURNING id, kind, dictation_id, attempts, max_attempts"
    );
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(now + lease_ms)
        .bind(now)
        .bind(kind)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    row.map(|r| {
        Ok(ClaimedJob {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            dictation_id: r.try_get("dictation_id")?,
            attempt: r.try_get("attempts")?,
            max_attempts: r.try_get("max_attempts")?,
            owner: owner.to_string(),
        })
    })
    .transpose()
}

/// Extends the lease and records progress. `false` means the lease was lost
/// (another worker took the job, or it was cancelled): stop working on it.
pub async fn heartbeat(
    db: &Db,
    job: &ClaimedJob,
    now: Millis,
    lease_ms: Millis,
    progress: f64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET lease_expires_at = $1, progress = $2 WHERE id = $3 AND lease_owner = $4 AND status = 'running'",
    )
    .bind(now + lease_ms)
    .bind(progress.clamp(0.0, 1.0))
    .bind(&job.id)
    .bind(&job.owner)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the job done inside the caller's transaction. `false` means this
/// worker no longer holds the lease, and the caller must roll back so the
/// job's effects are written exactly once.
pub async fn complete(tx: &mut Tx, job: &ClaimedJob, now: Millis) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'done', progress = 1, finished_at = $1, last_error = NULL \
         WHERE id = $2 AND lease_owner = $3 AND status = 'running'",
    )
    .bind(now)
    .bind(&job.id)
    .bind(&job.owner)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt: back to the queue with a back-off, or `failed`
/// for good after the last attempt. Returns true when the failure is final.
pub async fn fail(tx: &mut Tx, job: &ClaimedJob, now: Millis, error: &str) -> Result<bool, sqlx::Error> {
    let last = job.attempt >= job.max_attempts;
    let backoff = 5_000 * (1 << job.attempt.clamp(0, 6));
    sqlx::query(
        "UPDATE jobs SET status = $1, last_error = $2, run_after = $3, lease_owner = NULL, lease_expires_at = NULL, \
         finished_at = $4 WHERE id = $5 AND lease_owner = $6 AND status = 'running'",
    )
    .bind(if last { "failed" } else { "queued" })
    .bind(error)
    .bind(now + backoff)
    .bind(if last { Some(now) } else { None })
    .bind(&job.id)
    .bind(&job.owner)
    .execute(&mut **tx)
    .await?;
    Ok(last)
}

/// Jobs whose worker died on the last allowed attempt: mark them failed.
/// Returns the dictation ids affected.
pub async fn fail_exhausted(db: &Db, kind: &str, now: Millis) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let rows = sqlx::query(
        "UPDATE jobs SET status = 'failed', finished_at = $1, \
         last_error = 'the worker stopped during every attempt (crash or timeout)' \
         WHERE kind = $2 AND status = 'running' AND lease_expires_at < $1 AND attempts >= max_attempts \
         RETURNING dictation_id",
    )
    .bind(now)
    .bind(kind)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter().filter_map(|r| r.try_get::<Option<String>, _>("dictation_id").transpose()).collect()
}

/// Cancels the queued or running jobs of a dictation (a running worker sees
/// it at its next heartbeat and aborts).
pub async fn cancel_for_dictation(tx: &mut Tx, dictation_id: &str, now: Millis) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'cancelled', finished_at = $1 WHERE dictation_id = $2 AND status IN ('queued', 'running')",
    )
    .bind(now)
    .bind(dictation_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}
