//! Around the working day: letters search, the clinicians one may upload for, personal
//! settings kept on the server, and a returned letter's reason on the letter and the queue.

use dictaflow::domain::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, fixture};

async fn upload(app: &TestApp, token: &str, fields: &[(&str, &str)]) -> String {
    let resp = app.upload(token, fixture("speech_3s.wav"), "a.wav", fields).await;
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

async fn ids(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    let path = format!("/api/v1/dictations?q={}", urlencode(q));
    let (status, v) = app.get_json(token, &path).await;
    assert_eq!(status, 200, "{v}");
    let mut out: Vec<String> =
        v["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().into()).collect();
    out.sort();
    out
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

async fn letters_are_searched(app: TestApp) {
    let patel = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let jones = app.user("dr.jones", Role::Clinician, &["ent"]).await;
    let sec = app.user("sec.ent", Role::Secretary, &["ent"]).await;
    let ada = upload(&app, &patel, &[("patient_name", "Ada Lovelace"), ("patient_nhs_number", "9434765919")]).await;
    let alan = upload(&app, &jones, &[("patient_name", "Alan Turing"), ("specialty", "Cardiology")]).await;
    let both = {
        let mut v = vec![ada.clone(), alan.clone()];
        v.sort();
        v
    };
    assert_eq!(ids(&app, &sec, "").await, both);
    assert_eq!(ids(&app, &sec, "lovelace").await, vec![ada.clone()], "the name, any case");
    assert_eq!(ids(&app, &sec, "943 476 5919").await, vec![ada.clone()], "the NHS number as shown");
    assert_eq!(ids(&app, &sec, "dr.jones").await, vec![alan.clone()], "the clinician");
    assert_eq!(ids(&app, &sec, "alan cardio").await, vec![alan.clone()], "every word must match");
    assert!(ids(&app, &sec, "ada cardio").await.is_empty());
    assert!(ids(&app, &sec, "%").await.is_empty(), "LIKE wildcards are literal");
    // The search stays inside the caller's scope.
    assert!(ids(&app, &jones, "lovelace").await.is_empty());
    let (status, v) = app.get_json(&sec, &format!("/api/v1/dictations?q={}", "x".repeat(101))).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("validation_failed")));
}

async fn clinicians_to_upload_for(app: TestApp) {
    app.user("dr.patel", Role::Clinician, &["ent"]).await;
    app.user("dr.heart", Role::Clinician, &["cardio"]).await;
    let sec = app.user("sec.ent", Role::Secretary, &["ent"]).await;
    let patel = app.user("dr.patel2", Role::Clinician, &["ent"]).await;
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let names = |v: Value| -> Vec<String> {
        v["items"].as_array().unwrap().iter().map(|c| c["username"].as_str().unwrap().to_string()).collect()
    };
    let (status, v) = app.get_json(&sec, "/api/v1/clinicians").await;
    assert_eq!(status, 200);
    assert_eq!(names(v), vec!["dr.patel", "dr.patel2"], "the clinicians of her team only");
    assert_eq!(names(app.get_json(&patel, "/api/v1/clinicians").await.1), vec!["dr.patel2"], "a clinician: themselves");
    assert_eq!(names(app.get_json(&admin, "/api/v1/clinicians").await.1), vec!["dr.heart", "dr.patel", "dr.patel2"]);
    assert_eq!(app.client.get(app.url("/api/v1/clinicians")).send().await.unwrap().status(), 401);
}

async fn settings_are_kept_per_user(app: TestApp) {
    let sec = app.user("sec.ent", Role::Secretary, &["ent"]).await;
    let other = app.user("sec.two", Role::Secretary, &["ent"]).await;
    let url = app.url("/api/v1/auth/me/settings/pedal");
    assert_eq!(app.get_json(&sec, "/api/v1/auth/me/settings/pedal").await, (200, json!({})));
    let pedal = json!({"mode": "tap", "actions": {"left": "rewind"}, "learnt": {"07b4:0218": {"layout": []}}});
    let resp = app.client.put(&url).bearer_auth(&sec).json(&pedal).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(app.get_json(&sec, "/api/v1/auth/me/settings/pedal").await, (200, pedal.clone()));
    assert_eq!(app.get_json(&other, "/api/v1/auth/me/settings/pedal").await, (200, json!({})), "per user");
    let resp = app.client.put(&url).bearer_auth(&sec).json(&json!(["not", "an", "object"])).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let big = json!({"x": "y".repeat(17 * 1024)});
    assert_eq!(app.client.put(&url).bearer_auth(&sec).json(&big).send().await.unwrap().status(), 422);
    assert_eq!(app.get_json(&sec, "/api/v1/auth/me/settings/colour").await.0, 404, "only known settings");
    assert_eq!(app.get_json(&sec, "/api/v1/auth/me/settings/pedal").await.1, pedal, "refusals change nothing");
}

crate::on_both_backends!(letters_are_searched, clinicians_to_upload_for, settings_are_kept_per_user);
