//! Handing work out: absences with cover, round-robin pools, and the turnaround report.

use serde_json::{Value, json};

use super::support::{DAY, HOUR, MONDAY_10AM, team};
use crate::helpers::Backend;

crate::both_backends!(
    absence_moves_work_to_the_cover_or_the_pool,
    round_robin_pool_assigns_in_turn,
    turnaround_report_json_and_csv,
    queue_orders_by_risk_then_due_time_with_summaries
);

async fn absence_moves_work_to_the_cover_or_the_pool(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let a = t.drafted(&t.patel, "routine").await;
    let b = t.drafted(&t.patel, "urgent").await;
    t.ok(&t.jones, &a, "claim", json!({})).await;
    t.ok(&t.jones, &b, "claim", json!({})).await;
    let url = t.app.url("/api/v1/absences");
    let body = json!({"user": "sec.jones", "from": MONDAY_10AM, "to": "2026-03-06T17:00:00Z", "cover": "sec.brown"});
    let resp = t.app.client.post(&url).bearer_auth(&t.jones).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 403, "only team leads record absences");
    let resp = t.app.client.post(&url).bearer_auth(&t.lead).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let applied: Value = resp.json().await.unwrap();
    assert_eq!(applied["moved"].as_array().unwrap().len(), 2, "{applied}");
    for id in [&a, &b] {
        assert_eq!(t.get(&t.lead, id).await["assignee"], "sec.brown");
    }
    assert!(t.queue_ids(&t.jones).await.is_empty());
    // The cover is told of each letter handed to them.
    let told: Vec<(String, String)> = t
        .notifications(&t.brown)
        .await
        .iter()
        .map(|n| (n["kind"].as_str().unwrap().to_string(), n["dictation_id"].as_str().unwrap_or_default().to_string()))
        .collect();
    for id in [&a, &b] {
        assert!(told.contains(&("reassigned".to_string(), id.clone())), "{id} not in {told:?}");
    }
    // While away she cannot be given work.
    let (status, err) = t.act(&t.lead, &a, "reassign", json!({"assignee": "sec.jones"})).await;
    assert_eq!((status, err["field"].as_str()), (422, Some("assignee")));
    // Brown is away from tomorrow without cover: at the start, his letters go back to the queue.
    let body = json!({"user": "sec.brown", "from": "2026-03-03T09:00:00Z", "to": "2026-03-04T17:00:00Z"});
    let resp = t.app.client.post(&url).bearer_auth(&t.lead).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(t.get(&t.lead, &a).await["assignee"], "sec.brown", "not yet");
    t.advance(DAY);
    t.fire().await;
    let d = t.get(&t.lead, &a).await;
    assert_eq!((d["stage"].as_str(), d["assignee"].as_str()), (Some("queue"), None));
    let resp = t
        .app
        .client
        .post(&url)
        .bearer_auth(&t.lead)
        .json(&json!({"user": "sec.cardio", "from": MONDAY_10AM, "to": "2026-03-04T17:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422, "not in the lead's teams");
    let resp = t
        .app
        .client
        .post(&url)
        .bearer_auth(&t.lead)
        .json(&json!({"user": "sec.brown", "from": "soon", "to": "later"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
}

const ROUND_ROBIN: &str = "rules:
  - name: default
    when: {}
    workflow: clinic-letter
    pool: ent
    assign: round_robin
  - name: two-week-wait
    when: { priority: two_week_wait }
    workflow: fast-track
    pool: ent
    assign: least_loaded
";

async fn round_robin_pool_assigns_in_turn(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let (status, body) = t.put_yaml(&t.admin, "/api/v1/routing", ROUND_ROBIN).await;
    assert_eq!(status, 200, "{body}");
    let mut holders = Vec::new();
    for _ in 0..4 {
        let id = t.drafted(&t.patel, "routine").await;
        let d = t.get(&t.lead, &id).await;
        assert_eq!(d["stage"], "correct", "auto-assignment claims the letter for the member");
        holders.push(d["assignee"].as_str().unwrap().to_string());
    }
    assert_eq!(holders, ["sec.brown", "sec.jones", "sec.brown", "sec.jones"]);
    // Least loaded: both hold two; Brown gives one back, so the next goes to him.
    let first = t.queue_ids(&t.brown).await[0].clone();
    t.ok(&t.brown, &first, "submit", json!({})).await;
    let id = t.drafted(&t.patel, "two_week_wait").await;
    assert_eq!(t.get(&t.lead, &id).await["assignee"], "sec.brown");
}

async fn turnaround_report_json_and_csv(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let done = t.drafted(&t.patel, "routine").await;
    t.ok(&t.jones, &done, "claim", json!({})).await;
    t.ok(&t.jones, &done, "submit", json!({})).await;
    t.ok(&t.patel, &done, "approve", json!({})).await;
    t.advance(DAY);
    t.ok(&t.jones, &done, "dispatch", json!({})).await;
    t.upload(&t.patel, "routine").await;
    t.advance(10 * DAY);
    let path = "/api/v1/reports/turnaround?from=2026-03-01&to=2026-03-31&group_by=priority";
    let (status, report) = t.app.get_json(&t.lead, path).await;
    assert_eq!(status, 200, "{report}");
    let g = &report["groups"][0];
    assert_eq!(g["group"], "routine");
    assert_eq!(
        (g["received"].as_u64(), g["completed"].as_u64(), g["within_target"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!((g["backlog"].as_u64(), g["breaches"].as_u64()), (Some(1), Some(1)));
    assert_eq!((g["percent_within_target"].as_f64(), g["median_hours"].as_f64()), (Some(100.0), Some(24.0)));
    assert_eq!(g["median_working_hours"].as_f64(), Some(8.0));
    let (_, by_secretary) =
        t.app.get_json(&t.lead, "/api/v1/reports/turnaround?from=2026-03-01&to=2026-03-31&group_by=secretary").await;
    let groups: Vec<&str> =
        by_secretary["groups"].as_array().unwrap().iter().map(|g| g["group"].as_str().unwrap()).collect();
    assert_eq!(groups, ["(none)", "sec.jones"]);
    let resp =
        t.app.client.get(t.app.url(path)).bearer_auth(&t.lead).header("accept", "text/csv").send().await.unwrap();
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with("group,received,completed,within_target,percent_within_target,median_hours,p90_hours"));
    assert!(csv.lines().nth(1).unwrap().starts_with("\"routine\",2,1,1,100,24,24,8,8,1,1,0"), "{csv}");
    let (status, _) = t.app.get_json(&t.jones, path).await;
    assert_eq!(status, 403);
    let (status, err) = t.app.get_json(&t.lead, "/api/v1/reports/turnaround?group_by=colour").await;
    assert_eq!((status, err["field"].as_str()), (422, Some("group_by")));
}

async fn queue_orders_by_risk_then_due_time_with_summaries(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    // Monday 10:00: a routine letter (5 working days) and an urgent one (2).
    let routine = t.drafted(&t.patel, "routine").await;
    let urgent = t.drafted(&t.patel, "urgent").await;
    t.advance(HOUR);
    let later_routine = t.drafted(&t.patel, "routine").await;
    // Wednesday 10:00: another urgent letter, due Friday 10:00, warned at 80 % (Thursday).
    t.advance(2 * DAY - HOUR);
    let warned = t.drafted(&t.patel, "urgent").await;
    // Thursday 15:00: the first urgent letter is past its Wednesday deadline.
    t.advance(DAY + 5 * HOUR);
    t.fire().await;
    // The server's own scheduler may hold one of the timers in a transaction that commits
    // just after `fire` returns: wait (bounded) for the states the timers set.
    let expected = ["breached", "warning", "on_track", "on_track"];
    let mut q = Value::Null;
    for _ in 0..50 {
        let (status, body) = t.app.get_json(&t.jones, "/api/v1/queue").await;
        assert_eq!(status, 200, "{body}");
        q = body;
        let states: Vec<&str> =
            q["items"].as_array().unwrap().iter().filter_map(|d| d["sla"]["state"].as_str()).collect();
        if states == expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let items = q["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [urgent.as_str(), warned.as_str(), routine.as_str(), later_routine.as_str()]);
    let states: Vec<&str> = items.iter().map(|d| d["sla"]["state"].as_str().unwrap()).collect();
    assert_eq!(states, expected);
    // Working time since the deadline: Wednesday 10:00-17:00 and Thursday 09:00-15:00.
    assert_eq!(items[0]["sla"]["working_seconds_left"], -13 * 3600);
    assert_eq!(items[0]["sla"]["working_day_seconds"], 8 * 3600);
    // A work-list summary: the letter's own fields, not its transcript or draft.
    assert!(items[0].get("transcription").is_none() && items[0].get("draft").is_none(), "{}", items[0]);
    assert_eq!((items[0]["status"].as_str(), items[0]["priority"].as_str()), (Some("drafted"), Some("urgent")));
    assert!(items[0]["patient"].is_object() && items[0]["clinician"] == "dr.patel", "{}", items[0]);
    let (status, one) = t.app.get_json(&t.jones, "/api/v1/queue?limit=1").await;
    assert_eq!((status, one["items"].as_array().unwrap().len()), (200, 1));
    let (status, bad) = t.app.get_json(&t.jones, "/api/v1/queue?limit=0").await;
    assert_eq!((status, bad["code"].as_str()), (422, Some("validation_failed")), "{bad}");
}
