//! Speech models and recognition settings: defaults from the configuration, validation
//! (each refusal names its field), super-users only, audited; and new dictations are
//! recognised with the chosen model and options, whether the change came through this
//! server's API or from another process sharing the database.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dictaflow::domain::Role;
use dictaflow::jobs::settings::{self, RecognitionSettings};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, fixture, spawn_app_with};

async fn put(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let resp =
        app.client.put(app.url("/api/v1/settings/recognition")).bearer_auth(token).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    if status != 200 {
        let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        assert_eq!(ct, "application/problem+json", "errors are problem+json");
    }
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn refused(app: &TestApp, token: &str, body: Value, field: &str, code: &str) -> Value {
    let (status, problem) = put(app, token, body.clone()).await;
    assert_eq!(status, 422, "{body}: {problem}");
    assert_eq!(problem["field"], field, "{body}: {problem}");
    assert_eq!(problem["code"], code, "{body}: {problem}");
    problem
}

async fn settings_are_validated_audited_and_for_super_users(backend: Backend) {
    let models = tempfile::tempdir().unwrap();
    // An installed multilingual model (recognition is off here: nothing loads it).
    std::fs::write(models.path().join("ggml-base.bin"), b"not loaded in this test").unwrap();
    let dir = models.path().to_path_buf();
    let Some(app) = spawn_app_with(backend, move |c| c.stt.models_dir = dir).await else { return };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let lead = app.user("lead", Role::TeamLead, &["ent"]).await;
    let clinician = app.user("dr.patel", Role::Clinician, &["ent"]).await;

    let (status, s) = app.get_json(&admin, "/api/v1/settings/recognition").await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["source"], "config");
    assert_eq!(s["version"], 0);
    assert_eq!(
        (&s["model"], &s["beam_size"], &s["language"], &s["vad"], &s["low_confidence_threshold"]),
        (&json!("tiny.en"), &json!(1), &json!(""), &json!(true), &json!(0.5)),
        "{s}"
    );
    assert_eq!(s["defaults"]["model"], "tiny.en");

    for token in [&lead, &clinician] {
        for path in ["/api/v1/settings/recognition", "/api/v1/models"] {
            assert_eq!(app.get_json(token, path).await.0, 403, "{path}");
        }
        assert_eq!(put(&app, token, json!({"beam_size": 2})).await.0, 403);
    }

    refused(&app, &admin, json!({"beam_size": 9}), "beam_size", "validation_failed").await;
    refused(&app, &admin, json!({"beam_size": 0}), "beam_size", "validation_failed").await;
    refused(&app, &admin, json!({"beam_size": 2.5}), "beam_size", "validation_failed").await;
    refused(&app, &admin, json!({"beam": 4}), "beam", "validation_failed").await;
    refused(&app, &admin, json!({"vad": "yes"}), "vad", "validation_failed").await;
    refused(&app, &admin, json!({"low_confidence_threshold": 1.5}), "low_confidence_threshold", "validation_failed")
        .await;
    refused(&app, &admin, json!({"language": "fr"}), "language", "validation_failed").await;
    refused(&app, &admin, json!({"language": "klingon"}), "language", "validation_failed").await;
    refused(&app, &admin, json!({"model": "huge-v9"}), "model", "unknown_model").await;
    let p = refused(&app, &admin, json!({"model": "small.en"}), "model", "model_not_installed").await;
    assert!(p["detail"].as_str().unwrap().contains("dictaflow models fetch small.en"), "{p}");
    let resp = app
        .client
        .put(app.url("/api/v1/settings/recognition"))
        .bearer_auth(&admin)
        .json(&json!(["beam_size"]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    // Nothing was stored, nothing audited.
    assert_eq!(app.get_json(&admin, "/api/v1/settings/recognition").await.1["version"], 0);

    let (status, s) = put(&app, &admin, json!({"beam_size": 5, "vad": false, "low_confidence_threshold": 0.65})).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!((&s["source"], &s["version"], &s["updated_by"]), (&json!("database"), &json!(1), &json!("admin")));
    let (_, s) = app.get_json(&admin, "/api/v1/settings/recognition").await;
    assert_eq!(
        (&s["model"], &s["beam_size"], &s["vad"], &s["low_confidence_threshold"]),
        (&json!("tiny.en"), &json!(5), &json!(false), &json!(0.65)),
        "{s}"
    );
    assert_eq!(s["defaults"]["beam_size"], 1, "the defaults stay the configuration's");
    // A multilingual model that is installed, with a language only it can recognise.
    let (status, s) = put(&app, &admin, json!({"model": "base", "language": "fr"})).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (&s["model"], &s["language"], &s["beam_size"], &s["version"]),
        (&json!("base"), &json!("fr"), &json!(5), &json!(2))
    );

    let (_, models) = app.get_json(&admin, "/api/v1/models").await;
    let items = models["items"].as_array().unwrap();
    let entry = |name: &str| items.iter().find(|m| m["name"] == name).unwrap_or_else(|| panic!("{name}: {models}"));
    assert_eq!((&entry("base")["installed"], &entry("base")["active"]), (&json!(true), &json!(true)));
    assert_eq!((&entry("tiny.en")["installed"], &entry("tiny.en")["active"]), (&json!(false), &json!(false)));
    assert_eq!(entry("tiny.en")["fetch_command"], "dictaflow models fetch tiny.en");
    assert_eq!(models["loaded"], Value::Null, "recognition is off in this process");

    let (_, trail) = app.get_json(&admin, "/api/v1/audit?action=admin.recognition_settings_put").await;
    let entries = trail["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{trail}");
    let last = &entries[0];
    assert_eq!(
        (&last["actor"], &last["target_type"], &last["target_id"]),
        (&json!("admin"), &json!("settings"), &json!("recognition"))
    );
    assert_eq!(last["details"]["from"]["model"], "tiny.en", "{last}");
    assert_eq!(last["details"]["to"]["model"], "base", "{last}");
    assert_eq!(last["details"]["version"], 2, "{last}");
}

/// Serialises model fetches: both backends' tests may ask at once.
static FETCH: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

async fn fetch(name: &'static str) {
    let _one = FETCH.lock().await;
    tokio::task::spawn_blocking(move || dictaflow::models::fetch(name, &models_dir()))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot fetch {name} (run `dictaflow models fetch {name}`): {e:#}"));
}

async fn ready_model(app: &TestApp) -> String {
    for _ in 0..600 {
        let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
        let body: Value = resp.json().await.unwrap();
        if body["model"]["state"] == "ready" {
            return body["model"]["name"].as_str().unwrap().to_string();
        }
        assert_ne!(body["model"]["state"], "failed", "{body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the model did not load");
}

/// Uploads the short speech fixture and waits for its transcription.
async fn transcribed(app: &TestApp, token: &str) -> Value {
    let resp = app.upload(token, fixture("speech_3s.wav"), "a.wav", &[("specialty", "ENT")]).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    for _ in 0..1200 {
        let (_, d) = app.get_json(token, &format!("/api/v1/dictations/{id}")).await;
        match d["transcription"]["status"].as_str() {
            Some("done") => return d["transcription"].clone(),
            Some("failed") => panic!("the transcription failed: {d}"),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    panic!("the transcription of {id} did not finish");
}

fn words(t: &Value) -> Vec<Value> {
    t["segments"].as_array().unwrap().iter().flat_map(|s| s["words"].as_array().unwrap().clone()).collect()
}

async fn new_dictations_use_the_chosen_settings(backend: Backend) {
    fetch("tiny.en").await;
    fetch("tiny.en-q8_0").await;
    let Some(app) = spawn_app_with(backend, |c| {
        c.stt.enabled = true;
        c.stt.models_dir = models_dir();
        c.stt.workers = 1;
        c.stt.threads = 1;
        c.stt.lease_seconds = 10;
    })
    .await
    else {
        return;
    };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let clinician = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    assert_eq!(ready_model(&app).await, "tiny.en");
    let t = transcribed(&app, &clinician).await;
    assert_eq!(t["model"], "tiny.en", "{t}");
    assert!(!words(&t).is_empty(), "{t}");

    // Another process sharing the database changes the settings: this process's worker
    // notices the new version when its next job starts and switches model.
    let (_, me) = app.get_json(&admin, "/api/v1/auth/me").await;
    let admin_id = me["id"].as_str().unwrap();
    let chosen =
        RecognitionSettings { model: "tiny.en-q8_0".into(), ..RecognitionSettings::defaults(&app.state.config.stt) };
    let mut tx = app.state.db.begin_write().await.unwrap();
    settings::save(&mut tx, &chosen, admin_id, app.state.clock.now_ms()).await.unwrap();
    tx.commit().await.unwrap();
    let t = transcribed(&app, &clinician).await;
    assert_eq!(t["model"], "tiny.en-q8_0", "{t}");
    assert_eq!(ready_model(&app).await, "tiny.en-q8_0", "/readyz reports the model in use");
    let (_, models) = app.get_json(&admin, "/api/v1/models").await;
    let q8 = models["items"].as_array().unwrap().iter().find(|m| m["name"] == "tiny.en-q8_0").unwrap().clone();
    assert_eq!((&q8["installed"], &q8["active"], &q8["loaded"]), (&json!(true), &json!(true), &json!(true)));

    // Through the API: this process switches at once; every word under the threshold
    // (all of them, at 1.0) is marked, with greedy decoding replaced by a beam of 2.
    let (status, s) =
        put(&app, &admin, json!({"model": "tiny.en", "beam_size": 2, "low_confidence_threshold": 1.0})).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["loaded_model"], "tiny.en", "{s}");
    assert_eq!(ready_model(&app).await, "tiny.en");
    let t = transcribed(&app, &clinician).await;
    assert_eq!(t["model"], "tiny.en", "{t}");
    let ws = words(&t);
    assert!(!ws.is_empty(), "{t}");
    for w in &ws {
        let below = w["confidence"].as_f64().unwrap() < 1.0;
        assert_eq!(w["low_confidence"], json!(below), "{w}");
    }
    assert!(ws.iter().any(|w| w["low_confidence"] == true), "{t}");
    // And back to a threshold of 0: no word is marked.
    let (status, _) = put(&app, &admin, json!({"low_confidence_threshold": 0.0})).await;
    assert_eq!(status, 200);
    let t = transcribed(&app, &clinician).await;
    assert!(words(&t).iter().all(|w| w["low_confidence"] == false), "{t}");
}

/// British spelling of drafts is on until a super-user turns it off; the change is stored
/// as a new version, survives a fresh read and is audited like the other settings.
async fn british_spelling_is_on_by_default_and_can_be_turned_off(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else { return };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let clinician = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let (status, s) = app.get_json(&admin, "/api/v1/settings/recognition").await;
    assert_eq!(status, 200, "{s}");
    assert_eq!((&s["british_spelling"], &s["defaults"]["british_spelling"]), (&json!(true), &json!(true)), "{s}");

    assert_eq!(put(&app, &clinician, json!({"british_spelling": false})).await.0, 403);
    refused(&app, &admin, json!({"british_spelling": "no"}), "british_spelling", "validation_failed").await;
    refused(&app, &admin, json!({"british_spelling": 0}), "british_spelling", "validation_failed").await;
    assert_eq!(app.get_json(&admin, "/api/v1/settings/recognition").await.1["version"], 0, "nothing saved");

    let (status, s) = put(&app, &admin, json!({"british_spelling": false})).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!((&s["british_spelling"], &s["version"]), (&json!(false), &json!(1)), "{s}");
    let (_, s) = app.get_json(&admin, "/api/v1/settings/recognition").await;
    assert_eq!((&s["british_spelling"], &s["source"]), (&json!(false), &json!("database")), "{s}");
    assert_eq!(s["defaults"]["british_spelling"], true, "the default stays on");
    assert_eq!((&s["model"], &s["vad"]), (&json!("tiny.en"), &json!(true)), "the other settings keep their values");
    let stored = settings::effective(&app.state.db, &app.state.config.stt).await.unwrap();
    assert!(!stored.settings.british_spelling, "workers read it from the database");

    // Another change leaves it off; turning it back on is a new version.
    let (_, s) = put(&app, &admin, json!({"vad": false})).await;
    assert_eq!((&s["british_spelling"], &s["version"]), (&json!(false), &json!(2)), "{s}");
    let (_, s) = put(&app, &admin, json!({"british_spelling": true})).await;
    assert_eq!((&s["british_spelling"], &s["version"]), (&json!(true), &json!(3)), "{s}");

    let (_, trail) = app.get_json(&admin, "/api/v1/audit?action=admin.recognition_settings_put").await;
    let first = trail["items"].as_array().unwrap().last().cloned().unwrap_or_default();
    assert_eq!(
        (&first["details"]["from"]["british_spelling"], &first["details"]["to"]["british_spelling"]),
        (&json!(true), &json!(false)),
        "{trail}"
    );
}

crate::both_backends!(
    settings_are_validated_audited_and_for_super_users,
    new_dictations_use_the_chosen_settings,
    british_spelling_is_on_by_default_and_can_be_turned_off
);
