//! Turnaround durations (`5 working days`, `4 working hours`, `2 days`, `36 hours`) and
//! warning points (`80%` or a duration), with their text syntax.
//!
//! Syntax: a whole number greater than zero, one or more spaces, then a unit:
//! `working day(s)`, `working hour(s)`, `day(s)` (calendar days, same local time of day)
//! or `hour(s)` (elapsed hours). Units are case-insensitive. Anything else is an error
//! that says what was wrong.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// The unit of a [`WorkDuration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Whole working days, keeping the local time of day.
    WorkingDays,
    /// Hours counted only inside working hours of working days.
    WorkingHours,
    /// Calendar days, keeping the local time of day.
    Days,
    /// Elapsed hours, around the clock.
    Hours,
}

impl Unit {
    /// Whether the clock stops outside working time for this unit.
    pub fn is_working_time(self) -> bool {
        matches!(self, Unit::WorkingDays | Unit::WorkingHours)
    }

    fn name(self, amount: u32) -> &'static str {
        let one = amount == 1;
        match self {
            Unit::WorkingDays if one => "working day",
            Unit::WorkingDays => "working days",
            Unit::WorkingHours if one => "working hour",
            Unit::WorkingHours => "working hours",
            Unit::Days if one => "day",
            Unit::Days => "days",
            Unit::Hours if one => "hour",
            Unit::Hours => "hours",
        }
    }

    /// The largest amount accepted: about a year.
    fn max_amount(self) -> u32 {
        match self {
            Unit::WorkingDays => 260,
            Unit::WorkingHours => 260 * 24,
            Unit::Days => 366,
            Unit::Hours => 366 * 24,
        }
    }
}

/// A turnaround target or stage target, e.g. `5 working days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkDuration {
    /// How many units; always greater than zero.
    pub amount: u32,
    /// What is counted.
    pub unit: Unit,
}

impl WorkDuration {
    /// Shorthand for `amount` working days.
    pub const fn working_days(amount: u32) -> Self {
        WorkDuration { amount, unit: Unit::WorkingDays }
    }

    /// Shorthand for `amount` working hours.
    pub const fn working_hours(amount: u32) -> Self {
        WorkDuration { amount, unit: Unit::WorkingHours }
    }
}

/// Why a duration or warning point did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration; write a whole number and a unit, e.g. `5 working days`")]
    Empty,
    #[error("`{0}` is not a whole number; write e.g. `5 working days` or `4 working hours`")]
    BadNumber(String),
    #[error("unknown unit `{0}`; use `working days`, `working hours`, `days` or `hours`")]
    UnknownUnit(String),
    #[error("a duration must be greater than zero")]
    NotPositive,
    #[error("{0} is longer than a year, which is not a turnaround target")]
    TooLong(String),
    #[error("a warning percentage must be a whole number from 1% to 99%, got `{0}`")]
    BadPercent(String),
}

impl FromStr for WorkDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut words = text.split_whitespace();
        let number = words.next().ok_or(DurationError::Empty)?;
        let unit_text = words.collect::<Vec<_>>().join(" ").to_lowercase();
        let amount: i64 = number.parse().map_err(|_| DurationError::BadNumber(number.to_string()))?;
        let unit = match unit_text.as_str() {
            "working day" | "working days" => Unit::WorkingDays,
            "working hour" | "working hours" => Unit::WorkingHours,
            "day" | "days" => Unit::Days,
            "hour" | "hours" => Unit::Hours,
            "" => return Err(DurationError::UnknownUnit("(none)".into())),
            _ => return Err(DurationError::UnknownUnit(unit_text)),
        };
        if amount <= 0 {
            return Err(DurationError::NotPositive);
        }
        let amount = u32::try_from(amount).unwrap_or(u32::MAX);
        if amount > unit.max_amount() {
            return Err(DurationError::TooLong(text.trim().to_string()));
        }
        Ok(WorkDuration { amount, unit })
    }
}

impl fmt::Display for WorkDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.unit.name(self.amount))
    }
}

impl Serialize for WorkDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// When the warning fires: a share of the allowed time, or a fixed duration after the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarnAt {
    /// Percent (1..=99) of the allowed time; for working-time targets, of the working time.
    Percent(u8),
    /// A fixed duration after the start; it must be shorter than the target, in the same unit.
    After(WorkDuration),
}

impl Default for WarnAt {
    fn default() -> Self {
        WarnAt::Percent(80)
    }
}

impl FromStr for WarnAt {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        match trimmed.strip_suffix('%') {
            Some(number) => match number.trim().parse::<u8>() {
                Ok(p) if (1..=99).contains(&p) => Ok(WarnAt::Percent(p)),
                _ => Err(DurationError::BadPercent(trimmed.to_string())),
            },
            None => trimmed.parse().map(WarnAt::After),
        }
    }
}

impl fmt::Display for WarnAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WarnAt::Percent(p) => write!(f, "{p}%"),
            WarnAt::After(d) => d.fmt(f),
        }
    }
}

impl Serialize for WarnAt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let cases = [
            ("5 working days", 5, Unit::WorkingDays),
            ("1 working day", 1, Unit::WorkingDays),
            ("4 working hours", 4, Unit::WorkingHours),
            ("  2   Days ", 2, Unit::Days),
            ("36 hours", 36, Unit::Hours),
            ("1 Working Hour", 1, Unit::WorkingHours),
        ];
        for (text, amount, unit) in cases {
            assert_eq!(text.parse(), Ok(WorkDuration { amount, unit }), "{text}");
        }
    }

    #[test]
    fn rejects_nonsense_with_a_reason() {
        use DurationError::*;
        let cases = [
            ("", Empty),
            ("5 weekdays", UnknownUnit("weekdays".into())),
            ("5", UnknownUnit("(none)".into())),
            ("five working days", BadNumber("five".into())),
            ("1.5 working days", BadNumber("1.5".into())),
            ("0 working days", NotPositive),
            ("-2 hours", NotPositive),
            ("400 working days", TooLong("400 working days".into())),
        ];
        for (text, err) in cases {
            assert_eq!(text.parse::<WorkDuration>(), Err(err), "{text:?}");
        }
    }

    #[test]
    fn displays_round_trip() {
        for text in ["5 working days", "1 working day", "4 working hours", "1 day", "36 hours"] {
            assert_eq!(text.parse::<WorkDuration>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn warning_points() {
        assert_eq!("80%".parse(), Ok(WarnAt::Percent(80)));
        assert_eq!("4 working days".parse(), Ok(WarnAt::After(WorkDuration::working_days(4))));
        for bad in ["0%", "100%", "120%", "eighty%"] {
            assert!(matches!(bad.parse::<WarnAt>(), Err(DurationError::BadPercent(_))));
        }
        assert_eq!(WarnAt::default().to_string(), "80%");
    }
}
