//! Turnaround (SLA) state of a letter or a stage: when it warns, when it breaches, and
//! whether it is on track, in warning, breached or met at a given moment.
//!
//! The warning instant for a percentage is the earliest instant at which that share of
//! the allowed time has passed. For working-time targets (`working days`, `working
//! hours`) the share is of the *working time* in the window, so the clock stops over
//! nights, weekends and holidays: 80% of 5 working days from Friday 17:30 is Thursday
//! 17:00. For calendar targets (`days`, `hours`) it is a share of elapsed time.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::calendar::Calendar;
use super::duration::{WarnAt, WorkDuration};

/// Where a letter stands against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaStateKind {
    /// Not finished and before the warning point.
    OnTrack,
    /// Not finished, past the warning point, before the target.
    Warning,
    /// Not finished by the target, or finished after it.
    Breached,
    /// Finished on or before the target.
    Met,
}

/// The API's `sla` object: `{"state", "warn_at", "breach_at"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlaState {
    pub state: SlaStateKind,
    pub warn_at: DateTime<Utc>,
    pub breach_at: DateTime<Utc>,
}

/// The warning and breach instants for a clock started at `received_at`.
pub fn deadlines(
    calendar: &Calendar,
    received_at: DateTime<Utc>,
    target: WorkDuration,
    warn: WarnAt,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let breach_at = calendar.add(received_at, target);
    let warn_at = match warn {
        WarnAt::After(d) => calendar.add(received_at, d).min(breach_at),
        WarnAt::Percent(p) if target.unit.is_working_time() => {
            let allowed = calendar.working_time_between(received_at, breach_at);
            calendar.add_working_time(received_at, share(allowed, p))
        }
        WarnAt::Percent(p) => received_at + share(breach_at - received_at, p),
    };
    (warn_at, breach_at)
}

/// `percent`% of `whole`, to the second (rounded down).
fn share(whole: TimeDelta, percent: u8) -> TimeDelta {
    TimeDelta::seconds(whole.num_seconds() * i64::from(percent) / 100)
}

/// The SLA state at `now` for a clock started at `received_at`. `completed_at` is when
/// the letter (or stage) finished, if it has: then the state is `met` or `breached` for
/// good, whatever `now` is.
pub fn evaluate(
    calendar: &Calendar,
    received_at: DateTime<Utc>,
    target: WorkDuration,
    warn: WarnAt,
    now: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
) -> SlaState {
    let (warn_at, breach_at) = deadlines(calendar, received_at, target, warn);
    let state = match completed_at {
        Some(done) if done <= breach_at => SlaStateKind::Met,
        Some(_) => SlaStateKind::Breached,
        None if now >= breach_at => SlaStateKind::Breached,
        None if now >= warn_at => SlaStateKind::Warning,
        None => SlaStateKind::OnTrack,
    };
    SlaState { state, warn_at, breach_at }
}
