//! Reads working-calendar files (`workflows/calendars/*.yaml`: time zone, working hours,
//! bank holidays, local closures) into a `timers::Calendar`, and ships England and Wales.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;

use super::read::{entries, fields, text};
use super::report::{Report, ValidationError, join};
use super::yaml::{self, Node};
use crate::timers::Calendar;

/// The shipped England and Wales calendar file (bank holidays 2024–2030).
pub const ENGLAND_AND_WALES_YAML: &str = include_str!("../../workflows/calendars/england-and-wales.yaml");

/// Parses and checks a calendar file.
pub fn parse_calendar(yaml_text: &str) -> Result<Calendar, Vec<ValidationError>> {
    let mut r = Report::default();
    let Some(root) = yaml::parse(yaml_text, &mut r) else {
        return Err(r.into_errors());
    };
    let calendar = calendar(&root, &mut r);
    match calendar {
        Some(c) => r.finish(c),
        None => Err(r.into_errors()),
    }
}

/// The shipped England and Wales calendar (Europe/London, 09:00–17:00).
pub fn england_and_wales() -> Calendar {
    parse_calendar(ENGLAND_AND_WALES_YAML).expect("the shipped calendar file is valid")
}

fn calendar(root: &Node, r: &mut Report) -> Option<Calendar> {
    let keys = ["name", "timezone", "working_hours", "bank_holidays", "closures"];
    let f = fields(root, "", &keys, r)?;
    let name = f.required_text("name", r);
    let tz = match f.get("timezone") {
        Some(n) => text(n, "timezone", r).and_then(|t| match t.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                let msg = format!("unknown time zone `{t}`; use an IANA name like Europe/London");
                r.at(n.pos, "timezone", msg);
                None
            }
        }),
        None => Some(chrono_tz::Europe::London),
    };
    // Wrong values fall back to defaults; the errors are in `r`, so no calendar escapes.
    let tz = tz.unwrap_or(chrono_tz::Europe::London);
    let mut calendar = Calendar::new(name.unwrap_or_default()).with_timezone(tz);
    let hours = f.get("working_hours");
    if let Some(h) = hours.and_then(|n| fields(n, "working_hours", &["opens", "closes"], r)) {
        let read = |key: &str, r: &mut Report| match h.get(key) {
            Some(n) => time(n, &h.path(key), r),
            None => {
                h.missing(key, r);
                None
            }
        };
        let (opens, closes) = (read("opens", r), read("closes", r));
        if let (Some(opens), Some(closes)) = (opens, closes) {
            match calendar.clone().with_hours(opens, closes) {
                Ok(c) => calendar = c,
                Err(e) => r.at_value("working_hours", e.to_string()),
            }
        }
    }
    let holidays = dates(f.get("bank_holidays"), "bank_holidays", r);
    let closures = dates(f.get("closures"), "closures", r);
    Some(calendar.with_holidays(holidays).with_closures(closures))
}

fn time(node: &Node, path: &str, r: &mut Report) -> Option<NaiveTime> {
    let t = text(node, path, r)?;
    match NaiveTime::parse_from_str(&t, "%H:%M") {
        Ok(v) => Some(v),
        Err(_) => {
            r.at(node.pos, path, format!("`{t}` is not a time like 09:00"));
            None
        }
    }
}

/// A mapping of `YYYY-MM-DD: description`.
fn dates(node: Option<&Node>, path: &str, r: &mut Report) -> BTreeMap<NaiveDate, String> {
    let mut out = BTreeMap::new();
    let Some(node) = node else { return out };
    for (key, value) in entries(node, path, r) {
        let p = join(path, &key.text);
        let description = text(value, &p, r).unwrap_or_default();
        match NaiveDate::parse_from_str(&key.text, "%Y-%m-%d") {
            Ok(d) => {
                out.insert(d, description);
            }
            Err(_) => r.at(key.pos, &p, format!("`{}` is not a date like 2026-12-25", key.text)),
        }
    }
    out
}
