//! Weekly turnaround reports, kept for download: one per week and reader's scope.

use sqlx::Row;

use super::{Db, Tx, new_id};
use crate::clock::Millis;

/// A stored report without its bodies.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    pub id: String,
    pub week_start: String,
    pub period_from: String,
    pub period_to: String,
    pub created_at: String,
}

pub struct NewReport<'a> {
    pub week_start: &'a str,
    pub scope_key: &'a str,
    pub period_from: Millis,
    pub period_to: Millis,
    pub csv: &'a str,
    pub html: &'a str,
}

/// Stores a report in `tx`; `None` when the week's report for that scope exists already
/// (another process made it), else its id.
pub async fn insert(tx: &mut Tx, r: &NewReport<'_>, now: Millis) -> Result<Option<String>, sqlx::Error> {
    let id = new_id();
    let done = sqlx::query(
        "INSERT INTO weekly_reports (id, week_start, scope_key, period_from, period_to, csv, html, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (week_start, scope_key) DO NOTHING",
    )
    .bind(&id)
    .bind(r.week_start)
    .bind(r.scope_key)
    .bind(r.period_from)
    .bind(r.period_to)
    .bind(r.csv)
    .bind(r.html)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok((done.rows_affected() > 0).then_some(id))
}

/// The id of the week's report for a scope, if made.
pub async fn find(db: &Db, week_start: &str, scope_key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT id FROM weekly_reports WHERE week_start = $1 AND scope_key = $2")
        .bind(week_start)
        .bind(scope_key)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()
}

/// A scope's reports, newest week first.
pub async fn list(db: &Db, scope_key: &str, limit: i64) -> Result<Vec<Listed>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, week_start, period_from, period_to, created_at FROM weekly_reports WHERE scope_key = $1 \
         ORDER BY week_start DESC LIMIT $2",
    )
    .bind(scope_key)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    let time = |r: &sqlx::any::AnyRow, c: &str| r.try_get::<Millis, _>(c).map(crate::clock::rfc3339);
    rows.iter()
        .map(|r| {
            Ok(Listed {
                id: r.try_get("id")?,
                week_start: r.try_get("week_start")?,
                period_from: time(r, "period_from")?,
                period_to: time(r, "period_to")?,
                created_at: time(r, "created_at")?,
            })
        })
        .collect()
}

/// A report's scope, week and bodies `(scope_key, week_start, csv, html)`.
pub async fn get(db: &Db, id: &str) -> Result<Option<(String, String, String, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT scope_key, week_start, csv, html FROM weekly_reports WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| Ok((r.try_get("scope_key")?, r.try_get("week_start")?, r.try_get("csv")?, r.try_get("html")?)))
        .transpose()
}
