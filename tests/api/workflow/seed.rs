//! `dev seed`: the seeded department and letters are consistent with the engine: the
//! tokens work, queues list seeded letters, a seeded letter can be claimed and released,
//! and every pending seeded timer fires once when due.

use dictaflow::seed::{Options, seed};
use dictaflow::workflow::service::scheduler::fire_due_timers;
use serde_json::json;

use crate::helpers::TestApp;

crate::on_both_backends!(seeded_letters_work_with_the_engine);

async fn seeded_letters_work_with_the_engine(app: TestApp) {
    let s = &app.state;
    let opts = Options { dictations: 400, days: 30, seed: 7, prefix: "t".into() };
    let now = s.clock.now_ms();
    let report = seed(&s.config, &s.db, s.blobs.as_ref(), &opts, now).await.expect("seed");
    assert_eq!(report.dictations, 400);
    assert!(report.open > 0 && report.open < 400, "a mix of open and finished letters: {report:?}");
    assert!(report.timers >= 800 && report.pending_timers > 0);
    let again = seed(&s.config, &s.db, s.blobs.as_ref(), &opts, now).await;
    assert!(again.unwrap_err().to_string().contains("--prefix"), "a second run with the same prefix is refused");

    let token = |name: &str| report.users.iter().find(|u| u.username == name).unwrap().token.clone().unwrap();
    let sec = token("t.sec.ent.1");
    let (status, queue) = app.get_json(&sec, "/api/v1/queue?limit=500").await;
    assert_eq!(status, 200, "{queue}");
    let items = queue["items"].as_array().unwrap();
    assert!(!items.is_empty());
    let open = items.iter().find(|d| d["stage"] == "queue" && d["assignee"].is_null()).expect("an unclaimed letter");
    let id = open["id"].as_str().unwrap();
    for (action, stage) in [("claim", "correct"), ("release", "queue")] {
        let url = app.url(&format!("/api/v1/dictations/{id}/actions/{action}"));
        let resp = app.client.post(url).bearer_auth(&sec).json(&json!({})).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{action}");
        let d: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(d["stage"], stage);
    }
    let (status, report_json) =
        app.get_json(&token("t.lead.ent"), "/api/v1/reports/turnaround?group_by=secretary").await;
    assert_eq!(status, 200, "{report_json}");
    assert!(report_json["groups"].as_array().unwrap().iter().any(|g| g["completed"].as_u64() > Some(0)));

    // Far in the future every pending seeded timer is due, and fires once.
    let later = now + 400 * 86_400_000;
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL")
            .fetch_one(&s.db.pool)
            .await
            .unwrap();
    let fired = fire_due_timers(&s.db, later).await.unwrap().fired.len();
    assert_eq!(fired as i64, pending);
    assert_eq!(fire_due_timers(&s.db, later).await.unwrap().fired.len(), 0);
}
