//! Reads working-calendar files (`workflows/calendars/*.yaml`: time zone, working days
//! and hours, bank holidays, local closures) into a `timers::Calendar`; ships England and
//! Wales, Scotland and Northern Ireland, and reads a directory of further files.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;

use super::read::{entries, fields, text, text_list};
use super::report::{Report, ValidationError, index, join};
use super::yaml::{self, Node};
use crate::timers::Calendar;

/// The shipped England and Wales calendar file (bank holidays 2024–2030).
pub const ENGLAND_AND_WALES_YAML: &str = include_str!("../../workflows/calendars/england-and-wales.yaml");
/// The shipped Scotland calendar file (bank holidays 2024–2030).
pub const SCOTLAND_YAML: &str = include_str!("../../workflows/calendars/scotland.yaml");
/// The shipped Northern Ireland calendar file (bank holidays 2024–2030).
pub const NORTHERN_IRELAND_YAML: &str = include_str!("../../workflows/calendars/northern-ireland.yaml");

/// The shipped calendar files as `(name, yaml)`; the first is the default.
pub const SHIPPED: [(&str, &str); 3] = [
    ("england-and-wales", ENGLAND_AND_WALES_YAML),
    ("scotland", SCOTLAND_YAML),
    ("northern-ireland", NORTHERN_IRELAND_YAML),
];

/// The calendar used where no workflow names one (reports across workflows).
pub const DEFAULT_CALENDAR: &str = "england-and-wales";

/// The shipped calendars, parsed.
pub fn shipped() -> Vec<Calendar> {
    SHIPPED.iter().map(|(_, yaml)| parse_calendar(yaml).expect("the shipped calendar files are valid")).collect()
}

/// The shipped calendars with the `*.yaml` files of `dir` (when given) added; a file
/// named like a shipped calendar replaces it. Each file's `name:` must be its file name
/// without `.yaml`. Any mistake stops with the file, line and path.
pub fn load_all(dir: Option<&Path>) -> anyhow::Result<BTreeMap<String, Calendar>> {
    let mut out: BTreeMap<String, Calendar> = shipped().into_iter().map(|c| (c.name().to_string(), c)).collect();
    let Some(dir) = dir else { return Ok(out) };
    let listing = std::fs::read_dir(dir).with_context(|| format!("cannot read calendars.dir {}", dir.display()))?;
    let mut paths: Vec<_> = listing.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let calendar = parse_calendar(&text).map_err(|errors| {
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            anyhow::anyhow!("calendar file {}: {first}", path.display())
        })?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if calendar.name() != stem {
            anyhow::bail!(
                "calendar file {} is named `{}`; name it {}.yaml",
                path.display(),
                calendar.name(),
                calendar.name()
            );
        }
        out.insert(stem.to_string(), calendar);
    }
    Ok(out)
}

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

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
];

/// The lower-case English name of a day of the week, as calendar files write it.
pub fn day_name(day: Weekday) -> &'static str {
    DAY_NAMES[day.num_days_from_monday() as usize].0
}

/// `working_days: [monday, ...]`; `None` when absent or wrong (reported).
fn working_days(node: &Node, r: &mut Report) -> Option<Vec<Weekday>> {
    let mut days = Vec::new();
    let names = text_list(node, "working_days", r);
    for (i, name) in names.iter().enumerate() {
        match DAY_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, d)) => days.push(*d),
            None => r.at_value(&index("working_days", i), format!("`{name}` is not a day of the week like monday")),
        }
    }
    if names.is_empty() {
        r.at(node.pos, "working_days", "list at least one working day");
    }
    (days.len() == names.len() && !days.is_empty()).then_some(days)
}

fn calendar(root: &Node, r: &mut Report) -> Option<Calendar> {
    let keys = ["name", "timezone", "working_days", "working_hours", "bank_holidays", "closures"];
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
    if let Some(days) = f.get("working_days").and_then(|n| working_days(n, r)) {
        match calendar.clone().with_working_days(&days) {
            Ok(c) => calendar = c,
            Err(e) => r.at_value("working_days", e.to_string()),
        }
    }
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
