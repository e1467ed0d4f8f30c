//! Who may see and move letters: an idempotent replay is a scoped, audited read; the
//! work queue lists exactly letters its owner can open; a cover must be in the lead's teams.

use dictaflow::domain::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, fixture};
use crate::identity::support::audit;
use crate::workflow::support::{Team, team};

crate::both_backends!(
    idempotent_replay_is_scoped_and_audited,
    the_queue_lists_only_letters_its_owner_can_open,
    a_cover_must_be_in_the_leads_teams
);

async fn idempotent_replay_is_scoped_and_audited(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let fields = [("clinician", "dr.patel"), ("specialty", "ENT")];
    let upload = || t.app.upload_with_key(&t.jones, fixture("speech_3s.wav"), "a.wav", &fields, Some("visit-17"));
    let first = upload().await;
    assert_eq!(first.status(), 201);
    let id = first.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let again = upload().await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let views = audit(&t.app, &t.admin, &format!("action=dictation.view&target={id}")).await;
    assert_eq!(views.len(), 1, "the replay is audited as a read: {views:?}");
    assert_eq!(views[0]["actor"], "sec.jones");
    // Jones leaves the ENT team: the letter is no longer hers to see, replay or not.
    let (status, _) =
        crate::identity::support::call(&t.app, "DELETE", &t.admin, "/api/v1/teams/ent/members/sec.jones", None).await;
    assert_eq!(status, 204);
    let (status, _) = t.app.get_json(&t.jones, &format!("/api/v1/dictations/{id}")).await;
    assert_eq!(status, 404);
    let replay = upload().await;
    assert_eq!(replay.status(), 404, "a replay answers only what the caller may still see");
    let body: Value = replay.json().await.unwrap();
    assert!(body.get("patient").is_none() && body["code"] == "not_found", "{body}");
}

/// ENT letters go to the `ent` pool, cardiology letters to the `cardio` pool.
const TWO_POOLS: &str = "rules:
  - name: default
    when: {}
    workflow: clinic-letter
    pool: ent
  - name: cardiology
    when: { specialty: Cardiology }
    workflow: clinic-letter
    pool: cardio
";

async fn letter(t: &Team, specialty: &str) -> String {
    let fields = [("specialty", specialty), ("patient_name", "Ada Lovelace"), ("patient_nhs_number", "9434765919")];
    let resp = t.app.upload(&t.patel, fixture("speech_3s.wav"), "a.wav", &fields).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    t.recognise(&id).await;
    id
}

async fn the_queue_lists_only_letters_its_owner_can_open(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let dual = t.app.user("sec.dual", Role::Secretary, &["ent", "cardio"]).await;
    let cardio_lead = t.app.user("lead.cardio", Role::TeamLead, &["cardio"]).await;
    let (status, body) = t.put_yaml(&t.admin, "/api/v1/routing", TWO_POOLS).await;
    assert_eq!(status, 200, "{body}");
    // Dr Patel (ENT) dictates a cardiology letter: it is routed to the cardiology pool.
    let routed = letter(&t, "Cardiology").await;
    // An ENT letter held by a secretary who is also in cardiology.
    let held = letter(&t, "ENT").await;
    t.ok(&dual, &held, "claim", json!({})).await;
    assert!(t.queue_ids(&t.cardio).await.contains(&routed), "the cardiology pool works its letter");
    assert!(!t.queue_ids(&cardio_lead).await.contains(&held), "an ENT letter is not cardiology's business");
    let everyone = [&t.patel, &t.okafor, &t.jones, &t.brown, &t.lead, &t.admin, &t.cardio, &dual, &cardio_lead];
    for token in everyone {
        let queue = t.queue_ids(token).await;
        let (status, list) = t.app.get_json(token, "/api/v1/dictations?limit=500").await;
        assert_eq!(status, 200, "{list}");
        let listed: Vec<&str> = list["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
        for id in &queue {
            let (status, d) = t.app.get_json(token, &format!("/api/v1/dictations/{id}")).await;
            assert_eq!(status, 200, "a queued letter opens: {d}");
            assert!(listed.contains(&id.as_str()), "a queued letter is in the caller's list");
        }
    }
    // The cardiology secretary can open and work the letter routed to her pool.
    t.ok(&t.cardio, &routed, "claim", json!({})).await;
}

async fn a_cover_must_be_in_the_leads_teams(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let id = t.drafted(&t.patel, "routine").await;
    t.ok(&t.jones, &id, "claim", json!({})).await;
    let url = t.app.url("/api/v1/absences");
    let away = json!({"user": "sec.jones", "from": "2026-03-02T10:00:00Z", "to": "2026-03-06T17:00:00Z",
        "cover": "sec.cardio"});
    let resp = t.app.client.post(&url).bearer_auth(&t.lead).json(&away).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["field"], "cover", "{err}");
    assert_eq!(t.get(&t.lead, &id).await["assignee"], "sec.jones", "nothing moved");
    let (status, _) = t.app.get_json(&t.cardio, &format!("/api/v1/dictations/{id}")).await;
    assert_eq!(status, 404);
    // A cover from the lead's own team is fine.
    let ok = json!({"user": "sec.jones", "from": "2026-03-02T10:00:00Z", "to": "2026-03-06T17:00:00Z",
        "cover": "sec.brown"});
    let resp = t.app.client.post(&url).bearer_auth(&t.lead).json(&ok).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(t.get(&t.lead, &id).await["assignee"], "sec.brown");
}
