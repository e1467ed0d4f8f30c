//! Oversight over HTTP on a manual clock: the at-risk view (order, lateness in working time,
//! filters, scope), load per person with idle members and absences, the reassign picker,
//! bulk reassignment, absences listed / edited / cancelled, the read-only manager, and the
//! backlog that counts every open letter whatever its received date.

use dictaflow::domain::Role;
use serde_json::{Value, json};

use super::support::{DAY, HOUR, Team, team};
use crate::helpers::Backend;

crate::both_backends!(
    at_risk_view_and_load_per_person,
    picker_and_bulk_reassign,
    absences_listed_edited_and_cancelled,
    backlog_counts_every_open_letter
);

async fn call(t: &Team, method: &str, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = t.app.client.request(method, t.app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn ok(t: &Team, token: &str, path: &str) -> Value {
    let (status, v) = call(t, "GET", token, path, None).await;
    assert_eq!(status, 200, "{path}: {v}");
    v
}

async fn at_risk_view_and_load_per_person(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let manager = t.app.user("manager", Role::Manager, &["ent"]).await;
    // Monday 10:00: a routine letter (due in 5 working days), then an urgent one (2).
    let routine = t.drafted(&t.patel, "routine").await;
    let urgent = t.drafted(&t.okafor, "urgent").await;
    t.ok(&t.jones, &routine, "claim", json!({})).await;
    let empty = ok(&t, &t.lead, "/api/v1/oversight/at-risk").await;
    assert_eq!((empty["total"].as_u64(), empty["items"].as_array().map(Vec::len)), (Some(0), Some(0)), "{empty}");
    // Friday 10:00: the urgent letter is 2 working days late; the routine one is at risk.
    t.advance(4 * DAY);
    let page = ok(&t, &t.lead, "/api/v1/oversight/at-risk").await;
    assert_eq!(
        (page["total"].as_u64(), page["breached"].as_u64(), page["at_risk"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], urgent.as_str(), "most late first");
    assert_eq!(
        (items[0]["state"].as_str(), items[0]["working_seconds_late"].as_i64()),
        (Some("breached"), Some(2 * 8 * 3600))
    );
    assert_eq!(items[0]["working_day_seconds"], 8 * 3600);
    assert_eq!((items[1]["id"].as_str(), items[1]["holder"].as_str()), (Some(routine.as_str()), Some("sec.jones")));
    assert_eq!(items[1]["working_seconds_late"], -8 * 3600, "one working day left");
    // Filters: by holder, clinician, state; a bad state is named.
    let by_holder = ok(&t, &t.lead, "/api/v1/oversight/at-risk?holder=sec.jones").await;
    assert_eq!(by_holder["total"], 1);
    let by_clinician = ok(&t, &t.lead, "/api/v1/oversight/at-risk?clinician=dr.okafor&state=breached").await;
    assert_eq!(
        (by_clinician["total"].as_u64(), by_clinician["items"][0]["id"].as_str()),
        (Some(1), Some(urgent.as_str()))
    );
    assert_eq!(ok(&t, &t.lead, "/api/v1/oversight/at-risk?team=cardio").await["total"], 0);
    assert_eq!(ok(&t, &t.lead, "/api/v1/oversight/at-risk?state=at_risk&limit=1&offset=0").await["total"], 1);
    let (status, err) = call(&t, "GET", &t.lead, "/api/v1/oversight/at-risk?state=late", None).await;
    assert_eq!((status, err["field"].as_str(), err["code"].as_str()), (422, Some("state"), Some("validation_failed")));
    let (status, _) = call(&t, "GET", &t.lead, "/api/v1/oversight/at-risk?limit=0", None).await;
    assert_eq!(status, 422);
    // Scope: the manager sees the ENT letters; the cardiology secretary may not use the view.
    assert_eq!(ok(&t, &manager, "/api/v1/oversight/at-risk").await["total"], 2);
    assert_eq!(ok(&t, &t.admin, "/api/v1/oversight/at-risk").await["total"], 2);
    let (status, _) = call(&t, "GET", &t.cardio, "/api/v1/oversight/at-risk", None).await;
    assert_eq!(status, 403);

    // Load per person: every ENT member, Brown holding nothing included; the manager is not a worker.
    let load = ok(&t, &t.lead, "/api/v1/oversight/load").await;
    let people: Vec<(&str, u64, u64, u64)> = load["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_u64().unwrap();
            (p["username"].as_str().unwrap(), n("open"), n("breached"), n("at_risk"))
        })
        .collect();
    assert_eq!(
        people,
        [
            ("dr.okafor", 0, 0, 0),
            ("dr.patel", 0, 0, 0),
            ("lead", 0, 0, 0),
            ("sec.brown", 0, 0, 0),
            ("sec.jones", 1, 0, 1)
        ]
    );
    assert_eq!((load["unheld"]["open"].as_u64(), load["unheld"]["breached"].as_u64()), (Some(1), Some(1)));
    assert_eq!(ok(&t, &manager, "/api/v1/oversight/load").await["people"].as_array().unwrap().len(), 5);
    // The view is on the audit trail with the letters shown.
    let trail = ok(&t, &t.admin, "/api/v1/audit?action=dictation.oversight&actor=lead").await;
    assert!(trail["items"][0]["details"]["shown"].as_array().is_some(), "{trail}");
}

async fn picker_and_bulk_reassign(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let manager = t.app.user("manager", Role::Manager, &["ent"]).await;
    let ids = [
        t.drafted(&t.patel, "routine").await,
        t.drafted(&t.patel, "routine").await,
        t.drafted(&t.okafor, "urgent").await,
    ];
    t.ok(&t.jones, &ids[0], "claim", json!({})).await;
    // Brown is away from tomorrow: the picker says so.
    let body = json!({"user": "sec.brown", "from": "2026-03-03T09:00:00.000Z", "to": "2026-03-04T17:00:00.000Z"});
    let (status, created) = call(&t, "POST", &t.lead, "/api/v1/absences", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let picker = ok(&t, &t.lead, &format!("/api/v1/dictations/{}/candidates", ids[0])).await;
    let people = picker["candidates"].as_array().unwrap();
    let names: Vec<&str> = people.iter().map(|c| c["username"].as_str().unwrap()).collect();
    // The correction stage's pool: ENT secretaries only (not the clinicians, not cardiology), least loaded first.
    assert_eq!(names, ["sec.brown", "sec.jones"], "{picker}");
    assert_eq!((people[0]["open"].as_u64(), people[0]["absent_now"].as_bool()), (Some(0), Some(false)));
    assert_eq!(people[0]["absences"][0]["from"], "2026-03-03T09:00:00.000Z");
    assert_eq!((people[1]["holder"].as_bool(), people[1]["open"].as_u64()), (Some(true), Some(1)));
    // Only those who supervise work use the picker; letters outside scope are not found.
    for token in [&manager, &t.jones] {
        let (status, _) = call(&t, "GET", token, &format!("/api/v1/dictations/{}/candidates", ids[0]), None).await;
        assert_eq!(status, 403);
    }
    let (status, _) = call(&t, "GET", &t.lead, "/api/v1/dictations/nope/candidates", None).await;
    assert_eq!(status, 404);

    // Bulk: all three to Brown, plus an unknown id that is reported, not fatal.
    let body = json!({"dictations": [ids[0], ids[1], ids[2], "nope"], "assignee": "sec.brown", "comment": "cover"});
    let (status, r) = call(&t, "POST", &t.lead, "/api/v1/reassign", Some(body.clone())).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!((r["moved"].as_u64(), r["failed"].as_u64()), (Some(3), Some(1)), "{r}");
    assert_eq!((r["results"][3]["status"].as_u64(), r["results"][3]["code"].as_str()), (Some(404), Some("not_found")));
    for id in &ids {
        assert_eq!(t.get(&t.lead, id).await["assignee"], "sec.brown");
    }
    let trail = ok(&t, &t.admin, "/api/v1/audit?action=dictation.transition&actor=lead").await;
    assert!(trail["items"].as_array().unwrap().iter().filter(|e| e["details"]["bulk"] == true).count() >= 3);
    // Once Brown is away, moving letters to him is refused letter by letter.
    t.advance(DAY);
    t.fire().await;
    let back = json!({"dictations": [ids[0]], "assignee": "sec.brown"});
    let (_, r) = call(&t, "POST", &t.lead, "/api/v1/reassign", Some(back)).await;
    assert_eq!((r["moved"].as_u64(), r["results"][0]["code"].as_str()), (Some(0), Some("validation_failed")), "{r}");
    for (token, want) in [(&manager, 403), (&t.jones, 403)] {
        let (status, _) = call(&t, "POST", token, "/api/v1/reassign", Some(body.clone())).await;
        assert_eq!(status, want);
    }
    let (status, err) =
        call(&t, "POST", &t.lead, "/api/v1/reassign", Some(json!({"dictations": [], "assignee": "sec.jones"}))).await;
    assert_eq!((status, err["field"].as_str()), (422, Some("dictations")));
}

async fn absences_listed_edited_and_cancelled(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let manager = t.app.user("manager", Role::Manager, &["ent"]).await;
    let id = t.drafted(&t.patel, "routine").await;
    t.ok(&t.jones, &id, "claim", json!({})).await;
    // Jones is booked ahead (Wednesday to Friday), covered by Brown.
    let body = json!({"user": "sec.jones", "from": "2026-03-04T09:00:00.000Z", "to": "2026-03-06T17:00:00.000Z", "cover": "sec.brown"});
    let (status, created) = call(&t, "POST", &t.lead, "/api/v1/absences", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let absence = created["id"].as_str().unwrap().to_string();
    let list = ok(&t, &t.lead, "/api/v1/absences").await;
    assert_eq!(list["items"][0]["state"], "ahead");
    assert_eq!(
        (list["items"][0]["user"].as_str(), list["items"][0]["cover"].as_str()),
        (Some("sec.jones"), Some("sec.brown"))
    );
    // The day view: nobody on Tuesday, Jones covered by Brown on Thursday.
    let day = |d: &str| format!("/api/v1/absences?from={d}T00:00:00Z&to={d}T23:59:59Z");
    assert_eq!(ok(&t, &t.lead, &day("2026-03-03")).await["items"].as_array().unwrap().len(), 0);
    assert_eq!(ok(&t, &t.lead, &day("2026-03-05")).await["items"][0]["cover"], "sec.brown");
    // Moved a day later, without cover: her letters go back to the pool when it starts.
    let path = format!("/api/v1/absences/{absence}");
    let change = json!({"from": "2026-03-05T09:00:00.000Z", "cover": null});
    let (status, edited) = call(&t, "PATCH", &t.lead, &path, Some(change)).await;
    assert_eq!(
        (status, edited["from"].as_str(), edited["cover"].as_str()),
        (200, Some("2026-03-05T09:00:00.000Z"), None),
        "{edited}"
    );
    t.advance(2 * DAY);
    t.fire().await;
    assert_eq!(t.get(&t.lead, &id).await["assignee"], "sec.jones", "the old start moves nothing");
    t.advance(DAY);
    t.fire().await;
    // The server's own scheduler may have claimed the timer first: wait for its commit.
    let mut d = t.get(&t.lead, &id).await;
    for _ in 0..50 {
        if d["assignee"].is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        d = t.get(&t.lead, &id).await;
    }
    assert_eq!((d["assignee"].as_str(), d["stage"].as_str()), (None, Some("queue")), "{d}");
    // Under way: the start cannot change; the end can; cancelling ends it now.
    let (status, err) = call(&t, "PATCH", &t.lead, &path, Some(json!({"from": "2026-03-06T09:00:00.000Z"}))).await;
    assert_eq!((status, err["field"].as_str()), (422, Some("from")));
    let (status, _) = call(&t, "PATCH", &t.lead, &path, Some(json!({"to": "2026-03-09T17:00:00.000Z"}))).await;
    assert_eq!(status, 200);
    let (status, done) = call(&t, "DELETE", &t.lead, &path, None).await;
    assert_eq!((status, done["outcome"].as_str()), (200, Some("ended")));
    assert!(ok(&t, &t.lead, "/api/v1/absences").await["items"].as_array().unwrap().is_empty());
    t.ok(&t.lead, &id, "reassign", json!({"assignee": "sec.jones"})).await;
    // Booked ahead and cancelled: removed, and its start timer never fires.
    let body = json!({"user": "sec.brown", "from": "2026-03-10T09:00:00.000Z", "to": "2026-03-11T17:00:00.000Z"});
    let (_, created) = call(&t, "POST", &t.lead, "/api/v1/absences", Some(body)).await;
    let ahead_id = created["id"].as_str().unwrap().to_string();
    let ahead = format!("/api/v1/absences/{ahead_id}");
    for token in [&manager, &t.jones] {
        let (status, _) = call(&t, "DELETE", token, &ahead, None).await;
        assert_eq!(status, 403);
    }
    let (status, done) = call(&t, "DELETE", &t.lead, &ahead, None).await;
    assert_eq!((status, done["outcome"].as_str()), (200, Some("removed")));
    let (status, _) = call(&t, "DELETE", &t.lead, &ahead, None).await;
    assert_eq!(status, 404);
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM timers WHERE absence_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(&ahead_id)
    .fetch_one(&t.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(pending, 0, "the start timer is cancelled with the absence");
    // Bad input is named; someone else's team's absence is not found.
    let (status, err) = call(&t, "PATCH", &t.lead, &path, Some(json!({"to": "soon"}))).await;
    assert_eq!((status, err["field"].as_str()), (422, Some("to")));
    let body = json!({"user": "sec.cardio", "from": "2026-04-01T09:00:00.000Z", "to": "2026-04-02T09:00:00.000Z"});
    let (_, other) = call(&t, "POST", &t.admin, "/api/v1/absences", Some(body)).await;
    let other = format!("/api/v1/absences/{}", other["id"].as_str().unwrap());
    let (status, _) = call(&t, "PATCH", &t.lead, &other, Some(json!({"to": "2026-04-03T09:00:00.000Z"}))).await;
    assert_eq!(status, 404);
    // Every change is on the audit trail.
    for action in ["admin.absence_create", "admin.absence_update", "admin.absence_cancel"] {
        let trail = ok(&t, &t.admin, &format!("/api/v1/audit?action={action}&actor=lead")).await;
        assert!(!trail["items"].as_array().unwrap().is_empty(), "{action}");
    }
}

async fn backlog_counts_every_open_letter(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let old = t.drafted(&t.patel, "routine").await;
    t.ok(&t.jones, &old, "claim", json!({})).await;
    // Seven weeks later: the letter was received long before the report's period.
    t.advance(49 * DAY + HOUR);
    let path = "/api/v1/reports/turnaround?from=2026-04-13&to=2026-04-21&group_by=secretary";
    let report = ok(&t, &t.lead, path).await;
    let jones = report["groups"].as_array().unwrap().iter().find(|g| g["group"] == "sec.jones").cloned();
    let jones = jones.unwrap_or_else(|| panic!("sec.jones has a backlog: {report}"));
    assert_eq!(
        (jones["received"].as_u64(), jones["backlog"].as_u64(), jones["backlog_breached"].as_u64()),
        (Some(0), Some(1), Some(1))
    );
    assert_eq!(report["working_day_hours"], 8.0);
}
