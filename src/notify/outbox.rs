//! The sender: leases due emails from the outbox, renders those about notifications,
//! hands each to the SMTP server and records the outcome with an audit entry in one
//! transaction: sent, or retried with exponential backoff until `smtp.max_attempts`,
//! then failed. Several processes may run it on one database. Tests call [`send_due`].

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::mailer::{Email, Mailer};
use super::render::notification_email;
use super::{NotifyConfig, SmtpConfig};
use crate::audit::NewEntry;
use crate::clock::{Clock, Millis};
use crate::storage::email_outbox::{self as store, Claimed};
use crate::storage::{Db, notifications, weekly_reports};
use crate::webhooks::deliver::Policy;

/// Audit actions of the sender.
pub const SENT: &str = "email.sent";
pub const FAILED: &str = "email.failed";

/// The retry rules of `[smtp]` (the webhooks' backoff: doubling, capped at an hour).
pub fn policy(c: &SmtpConfig) -> Policy {
    Policy { batch: 8, ..Policy::new(c.max_attempts, c.first_backoff_seconds, c.timeout_seconds, 30_000) }
}

fn waker() -> &'static Notify {
    static WAKE: OnceLock<Notify> = OnceLock::new();
    WAKE.get_or_init(Notify::new)
}

/// Tells this process's sender that emails were queued (call after commit).
pub fn wake() {
    waker().notify_waiters();
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// What the sender needs besides the database.
pub struct Sender<'a> {
    pub db: &'a Db,
    pub mailer: &'a Mailer,
    pub clock: &'a Clock,
    pub policy: &'a Policy,
    pub notify: &'a NotifyConfig,
    pub owner: &'a str,
}

/// Sends every email due at the clock's time. Returns when none is due.
pub async fn send_due(s: &Sender<'_>) -> anyhow::Result<PassReport> {
    let mut report = PassReport::default();
    loop {
        let claimed = store::claim(s.db, s.owner, s.clock.now_ms(), s.policy.lease_ms, s.policy.batch).await?;
        if claimed.is_empty() {
            return Ok(report);
        }
        for c in &claimed {
            let result = match build(s, c).await? {
                Ok(email) => s.mailer.send(&email).await,
                Err(reason) => Err(reason),
            };
            let now = s.clock.now_ms();
            let retry_at = match &result {
                Ok(()) => None,
                Err(_) => (c.attempt < s.policy.max_attempts).then(|| now + s.policy.backoff_ms(c.attempt)),
            };
            match (&result, retry_at) {
                (Ok(()), _) => report.sent += 1,
                (Err(_), Some(_)) => report.retried += 1,
                (Err(_), None) => report.failed += 1,
            }
            record(s, c, result.as_ref().err().map(String::as_str), retry_at, now).await?;
        }
    }
}

/// The message of an outbox row; `Err` (a reason) when it cannot be made any more.
async fn build(s: &Sender<'_>, c: &Claimed) -> anyhow::Result<Result<Email, String>> {
    let mut email = Email { to: c.to.clone(), ..Email::default() };
    if let Some(id) = &c.notification_id {
        let mut tx = s.db.begin_read().await?;
        let n = notifications::get_in(&mut tx, id).await?;
        tx.commit().await?;
        return Ok(match n {
            Some(n) => Ok(notification_email(s.notify, &n, &c.to)),
            None => Err("the notification no longer exists".into()),
        });
    }
    email.subject = c.subject.clone().unwrap_or_default();
    email.text = c.body_text.clone().unwrap_or_default();
    if let Some(report_id) = &c.report_id {
        match weekly_reports::get(s.db, report_id).await? {
            Some((_, week, csv, html)) => {
                email.html = Some(html);
                email.csv = Some((format!("turnaround-week-{week}.csv"), csv));
            }
            None => return Ok(Err("the report no longer exists".into())),
        }
    }
    Ok(Ok(email))
}

/// Records the outcome and its audit entry together (if the lease is still ours).
async fn record(
    s: &Sender<'_>,
    c: &Claimed,
    error: Option<&str>,
    retry_at: Option<Millis>,
    now: Millis,
) -> anyhow::Result<()> {
    let mut tx = s.db.begin_write().await?;
    if !store::finish(&mut tx, &c.id, s.owner, error, retry_at, now).await? {
        tx.rollback().await?;
        tracing::warn!(email = %c.id, "email lease was lost before its outcome was recorded");
        return Ok(());
    }
    let action = if error.is_none() { SENT } else { FAILED };
    let details = json!({"kind": c.kind, "to": c.to, "user_id": c.user_id, "attempt": c.attempt,
        "error": error, "will_retry": retry_at.is_some()});
    let entry = NewEntry::new(action).target("email", &c.id).details(details);
    crate::audit::store::append(&mut tx, s.db.backend, &entry, now).await?;
    tx.commit().await?;
    match error {
        None => tracing::info!(email = %c.id, kind = %c.kind, attempt = c.attempt, "email sent"),
        Some(e) => tracing::warn!(email = %c.id, kind = %c.kind, attempt = c.attempt, error = %e,
            will_retry = retry_at.is_some(), "email not sent"),
    }
    Ok(())
}

/// Runs until `shutdown`: a pass, then a sleep until the next email is due (or a
/// wake-up, or at most 30 s).
pub async fn run(
    db: Db,
    mailer: Mailer,
    clock: Clock,
    smtp: SmtpConfig,
    notify: NotifyConfig,
    shutdown: CancellationToken,
) {
    let policy = policy(&smtp);
    let owner = format!("{}-{}", std::process::id(), crate::storage::new_id());
    let sender = Sender { db: &db, mailer: &mailer, clock: &clock, policy: &policy, notify: &notify, owner: &owner };
    tracing::info!(host = %smtp.host, port = smtp.port, "email sender started");
    loop {
        let woken = waker().notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if let Err(e) = send_due(&sender).await {
            tracing::error!(error = ?e, "sending emails failed; retrying shortly");
        }
        let next = store::next_due(&db).await.unwrap_or_else(|e| {
            tracing::error!(error = ?e, "cannot read the next email due");
            None
        });
        let sleep = next.map_or(MAX_SLEEP, |due| {
            Duration::from_millis(due.saturating_sub(clock.now_ms()).max(0) as u64).min(MAX_SLEEP)
        });
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = woken => {}
            _ = tokio::time::sleep(sleep.max(Duration::from_millis(50))) => {}
        }
    }
    tracing::info!("email sender stopped");
}

/// The longest sleep between passes (also bounds a missed wake-up).
const MAX_SLEEP: Duration = Duration::from_secs(30);
