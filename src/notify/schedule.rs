//! Runs the daily digest and the weekly report when they are due: a check every minute,
//! each run idempotent (per day, week and reader, also across processes), so a restart
//! or a second process never sends twice and a missed hour is caught up. A user who
//! turns the digest on after the day's run gets their first one the next day.

use std::time::Duration;

use chrono::NaiveDate;

use tokio_util::sync::CancellationToken;

use super::NotifyConfig;
use crate::clock::{Clock, Millis};
use crate::storage::Db;

/// How often the schedule is checked.
const EVERY: Duration = Duration::from_secs(60);

/// The day's digests and the week's reports this process has already run.
#[derive(Debug, Default, Clone)]
pub struct Done {
    digest_day: Option<NaiveDate>,
    report_week: Option<NaiveDate>,
}

/// One check at `now`: the digests and the weekly reports due and not yet run by this
/// process. Logs what it did.
pub async fn tick(db: &Db, cfg: &NotifyConfig, now: Millis, done: &mut Done) -> anyhow::Result<()> {
    let mut digests = 0;
    if let Some(day) = super::digest::due_day(cfg, now).filter(|d| done.digest_day != Some(*d)) {
        digests = super::digest::run_due(db, cfg, now).await?;
        done.digest_day = Some(day);
    }
    let mut weekly = super::weekly::Outcome::default();
    let week = super::weekly::due_week(cfg, now).start;
    if done.report_week != Some(week) {
        weekly = super::weekly::run_due(db, cfg, now).await?;
        done.report_week = Some(week);
    }
    if digests > 0 || weekly.reports_made > 0 || weekly.emails_queued > 0 {
        tracing::info!(
            digests,
            reports = weekly.reports_made,
            report_emails = weekly.emails_queued,
            "notifications scheduled"
        );
    }
    Ok(())
}

/// Runs until `shutdown` is cancelled, the first check a minute after the start.
pub async fn run(db: Db, clock: Clock, cfg: NotifyConfig, shutdown: CancellationToken) {
    let mut done = Done::default();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(EVERY) => {}
        }
        if let Err(e) = tick(&db, &cfg, clock.now_ms(), &mut done).await {
            tracing::error!(error = ?e, "the notification schedule failed; trying again in a minute");
        }
    }
}
