//! The shipped calendars (England and Wales, Scotland, Northern Ireland): every bank
//! holiday 2024–2030 agrees with the rules (Easter by the Gregorian computus, fixed
//! Mondays, substitute days), and calendar files report their mistakes.

use chrono::{Datelike, NaiveDate, Weekday};

use crate::workflow::calendar_file::{SHIPPED, load_all};
use crate::workflow::{england_and_wales, parse_calendar};

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let (b, c) = (year / 100, year % 100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    ymd(year, month as u32, day as u32)
}

#[test]
fn computus() {
    #[rustfmt::skip]
    let known = [
        (2000, 4, 23), (2008, 3, 23), (2011, 4, 24), (2019, 4, 21), (2024, 3, 31),
        (2025, 4, 20), (2026, 4, 5), (2027, 3, 28), (2028, 4, 16), (2029, 4, 1),
        (2030, 4, 21), (2038, 4, 25), (2285, 3, 22),
    ];
    for (y, m, d) in known {
        assert_eq!(easter(y), ymd(y, m, d), "Easter {y}");
        assert_eq!(easter(y).weekday(), Weekday::Sun);
    }
}

/// The `n`th (1-based) or, with `n == 0`, the last `weekday` of a month.
fn nth(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    if n == 0 {
        let next = if month == 12 { ymd(year + 1, 1, 1) } else { ymd(year, month + 1, 1) };
        let mut day = next.pred_opt().unwrap();
        while day.weekday() != weekday {
            day = day.pred_opt().unwrap();
        }
        return day;
    }
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).unwrap()
}

/// A day moved off the weekend to the next free weekday.
fn substitute(day: NaiveDate, taken: &[NaiveDate]) -> NaiveDate {
    let mut d = day;
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) || taken.contains(&d) {
        d = d.succ_opt().unwrap();
    }
    d
}

fn rule_holidays(year: i32) -> Vec<NaiveDate> {
    let christmas = substitute(ymd(year, 12, 25), &[]);
    let boxing = substitute(ymd(year, 12, 26), &[christmas]);
    let mut days = vec![
        substitute(ymd(year, 1, 1), &[]),
        easter(year) - chrono::Days::new(2),
        easter(year) + chrono::Days::new(1),
        nth(year, 5, Weekday::Mon, 1),
        nth(year, 5, Weekday::Mon, 0),
        nth(year, 8, Weekday::Mon, 0),
        christmas,
        boxing,
    ];
    days.sort();
    days
}

#[test]
fn shipped_bank_holidays_match_the_rules_2024_to_2030() {
    let cal = england_and_wales();
    for year in 2024..=2030 {
        let shipped: Vec<NaiveDate> = cal.holidays().keys().copied().filter(|d| d.year() == year).collect();
        assert_eq!(shipped, rule_holidays(year), "bank holidays {year}");
        assert!(shipped.iter().all(|d| d.weekday().number_from_monday() <= 5));
    }
    assert_eq!(cal.holidays().len(), 7 * 8);
    assert_eq!(cal.last_listed_holiday(), Some(ymd(2030, 12, 26)));
}

/// Scotland: 2 January, St Andrew's Day and the first Monday of August; no Easter Monday.
fn scotland_rules(year: i32) -> Vec<NaiveDate> {
    let new_year = substitute(ymd(year, 1, 1), &[]);
    let christmas = substitute(ymd(year, 12, 25), &[]);
    let mut days = vec![
        new_year,
        substitute(ymd(year, 1, 2), &[new_year]),
        easter(year) - chrono::Days::new(2),
        nth(year, 5, Weekday::Mon, 1),
        nth(year, 5, Weekday::Mon, 0),
        nth(year, 8, Weekday::Mon, 1),
        substitute(ymd(year, 11, 30), &[]),
        christmas,
        substitute(ymd(year, 12, 26), &[christmas]),
    ];
    days.sort();
    days
}

/// Northern Ireland: England and Wales's with St Patrick's Day and the Battle of the Boyne.
fn northern_ireland_rules(year: i32) -> Vec<NaiveDate> {
    let mut days = rule_holidays(year);
    days.push(substitute(ymd(year, 3, 17), &[]));
    days.push(substitute(ymd(year, 7, 12), &[]));
    days.sort();
    days
}

#[test]
fn shipped_scotland_and_northern_ireland_match_the_rules() {
    let all = load_all(None).unwrap();
    assert_eq!(
        all.keys().map(String::as_str).collect::<Vec<_>>(),
        ["england-and-wales", "northern-ireland", "scotland"]
    );
    assert_eq!(SHIPPED.len(), all.len());
    for (name, rules, per_year) in
        [("scotland", scotland_rules as fn(i32) -> Vec<NaiveDate>, 9), ("northern-ireland", northern_ireland_rules, 10)]
    {
        let cal = &all[name];
        assert_eq!(cal.name(), name);
        for year in 2024..=2030 {
            let shipped: Vec<NaiveDate> = cal.holidays().keys().copied().filter(|d| d.year() == year).collect();
            assert_eq!(shipped, rules(year), "{name} {year}");
        }
        assert_eq!(cal.holidays().len(), 7 * per_year, "{name}");
        assert_eq!(cal.working_days(), [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]);
    }
    let name = |cal: &str, y, m, d| all[cal].holidays().get(&ymd(y, m, d)).cloned().unwrap_or_default();
    assert_eq!(name("scotland", 2025, 12, 1), "St Andrew's Day (substitute day)");
    assert_eq!(name("scotland", 2027, 1, 4), "2nd January (substitute day)");
    assert_eq!(name("northern-ireland", 2026, 7, 13), "Battle of the Boyne (Orangemen's Day) (substitute day)");
    assert_eq!(name("northern-ireland", 2024, 3, 18), "St Patrick's Day (substitute day)");
    assert!(all["scotland"].is_working_day(ymd(2026, 4, 6)), "Easter Monday is worked in Scotland");
    assert!(!all["northern-ireland"].is_working_day(ymd(2026, 4, 6)));
}

#[test]
fn working_days_and_a_directory_of_files() {
    let yaml =
        "name: weekend\nworking_days: [monday, Saturday]\nworking_hours: { opens: \"08:00\", closes: \"18:00\" }\n";
    let cal = parse_calendar(yaml).unwrap();
    assert_eq!(cal.working_days(), [Weekday::Mon, Weekday::Sat]);
    assert!(cal.is_working_day(ymd(2026, 3, 7)) && !cal.is_working_day(ymd(2026, 3, 3)));
    for (bad, path) in [("[funday]", "working_days[0]"), ("[]", "working_days"), ("{ a: 1 }", "working_days")] {
        let errs = parse_calendar(&format!("name: x\nworking_days: {bad}\n")).unwrap_err();
        assert_eq!(errs[0].path, path, "{bad}: {errs:?}");
    }

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("weekend.yaml"), yaml).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a calendar").unwrap();
    let all = load_all(Some(dir.path())).unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all["weekend"].opens(), chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap());
    // A shipped name is replaced; a file named unlike its calendar, or broken, stops the start.
    std::fs::write(dir.path().join("scotland.yaml"), yaml.replace("weekend", "scotland")).unwrap();
    assert_eq!(load_all(Some(dir.path())).unwrap()["scotland"].working_days(), [Weekday::Mon, Weekday::Sat]);
    std::fs::write(dir.path().join("other.yaml"), yaml).unwrap();
    let err = load_all(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("other.yaml") && err.contains("named `weekend`"), "{err}");
    std::fs::write(dir.path().join("other.yaml"), "name: other\ntimezone: Mars/Olympus\n").unwrap();
    let err = load_all(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("other.yaml") && err.contains("Mars/Olympus"), "{err}");
    assert!(load_all(Some(&dir.path().join("missing"))).is_err());
}

#[test]
fn a_warning_when_the_holidays_run_out_within_a_year() {
    let cal = england_and_wales();
    assert_eq!(cal.holidays_warning(ymd(2029, 12, 26)), None);
    let warning = cal.holidays_warning(ymd(2029, 12, 27)).unwrap();
    assert_eq!(
        warning,
        "calendar england-and-wales lists bank holidays only until 26 Dec 2030: add the following years' to its file"
    );
    let bare = parse_calendar("name: bare\n").unwrap();
    assert!(bare.holidays_warning(ymd(2026, 1, 1)).unwrap().contains("lists no bank holidays"));
}

#[test]
fn substitute_days_are_where_published() {
    let cal = england_and_wales();
    let name = |y, m, d| cal.holidays().get(&ymd(y, m, d)).cloned().unwrap_or_default();
    assert_eq!(name(2026, 12, 28), "Boxing Day (substitute day)");
    assert_eq!(name(2027, 12, 27), "Christmas Day (substitute day)");
    assert_eq!(name(2027, 12, 28), "Boxing Day (substitute day)");
    assert_eq!(name(2028, 1, 3), "New Year's Day (substitute day)");
    assert_eq!(name(2026, 4, 3), "Good Friday");
    assert_eq!(cal.name(), "england-and-wales");
    assert_eq!(cal.timezone(), chrono_tz::Europe::London);
}

#[test]
fn calendar_file_mistakes_are_reported() {
    let yaml = "\
name: test
timezone: Europe/Lundon
working_hours: { opens: \"9am\", closes: \"17:00\" }
bank_holidays:
  2026-02-30: Nonsense day
closures:
  2026-07-15: Site move
hours: 3
";
    let errs = parse_calendar(yaml).unwrap_err();
    let paths: Vec<(&str, usize)> = errs.iter().map(|e| (e.path.as_str(), e.line)).collect();
    #[rustfmt::skip]
    let expected = [
        ("timezone", 2), ("working_hours.opens", 3), ("bank_holidays.2026-02-30", 5), ("hours", 8),
    ];
    assert_eq!(paths, expected, "{errs:#?}");
    let yaml = yaml.replace("Lundon", "London");
    let fixed = yaml.replace("9am", "09:00").replace("2026-02-30", "2026-02-27").replace("hours: 3\n", "");
    let cal = parse_calendar(&fixed).unwrap();
    assert!(!cal.is_working_day(ymd(2026, 7, 15)));
    assert!(!cal.is_working_day(ymd(2026, 2, 27)));
}
