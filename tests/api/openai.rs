//! The OpenAI-compatible `POST /v1/audio/transcriptions`, driven by the official `openai`
//! Python package (from PyPI, installed into a venv under the target directory) against
//! the real server with the real model, plus the protocol details checked over plain HTTP.

use std::path::{Path, PathBuf};
use std::process::Command;

use dictaflow::domain::Role;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, corpus_dir, spawn_app_with, venv_python};

/// A Python with the `openai` package, made once per test run.
fn openai_python() -> Option<PathBuf> {
    venv_python("openai-venv", "openai", "openai>=1.40,<3", "DICTAFLOW_TEST_REQUIRE_PYTHON")
}

async fn app_with_model() -> Option<TestApp> {
    spawn_app_with(Backend::Sqlite, |c| {
        c.stt.enabled = true;
        c.stt.models_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        c.stt.workers = 1;
        c.stt.threads = 2;
    })
    .await
}

async fn wait_ready(app: &TestApp) {
    for _ in 0..1200 {
        let r = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
        if r.status() == 200 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("the model did not become ready in 5 minutes");
}

fn spoken(corpus: &Path, id: &str) -> String {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(corpus.join("scripts.json")).unwrap()).unwrap();
    v["scripts"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap()["spoken"].as_str().unwrap().to_string()
}

const FILE: (&str, &str) = ("audio/onc-01__piper__wav-s16-16k.wav", "onc-01");

#[tokio::test(flavor = "multi_thread")]
async fn the_official_openai_sdk_transcribes_through_dictaflow() {
    let Some(corpus) = corpus_dir() else { return };
    let Some(python) = openai_python() else { return };
    let Some(app) = app_with_model().await else { return };
    let token = app.user("dr.okafor", Role::Clinician, &["onc"]).await;
    wait_ready(&app).await;
    let audio = corpus.join(FILE.0);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openai/client.py");
    let short = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/speech_3s.wav");
    let base = app.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(base)
            .arg(token)
            .arg(audio)
            .arg(short)
            .output()
            .expect("run the python client")
    })
    .await
    .unwrap();
    assert!(out.status.success(), "python client failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).expect("client prints JSON");
    eprintln!("openai SDK {}", r["sdk_version"]);

    let reference = spoken(&corpus, FILE.1);
    let json_text = r["json"].as_str().unwrap();
    let w = dictaflow::draft::normalise::wer(&reference, json_text);
    // Same bound as the engine's corpus test (tests/stt.rs): tiny.en measures 0.10 here.
    assert!(w.wer < 0.25, "WER {:.3}: {json_text}", w.wer);
    let short_text = r["text"].as_str().unwrap();
    assert!(short_text.ends_with('\n') && !short_text.trim().is_empty(), "{short_text:?}");
    assert_eq!(short_text.trim(), r["short_json"].as_str().unwrap(), "text and json carry the same transcript");

    let srt = r["srt"].as_str().unwrap();
    assert!(srt.starts_with("1\n00:00:"), "{srt}");
    assert!(srt.contains(" --> "));
    let vtt = r["vtt"].as_str().unwrap();
    assert!(vtt.starts_with("WEBVTT\n\n"), "{vtt}");

    let v = &r["verbose"];
    assert_eq!(v["language"], "english");
    assert_eq!(v["text"].as_str().unwrap(), json_text);
    let duration = v["duration"].as_f64().unwrap();
    assert!((duration - 33.872).abs() < 0.05, "duration {duration}");
    let segments = v["segments"].as_array().unwrap();
    assert!(!segments.is_empty());
    for (i, s) in segments.iter().enumerate() {
        assert_eq!(s["id"].as_u64().unwrap() as usize, i);
        let (start, end) = (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap());
        assert!(0.0 <= start && start <= end && end <= duration + 0.05, "{s}");
        assert!(s["avg_logprob"].as_f64().unwrap() <= 0.0, "{s}");
        assert!((0.0..=1.0).contains(&s["no_speech_prob"].as_f64().unwrap()), "{s}");
        assert!(s["compression_ratio"].as_f64().unwrap() > 0.0, "{s}");
    }
    let words = v["words"].as_array().unwrap();
    assert_eq!(r["verbose_words_attr"].as_u64().unwrap() as usize, words.len());
    assert!(words.len() > 60, "{} words", words.len());
    let mut last = 0.0;
    for w in words {
        let (start, end) = (w["start"].as_f64().unwrap(), w["end"].as_f64().unwrap());
        assert!(start >= last - 1e-6 && end >= start && end <= duration + 0.05, "{w}");
        let word = w["word"].as_str().unwrap();
        assert!(!word.is_empty() && !word.ends_with(',') && !word.ends_with('.'), "{w}");
        last = start;
    }

    // Errors reach the SDK as its own exception classes with our message and code.
    let bad = &r["bad_audio"];
    assert_eq!(bad["status"], 415, "{bad}");
    assert_eq!(bad["code"], "unsupported_audio", "{bad}");
    assert_eq!(bad["body"]["code"], "unsupported_audio", "problem+json fields are kept: {bad}");
    let bad = &r["bad_model"];
    assert_eq!((bad["status"].as_u64(), bad["class"].as_str()), (Some(400), Some("BadRequestError")), "{bad}");
    assert_eq!((bad["code"].as_str(), bad["param"].as_str()), (Some("unknown_model"), Some("model")));
    assert!(bad["message"].as_str().unwrap().contains("whisper-9"), "{bad}");
    let bad = &r["bad_format"];
    assert_eq!((bad["status"].as_u64(), bad["param"].as_str()), (Some(400), Some("response_format")), "{bad}");
    let bad = &r["bad_language"];
    assert_eq!((bad["status"].as_u64(), bad["param"].as_str()), (Some(400), Some("language")), "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("English-only"), "{bad}");
    let bad = &r["bad_key"];
    assert_eq!((bad["status"].as_u64(), bad["class"].as_str()), (Some(401), Some("AuthenticationError")), "{bad}");
}

#[tokio::test(flavor = "multi_thread")]
async fn protocol_details_over_plain_http() {
    let Some(app) = crate::helpers::spawn_app(Backend::Sqlite).await else { return };
    let token = app.user("dr.okafor", Role::Clinician, &["onc"]).await;
    let url = format!("{}/v1/audio/transcriptions", app.base);
    let form = || {
        reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(crate::helpers::fixture("speech_3s.wav")).file_name("a.wav"))
            .text("model", "whisper-1")
    };
    // No credentials: 401 in both shapes. (The server answers without reading the upload
    // and closes that connection, so this request gets a client of its own.)
    let r = reqwest::Client::new().post(&url).multipart(form()).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    assert_eq!(body["error"]["type"], "authentication_error");
    // Recognition disabled on this server (the test default): a clear 503, not a hang.
    let r = app.client.post(&url).bearer_auth(&token).multipart(form()).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let ct = r.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/problem+json"), "{ct}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "model_unavailable");
    assert_eq!(body["error"]["code"], "model_unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("disabled"), "{body}");
    // Not multipart.
    let r = app.client.post(&url).bearer_auth(&token).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 415);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_file_and_unknown_parameters_are_named() {
    let Some(app) = app_with_model().await else { return };
    if corpus_dir().is_none() {
        return;
    }
    let token = app.user("dr.okafor", Role::Clinician, &["onc"]).await;
    wait_ready(&app).await;
    let url = format!("{}/v1/audio/transcriptions", app.base);
    let r = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("model", "whisper-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["field"].as_str(), body["error"]["param"].as_str()), (Some("file"), Some("file")), "{body}");
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(crate::helpers::fixture("speech_3s.wav")).file_name("a.wav"))
        .text("colour", "blue");
    let r = app.client.post(&url).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], "colour", "{body}");
    // The fixture holds speech: a plain-text answer comes back.
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(crate::helpers::fixture("speech_3s.wav")).file_name("a.wav"))
        .text("response_format", "text");
    let r = app.client.post(&url).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    assert!(!r.text().await.unwrap().trim().is_empty());
    // The audit trail records who transcribed how much audio (not what was said).
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let (status, audit) = app.get_json(&admin, "/api/v1/audit?action=transcription.direct").await;
    assert_eq!(status, 200, "{audit}");
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["actor"], "dr.okafor", "{audit}");
    assert!(!items[0].to_string().contains("text"), "no transcript in the audit: {audit}");
}
