//! The turnaround report's detail: time spent per stage (finished visits only) and the
//! breaches with the stage and holder at the deadline.

use serde_json::json;

use super::support::{DAY, HOUR, team};
use crate::helpers::Backend;

crate::both_backends!(stage_times_and_breaches_with_stage_and_assignee);

async fn stage_times_and_breaches_with_stage_and_assignee(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    // Monday 10:00: two letters drafted.
    let a = t.drafted(&t.patel, "routine").await;
    let b = t.drafted(&t.patel, "routine").await;
    t.advance(HOUR);
    t.ok(&t.brown, &b, "claim", json!({})).await; // b: 1 h in the queue, then stays with sec.brown
    t.advance(HOUR);
    t.ok(&t.jones, &a, "claim", json!({})).await; // a: 2 h in the queue
    t.advance(3 * HOUR);
    t.ok(&t.jones, &a, "submit", json!({})).await; // 3 h in correction
    t.advance(HOUR);
    t.ok(&t.patel, &a, "approve", json!({})).await; // 1 h in review (Monday 16:00)
    t.advance(DAY);
    t.ok(&t.jones, &a, "dispatch", json!({})).await; // 24 h approved = 8 working hours
    t.advance(10 * DAY);

    let path = "/api/v1/reports/turnaround?from=2026-03-01&to=2026-03-31&group_by=priority";
    let (status, report) = t.app.get_json(&t.lead, path).await;
    assert_eq!(status, 200, "{report}");
    let stage = |name: &str| report["stages"].as_array().unwrap().iter().find(|s| s["stage"] == name).cloned();
    let queue = stage("queue").expect("queue times");
    assert_eq!(
        (queue["letters"].as_u64(), queue["median_hours"].as_f64(), queue["p90_hours"].as_f64()),
        (Some(2), Some(1.0), Some(2.0))
    );
    let correct = stage("correct").expect("correction times");
    assert_eq!(
        (correct["letters"].as_u64(), correct["median_hours"].as_f64()),
        (Some(1), Some(3.0)),
        "b is still there"
    );
    assert_eq!(stage("review").unwrap()["median_hours"].as_f64(), Some(1.0));
    let approved = stage("approved").unwrap();
    assert_eq!((approved["median_hours"].as_f64(), approved["median_working_hours"].as_f64()), (Some(24.0), Some(8.0)));
    assert!(stage("dispatched").is_none(), "a terminal stage is never left");
    let order: Vec<&str> = report["stages"].as_array().unwrap().iter().filter_map(|s| s["stage"].as_str()).collect();
    let pos = |name: &str| order.iter().position(|s| *s == name).unwrap();
    assert!(
        pos("queue") < pos("correct") && pos("correct") < pos("review") && pos("review") < pos("approved"),
        "{order:?}"
    );

    // Databases older than the stage times fill them in once from the history, with
    // the same figures as the accounting each transition does.
    let db = &t.app.state.db;
    sqlx::query("DELETE FROM stage_times").execute(&db.pool).await.unwrap();
    sqlx::query("INSERT INTO pending_backfills (name) VALUES ('stage_times')").execute(&db.pool).await.unwrap();
    db.migrate().await.unwrap();
    let (_, refilled) = t.app.get_json(&t.lead, path).await;
    assert_eq!(refilled["stages"], report["stages"]);
    let pending = sqlx::query("SELECT name FROM pending_backfills").fetch_all(&db.pool).await.unwrap();
    assert!(pending.is_empty(), "the fill runs once");

    let breaches = report["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{breaches:?}");
    let br = &breaches[0];
    assert_eq!(br["dictation_id"], b.as_str());
    assert_eq!(br["due_at"], "2026-03-09T10:00:00.000Z");
    assert_eq!(
        (br["stage_at_breach"].as_str(), br["assignee_at_breach"].as_str()),
        (Some("correct"), Some("sec.brown"))
    );
    assert_eq!((br["clinician"].as_str(), br["finished_at"].as_str()), (Some("dr.patel"), None));

    // Clinicians do not read the report.
    let (status, own) = t.app.get_json(&t.okafor, path).await;
    assert_eq!(status, 403, "{own}");
}
