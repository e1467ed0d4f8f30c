//! Warning and breach timers: each fires exactly once (firing again, or from a restarted
//! scheduler, adds nothing), late firings are marked, and stage timers stop with the stage.

use std::time::Duration;

use dictaflow::workflow::service::scheduler;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::support::{DAY, HOUR, team};
use crate::helpers::Backend;

crate::both_backends!(warning_and_breach_fire_exactly_once, stage_timers_stop_when_the_stage_is_left);

async fn warning_and_breach_fire_exactly_once(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let d = t.upload(&t.patel, "routine").await;
    let id = d["id"].as_str().unwrap().to_string();
    // The server's own scheduler runs too, so the tests count notifications, not firings.
    t.fire().await;
    assert!(t.notifications(&t.lead).await.is_empty(), "nothing is due at upload");

    // Friday 10:00 is the warning point (80% of 5 working days); one minute before: nothing.
    t.advance(4 * DAY - 60_000);
    t.fire().await;
    assert!(t.notifications(&t.lead).await.is_empty());
    t.advance(60_000);
    t.fire().await;
    t.fire().await;
    let lead = t.notifications(&t.lead).await;
    assert_eq!(lead.len(), 1);
    assert_eq!((lead[0]["kind"].as_str(), lead[0]["late"].as_bool()), (Some("warning"), Some(false)));
    assert_eq!(lead[0]["dictation_id"], id.as_str());
    assert!(t.notifications(&t.admin).await.is_empty(), "warnings go to the team lead only");
    assert!(t.notifications(&t.jones).await.is_empty());
    assert_eq!(t.get(&t.patel, &id).await["sla"]["state"], "warning");

    // Past the breach (Monday 10:00) by a day: fired by a freshly started scheduler task.
    t.advance(4 * DAY);
    let s = &t.app.state;
    for _ in 0..2 {
        let token = CancellationToken::new();
        let task = tokio::spawn(scheduler::run(s.db.clone(), s.clock.clone(), token.clone()));
        tokio::time::sleep(Duration::from_millis(400)).await;
        token.cancel();
        task.await.unwrap();
    }
    t.fire().await;
    let lead = t.notifications(&t.lead).await;
    assert_eq!(lead.iter().map(|n| n["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["breach", "warning"]);
    assert_eq!(lead[0]["late"], true, "fired a day after it was due");
    let admin = t.notifications(&t.admin).await;
    assert_eq!(admin.len(), 1);
    assert_eq!(admin[0]["kind"], "breach");
    assert_eq!(t.get(&t.patel, &id).await["sla"]["state"], "breached");

    // Mark read.
    let url = t.app.url(&format!("/api/v1/notifications/{}/read", admin[0]["id"].as_str().unwrap()));
    let resp = t.app.client.post(&url).bearer_auth(&t.admin).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    let resp = t.app.client.post(&url).bearer_auth(&t.lead).send().await.unwrap();
    assert_eq!(resp.status(), 404, "someone else's notification");
    let (_, unread) = t.app.get_json(&t.admin, "/api/v1/notifications?unread=true").await;
    assert_eq!(unread["items"], json!([]));
}

async fn stage_timers_stop_when_the_stage_is_left(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    // Routine clinic letters: `queue` has a 2-working-day target (warning at 80%).
    let id = t.drafted(&t.patel, "routine").await;
    t.advance(HOUR);
    t.ok(&t.jones, &id, "claim", json!({})).await;
    // `correct` has 1 working day: its warning is due 6.4 working hours later.
    t.advance(7 * HOUR);
    t.fire().await;
    assert!(t.notifications(&t.lead).await.is_empty(), "queue timers cancelled; correct's due Tue 9:24");
    t.advance(DAY);
    t.fire().await;
    t.fire().await;
    let stages: Vec<_> = t.notifications(&t.lead).await.iter().map(|n| n["stage"].clone()).collect();
    assert_eq!(stages, [json!("correct"), json!("correct")]);
    assert_eq!(t.get(&t.patel, &id).await["sla"]["state"], "on_track", "stage breaches leave the letter's SLA");
    // Dispatching cancels the rest: nothing fires after the letter's own deadlines.
    t.ok(&t.jones, &id, "submit", json!({})).await;
    t.ok(&t.patel, &id, "approve", json!({})).await;
    t.ok(&t.jones, &id, "dispatch", json!({})).await;
    t.advance(30 * DAY);
    t.fire().await;
    assert_eq!(t.notifications(&t.lead).await.len(), 2, "nothing fires for a dispatched letter");
    assert_eq!(t.get(&t.patel, &id).await["sla"]["state"], "met");
}
