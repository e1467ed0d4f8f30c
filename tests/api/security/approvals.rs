//! An approval covers the text it approved: editing an approved letter sends it back for
//! approval, and the history shows the approved text's hash and the edited one's.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::Backend;
use crate::workflow::support::{Team, team};

crate::both_backends!(editing_an_approved_letter_sends_it_back_for_approval);

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

async fn save_draft(t: &Team, token: &str, id: &str, text: &str, base: i64) -> (u16, Value) {
    let url = t.app.url(&format!("/api/v1/dictations/{id}/draft"));
    let resp = t.app.client.put(url).bearer_auth(token).json(&json!({"text": text, "base_version": base})).send();
    let resp = resp.await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn editing_an_approved_letter_sends_it_back_for_approval(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let id = t.drafted(&t.patel, "routine").await;
    t.ok(&t.jones, &id, "claim", json!({})).await;
    let approved_text = "Dear Dr Smith, the dose is 5 mg daily.";
    assert_eq!(save_draft(&t, &t.jones, &id, approved_text, 1).await.0, 200);
    t.ok(&t.jones, &id, "submit", json!({})).await;
    let d = t.ok(&t.patel, &id, "approve", json!({})).await;
    assert_eq!(d["status"], "approved");

    // The clinician changes the approved letter: it is no longer approved.
    let edited_text = "Dear Dr Smith, the dose is 50 mg daily.";
    let (status, draft) = save_draft(&t, &t.patel, &id, edited_text, 2).await;
    assert_eq!(status, 200, "{draft}");
    assert_eq!(draft["version"], 3);
    let d = t.get(&t.patel, &id).await;
    assert_eq!(
        (d["stage"].as_str(), d["status"].as_str(), d["assignee"].as_str()),
        (Some("review"), Some("awaiting_review"), Some("dr.patel")),
        "the edit sent it back to the clinician's approval"
    );
    assert_eq!(t.act(&t.jones, &id, "dispatch", json!({})).await.0, 409, "it cannot be dispatched unapproved");

    // The history: the approval with the approved text's hash, then the re-opening with
    // the edited text's.
    let history = t.history(&t.patel, &id).await;
    let step = |action: &str| history.iter().rfind(|e| e["action"] == action).cloned().unwrap();
    let (approve, reopen) = (step("approve"), step("reopen"));
    assert_eq!(
        (approve["actor"].as_str(), approve["draft_version"].as_i64(), approve["text_sha256"].as_str()),
        (Some("dr.patel"), Some(2), Some(sha256(approved_text).as_str()))
    );
    assert_eq!(
        (reopen["actor"].as_str(), reopen["from"].as_str(), reopen["to"].as_str()),
        (Some("dr.patel"), Some("approved"), Some("awaiting_review"))
    );
    assert_eq!(
        (reopen["draft_version"].as_i64(), reopen["text_sha256"].as_str()),
        (Some(3), Some(sha256(edited_text).as_str()))
    );
    // Both versions' texts are in the history: what was approved, and what replaced it.
    assert_eq!((approve["text"].as_str(), reopen["text"].as_str()), (Some(approved_text), Some(edited_text)));

    // Approved again, the new approval names the edited text.
    t.ok(&t.patel, &id, "approve", json!({})).await;
    let history = t.history(&t.patel, &id).await;
    let last = history.last().unwrap();
    assert_eq!(
        (last["action"].as_str(), last["text_sha256"].as_str()),
        (Some("approve"), Some(sha256(edited_text).as_str()))
    );
    assert_eq!(t.ok(&t.jones, &id, "dispatch", json!({})).await["status"], "dispatched");
}
