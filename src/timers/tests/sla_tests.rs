//! SLA deadlines and states, including the warn-at-80% computation.

use chrono::TimeDelta;

use super::calendar_tests::{at, cal, show};
use crate::timers::{SlaStateKind, WarnAt, WorkDuration, deadlines, evaluate};

fn d(text: &str) -> WorkDuration {
    text.parse().unwrap()
}

#[test]
fn warn_and_breach_table() {
    #[rustfmt::skip]
    let cases = [
        ("Friday 17:30, 5 days, 80%", "2025-01-10 17:30", "5 working days", "80%", "2025-01-16 17:00", "2025-01-17 17:30"),
        ("Tuesday 10:00, 5 days, 80%", "2025-01-14 10:00", "5 working days", "80%", "2025-01-20 10:00", "2025-01-21 10:00"),
        ("Saturday arrival", "2025-01-11 10:00", "5 working days", "80%", "2025-01-16 17:00", "2025-01-17 17:00"),
        ("urgent, 2 days", "2025-01-15 13:00", "2 working days", "80%", "2025-01-17 09:48", "2025-01-17 13:00"),
        ("two-week wait over Christmas", "2025-12-24 12:00", "1 working day", "80%", "2025-12-29 10:24", "2025-12-29 12:00"),
        ("fast-track at 50%", "2025-01-14 13:00", "1 working day", "50%", "2025-01-14 17:00", "2025-01-15 13:00"),
        ("working hours", "2025-01-10 15:00", "4 working hours", "75%", "2025-01-13 10:00", "2025-01-13 11:00"),
        ("fixed warning", "2025-01-14 10:00", "5 working days", "4 working days", "2025-01-20 10:00", "2025-01-21 10:00"),
        ("calendar days", "2025-01-10 10:00", "2 days", "80%", "2025-01-12 00:24", "2025-01-12 10:00"),
        ("elapsed hours", "2025-01-10 10:00", "36 hours", "50%", "2025-01-11 04:00", "2025-01-11 22:00"),
        ("over the autumn clock change", "2025-10-24 17:30", "5 working days", "80%", "2025-10-30 17:00", "2025-10-31 17:30"),
    ];
    for (what, start, target, warn, warn_at, breach_at) in cases {
        let warn: WarnAt = warn.parse().unwrap();
        let (w, b) = deadlines(&cal(), at(start), d(target), warn);
        assert_eq!((show(w), show(b)), (show(at(warn_at)), show(at(breach_at))), "{what}");
    }
}

#[test]
fn state_table() {
    let received = at("2025-01-10 17:30");
    let (warn_at, breach_at) = (at("2025-01-16 17:00"), at("2025-01-17 17:30"));
    let minute = TimeDelta::minutes(1);
    #[rustfmt::skip]
    let cases = [
        ("just received", received, None, SlaStateKind::OnTrack),
        ("a minute before the warning", warn_at - minute, None, SlaStateKind::OnTrack),
        ("at the warning", warn_at, None, SlaStateKind::Warning),
        ("a minute before the breach", breach_at - minute, None, SlaStateKind::Warning),
        ("at the breach", breach_at, None, SlaStateKind::Breached),
        ("done early", breach_at + minute * 600, Some(received + minute), SlaStateKind::Met),
        ("done on the dot", breach_at + minute * 600, Some(breach_at), SlaStateKind::Met),
        ("done late", breach_at + minute * 600, Some(breach_at + minute), SlaStateKind::Breached),
    ];
    for (what, now, done, state) in cases {
        let sla = evaluate(&cal(), received, d("5 working days"), WarnAt::default(), now, done);
        assert_eq!(sla.state, state, "{what}");
        assert_eq!((sla.warn_at, sla.breach_at), (warn_at, breach_at), "{what}");
    }
}

#[test]
fn sla_serialises_as_the_api_object() {
    let received = at("2025-01-10 17:30");
    let sla = evaluate(&cal(), received, d("5 working days"), WarnAt::default(), received, None);
    let json = serde_json::to_value(sla).unwrap();
    assert_eq!(json["state"], "on_track");
    assert_eq!(json["warn_at"], "2025-01-16T17:00:00Z");
    assert_eq!(json["breach_at"], "2025-01-17T17:30:00Z");
}
