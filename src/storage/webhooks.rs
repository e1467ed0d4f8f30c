//! Webhooks and their delivery outbox. Deliveries are written in the transaction that
//! produced the event and claimed under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL),
//! so several processes deliver each one once, and a process that dies mid-delivery
//! leaves it to be taken again when the lease runs out.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::lease::Outbox;
use super::{Db, Tx, new_id};

const DELIVERIES: Outbox = Outbox { table: "webhook_deliveries", leased: "delivering" };
use crate::clock::Millis;

/// A configured webhook. The secret is only read by the deliverer, never listed.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub created_at: Millis,
}

pub struct NewWebhook<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub events: &'a [String],
    pub enabled: bool,
    pub created_by: &'a str,
}

fn webhook(r: &AnyRow) -> Result<Webhook, sqlx::Error> {
    let events: String = r.try_get("events")?;
    Ok(Webhook {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

/// Stores a new webhook in `tx` (the caller commits it with the audit entry).
pub async fn insert(tx: &mut Tx, w: &NewWebhook<'_>, now: Millis) -> Result<String, sqlx::Error> {
    let id = new_id();
    let events = serde_json::to_string(w.events).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO webhooks (id, url, secret, events, enabled, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(w.url)
    .bind(w.secret)
    .bind(events)
    .bind(i64::from(w.enabled))
    .bind(now)
    .bind(w.created_by)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn list(db: &Db) -> Result<Vec<Webhook>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, url, events, enabled, created_at FROM webhooks ORDER BY created_at, id")
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(webhook).collect()
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Webhook>, sqlx::Error> {
    let row = sqlx::query("SELECT id, url, events, enabled, created_at FROM webhooks WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(webhook).transpose()
}

/// Removes a webhook and its deliveries in `tx`; `false` when there was none.
pub async fn delete(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1").bind(id).execute(&mut **tx).await?;
    let done = sqlx::query("DELETE FROM webhooks WHERE id = $1").bind(id).execute(&mut **tx).await?;
    Ok(done.rows_affected() > 0)
}

/// Queues one delivery of `payload` to every enabled webhook subscribed to `event`.
/// `event_key` identifies the event: a second enqueue with the same key is ignored.
/// `payload` is only built when some webhook wants the event. Returns how many
/// deliveries were queued.
pub async fn enqueue(
    tx: &mut Tx,
    event: &str,
    event_key: &str,
    payload: impl FnOnce() -> String,
    now: Millis,
) -> Result<usize, sqlx::Error> {
    let rows = sqlx::query("SELECT id, url, events, enabled, created_at FROM webhooks WHERE enabled = 1")
        .fetch_all(&mut **tx)
        .await?;
    let mut hooks = Vec::new();
    for hook in rows.iter().map(webhook) {
        let hook = hook?;
        // A dispatched letter carries patient details: only hooks that name the event get it.
        let everything = |e: &str| e == "*" && event != crate::letters::dispatch::LETTER_DISPATCHED;
        if hook.events.iter().any(|e| e == event || everything(e)) {
            hooks.push(hook);
        }
    }
    if hooks.is_empty() {
        return Ok(0);
    }
    let payload = payload();
    let mut queued = 0;
    for hook in hooks {
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, event_key, payload, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (webhook_id, event_key) DO NOTHING",
        )
        .bind(new_id())
        .bind(&hook.id)
        .bind(event)
        .bind(event_key)
        .bind(&payload)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        queued += done.rows_affected() as usize;
    }
    Ok(queued)
}

/// A delivery this process holds the lease on, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: String,
    pub webhook_id: String,
    pub event: String,
    pub payload: String,
    pub attempt: i64,
    pub url: String,
    pub secret: String,
}

/// Leases up to `limit` deliveries that are due (or whose previous lease ran out).
pub async fn claim(
    db: &Db,
    owner: &str,
    now: Millis,
    lease_ms: Millis,
    limit: i64,
) -> Result<Vec<ClaimedDelivery>, sqlx::Error> {
    let select = "SELECT d.id, d.webhook_id, d.event, d.payload, d.attempts, w.url, w.secret \
                  FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1";
    DELIVERIES.claim(db, owner, now, lease_ms, limit, select, claimed).await
}

fn claimed(r: &AnyRow) -> Result<ClaimedDelivery, sqlx::Error> {
    Ok(ClaimedDelivery {
        id: r.try_get("id")?,
        webhook_id: r.try_get("webhook_id")?,
        event: r.try_get("event")?,
        payload: r.try_get("payload")?,
        attempt: r.try_get("attempts")?,
        url: r.try_get("url")?,
        secret: r.try_get("secret")?,
    })
}

/// How one attempt ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Delivered {
        status: u16,
    },
    /// Try again at `retry_at`, or give up (`None`): the delivery is marked failed.
    Failed {
        status: Option<u16>,
        error: String,
        retry_at: Option<Millis>,
    },
}

/// Records an attempt's outcome, if this owner still holds the lease (`false` otherwise).
pub async fn finish(db: &Db, id: &str, owner: &str, outcome: &Outcome, now: Millis) -> Result<bool, sqlx::Error> {
    let (status, last_status, error, next, delivered_at) = match outcome {
        Outcome::Delivered { status } => ("delivered", Some(i64::from(*status)), None, None, Some(now)),
        Outcome::Failed { status, error, retry_at } => (
            if retry_at.is_some() { "pending" } else { "failed" },
            status.map(i64::from),
            Some(error.as_str()),
            *retry_at,
            None,
        ),
    };
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, last_status = $2, last_error = $3, \
         next_attempt_at = COALESCE($4, next_attempt_at), delivered_at = $5, lease_owner = NULL, \
         lease_expires_at = NULL WHERE id = $6 AND lease_owner = $7 AND status = 'delivering'",
    )
    .bind(status)
    .bind(last_status)
    .bind(error)
    .bind(next)
    .bind(delivered_at)
    .bind(id)
    .bind(owner)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The earliest time a delivery may need attention.
pub async fn next_due(db: &Db) -> Result<Option<Millis>, sqlx::Error> {
    DELIVERIES.next_due(db).await
}

/// A delivery as the API lists it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub event: String,
    pub event_key: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub delivered_at: Option<Millis>,
}

/// A webhook's deliveries, newest first.
pub async fn deliveries(db: &Db, webhook_id: &str, limit: i64) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, event, event_key, status, attempts, next_attempt_at, last_status, last_error, created_at, \
         delivered_at FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(webhook_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Delivery {
                id: r.try_get("id")?,
                event: r.try_get("event")?,
                event_key: r.try_get("event_key")?,
                status: r.try_get("status")?,
                attempts: r.try_get("attempts")?,
                next_attempt_at: r.try_get("next_attempt_at")?,
                last_status: r.try_get("last_status")?,
                last_error: r.try_get("last_error")?,
                created_at: r.try_get("created_at")?,
                delivered_at: r.try_get("delivered_at")?,
            })
        })
        .collect()
}
