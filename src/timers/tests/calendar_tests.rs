//! Calendar arithmetic on the shipped England and Wales calendar: weekends, bank
//! holidays, Christmas to New Year, Easter, clock changes, Friday-evening arrivals.
//! Times in the tables are Europe/London wall-clock times.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};

use crate::timers::Calendar;
use crate::workflow::england_and_wales;

pub fn cal() -> Calendar {
    england_and_wales()
}

/// A London wall-clock time, "2025-01-10 17:30".
pub fn at(local: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").expect(local);
    cal().at_local(naive.date(), naive.time())
}

/// Back to London wall-clock text, with the weekday for readable failures.
pub fn show(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::London).format("%Y-%m-%d %H:%M %a").to_string()
}

fn expect(local: &str) -> String {
    show(at(local))
}

#[test]
fn add_working_days_table() {
    #[rustfmt::skip]
    let cases = [
        ("Friday 17:30 is due 17:30 next Friday", "2025-01-10 17:30", 5, "2025-01-17 17:30"),
        ("midweek keeps the time of day", "2025-01-14 10:00", 5, "2025-01-21 10:00"),
        ("before opening keeps the early time", "2025-01-13 07:00", 1, "2025-01-14 07:00"),
        ("Saturday counts from Friday's close", "2025-01-11 10:00", 5, "2025-01-17 17:00"),
        ("Sunday night counts from Friday's close", "2025-01-12 23:00", 1, "2025-01-13 17:00"),
        ("one day over a weekend", "2025-01-10 11:00", 1, "2025-01-13 11:00"),
        ("Christmas 2025 to New Year", "2025-12-24 14:00", 5, "2026-01-05 14:00"),
        ("arrival on Christmas Day", "2025-12-25 10:00", 1, "2025-12-29 17:00"),
        ("Boxing Day substitute 2026", "2026-12-24 11:00", 2, "2026-12-30 11:00"),
        ("both substitutes 2027", "2027-12-24 09:30", 1, "2027-12-29 09:30"),
        ("New Year substitute 2028", "2027-12-31 16:00", 1, "2028-01-04 16:00"),
        ("Easter 2026", "2026-04-02 12:00", 1, "2026-04-07 12:00"),
        ("Easter 2025 over the week", "2025-04-17 16:00", 5, "2025-04-28 16:00"),
        ("Easter 2027 in March", "2027-03-25 10:00", 2, "2027-03-31 10:00"),
        ("early May bank holiday", "2026-05-01 10:00", 1, "2026-05-05 10:00"),
        ("spring bank holiday", "2026-05-22 10:00", 1, "2026-05-26 10:00"),
        ("summer bank holiday", "2026-08-28 10:00", 1, "2026-09-01 10:00"),
        ("spring clock change keeps 10:00", "2025-03-28 10:00", 1, "2025-03-31 10:00"),
        ("autumn clock change keeps 17:30", "2025-10-24 17:30", 5, "2025-10-31 17:30"),
        ("zero days is the start itself", "2025-01-11 10:00", 0, "2025-01-11 10:00"),
    ];
    for (what, start, n, due) in cases {
        assert_eq!(show(cal().add_working_days(at(start), n)), expect(due), "{what}");
    }
}

#[test]
fn clock_changes_move_the_utc_instant_not_the_local_time() {
    // GMT Friday 10:00 is 10:00Z; BST Monday 10:00 is 09:00Z.
    let due = cal().add_working_days(at("2025-03-28 10:00"), 1);
    assert_eq!(due.to_rfc3339(), "2025-03-31T09:00:00+00:00");
    // BST Friday 17:30 is 16:30Z; GMT Friday 17:30 is 17:30Z.
    let start = at("2025-10-24 17:30");
    assert_eq!(start.to_rfc3339(), "2025-10-24T16:30:00+00:00");
    let due = cal().add_working_days(start, 5);
    assert_eq!(due.to_rfc3339(), "2025-10-31T17:30:00+00:00");
}

#[test]
fn add_working_hours_table() {
    #[rustfmt::skip]
    let cases = [
        ("Friday afternoon into Monday", "2025-01-10 15:00", 4, "2025-01-13 11:00"),
        ("Friday evening starts Monday", "2025-01-10 17:30", 4, "2025-01-13 13:00"),
        ("ends exactly at closing", "2025-01-14 10:00", 7, "2025-01-14 17:00"),
        ("a full day runs to next morning", "2025-01-14 10:00", 8, "2025-01-15 10:00"),
        ("Saturday starts Monday 09:00", "2025-01-11 12:00", 1, "2025-01-13 10:00"),
        ("before opening starts at 09:00", "2025-01-14 06:00", 2, "2025-01-14 11:00"),
        ("over Christmas 2025", "2025-12-24 16:00", 2, "2025-12-29 10:00"),
        ("over Easter 2026", "2026-04-02 16:00", 3, "2026-04-07 11:00"),
        ("spring clock change", "2025-03-28 16:00", 2, "2025-03-31 10:00"),
        ("autumn clock change", "2025-10-24 16:00", 2, "2025-10-27 10:00"),
        ("a working week from Friday evening", "2025-01-10 17:30", 40, "2025-01-17 17:00"),
    ];
    for (what, start, hours, due) in cases {
        assert_eq!(show(cal().add_working_hours(at(start), hours)), expect(due), "{what}");
    }
}

#[test]
fn working_time_between_table() {
    #[rustfmt::skip]
    let cases = [
        ("Friday evening to Friday evening", "2025-01-10 17:30", "2025-01-17 17:30", 40 * 60),
        ("inside one day", "2025-01-14 10:00", "2025-01-14 15:30", 330),
        ("a weekend has none", "2025-01-11 08:00", "2025-01-12 20:00", 0),
        ("a bank holiday has none", "2026-05-04 08:00", "2026-05-04 20:00", 0),
        ("Christmas Eve to 2 January", "2025-12-24 09:00", "2026-01-02 17:00", 5 * 8 * 60),
        ("spring clock change weekend", "2025-03-28 09:00", "2025-03-31 17:00", 16 * 60),
        ("autumn clock change weekend", "2025-10-24 09:00", "2025-10-27 17:00", 16 * 60),
        ("backwards is negative", "2025-01-14 15:30", "2025-01-14 10:00", -330),
    ];
    for (what, a, b, minutes) in cases {
        let got = cal().working_time_between(at(a), at(b));
        assert_eq!(got, TimeDelta::minutes(minutes), "{what}");
    }
}

#[test]
fn adding_then_measuring_round_trips() {
    let starts = ["2025-01-10 17:30", "2025-03-28 11:15", "2025-12-23 16:45", "2026-04-01 09:00"];
    for start in starts {
        for hours in [1, 7, 8, 13, 40] {
            let end = cal().add_working_hours(at(start), hours);
            let measured = cal().working_time_between(at(start), end);
            assert_eq!(measured, TimeDelta::hours(hours.into()), "{start} + {hours}h");
        }
    }
}

#[test]
fn local_closures_and_custom_hours() {
    let closure = NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
    let closed = cal().with_closures([(closure, "Site move".to_string())]);
    assert!(!closed.is_working_day(closure));
    let due = closed.add_working_days(at("2025-01-14 10:00"), 1);
    assert_eq!(show(due), expect("2025-01-16 10:00"));

    let h = |s: &str| chrono::NaiveTime::parse_from_str(s, "%H:%M").unwrap();
    let short = cal().with_hours(h("08:30"), h("16:30")).unwrap();
    assert_eq!(short.working_day_length(), TimeDelta::hours(8));
    let end = short.add_working_hours(at("2025-01-10 16:00"), 1);
    assert_eq!(show(end), expect("2025-01-13 09:00"));
    assert!(cal().with_hours(h("17:00"), h("09:00")).is_err());
}

#[test]
fn calendar_days_keep_the_local_time_over_a_clock_change() {
    let due = cal().add_days(at("2025-03-29 12:00"), 2);
    assert_eq!(show(due), expect("2025-03-31 12:00"));
    assert_eq!(due - at("2025-03-29 12:00"), TimeDelta::hours(47));
}

#[test]
fn the_working_clock_agrees_with_working_time_between() {
    // A year over Christmas, Easter and both clock changes, with a local closure; pairs
    // spread over it (deterministic pseudo-random), including ones outside the period.
    let closures = [(NaiveDate::from_ymd_opt(2025, 6, 4).unwrap(), "training day".to_string())];
    let cal = cal().with_closures(closures);
    let (from, to) = (at("2025-01-01 00:00"), at("2026-01-10 00:00"));
    let clock = cal.working_clock(from, to);
    let span = (to - from).num_milliseconds() + 20 * 86_400_000;
    let start = from.timestamp_millis() - 10 * 86_400_000;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        start + (seed % span as u64) as i64
    };
    for _ in 0..5000 {
        let (a, b) = (next(), next());
        let b = if b % 3 == 0 { a + (b % (9 * 86_400_000)) } else { b };
        let expected = cal
            .working_time_between(
                DateTime::from_timestamp_millis(a).unwrap(),
                DateTime::from_timestamp_millis(b).unwrap(),
            )
            .num_milliseconds();
        assert_eq!(clock.between_ms(a, b), expected, "between {a} and {b}");
    }
}
