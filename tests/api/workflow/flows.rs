//! Letters driven through each shipped workflow: claim, submit, approve, dispatch; the
//! return loop; reassignment; concurrent claims; wrong roles and invalid actions.

use serde_json::{Value, json};

use super::support::{Team, comment, team};
use crate::helpers::Backend;

crate::both_backends!(
    clinic_letter_from_upload_to_dispatch,
    return_loop_goes_back_to_the_typist_with_the_comment,
    team_lead_reassigns_and_others_may_not,
    two_concurrent_claims_have_exactly_one_winner,
    wrong_role_is_403_invalid_action_409_outside_scope_404,
    fast_track_skips_the_queue,
    self_typed_letters_are_corrected_by_the_clinician,
    recognition_events_move_the_letter_and_failures_reach_the_team_lead,
);

async fn clinic_letter_from_upload_to_dispatch(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let d = t.upload(&t.patel, "routine").await;
    assert_eq!(d["workflow"], json!({"name": "clinic-letter", "version": 1}));
    assert_eq!((d["stage"].as_str(), d["status"].as_str()), (Some("received"), Some("received")));
    // 5 working days from Monday 10:00; warning at 80% of the working time (Friday 10:00).
    assert_eq!(d["due_at"], "2026-03-09T10:00:00.000Z");
    assert_eq!(
        d["sla"],
        json!({"state": "on_track", "warn_at": "2026-03-06T10:00:00.000Z", "breach_at": "2026-03-09T10:00:00.000Z"})
    );
    let id = d["id"].as_str().unwrap().to_string();
    t.recognise(&id).await;
    let d = t.get(&t.jones, &id).await;
    assert_eq!((d["stage"].as_str(), d["status"].as_str()), (Some("queue"), Some("drafted")));
    assert_eq!(d["draft"]["version"], 1);
    assert!(t.queue_ids(&t.jones).await.contains(&id));
    assert!(t.queue_ids(&t.cardio).await.is_empty());

    let d = t.ok(&t.jones, &id, "claim", json!({})).await;
    assert_eq!(
        (d["stage"].as_str(), d["status"].as_str(), d["assignee"].as_str()),
        (Some("correct"), Some("in_correction"), Some("sec.jones"))
    );
    assert!(!t.queue_ids(&t.brown).await.contains(&id), "a held letter leaves the others' queues");
    assert!(t.queue_ids(&t.lead).await.contains(&id), "the team lead sees the team's work");

    // Drafts: on top of the latest version only.
    let url = t.app.url(&format!("/api/v1/dictations/{id}/draft"));
    let save = |base: i64| {
        t.app
            .client
            .put(&url)
            .bearer_auth(&t.jones)
            .json(&json!({"text": "Dear Dr Smith,", "base_version": base}))
            .send()
    };
    let resp = save(1).await.unwrap();
    assert_eq!(resp.status(), 200);
    let draft: Value = resp.json().await.unwrap();
    assert_eq!((draft["version"].as_i64(), draft["updated_by"].as_str()), (Some(2), Some("sec.jones")));
    let resp = save(1).await.unwrap();
    assert_eq!(resp.status(), 409);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "version_conflict");
    let resp = t
        .app
        .client
        .put(&url)
        .bearer_auth(&t.brown)
        .json(&json!({"text": "x", "base_version": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "a secretary not holding the letter may not edit it");

    let d = t.ok(&t.jones, &id, "submit", json!({})).await;
    assert_eq!((d["status"].as_str(), d["assignee"].as_str()), (Some("awaiting_review"), Some("dr.patel")));
    assert!(t.queue_ids(&t.patel).await.contains(&id));
    let d = t.ok(&t.patel, &id, "approve", json!({})).await;
    assert_eq!(d["status"], "approved");
    let d = t.ok(&t.brown, &id, "dispatch", json!({})).await;
    assert_eq!((d["status"].as_str(), d["sla"]["state"].as_str()), (Some("dispatched"), Some("met")));
    let (status, err) = t.act(&t.brown, &id, "dispatch", json!({})).await;
    assert_eq!((status, err["code"].as_str()), (409, Some("invalid_transition")));

    let history = t.history(&t.patel, &id).await;
    let steps: Vec<(&str, &str, Option<&str>, Option<&str>)> = history
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap(), e["from"].as_str(), e["to"].as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("upload", "dr.patel", None, Some("received")),
            ("route", "system", None, Some("received")),
            ("recognition_done", "system", Some("received"), Some("drafted")),
            ("claim", "sec.jones", Some("drafted"), Some("in_correction")),
            ("submit", "sec.jones", Some("in_correction"), Some("awaiting_review")),
            ("approve", "dr.patel", Some("awaiting_review"), Some("approved")),
            ("dispatch", "sec.brown", Some("approved"), Some("dispatched")),
        ]
    );
    assert!(history.iter().all(|e| e["at"].as_str().is_some_and(|a| a.ends_with('Z'))));
}

async fn to_review(t: &Team) -> String {
    let id = t.drafted(&t.patel, "routine").await;
    t.ok(&t.jones, &id, "claim", json!({})).await;
    t.ok(&t.jones, &id, "submit", json!({})).await;
    id
}

async fn return_loop_goes_back_to_the_typist_with_the_comment(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let id = to_review(&t).await;
    let (status, err) = t.act(&t.patel, &id, "return", json!({})).await;
    assert_eq!(
        (status, err["code"].as_str(), err["field"].as_str()),
        (422, Some("validation_failed"), Some("comment"))
    );
    let d = t.ok(&t.patel, &id, "return", comment("The dose is 5 mg, not 50 mg.")).await;
    assert_eq!((d["stage"].as_str(), d["assignee"].as_str()), (Some("correct"), Some("sec.jones")));
    let last = t.history(&t.jones, &id).await.pop().unwrap();
    assert_eq!(last["action"], "return");
    assert_eq!(last["comment"], "The dose is 5 mg, not 50 mg.");
    assert_eq!((last["from"].as_str(), last["to"].as_str()), (Some("awaiting_review"), Some("in_correction")));
    t.ok(&t.jones, &id, "submit", json!({})).await;
    let d = t.ok(&t.patel, &id, "approve", json!({})).await;
    assert_eq!(d["status"], "approved");
}

async fn team_lead_reassigns_and_others_may_not(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let id = t.drafted(&t.patel, "urgent").await;
    t.ok(&t.jones, &id, "claim", json!({})).await;
    let (status, _) = t.act(&t.jones, &id, "reassign", json!({"assignee": "sec.brown"})).await;
    assert_eq!(status, 403);
    let (status, err) = t.act(&t.lead, &id, "reassign", json!({"assignee": "nobody"})).await;
    assert_eq!((status, err["field"].as_str()), (422, Some("assignee")));
    let (status, err) = t.act(&t.lead, &id, "reassign", json!({"assignee": "sec.cardio"})).await;
    assert_eq!((status, err["code"].as_str()), (422, Some("validation_failed")), "not in the pool: {err}");
    let d = t.ok(&t.lead, &id, "reassign", json!({"assignee": "sec.brown", "comment": "Jones is in clinic"})).await;
    assert_eq!((d["stage"].as_str(), d["assignee"].as_str()), (Some("correct"), Some("sec.brown")));
    let (status, _) = t.act(&t.jones, &id, "submit", json!({})).await;
    assert_eq!(status, 403, "the old holder no longer holds it");
    t.ok(&t.brown, &id, "submit", json!({})).await;
}

async fn two_concurrent_claims_have_exactly_one_winner(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    for _ in 0..3 {
        let id = t.drafted(&t.patel, "routine").await;
        let (a, b) = tokio::join!(t.act(&t.jones, &id, "claim", json!({})), t.act(&t.brown, &id, "claim", json!({})));
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
        let loser = if a.0 == 409 { &a.1 } else { &b.1 };
        assert!(matches!(loser["code"].as_str(), Some("invalid_transition" | "version_conflict")), "{loser}");
        let winner = if a.0 == 200 { "sec.jones" } else { "sec.brown" };
        assert_eq!(t.get(&t.lead, &id).await["assignee"], winner);
        let claims = t.history(&t.lead, &id).await.iter().filter(|e| e["action"] == "claim").count();
        assert_eq!(claims, 1);
    }
    // A stale version from the client is refused too.
    let id = t.drafted(&t.patel, "routine").await;
    let version = t.get(&t.jones, &id).await["version"].as_i64().unwrap();
    let (status, err) = t.act(&t.jones, &id, "claim", json!({"version": version - 1})).await;
    assert_eq!((status, err["code"].as_str()), (409, Some("version_conflict")));
}

async fn wrong_role_is_403_invalid_action_409_outside_scope_404(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let id = t.drafted(&t.patel, "routine").await;
    let (status, err) = t.act(&t.patel, &id, "claim", json!({})).await;
    assert_eq!((status, err["code"].as_str()), (403, Some("forbidden")));
    for action in ["approve", "frobnicate", "dispatch"] {
        let (status, err) = t.act(&t.jones, &id, action, json!({})).await;
        assert_eq!((status, err["code"].as_str()), (409, Some("invalid_transition")), "{action}");
    }
    let (status, err) = t.act(&t.cardio, &id, "claim", json!({})).await;
    assert_eq!((status, err["code"].as_str()), (404, Some("not_found")));
    let (status, _) = t.app.get_json(&t.cardio, &format!("/api/v1/dictations/{id}/history")).await;
    assert_eq!(status, 404);
    let resp = t.app.client.post(t.app.url(&format!("/api/v1/dictations/{id}/actions/claim"))).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = t
        .app
        .client
        .post(t.app.url(&format!("/api/v1/dictations/{id}/actions/claim")))
        .bearer_auth(&t.jones)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    // Cancel needs a comment and the clinician or a team lead.
    let (status, _) = t.act(&t.jones, &id, "cancel", comment("dup")).await;
    assert_eq!(status, 403);
    let d = t.ok(&t.patel, &id, "cancel", comment("Dictated for the wrong patient")).await;
    assert_eq!(d["status"], "cancelled");
}

async fn fast_track_skips_the_queue(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let d = t.upload(&t.patel, "two_week_wait").await;
    assert_eq!(d["workflow"]["name"], "fast-track");
    assert_eq!(d["due_at"], "2026-03-03T10:00:00.000Z", "one working day");
    let id = d["id"].as_str().unwrap().to_string();
    t.recognise(&id).await;
    let d = t.get(&t.jones, &id).await;
    assert_eq!(
        (d["stage"].as_str(), d["status"].as_str(), d["assignee"].as_str()),
        (Some("correct"), Some("in_correction"), None)
    );
    let d = t.ok(&t.brown, &id, "claim", json!({})).await;
    assert_eq!((d["stage"].as_str(), d["assignee"].as_str()), (Some("correct"), Some("sec.brown")));
    t.ok(&t.brown, &id, "submit", json!({})).await;
    t.ok(&t.patel, &id, "approve", json!({})).await;
    let d = t.ok(&t.jones, &id, "dispatch", json!({})).await;
    assert_eq!(d["status"], "dispatched");
}

const SELF_TYPED_ROUTING: &str = "rules:
  - name: default
    when: {}
    workflow: clinic-letter
  - name: two-week-wait
    when: { priority: two_week_wait }
    workflow: fast-track
  - name: okafor-types
    when: { clinician: dr.okafor }
    workflow: self-typed
  - name: okafor-fast-track
    when: { clinician: dr.okafor, priority: two_week_wait }
    workflow: fast-track
";

async fn self_typed_letters_are_corrected_by_the_clinician(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let (status, body) = t.put_yaml(&t.admin, "/api/v1/routing", SELF_TYPED_ROUTING).await;
    assert_eq!(status, 200, "{body}");
    let id = t.drafted(&t.okafor, "routine").await;
    let d = t.get(&t.okafor, &id).await;
    assert_eq!(d["workflow"]["name"], "self-typed");
    assert_eq!((d["stage"].as_str(), d["assignee"].as_str()), (Some("self_correct"), Some("dr.okafor")));
    let (status, _) = t.act(&t.jones, &id, "approve", json!({})).await;
    assert_eq!(status, 403);
    t.ok(&t.okafor, &id, "approve", json!({})).await;
    let d = t.ok(&t.jones, &id, "dispatch", json!({})).await;
    assert_eq!(d["status"], "dispatched");
    // Another clinician's letters still follow clinic-letter.
    let other = t.upload(&t.patel, "routine").await;
    assert_eq!(other["workflow"]["name"], "clinic-letter");
}

async fn recognition_events_move_the_letter_and_failures_reach_the_team_lead(backend: Backend) {
    use dictaflow::workflow::service::{on_recognition_failed, on_recognition_started};
    let Some(t) = team(backend).await else { return };
    let s = &t.app.state;
    let id = t.upload(&t.patel, "routine").await["id"].as_str().unwrap().to_string();
    on_recognition_started(&s.db, &s.clock, &id).await.unwrap();
    assert_eq!(t.get(&t.patel, &id).await["status"], "transcribing");
    on_recognition_started(&s.db, &s.clock, &id).await.expect("a duplicate event is ignored");
    on_recognition_failed(&s.db, &s.clock, &id, "model crashed").await.unwrap();
    let d = t.get(&t.patel, &id).await;
    assert_eq!((d["status"].as_str(), d["failure_reason"].as_str()), (Some("failed"), Some("model crashed")));
    assert!(t.queue_ids(&t.lead).await.contains(&id));
    assert_eq!(t.history(&t.lead, &id).await.last().unwrap()["comment"], "model crashed");
    let d = t.ok(&t.lead, &id, "retry", json!({})).await;
    assert_eq!(d["status"], "received");
    t.recognise(&id).await;
    assert_eq!(t.get(&t.patel, &id).await["status"], "drafted");
    t.recognise(&id).await;
    assert_eq!(t.get(&t.patel, &id).await["draft"]["version"], 1, "a repeated done keeps the first draft");
}
