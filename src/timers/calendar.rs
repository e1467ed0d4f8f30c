//! Working calendar: which local days and hours are working time (by default Monday–Friday,
//! 09:00–17:00 Europe/London, less bank holidays and local closures) and the arithmetic
//! on it (`add_working_days`, `add_working_hours`, `working_time_between`).
//!
//! All arithmetic is done on the local wall clock of the calendar's time zone, so the
//! BST/GMT clock changes never shift a local time of day.
//!
//! Rules, pinned by the tests in `timers/tests/calendar_tests.rs`:
//! - **Working days** count whole days and keep the local time of day: a letter received
//!   at 17:30 on a Friday with 5 working days is due at 17:30 the following Friday. The
//!   time of day is kept even when it lies outside working hours.
//! - **Arrival on a non-working day** (weekend, bank holiday, closure) counts as arriving
//!   at closing time of the last working day before it, so a letter received on a
//!   Saturday with 5 working days is due at 17:00 on the following Friday (the end of the
//!   fifth working day).
//! - **Working hours** run only inside opening hours of working days: 4 working hours
//!   from Friday 15:00 ends on Monday at 11:00. A period that ends exactly at closing
//!   time ends then (17:00), not at the next opening.
//! - **Days** (calendar days) keep the local time of day; **hours** are elapsed hours.

use std::collections::BTreeMap;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

use super::duration::{Unit, WorkDuration};

/// How far ahead of today a calendar's bank holidays must be listed before a warning.
pub const HOLIDAYS_AHEAD_DAYS: u64 = 365;

/// How far the day searches look before giving up (ten years of consecutive closures).
const MAX_SEARCH_DAYS: u32 = 3660;

/// Why a calendar could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("working hours must open before they close (got {opens}–{closes})")]
    BadHours { opens: NaiveTime, closes: NaiveTime },
    #[error("at least one day of the week must be a working day")]
    NoWorkingDays,
}

/// A working calendar. Cheap to clone; build one per calendar file and share it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    name: String,
    tz: Tz,
    opens: NaiveTime,
    closes: NaiveTime,
    /// Working days of the week, indexed from Monday.
    weekdays: [bool; 7],
    holidays: BTreeMap<NaiveDate, String>,
    closures: BTreeMap<NaiveDate, String>,
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid literal time")
}

impl Calendar {
    /// Monday–Friday 09:00–17:00 Europe/London with no holidays yet.
    pub fn new(name: impl Into<String>) -> Self {
        Calendar {
            name: name.into(),
            tz: chrono_tz::Europe::London,
            opens: hm(9, 0),
            closes: hm(17, 0),
            weekdays: [true, true, true, true, true, false, false],
            holidays: BTreeMap::new(),
            closures: BTreeMap::new(),
        }
    }

    /// Changes the time zone whose wall clock the calendar follows.
    pub fn with_timezone(mut self, tz: Tz) -> Self {
        self.tz = tz;
        self
    }

    /// Changes the working hours of every working day.
    pub fn with_hours(mut self, opens: NaiveTime, closes: NaiveTime) -> Result<Self, CalendarError> {
        if opens >= closes {
            return Err(CalendarError::BadHours { opens, closes });
        }
        self.opens = opens;
        self.closes = closes;
        Ok(self)
    }

    /// Changes the days of the week that are working days (Monday–Friday by default).
    pub fn with_working_days(mut self, days: &[Weekday]) -> Result<Self, CalendarError> {
        if days.is_empty() {
            return Err(CalendarError::NoWorkingDays);
        }
        self.weekdays = [false; 7];
        for d in days {
            self.weekdays[d.num_days_from_monday() as usize] = true;
        }
        Ok(self)
    }

    /// Adds public holidays (date, name).
    pub fn with_holidays(mut self, days: impl IntoIterator<Item = (NaiveDate, String)>) -> Self {
        self.holidays.extend(days);
        self
    }

    /// Adds local closures (date, reason) set by the super-user.
    pub fn with_closures(mut self, days: impl IntoIterator<Item = (NaiveDate, String)>) -> Self {
        self.closures.extend(days);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    pub fn opens(&self) -> NaiveTime {
        self.opens
    }

    pub fn closes(&self) -> NaiveTime {
        self.closes
    }

    /// The working days of the week, Monday first.
    pub fn working_days(&self) -> Vec<Weekday> {
        let mut day = Weekday::Mon;
        let mut out = Vec::new();
        for working in self.weekdays {
            if working {
                out.push(day);
            }
            day = day.succ();
        }
        out
    }

    pub fn holidays(&self) -> &BTreeMap<NaiveDate, String> {
        &self.holidays
    }

    pub fn closures(&self) -> &BTreeMap<NaiveDate, String> {
        &self.closures
    }

    /// The last listed bank holiday: past it every weekday counts as working, so the
    /// server can warn the super-user to extend the calendar file in time.
    pub fn last_listed_holiday(&self) -> Option<NaiveDate> {
        self.holidays.keys().next_back().copied()
    }

    /// A warning for the super-user when the listed bank holidays end less than
    /// [`HOLIDAYS_AHEAD_DAYS`] after `today` (past the last one, every weekday would count
    /// as working and deadlines would fall on holidays).
    pub fn holidays_warning(&self, today: NaiveDate) -> Option<String> {
        let horizon = today.checked_add_days(Days::new(HOLIDAYS_AHEAD_DAYS)).unwrap_or(today);
        match self.last_listed_holiday() {
            Some(last) if last >= horizon => None,
            Some(last) => Some(format!(
                "calendar {} lists bank holidays only until {}: add the following years' to its file",
                self.name,
                last.format("%-d %b %Y")
            )),
            None => Some(format!("calendar {} lists no bank holidays: add them to its file", self.name)),
        }
    }

    /// Working time in one working day (8 hours by default).
    pub fn working_day_length(&self) -> TimeDelta {
        self.closes - self.opens
    }

    /// A working day of the week and neither a holiday nor a closure.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        self.weekdays[day.weekday().num_days_from_monday() as usize]
            && !self.holidays.contains_key(&day)
            && !self.closures.contains_key(&day)
    }

    /// The first working day strictly after `day`.
    pub fn next_working_day(&self, day: NaiveDate) -> NaiveDate {
        self.search(day, |d| d.succ_opt())
    }

    /// The last working day strictly before `day`.
    pub fn previous_working_day(&self, day: NaiveDate) -> NaiveDate {
        self.search(day, |d| d.pred_opt())
    }

    fn search(&self, from: NaiveDate, step: impl Fn(NaiveDate) -> Option<NaiveDate>) -> NaiveDate {
        let mut day = from;
        for _ in 0..MAX_SEARCH_DAYS {
            match step(day) {
                Some(next) => day = next,
                None => return day,
            }
            if self.is_working_day(day) {
                return day;
            }
        }
        day
    }

    /// The UTC instant of a local wall-clock time. An ambiguous time (clock going back)
    /// takes the earlier instant; a skipped time (clock going forward) the first instant
    /// after the gap.
    pub fn at_local(&self, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let mut naive = day.and_time(time);
        for _ in 0..8 {
            match self.tz.from_local_datetime(&naive) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    return t.with_timezone(&Utc);
                }
                LocalResult::None => naive += TimeDelta::minutes(30),
            }
        }
        naive.and_utc()
    }

    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.tz).naive_local()
    }

    /// `n` whole working days after `start`, keeping the local time of day (see module doc).
    pub fn add_working_days(&self, start: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        if n == 0 {
            return start;
        }
        let local = self.local(start);
        let (mut day, time) = if self.is_working_day(local.date()) {
            (local.date(), local.time())
        } else {
            (self.previous_working_day(local.date()), self.closes)
        };
        for _ in 0..n {
            day = self.next_working_day(day);
        }
        self.at_local(day, time)
    }

    /// `hours` of working time after `start`.
    pub fn add_working_hours(&self, start: DateTime<Utc>, hours: u32) -> DateTime<Utc> {
        self.add_working_time(start, TimeDelta::hours(i64::from(hours)))
    }

    /// The instant at which `amount` of working time has passed since `start`.
    /// A zero or negative amount returns `start`.
    pub fn add_working_time(&self, start: DateTime<Utc>, amount: TimeDelta) -> DateTime<Utc> {
        if amount <= TimeDelta::zero() {
            return start;
        }
        let mut cursor = start;
        let mut remaining = amount;
        let mut day = self.local(start).date();
        for _ in 0..MAX_SEARCH_DAYS {
            if self.is_working_day(day) {
                let (open, close) = (self.at_local(day, self.opens), self.at_local(day, self.closes));
                let from = cursor.max(open);
                if from < close {
                    let available = close - from;
                    if remaining <= available {
                        return from + remaining;
                    }
                    remaining -= available;
                    cursor = close;
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        cursor + remaining
    }

    /// Working time between two instants; negative when `b` is before `a`.
    pub fn working_time_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> TimeDelta {
        if b < a {
            return -self.working_time_between(b, a);
        }
        let mut total = TimeDelta::zero();
        let last = self.local(b).date();
        let mut day = self.local(a).date();
        while day <= last {
            if self.is_working_day(day) {
                let lo = a.max(self.at_local(day, self.opens));
                let hi = b.min(self.at_local(day, self.closes));
                if hi > lo {
                    total += hi - lo;
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        total
    }

    /// A [`WorkingClock`] for instants between `from` and `to`.
    pub fn working_clock(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> WorkingClock<'_> {
        let (from, to) = (from.min(to), from.max(to));
        let mut days = Vec::new();
        let mut cumulative = 0i64;
        let mut day = self.local(from).date();
        let last = self.local(to).date();
        while day <= last {
            if self.is_working_day(day) {
                let (open, close) = (self.at_local(day, self.opens), self.at_local(day, self.closes));
                if close > open {
                    let (open, close) = (open.timestamp_millis(), close.timestamp_millis());
                    days.push((open, close, cumulative));
                    cumulative += close - open;
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        WorkingClock { calendar: self, from: from.timestamp_millis(), to: to.timestamp_millis(), days }
    }

    /// `n` calendar days after `start`, keeping the local time of day.
    pub fn add_days(&self, start: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let local = self.local(start);
        match local.date().checked_add_days(Days::new(u64::from(n))) {
            Some(day) => self.at_local(day, local.time()),
            None => start,
        }
    }

    /// The instant `duration` after `start`, in the duration's own unit.
    pub fn add(&self, start: DateTime<Utc>, duration: WorkDuration) -> DateTime<Utc> {
        match duration.unit {
            Unit::WorkingDays => self.add_working_days(start, duration.amount),
            Unit::WorkingHours => self.add_working_hours(start, duration.amount),
            Unit::Days => self.add_days(start, duration.amount),
            Unit::Hours => start + TimeDelta::hours(i64::from(duration.amount)),
        }
    }
}

/// Working time between many pairs of instants of one period (a report's), with the
/// time-zone arithmetic done once per day of the period instead of once per day per pair:
/// each working day's opening hours as UTC milliseconds, with the working time before it.
/// Gives exactly [`Calendar::working_time_between`]; pairs outside the period fall back to it.
#[derive(Debug, Clone)]
pub struct WorkingClock<'a> {
    calendar: &'a Calendar,
    from: i64,
    to: i64,
    /// (opens, closes, working ms before this day) per working day, in order.
    days: Vec<(i64, i64, i64)>,
}

impl WorkingClock<'_> {
    /// Working milliseconds from the start of the period to `t` (inside it).
    fn before(&self, t: i64) -> i64 {
        let i = self.days.partition_point(|d| d.0 <= t);
        match i.checked_sub(1).map(|i| self.days[i]) {
            Some((open, close, before)) => before + (t.min(close) - open),
            None => 0,
        }
    }

    /// Working milliseconds between `a` and `b` (Unix ms); negative when `b` is before `a`.
    pub fn between_ms(&self, a: i64, b: i64) -> i64 {
        let inside = |t: i64| (self.from..=self.to).contains(&t);
        if inside(a) && inside(b) {
            return self.before(b) - self.before(a);
        }
        match (DateTime::from_timestamp_millis(a), DateTime::from_timestamp_millis(b)) {
            (Some(a), Some(b)) => self.calendar.working_time_between(a, b).num_milliseconds(),
            _ => 0,
        }
    }
}
