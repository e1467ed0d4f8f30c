//! Working time of letters, each on its own calendar: the one its workflow version
//! names, with the local closures entered for that calendar. One rule for every view
//! that shows working time (the queue, a dictation's turnaround, the oversight board,
//! the turnaround report, the weekly report, stage times), so a letter on a Scottish
//! workflow is not counted on the England and Wales bank holidays in one view and on
//! its own in another.

use std::collections::HashMap;
use std::sync::Arc;

use super::defs::{cached_version, calendar_now};
use crate::clock::{Millis, from_ms};
use crate::storage::Db;
use crate::timers::Calendar;
use crate::workflow::calendar_file::DEFAULT_CALENDAR;

/// A letter's workflow and version (`None` for a letter no workflow has taken) and two
/// times: the working time is measured from the first to the second.
#[derive(Debug, Clone, Copy)]
pub struct Span<'a> {
    pub workflow: Option<&'a str>,
    pub version: Option<i64>,
    pub from: Millis,
    pub to: Millis,
}

/// Working time of a [`Span`]: negative when `to` is before `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Working {
    pub ms: i64,
    /// The length of a working day on the letter's calendar.
    pub day_ms: i64,
}

impl Working {
    pub fn seconds(self) -> i64 {
        self.ms / 1000
    }

    pub fn day_seconds(self) -> i64 {
        self.day_ms / 1000
    }
}

/// Resolves letters' calendars, reading each workflow version and each calendar once.
pub struct Calendars<'a> {
    db: &'a Db,
    names: HashMap<(String, i64), String>,
    calendars: HashMap<String, Arc<Calendar>>,
}

impl<'a> Calendars<'a> {
    pub fn new(db: &'a Db) -> Self {
        Self { db, names: HashMap::new(), calendars: HashMap::new() }
    }

    /// The calendar name of a workflow version (the default calendar for a letter that
    /// has none).
    pub async fn name_of(&mut self, workflow: Option<&str>, version: Option<i64>) -> anyhow::Result<String> {
        let (Some(flow), Some(version)) = (workflow, version) else { return Ok(DEFAULT_CALENDAR.to_string()) };
        let key = (flow.to_string(), version);
        if let Some(name) = self.names.get(&key) {
            return Ok(name.clone());
        }
        let name = cached_version(self.db, flow, version).await?.calendar.clone();
        self.names.insert(key, name.clone());
        Ok(name)
    }

    /// The named calendar with its closures.
    pub async fn get(&mut self, name: &str) -> anyhow::Result<Arc<Calendar>> {
        if let Some(cal) = self.calendars.get(name) {
            return Ok(cal.clone());
        }
        let cal = calendar_now(self.db, name).await?;
        self.calendars.insert(name.to_string(), cal.clone());
        Ok(cal)
    }

    /// The calendar of a letter's workflow version, with its closures.
    pub async fn of(&mut self, workflow: Option<&str>, version: Option<i64>) -> anyhow::Result<Arc<Calendar>> {
        let name = self.name_of(workflow, version).await?;
        self.get(&name).await
    }
}

/// The working time of each span on its letter's calendar, in the order given. One
/// working clock per distinct calendar covers all its spans, so a page of letters costs
/// one pass over the days it spans, not one per letter.
pub async fn working_times(db: &Db, spans: &[Span<'_>]) -> anyhow::Result<Vec<Working>> {
    let mut calendars = Calendars::new(db);
    let mut names = Vec::with_capacity(spans.len());
    for s in spans {
        names.push(calendars.name_of(s.workflow, s.version).await?);
    }
    let mut distinct: Vec<&String> = names.iter().collect();
    distinct.sort();
    distinct.dedup();
    let mut out = vec![Working { ms: 0, day_ms: 0 }; spans.len()];
    for name in distinct {
        let calendar = calendars.get(name).await?;
        let mine: Vec<usize> = (0..spans.len()).filter(|&i| names[i] == *name).collect();
        let times = || mine.iter().flat_map(|&i| [spans[i].from, spans[i].to]);
        let (Some(lo), Some(hi)) = (times().min(), times().max()) else { continue };
        let clock = calendar.working_clock(from_ms(lo), from_ms(hi));
        let day_ms = calendar.working_day_length().num_milliseconds();
        for i in mine {
            out[i] = Working { ms: clock.between_ms(spans[i].from, spans[i].to), day_ms };
        }
    }
    Ok(out)
}
