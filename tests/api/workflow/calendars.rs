//! Local closures: stored by a super-user, validated field by field, and counted as
//! non-working days for due times computed afterwards (not for deadlines already given).

use serde_json::{Value, json};

use super::support::team;
use crate::helpers::Backend;

crate::both_backends!(a_closure_pushes_new_due_dates_by_a_working_day, closures_are_validated_and_listed);

const CLOSURES: &str = "/api/v1/calendars/england-and-wales/closures";

async fn post(t: &super::support::Team, token: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = t.app.client.post(t.app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn a_closure_pushes_new_due_dates_by_a_working_day(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    // Monday 2 March 2026 10:00, routine: 5 working days -> Monday 9 March 10:00.
    let before = t.upload(&t.patel, "routine").await;
    assert_eq!(before["due_at"], "2026-03-09T10:00:00.000Z");
    let id = before["id"].as_str().unwrap();
    // Time left is working time: five working days of 09:00-17:00.
    let sla = &t.get(&t.patel, id).await["sla"];
    assert_eq!(
        (sla["working_seconds_left"].as_i64(), sla["working_day_seconds"].as_i64()),
        (Some(5 * 8 * 3600), Some(8 * 3600))
    );
    let (status, body) =
        post(&t, &t.admin, CLOSURES, json!({"date": "2026-03-04", "reason": "Site closed: water main"})).await;
    assert_eq!(status, 201, "{body}");
    let after = t.upload(&t.patel, "routine").await;
    assert_eq!(after["due_at"], "2026-03-10T10:00:00.000Z", "one working day later");
    let kept = t.get(&t.patel, before["id"].as_str().unwrap()).await;
    assert_eq!(kept["due_at"], "2026-03-09T10:00:00.000Z", "deadlines already given are kept");
    assert_eq!(kept["sla"]["working_seconds_left"], 4 * 8 * 3600, "but the closed day is not working time left");

    // A range over a weekend counts only its working days: Thu 5 and Fri 6 March.
    let (status, body) =
        post(&t, &t.admin, CLOSURES, json!({"from": "2026-03-05", "to": "2026-03-08", "reason": "Strike"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["closures"].as_array().unwrap().len(), 4);
    assert_eq!(t.upload(&t.patel, "routine").await["due_at"], "2026-03-12T10:00:00.000Z");

    // Removing the closures restores the shipped calendar for the next letters.
    for day in ["2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08"] {
        let url = t.app.url(&format!("{CLOSURES}/{day}"));
        let resp = t.app.client.delete(url).bearer_auth(&t.admin).send().await.unwrap();
        assert_eq!(resp.status(), 204, "{day}");
    }
    assert_eq!(t.upload(&t.patel, "routine").await["due_at"], "2026-03-09T10:00:00.000Z");
    let kept = t.get(&t.patel, before["id"].as_str().unwrap()).await;
    assert_eq!(kept["sla"]["working_seconds_left"], 5 * 8 * 3600, "and the time left counts the day again");
}

async fn closures_are_validated_and_listed(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let (status, _) = post(&t, &t.lead, CLOSURES, json!({"date": "2026-03-04", "reason": "x"})).await;
    assert_eq!(status, 403, "only super-users edit calendars");
    let (status, _) =
        post(&t, &t.admin, "/api/v1/calendars/mars/closures", json!({"date": "2026-03-04", "reason": "x"})).await;
    assert_eq!(status, 404);
    for (field, body) in [
        ("date", json!({"date": "4 March", "reason": "x"})),
        ("date", json!({"date": "2026-02-30", "reason": "x"})),
        ("date", json!({"reason": "x"})),
        ("date", json!({"date": "2026-03-04", "from": "2026-03-04", "to": "2026-03-05", "reason": "x"})),
        ("to", json!({"from": "2026-03-04", "reason": "x"})),
        ("to", json!({"from": "2026-03-04", "to": "2026-03-01", "reason": "x"})),
        ("to", json!({"from": "2026-01-01", "to": "2028-01-01", "reason": "x"})),
        ("from", json!({"from": "yesterday", "to": "2026-03-01", "reason": "x"})),
        ("reason", json!({"date": "2026-03-04"})),
        ("reason", json!({"date": "2026-03-04", "reason": "   "})),
    ] {
        let (status, problem) = post(&t, &t.admin, CLOSURES, body.clone()).await;
        assert_eq!((status, problem["field"].as_str()), (422, Some(field)), "{body} -> {problem}");
        assert_eq!(problem["code"], "validation_failed");
    }
    let (status, _) = post(&t, &t.admin, CLOSURES, json!({"date": "2026-03-04", "reason": "Water main"})).await;
    assert_eq!(status, 201);

    let (status, list) = t.app.get_json(&t.jones, "/api/v1/calendars").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["name"], "england-and-wales");
    let (status, cal) = t.app.get_json(&t.jones, "/api/v1/calendars/england-and-wales").await;
    assert_eq!(status, 200, "{cal}");
    assert_eq!(
        cal["closures"],
        json!([{"date": "2026-03-04", "reason": "Water main",
        "created_at": "2026-03-02T10:00:00.000Z", "created_by": "admin"}])
    );
    let holidays = cal["bank_holidays"].as_array().unwrap();
    assert!(holidays.iter().any(|h| h["date"] == "2026-12-25" && h["name"] == "Christmas Day"));
    assert_eq!(cal["working_hours"], json!({"opens": "09:00", "closes": "17:00"}));
    assert_eq!(t.app.get_json(&t.jones, "/api/v1/calendars/mars").await.0, 404);

    let url = t.app.url(&format!("{CLOSURES}/2026-03-05"));
    assert_eq!(t.app.client.delete(&url).bearer_auth(&t.admin).send().await.unwrap().status(), 404);
    let url = t.app.url(&format!("{CLOSURES}/notadate"));
    let resp = t.app.client.delete(&url).bearer_auth(&t.admin).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let url = t.app.url(&format!("{CLOSURES}/2026-03-04"));
    assert_eq!(t.app.client.delete(&url).bearer_auth(&t.jones).send().await.unwrap().status(), 403);
}
