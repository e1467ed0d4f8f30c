//! The timer scheduler: sleeps until the next due timer (or until woken when an earlier
//! one may have been armed, or at most [`MAX_SLEEP`]), then fires what is due. Claiming
//! and acting happen in one transaction, so a timer fires exactly once, whether the
//! process restarts or several processes run. Tests call [`fire_due_timers`] directly.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::escalation;
use crate::clock::{Clock, Millis};
use crate::storage::Db;
use crate::storage::timers::{self, Claimed};

/// The longest sleep between checks (also bounds a missed wake-up).
pub const MAX_SLEEP: Duration = Duration::from_secs(30);
/// Timers claimed per transaction.
pub const BATCH: i64 = 100;

fn waker() -> &'static Notify {
    static WAKE: OnceLock<Notify> = OnceLock::new();
    WAKE.get_or_init(Notify::new)
}

/// Tells the schedulers of this process that an earlier timer may exist.
pub fn wake() {
    waker().notify_waiters();
}

/// What one pass fired.
#[derive(Debug, Default, Clone)]
pub struct FireReport {
    pub fired: Vec<Claimed>,
    pub notifications: usize,
}

/// Fires every timer due at `now`. Safe to call from several tasks or processes at once.
pub async fn fire_due_timers(db: &Db, now: Millis) -> anyhow::Result<FireReport> {
    let mut report = FireReport::default();
    loop {
        let batch = fire_batch(db, now).await?;
        let full = batch.fired.len() as i64 == BATCH;
        report.fired.extend(batch.fired);
        report.notifications += batch.notifications;
        if !full {
            return Ok(report);
        }
    }
}

/// Fires up to [`BATCH`] due timers in one transaction: all of them, or (on error) none.
pub async fn fire_batch(db: &Db, now: Millis) -> anyhow::Result<FireReport> {
    let mut tx = db.begin_write().await?;
    let claimed = timers::claim_due(&mut tx, db.backend, now, BATCH).await?;
    if claimed.is_empty() {
        return Ok(FireReport::default());
    }
    // Rows are touched in dictation order so concurrent schedulers cannot deadlock.
    let mut in_order: Vec<&Claimed> = claimed.iter().collect();
    in_order.sort_by(|a, b| (&a.dictation_id, &a.absence_id).cmp(&(&b.dictation_id, &b.absence_id)));
    let mut notifications = 0;
    for timer in in_order {
        notifications += escalation::handle(&mut tx, timer, now).await?;
    }
    tx.commit().await?;
    crate::webhooks::deliver::wake();
    Ok(FireReport { fired: claimed, notifications })
}

/// The next pending timer's due time (`Some(None)`: none pending); `None` when it
/// cannot be read (logged), which makes the loop try a pass.
async fn next_due(db: &Db) -> Option<Option<Millis>> {
    match timers::next_due(db).await {
        Ok(due) => Some(due),
        Err(e) => {
            tracing::error!(error = ?e, "cannot read the next timer");
            None
        }
    }
}

/// Runs until `shutdown` is cancelled.
pub async fn run(db: Db, clock: Clock, shutdown: CancellationToken) {
    tracing::info!("timer scheduler started");
    loop {
        let woken = waker().notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        // Read first: most wake-ups (a letter moved, a timer armed for days ahead) find
        // nothing due, and the claim is a write that would queue behind the letters'
        // own transactions.
        let mut next = next_due(&db).await;
        if next.is_none_or(|due| due.is_some_and(|d| d <= clock.now_ms())) {
            if let Err(e) = fire_due_timers(&db, clock.now_ms()).await {
                tracing::error!(error = ?e, "firing timers failed; retrying shortly");
            }
            next = next_due(&db).await;
        }
        let sleep = match next {
            Some(Some(due)) => Duration::from_millis(due.saturating_sub(clock.now_ms()).max(0) as u64).min(MAX_SLEEP),
            Some(None) | None => MAX_SLEEP,
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = woken => {}
            _ = tokio::time::sleep(sleep.max(Duration::from_millis(50))) => {}
        }
    }
    tracing::info!("timer scheduler stopped");
}
