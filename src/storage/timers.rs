//! Timer rows: escalation deadlines (and absence starts) with due times, claimed
//! atomically when due so that each fires exactly once across restarts and processes.

use sqlx::Row;

use super::{Backend, Db, Tx, new_id};
use crate::clock::Millis;

/// A firing later than this after its due time is marked late (e.g. the server was down).
pub const LATE_AFTER_MS: Millis = 60_000;

/// Creates (or, when the same escalation exists and has not fired, re-arms) a timer for
/// a dictation. At most one row per (dictation, kind, scope): each fires at most once.
pub async fn arm(
    tx: &mut Tx,
    dictation_id: &str,
    kind: &str,
    scope: &str,
    due_at: Millis,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO timers (id, kind, dictation_id, scope, due_at, late, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6) \
         ON CONFLICT (dictation_id, kind, scope) DO UPDATE SET due_at = excluded.due_at, cancelled_at = NULL \
         WHERE timers.fired_at IS NULL",
    )
    .bind(new_id())
    .bind(kind)
    .bind(dictation_id)
    .bind(scope)
    .bind(due_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A timer that starts an absence (moves the absent user's work) at `due_at`.
pub async fn arm_absence(tx: &mut Tx, absence_id: &str, due_at: Millis, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO timers (id, kind, absence_id, scope, due_at, late, created_at) VALUES ($1, 'absence_start', $2, $2, $3, 0, $4)",
    )
    .bind(new_id())
    .bind(absence_id)
    .bind(due_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Cancels a dictation's unfired timers: those of one stage (`Some(stage)`) or all.
pub async fn cancel(tx: &mut Tx, dictation_id: &str, stage: Option<&str>, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE timers SET cancelled_at = $1 WHERE dictation_id = $2 AND fired_at IS NULL AND cancelled_at IS NULL \
         AND ($3 = '*' OR scope = $3)",
    )
    .bind(now)
    .bind(dictation_id)
    .bind(stage.unwrap_or("*"))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A claimed timer.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub kind: String,
    pub dictation_id: Option<String>,
    pub absence_id: Option<String>,
    pub scope: String,
    pub due_at: Millis,
    pub late: bool,
}

/// Marks up to `limit` due timers fired and returns them. On PostgreSQL concurrent
/// claimers skip each other's rows (`FOR UPDATE SKIP LOCKED`); on SQLite the write
/// transaction serialises them. The caller acts on the timers and commits.
pub async fn claim_due(tx: &mut Tx, backend: Backend, now: Millis, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    let lock = if backend == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE timers SET fired_at = $1, late = CASE WHEN $1 - due_at > $2 THEN 1 ELSE 0 END \
         WHERE id IN (SELECT id FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1 \
         ORDER BY due_at LIMIT $3{lock}) AND fired_at IS NULL \
         RETURNING id, kind, dictation_id, absence_id, scope, due_at, late"
    );
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(LATE_AFTER_MS).bind(limit).fetch_all(&mut **tx).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(Claimed {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            dictation_id: r.try_get("dictation_id")?,
            absence_id: r.try_get("absence_id")?,
            scope: r.try_get("scope")?,
            due_at: r.try_get("due_at")?,
            late: r.try_get::<i64, _>("late")? != 0,
        });
    }
    out.sort_by_key(|c| c.due_at);
    Ok(out)
}

/// The earliest due time of a pending timer.
pub async fn next_due(db: &Db) -> Result<Option<Millis>, sqlx::Error> {
    sqlx::query("SELECT MIN(due_at) AS due FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL")
        .fetch_one(&db.pool)
        .await?
        .try_get("due")
}

/// A dictation's timers for the API: (kind, scope, due_at, fired_at, late).
pub async fn of_dictation(
    db: &Db,
    id: &str,
) -> Result<Vec<(String, String, Millis, Option<Millis>, bool)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT kind, scope, due_at, fired_at, late FROM timers WHERE dictation_id = $1 AND cancelled_at IS NULL ORDER BY due_at",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("kind")?,
                r.try_get("scope")?,
                r.try_get("due_at")?,
                r.try_get("fired_at")?,
                r.try_get::<i64, _>("late")? != 0,
            ))
        })
        .collect()
}
