//! Upload bounds: a form has a bounded number of parts (both multipart endpoints share
//! the reader); direct transcription caps the decoded duration.

use std::path::Path;

use dictaflow::domain::Role;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, fixture, spawn_app_with};

crate::on_both_backends!(a_form_has_a_bounded_number_of_parts);

fn audio_part() -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(fixture("speech_3s.wav")).file_name("a.wav").mime_str("audio/wav").unwrap()
}

async fn a_form_has_a_bounded_number_of_parts(app: TestApp) {
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let mut form = reqwest::multipart::Form::new();
    for i in 0..40 {
        form = form.text("notes", format!("note {i}"));
    }
    form = form.part("audio", audio_part());
    let resp = app.client.post(app.url("/api/v1/dictations")).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(resp.headers()["connection"], "close", "the unread rest of the body ends the connection");
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["code"], "payload_too_large", "{problem}");
    let (_, list) = app.get_json(&token, "/api/v1/dictations").await;
    assert_eq!(list["items"], serde_json::json!([]), "nothing was stored");
    // A normal form is still fine.
    let form = reqwest::multipart::Form::new().text("notes", "one").part("audio", audio_part());
    let resp = app.client.post(app.url("/api/v1/dictations")).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 201);
}

/// The direct endpoint with the real model, when it is present (`models/ggml-tiny.en.bin`).
#[tokio::test(flavor = "multi_thread")]
async fn direct_transcription_bounds_parts_and_duration() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    if !models.join("ggml-tiny.en.bin").is_file() {
        eprintln!("skipping: no models/ggml-tiny.en.bin");
        return;
    }
    let Some(app) = spawn_app_with(Backend::Sqlite, |c| {
        c.stt.enabled = true;
        c.stt.auto_fetch = false;
        c.stt.models_dir = models;
        c.stt.workers = 1;
        c.stt.threads = 2;
        c.limits.direct_max_duration_seconds = 2.0;
    })
    .await
    else {
        return;
    };
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    for _ in 0..1200 {
        if app.client.get(app.url("/readyz")).send().await.unwrap().status() == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let url = app.url("/v1/audio/transcriptions");
    let mut form = reqwest::multipart::Form::new().part("file", audio_part());
    for _ in 0..100 {
        form = form.text("prompt", "x".repeat(1000));
    }
    let resp = app.client.post(&url).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 413, "a stream of prompt parts is cut off");
    // The 3 s recording is over this server's 2 s direct limit.
    let form = reqwest::multipart::Form::new().text("model", "whisper-1").part("file", audio_part());
    let resp = app.client.post(&url).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["code"], "audio_too_long", "{problem}");
}
