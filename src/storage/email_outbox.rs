//! The email outbox: one row per message, written in the transaction that decided to
//! send it (a notification, a digest, a weekly report), then leased by a sender, retried
//! with backoff and marked sent or failed; a sender killed mid-send leaves the row to be
//! taken again when its lease runs out. A message for a notification is rendered when
//! sent (from the notification row); digests and reports carry their text.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::lease::Outbox;
use super::{Db, Tx, new_id};
use crate::clock::Millis;

const EMAILS: Outbox = Outbox { table: "email_outbox", leased: "sending" };

/// A message to queue. `dedupe_key` names what it is about: a second enqueue with the
/// same key is ignored (a digest per user and day, a notification once).
pub struct NewEmail<'a> {
    pub kind: &'a str,
    pub dedupe_key: &'a str,
    pub user_id: Option<&'a str>,
    pub to: &'a str,
    pub notification_id: Option<&'a str>,
    pub report_id: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub body_text: Option<&'a str>,
}

/// Queues a message in `tx`; `false` when one with the same key was queued before.
pub async fn enqueue(tx: &mut Tx, e: &NewEmail<'_>, now: Millis) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO email_outbox (id, kind, dedupe_key, user_id, to_address, notification_id, report_id, subject, \
         body_text, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(new_id())
    .bind(e.kind)
    .bind(e.dedupe_key)
    .bind(e.user_id)
    .bind(e.to)
    .bind(e.notification_id)
    .bind(e.report_id)
    .bind(e.subject)
    .bind(e.body_text)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Queues an email for a notification just stored, when its user asked for one per
/// notification and gave an address. Returns whether one was queued.
pub async fn enqueue_for_notification(
    tx: &mut Tx,
    notification_id: &str,
    user_id: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO email_outbox (id, kind, dedupe_key, user_id, to_address, notification_id, next_attempt_at, \
         created_at) SELECT $1, 'notification', $2, s.user_id, s.email, $3, $4, $4 FROM notification_settings s \
         WHERE s.user_id = $5 AND s.email_each = 1 AND s.email <> '' ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(new_id())
    .bind(format!("notification:{notification_id}"))
    .bind(notification_id)
    .bind(now)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A message this process holds the lease on.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub kind: String,
    pub user_id: Option<String>,
    pub to: String,
    pub notification_id: Option<String>,
    pub report_id: Option<String>,
    pub subject: Option<String>,
    pub body_text: Option<String>,
    pub attempt: i64,
}

const COLUMNS: &str = "id, kind, user_id, to_address, notification_id, report_id, subject, body_text, attempts, \
                       status, last_error, created_at, sent_at";

fn claimed(r: &AnyRow) -> Result<Claimed, sqlx::Error> {
    Ok(Claimed {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        user_id: r.try_get("user_id")?,
        to: r.try_get("to_address")?,
        notification_id: r.try_get("notification_id")?,
        report_id: r.try_get("report_id")?,
        subject: r.try_get("subject")?,
        body_text: r.try_get("body_text")?,
        attempt: r.try_get("attempts")?,
    })
}

/// Leases up to `limit` messages that are due (or whose previous lease ran out).
pub async fn claim(
    db: &Db,
    owner: &str,
    now: Millis,
    lease_ms: Millis,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let select = format!("SELECT {COLUMNS} FROM email_outbox WHERE id = $1");
    EMAILS.claim(db, owner, now, lease_ms, limit, &select, claimed).await
}

/// Records an attempt's outcome in `tx` if `owner` still holds the lease (`false`
/// otherwise): sent, or failed with `retry_at` (`None`: given up).
pub async fn finish(
    tx: &mut Tx,
    id: &str,
    owner: &str,
    error: Option<&str>,
    retry_at: Option<Millis>,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let (status, sent_at) = match (error, retry_at) {
        (None, _) => ("sent", Some(now)),
        (Some(_), Some(_)) => ("pending", None),
        (Some(_), None) => ("failed", None),
    };
    let done = sqlx::query(
        "UPDATE email_outbox SET status = $1, last_error = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
         sent_at = $4, lease_owner = NULL, lease_expires_at = NULL \
         WHERE id = $5 AND lease_owner = $6 AND status = 'sending'",
    )
    .bind(status)
    .bind(error)
    .bind(retry_at)
    .bind(sent_at)
    .bind(id)
    .bind(owner)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The earliest time a message may need attention.
pub async fn next_due(db: &Db) -> Result<Option<Millis>, sqlx::Error> {
    EMAILS.next_due(db).await
}

/// A message as the outbox listing shows it (no body: it may name letters).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    pub id: String,
    pub kind: String,
    pub to: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

/// The newest messages first.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<Listed>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM email_outbox ORDER BY created_at DESC, id DESC LIMIT $1");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| {
            Ok(Listed {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                to: r.try_get("to_address")?,
                status: r.try_get("status")?,
                attempts: r.try_get("attempts")?,
                last_error: r.try_get("last_error")?,
                created_at: crate::clock::rfc3339(r.try_get("created_at")?),
                sent_at: r.try_get::<Option<Millis>, _>("sent_at")?.map(crate::clock::rfc3339),
            })
        })
        .collect()
}
