//! In-app notifications (escalation warnings and breaches, one per timer and recipient;
//! letters returned to or reassigned to someone), and the email each one queues for a
//! user who asked for one (in the same transaction, so neither is lost without the other).

use sqlx::Row;

use super::{Db, Tx, new_id};
use crate::clock::{Millis, rfc3339};

pub struct NewNotification<'a> {
    pub user_id: &'a str,
    pub dictation_id: Option<&'a str>,
    pub timer_id: Option<&'a str>,
    pub kind: &'a str,
    pub stage: Option<&'a str>,
    pub message: &'a str,
    pub late: bool,
}

/// Inserts a notification; a second one for the same timer and user is ignored.
pub async fn insert(tx: &mut Tx, n: &NewNotification<'_>, now: Millis) -> Result<(), sqlx::Error> {
    let id = new_id();
    let done = sqlx::query(
        "INSERT INTO notifications (id, user_id, dictation_id, timer_id, kind, stage, message, late, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (timer_id, user_id) DO NOTHING",
    )
    .bind(&id)
    .bind(n.user_id)
    .bind(n.dictation_id)
    .bind(n.timer_id)
    .bind(n.kind)
    .bind(n.stage)
    .bind(n.message)
    .bind(i64::from(n.late))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() > 0 {
        super::email_outbox::enqueue_for_notification(tx, &id, n.user_id, now).await?;
    }
    Ok(())
}

/// How many of a user's notifications are unread.
pub async fn unread_count(db: &Db, user_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")
}

/// One notification by id (for the email about it), with its user's id.
pub async fn get_in(tx: &mut Tx, id: &str) -> Result<Option<Notification>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, kind, dictation_id, stage, message, late, created_at, read_at FROM notifications WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(notification).transpose()
}

/// A user's unread notifications created after `since`, oldest first (a digest's).
pub async fn unread_since(db: &Db, user_id: &str, since: Millis, limit: i64) -> Result<Vec<Notification>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, kind, dictation_id, stage, message, late, created_at, read_at FROM notifications \
         WHERE user_id = $1 AND read_at IS NULL AND created_at > $2 ORDER BY created_at, id LIMIT $3",
    )
    .bind(user_id)
    .bind(since)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(notification).collect()
}

fn notification(r: &sqlx::any::AnyRow) -> Result<Notification, sqlx::Error> {
    Ok(Notification {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        dictation_id: r.try_get("dictation_id")?,
        stage: r.try_get("stage")?,
        message: r.try_get("message")?,
        late: r.try_get::<i64, _>("late")? != 0,
        created_at: rfc3339(r.try_get("created_at")?),
        read_at: r.try_get::<Option<i64>, _>("read_at")?.map(rfc3339),
    })
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Notification {
    pub id: String,
    pub kind: String,
    pub dictation_id: Option<String>,
    pub stage: Option<String>,
    pub message: String,
    pub late: bool,
    pub created_at: String,
    pub read_at: Option<String>,
}

/// A user's notifications, newest first.
pub async fn list(db: &Db, user_id: &str, unread_only: bool, limit: i64) -> Result<Vec<Notification>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, kind, dictation_id, stage, message, late, created_at, read_at FROM notifications \
         WHERE user_id = $1 AND ($2 = 0 OR read_at IS NULL) ORDER BY created_at DESC, id DESC LIMIT $3",
    )
    .bind(user_id)
    .bind(i64::from(unread_only))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(notification).collect()
}

/// Marks one notification (`Some(id)`) or all of a user's as read; returns how many changed.
pub async fn mark_read(db: &Db, user_id: &str, id: Option<&str>, now: Millis) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL AND ($3 = '' OR id = $3)",
    )
    .bind(now)
    .bind(user_id)
    .bind(id.unwrap_or(""))
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}

/// Whether a notification with this id belongs to the user.
pub async fn exists(db: &Db, user_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE user_id = $1 AND id = $2")
        .bind(user_id)
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}
