//! Resumable upload sessions: who sends how many bytes, how many were acknowledged, and
//! the dictation they became. The bytes themselves are in [`super::partial`].

use sqlx::Row;

use super::{Db, new_id};
use crate::clock::Millis;

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub idempotency_key: String,
    pub length: u64,
    pub received: u64,
    pub filename: Option<String>,
    /// The form's text fields, a JSON object of strings.
    pub fields: String,
    pub dictation_id: Option<String>,
    pub expires_at: Millis,
}

pub struct NewSession<'a> {
    pub user_id: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub length: u64,
    pub filename: Option<&'a str>,
    pub fields: &'a str,
    pub expires_at: Millis,
}

const COLUMNS: &str = "id, user_id, idempotency_key, length, received, filename, fields, dictation_id, expires_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Session, sqlx::Error> {
    Ok(Session {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        idempotency_key: r.try_get("idempotency_key")?,
        length: r.try_get::<i64, _>("length")?.max(0) as u64,
        received: r.try_get::<i64, _>("received")?.max(0) as u64,
        filename: r.try_get("filename")?,
        fields: r.try_get("fields")?,
        dictation_id: r.try_get("dictation_id")?,
        expires_at: r.try_get("expires_at")?,
    })
}

/// Creates a session; without a client key the session's own id is its key. `Ok(None)`
/// when the user already has a session under that key (read it with [`find_by_key`]).
pub async fn create(db: &Db, s: &NewSession<'_>, now: Millis) -> Result<Option<Session>, sqlx::Error> {
    let id = new_id();
    let key = s.idempotency_key.map_or_else(|| format!("upload-{id}"), str::to_string);
    let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO upload_sessions (id, user_id, idempotency_key, length, filename, fields, created_at, \
         updated_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) \
         ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING {COLUMNS}"
    )))
    .bind(&id)
    .bind(s.user_id)
    .bind(&key)
    .bind(s.length as i64)
    .bind(s.filename)
    .bind(s.fields)
    .bind(now)
    .bind(s.expires_at)
    .fetch_optional(&db.pool)
    .await?;
    inserted.as_ref().map(from_row).transpose()
}

/// The user's session under `key`.
pub async fn find_by_key(db: &Db, user_id: &str, key: &str) -> Result<Option<Session>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM upload_sessions WHERE user_id = $1 AND idempotency_key = $2"
    )))
    .bind(user_id)
    .bind(key)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The session `id` if it belongs to `user_id` and has not expired at `now`.
pub async fn get(db: &Db, id: &str, user_id: &str, now: Millis) -> Result<Option<Session>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM upload_sessions WHERE id = $1 AND user_id = $2 AND expires_at > $3"
    )))
    .bind(id)
    .bind(user_id)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records that the bytes up to `received` are durable, if the session was still at
/// `from` (false when another request moved it meanwhile); pushes the expiry back.
pub async fn advance(
    db: &Db,
    id: &str,
    from: u64,
    received: u64,
    now: Millis,
    expires_at: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE upload_sessions SET received = $1, updated_at = $2, expires_at = $3 \
         WHERE id = $4 AND received = $5 AND dictation_id IS NULL",
    )
    .bind(received as i64)
    .bind(now)
    .bind(expires_at)
    .bind(id)
    .bind(from as i64)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the dictation a finished session became.
pub async fn finished(db: &Db, id: &str, dictation_id: &str, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE upload_sessions SET dictation_id = $1, updated_at = $2 WHERE id = $3")
        .bind(dictation_id)
        .bind(now)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn delete(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM upload_sessions WHERE id = $1").bind(id).execute(&db.pool).await?;
    Ok(())
}

/// Removes (at most `limit` of) the sessions expired at `now`; returns their ids, whose
/// files the caller removes.
pub async fn take_expired(db: &Db, now: Millis, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query("SELECT id FROM upload_sessions WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2")
        .bind(now)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    let mut ids = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: String = r.try_get("id")?;
        let gone = sqlx::query("DELETE FROM upload_sessions WHERE id = $1 AND expires_at <= $2")
            .bind(&id)
            .bind(now)
            .execute(&db.pool)
            .await?;
        if gone.rows_affected() == 1 {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Whether a session with this id exists (expired or not).
pub async fn exists(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM upload_sessions WHERE id = $1").bind(id).fetch_one(&db.pool).await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}
