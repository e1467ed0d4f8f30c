//! Workflow definitions over HTTP: versions, YAML and JSON, refused edits with line and
//! column, edits that leave letters in flight on their version; the CLI validator.

use serde_json::{Value, json};

use super::support::team;
use crate::helpers::Backend;

crate::both_backends!(invalid_edits_are_refused_with_line_and_column, a_valid_edit_applies_to_new_letters_only);

async fn invalid_edits_are_refused_with_line_and_column(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let original = t
        .app
        .client
        .get(t.app.url("/api/v1/workflows/clinic-letter"))
        .bearer_auth(&t.admin)
        .header("accept", "application/yaml")
        .send()
        .await
        .unwrap();
    assert!(original.headers()["content-type"].to_str().unwrap().starts_with("application/yaml"));
    let yaml = original.text().await.unwrap();
    assert!(yaml.contains("name: clinic-letter"));
    // A typo in a stage reference and an unknown role, each located.
    let broken = yaml
        .replace("submit: { to: review,", "submit: { to: reveiw,")
        .replace("by: [team_lead], label: Reassign", "by: [team_leed], label: Reassign");
    let line_of = |needle: &str| broken.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let (status, body) = t.put_yaml(&t.admin, "/api/v1/workflows/clinic-letter", &broken).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");
    let errors = body["errors"].as_array().unwrap();
    let find = |path: &str| errors.iter().find(|e| e["path"] == path).unwrap_or_else(|| panic!("{path} in {body}"));
    let submit = find("stages.correct.actions.submit.to");
    assert_eq!(submit["line"], line_of("to: reveiw"));
    assert!(submit["column"].as_u64().unwrap() > 1);
    assert!(submit["message"].as_str().unwrap().contains("did you mean `review`"), "{submit}");
    let role = find("stages.correct.actions.reassign.by[0]");
    assert_eq!(role["line"], line_of("team_leed"));
    // YAML syntax errors too; and nothing was stored.
    let (status, body) = t.put_yaml(&t.admin, "/api/v1/workflows/clinic-letter", "name: [unclosed\n").await;
    assert_eq!(status, 422);
    assert!(body["errors"][0]["line"].as_u64().is_some());
    let (_, versions) = t.app.get_json(&t.admin, "/api/v1/workflows/clinic-letter/versions").await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 1);
    // The validate endpoint says the same and stores nothing; only super-users may write.
    let resp = t
        .app
        .client
        .post(t.app.url("/api/v1/workflows/clinic-letter/validate"))
        .bearer_auth(&t.admin)
        .body(broken.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = t
        .app
        .client
        .post(t.app.url("/api/v1/workflows/clinic-letter/validate"))
        .bearer_auth(&t.admin)
        .body(yaml.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (status, _) = t.put_yaml(&t.lead, "/api/v1/workflows/clinic-letter", &yaml).await;
    assert_eq!(status, 403);
    let (status, body) = t.put_yaml(&t.admin, "/api/v1/workflows/fast-track", &yaml).await;
    assert_eq!((status, body["errors"][0]["path"].as_str()), (422, Some("name")), "{body}");
    let (status, body) = t
        .put_yaml(
            &t.admin,
            "/api/v1/routing",
            "rules:\n  - name: x\n    when: { priority: urgent }\n    workflow: nope\n",
        )
        .await;
    assert_eq!(status, 422);
    let paths: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"rules[0].workflow") && paths.contains(&"rules"), "{body}");
}

async fn a_valid_edit_applies_to_new_letters_only(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let in_flight = t.drafted(&t.patel, "routine").await;
    let (_, current) = t.app.get_json(&t.admin, "/api/v1/workflows/clinic-letter").await;
    let yaml = current["yaml"].as_str().unwrap();
    // Version 2: the clinician's letters are approved automatically, routine target 3 days.
    let edited = yaml
        .replace("auto_approve_for: []", "auto_approve_for: [dr.patel]")
        .replace("total: 5 working days", "total: 3 working days");
    let (status, body) = t.put_yaml(&t.admin, "/api/v1/workflows/clinic-letter", &edited).await;
    assert_eq!(
        (status, body["version"].as_i64(), body["created_by"].as_str()),
        (200, Some(2), Some("admin")),
        "{body}"
    );
    let (_, list) = t.app.get_json(&t.jones, "/api/v1/workflows").await;
    let names: Vec<(&str, i64)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["name"].as_str().unwrap(), w["version"].as_i64().unwrap()))
        .collect();
    assert_eq!(names, [("clinic-letter", 2), ("fast-track", 1), ("self-typed", 1)]);
    let (_, v1) = t.app.get_json(&t.admin, "/api/v1/workflows/clinic-letter?version=1").await;
    assert_eq!(v1["definition"]["stages"][4]["auto_approve_for"], json!([]));

    // The letter in flight keeps version 1: its review is not skipped, its due date stands.
    let d = t.get(&t.patel, &in_flight).await;
    assert_eq!((d["workflow"]["version"].as_i64(), d["due_at"].as_str()), (Some(1), Some("2026-03-09T10:00:00.000Z")));
    t.ok(&t.jones, &in_flight, "claim", json!({})).await;
    let d = t.ok(&t.jones, &in_flight, "submit", json!({})).await;
    assert_eq!(d["status"], "awaiting_review");

    // A new letter follows version 2.
    let new = t.drafted(&t.patel, "routine").await;
    let d = t.get(&t.patel, &new).await;
    assert_eq!((d["workflow"]["version"].as_i64(), d["due_at"].as_str()), (Some(2), Some("2026-03-05T10:00:00.000Z")));
    t.ok(&t.jones, &new, "claim", json!({})).await;
    let d: Value = t.ok(&t.jones, &new, "submit", json!({})).await;
    assert_eq!(d["status"], "approved", "auto-approved for dr.patel");
    let actions: Vec<_> =
        t.history(&t.patel, &new).await.iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    assert_eq!(actions[actions.len() - 2..], ["submit".to_string(), "approve".to_string()]);
}

#[test]
fn cli_validate_prints_every_error_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "name: x\ncalendar: england-and-wales\nstart: a\nstages:\n  a: { status: drafted, who: { role: typist }, actions: { submit: { to: b } } }\n  b: { kind: terminal, status: dispatched }\ntargets: { routine: 5 weekdays, urgent: 1 working day, two_week_wait: 1 working day }\n").unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/workflows/clinic-letter.yaml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dictaflow"))
        .args(["workflows", "validate", shipped])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let b = bad.display();
    assert!(stdout.contains(&format!("{b}:5:38: stages.a.who.role: unknown role `typist`")), "{stdout}");
    assert!(stdout.contains(&format!("{b}:7:21: targets.routine: unknown unit `weekdays`")), "{stdout}");
    assert!(!stdout.contains("clinic-letter.yaml"));
    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_dictaflow"))
        .args(["workflows", "validate", shipped])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
}
