//! Every `calendar:` name resolves to its own calendar file: the shipped Scotland and
//! Northern Ireland calendars beside England and Wales, files of `calendars.dir` with their
//! own working days and hours; unknown names are refused when a workflow is saved; and a
//! calendar whose bank holidays run out within a year is warned about on `/readyz` and the
//! calendar listing.

use dictaflow::clock::{Clock, parse_rfc3339};
use dictaflow::workflow::defaults::CLINIC_LETTER;
use serde_json::{Value, json};

use super::support::{DAY, Team, team_with};
use crate::helpers::{Backend, spawn_app_clocked};

crate::both_backends!(each_workflow_follows_its_own_calendar, calendar_files_from_a_directory_and_holiday_warnings);

const PATH: &str = "/api/v1/workflows/clinic-letter";

async fn use_calendar(t: &Team, name: &str) -> (u16, Value) {
    let yaml = CLINIC_LETTER.replace("calendar: england-and-wales", &format!("calendar: {name}"));
    assert_ne!(yaml, CLINIC_LETTER);
    t.put_yaml(&t.admin, PATH, &yaml).await
}

async fn each_workflow_follows_its_own_calendar(backend: Backend) {
    let Some(t) = team_with(backend, |_| {}).await else { return };
    // Wednesday 1 April 2026, 11:00 BST. Good Friday (3 April) is a holiday everywhere,
    // Easter Monday (6 April) in England and Wales and in Northern Ireland, not in Scotland.
    t.advance(30 * DAY);
    let due = |d: Value| d["due_at"].as_str().unwrap().to_string();
    assert_eq!(due(t.upload(&t.patel, "routine").await), "2026-04-10T10:00:00.000Z", "england-and-wales");
    for (name, want) in [("scotland", "2026-04-09T10:00:00.000Z"), ("northern-ireland", "2026-04-10T10:00:00.000Z")] {
        let (status, body) = use_calendar(&t, name).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(due(t.upload(&t.patel, "routine").await), want, "{name}");
    }
    let (status, body) = use_calendar(&t, "scotlnd").await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["path"], "calendar", "{body}");
    assert!(error["message"].as_str().unwrap().contains("did you mean `scotland`"), "{body}");

    let (_, list) = t.app.get_json(&t.jones, "/api/v1/calendars").await;
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["england-and-wales", "northern-ireland", "scotland"]);
    let (_, scotland) = t.app.get_json(&t.jones, "/api/v1/calendars/scotland").await;
    let holidays = scotland["bank_holidays"].as_array().unwrap();
    assert!(holidays.iter().any(|h| h["date"] == "2026-11-30" && h["name"] == "St Andrew's Day"), "{scotland}");
    assert_eq!(scotland["working_days"], json!(["monday", "tuesday", "wednesday", "thursday", "friday"]));
    assert_eq!(scotland["warning"], Value::Null, "listed until 2030");
    working_time_on_the_letters_calendar(&t).await;
}

/// The working time every view shows is counted on the letter's own calendar: a letter
/// on a Scottish workflow works through Easter Monday, which England and Wales would skip.
async fn working_time_on_the_letters_calendar(t: &Team) {
    const HOUR: i64 = 3600;
    let (status, body) = use_calendar(t, "scotland").await;
    assert_eq!(status, 200, "{body}");
    // Wednesday 1 April 11:00 to Thursday 9 April 11:00 (BST): 6 + 8 h, Good Friday off,
    // then Monday to Wednesday 24 h and Thursday 2 h: 40 h (32 h on England and Wales).
    let id = t.drafted(&t.patel, "routine").await;
    let left = |d: &Value| d["sla"]["working_seconds_left"].as_i64();
    assert_eq!(left(&t.get(&t.lead, &id).await), Some(40 * HOUR), "the dictation");
    let (status, list) = t.app.get_json(&t.lead, "/api/v1/dictations?limit=100").await;
    assert_eq!(status, 200, "{list}");
    let listed = list["items"].as_array().unwrap().iter().find(|d| d["id"] == id.as_str()).cloned().unwrap();
    assert_eq!(left(&listed), Some(40 * HOUR), "the list");
    t.ok(&t.jones, &id, "claim", json!({})).await;
    let (_, queue) = t.app.get_json(&t.jones, "/api/v1/queue").await;
    let queued = queue["items"].as_array().unwrap().iter().find(|d| d["id"] == id.as_str()).cloned().unwrap();
    assert_eq!(left(&queued), Some(40 * HOUR), "the queue: {queued}");
    // Dispatched on Tuesday 7 April 11:00: 6 + 8 + 8 + 2 = 24 working hours in Scotland.
    let routine = dispatched_after(t, &id, 6, "from=2026-04-01&to=2026-04-30").await;
    assert_eq!(routine["median_working_hours"].as_f64(), Some(24.0), "{routine}");
    assert_eq!(routine["median_working_days"].as_f64(), Some(3.0), "{routine}");
}

/// Submits and approves the claimed letter `id`, dispatches it `days` later and answers
/// the turnaround report's routine group for `range` (`from=...&to=...`).
async fn dispatched_after(t: &Team, id: &str, days: i64, range: &str) -> Value {
    t.ok(&t.jones, id, "submit", json!({})).await;
    t.ok(&t.patel, id, "approve", json!({})).await;
    t.advance(days * DAY);
    t.ok(&t.jones, id, "dispatch", json!({})).await;
    let (status, report) = t.app.get_json(&t.lead, &format!("{REPORT}?{range}&group_by=priority")).await;
    assert_eq!(status, 200, "{report}");
    let routine = report["groups"].as_array().unwrap().iter().find(|g| g["group"] == "routine").unwrap();
    assert_eq!(routine["completed"].as_u64(), Some(1), "{report}");
    routine.clone()
}

const REPORT: &str = "/api/v1/reports/turnaround";

/// The report's working days count each letter in its own calendar's working day: on
/// a calendar open 08:00-18:00, 10 working hours are one working day, not the 1.25 of
/// England and Wales' eight-hour day.
async fn working_days_of_the_letters_calendar(t: &Team) {
    // Monday 2 March 10:00: 8 h that day; Tuesday and Wednesday are local holidays; 2 h on
    // Thursday 5 March by 10:00.
    let id = t.drafted(&t.patel, "routine").await;
    t.ok(&t.jones, &id, "claim", json!({})).await;
    let range = "from=2026-03-01&to=2026-03-31";
    let routine = dispatched_after(t, &id, 3, range).await;
    assert_eq!(routine["median_working_hours"].as_f64(), Some(10.0), "{routine}");
    assert_eq!(routine["median_working_days"].as_f64(), Some(1.0), "{routine}");
    let url = t.app.url(&format!("{REPORT}?{range}&group_by=priority"));
    let resp = t.app.client.get(url).bearer_auth(&t.lead).header("accept", "text/csv").send().await.unwrap();
    let csv = resp.text().await.unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",median_working_days,p90_working_days"), "{csv}");
    let row = csv.lines().find(|l| l.starts_with("\"routine\"")).unwrap();
    assert!(row.ends_with(",1,1"), "{csv}");
}

const TRUST_CALENDAR: &str = "\
name: trust-weekend
timezone: Europe/London
working_days: [monday, tuesday, wednesday, thursday, friday, saturday]
working_hours: { opens: \"08:00\", closes: \"18:00\" }
bank_holidays:
  2026-03-03: Local holiday
  2026-03-04: Local holiday
closures: {}
";

async fn calendar_files_from_a_directory_and_holiday_warnings(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("trust-weekend.yaml"), TRUST_CALENDAR).unwrap();
    let path = dir.path().to_path_buf();
    let Some(t) = team_with(backend, |c| c.calendars.dir = Some(path)).await else { return };
    let (status, body) = use_calendar(&t, "trust-weekend").await;
    assert_eq!(status, 200, "{body}");
    // Monday 2 March 10:00, 5 working days: Thursday 5, Friday 6, Saturday 7, Monday 9, Tuesday 10.
    assert_eq!(t.upload(&t.patel, "routine").await["due_at"], "2026-03-10T10:00:00.000Z");
    // Closures are kept per calendar.
    let url = t.app.url("/api/v1/calendars/trust-weekend/closures");
    let resp = t.app.client.post(url).bearer_auth(&t.admin).json(&json!({"date": "2026-03-07", "reason": "Move"}));
    assert_eq!(resp.send().await.unwrap().status(), 201);
    assert_eq!(t.upload(&t.patel, "routine").await["due_at"], "2026-03-11T10:00:00.000Z");
    working_days_of_the_letters_calendar(&t).await;

    let (_, cal) = t.app.get_json(&t.admin, "/api/v1/calendars/trust-weekend").await;
    assert_eq!(cal["working_hours"], json!({"opens": "08:00", "closes": "18:00"}));
    assert_eq!(cal["working_days"].as_array().unwrap().last().unwrap(), "saturday");
    let warning =
        "calendar trust-weekend lists bank holidays only until 4 Mar 2026: add the following years' to its file";
    assert_eq!(cal["warning"], warning);
    let (status, ready) = t.app.get_json(&t.admin, "/readyz").await;
    assert_eq!(status, 200, "a warning does not make the server unready: {ready}");
    assert_eq!(ready["warnings"], json!([warning]));

    // In June 2030 the shipped lists (to 26 December 2030) run out within a year too.
    let clock = Clock::manual(parse_rfc3339("2030-06-03T09:00:00Z").unwrap());
    let Some(app) = spawn_app_clocked(backend, clock, |_| {}).await else { return };
    let (_, ready) = app.get_json("", "/readyz").await;
    let warnings: Vec<&str> = ready["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert_eq!(warnings.len(), 3, "{ready}");
    assert!(warnings.iter().all(|w| w.contains("only until 26 Dec 2030")), "{warnings:?}");
}
