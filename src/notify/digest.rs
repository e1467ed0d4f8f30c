//! The daily digest: once a day, after `notify.digest_hour`, one email to each user who
//! asked for it with their notifications still unread since the previous digest.

use chrono::{NaiveDate, Timelike};

use super::NotifyConfig;
use super::render::digest_email;
use crate::clock::{Millis, from_ms};
use crate::storage::email_outbox::{self, NewEmail};
use crate::storage::{Db, notifications, notify_settings};

/// The most notifications one digest lists (the rest are on the notifications page).
pub const MAX_ITEMS: usize = 50;

/// The local day whose digest is due at `now`, if its hour has come.
pub fn due_day(cfg: &NotifyConfig, now: Millis) -> Option<NaiveDate> {
    let local = from_ms(now).with_timezone(&cfg.tz());
    (local.hour() >= cfg.digest_hour).then(|| local.date_naive())
}

/// Queues the day's digests not yet queued; returns how many.
pub async fn run_due(db: &Db, cfg: &NotifyConfig, now: Millis) -> anyhow::Result<usize> {
    let Some(day) = due_day(cfg, now) else { return Ok(0) };
    let mut queued = 0;
    for p in notify_settings::people(db).await? {
        if !p.settings.daily_digest || p.settings.email.is_empty() {
            continue;
        }
        let since = p.last_digest_at.unwrap_or(0);
        let mut items = notifications::unread_since(db, &p.user_id, since, MAX_ITEMS as i64 + 1).await?;
        if items.is_empty() {
            continue;
        }
        let more = items.len() > MAX_ITEMS;
        items.truncate(MAX_ITEMS);
        let email = digest_email(cfg, &items, more, &p.settings.email);
        let key = format!("digest:{}:{day}", p.user_id);
        let mut tx = db.begin_write().await?;
        let row = NewEmail {
            kind: "digest",
            dedupe_key: &key,
            user_id: Some(&p.user_id),
            to: &p.settings.email,
            notification_id: None,
            report_id: None,
            subject: Some(&email.subject),
            body_text: Some(&email.text),
        };
        if email_outbox::enqueue(&mut tx, &row, now).await? {
            notify_settings::mark_digested(&mut tx, &p.user_id, now).await?;
            tx.commit().await?;
            queued += 1;
        } else {
            tx.rollback().await?;
        }
    }
    if queued > 0 {
        super::outbox::wake();
    }
    Ok(queued)
}
