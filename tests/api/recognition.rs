//! Recognition through the server: upload real corpus audio, the worker transcribes it
//! with the real model, the draft appears and the letter moves to its first human stage.

use std::path::Path;
use std::time::Duration;

use dictaflow::domain::Role;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, corpus_dir, spawn_app_with};

async fn app_with_recognition(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |c| {
        c.stt.enabled = true;
        c.stt.models_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        c.stt.workers = 1;
        c.stt.threads = 1;
        c.stt.lease_seconds = 10;
    })
    .await
}

async fn wait_for_transcription(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..600 {
        let (_, d) = app.get_json(token, &format!("/api/v1/dictations/{id}")).await;
        let status = d["transcription"]["status"].as_str().unwrap_or_default().to_string();
        if status == "done" || status == "failed" {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("transcription of {id} did not finish in 5 minutes");
}

async fn uploads_get_real_drafts(backend: Backend) {
    let Some(corpus) = corpus_dir() else { return };
    let Some(app) = app_with_recognition(backend).await else { return };
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    // ent-03 dictates punctuation and layout commands; silence gives no words.
    let speech = std::fs::read(corpus.join("audio/ent-03__piper__m4a-aac48-44k.m4a")).unwrap();
    let resp = app.upload(&token, speech, "letter.m4a", &[("specialty", "ENT")]).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let silence = std::fs::read(corpus.join("bad/silence_2s.wav")).unwrap();
    let resp = app.upload(&token, silence, "silence.wav", &[]).await;
    let silent_id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    let d = wait_for_transcription(&app, &token, &id).await;
    let t = &d["transcription"];
    assert_eq!(t["status"], "done", "{d}");
    assert_eq!(t["model"], "tiny.en");
    assert!(t["processing_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(t["progress"], 1.0);
    let raw = t["raw_text"].as_str().unwrap();
    let draft = d["draft"]["text"].as_str().unwrap();
    assert_eq!(d["draft"]["version"], 1);
    assert!(raw.to_lowercase().contains("full stop"), "the raw output keeps the spoken commands: {raw}");
    assert!(!draft.to_lowercase().contains("full stop"), "the draft applies them: {draft}");
    assert!(draft.contains("\n\n"), "new paragraph becomes a paragraph break: {draft}");
    assert!(draft.to_lowercase().contains("vestibular schwannoma"), "{draft}");
    let duration = d["audio"]["duration_seconds"].as_f64().unwrap();
    let mut last = 0.0;
    let mut words = 0;
    for seg in t["segments"].as_array().unwrap() {
        for w in seg["words"].as_array().unwrap() {
            let (start, end, c) =
                (w["start"].as_f64().unwrap(), w["end"].as_f64().unwrap(), w["confidence"].as_f64().unwrap());
            assert!(start >= last - 1e-6 && end >= start && end <= duration + 0.05, "{w}");
            assert!((0.0..=1.0).contains(&c));
            last = start;
            words += 1;
        }
    }
    assert!(words > 50, "{words} words");
    assert_ne!(d["status"], "received");
    assert_ne!(d["status"], "transcribing");

    let s = wait_for_transcription(&app, &token, &silent_id).await;
    assert_eq!(s["transcription"]["status"], "done");
    assert_eq!(s["transcription"]["text"], "", "no invented text on silence");
    assert_eq!(s["audio"]["silent"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_get_real_drafts_sqlite() {
    uploads_get_real_drafts(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_get_real_drafts_postgres() {
    uploads_get_real_drafts(Backend::Postgres).await;
}

/// The clinician's letters as a secretary corrects them: the script's text typed over the
/// draft, then submitted and approved. Returns the first draft.
async fn correct_and_approve(app: &TestApp, clinician: &str, secretary: &str, id: &str, typed: &str) -> String {
    let d = wait_for_transcription(app, clinician, id).await;
    assert_eq!(d["transcription"]["status"], "done", "{d}");
    let draft = d["draft"]["text"].as_str().unwrap().to_string();
    let act = |token: &str, action: &str| {
        let url = app.url(&format!("/api/v1/dictations/{id}/actions/{action}"));
        app.client.post(url).bearer_auth(token.to_string()).json(&serde_json::json!({})).send()
    };
    assert_eq!(act(secretary, "claim").await.unwrap().status(), 200);
    let url = app.url(&format!("/api/v1/dictations/{id}/draft"));
    let body = serde_json::json!({"text": typed, "base_version": d["draft"]["version"]});
    assert_eq!(app.client.put(url).bearer_auth(secretary).json(&body).send().await.unwrap().status(), 200);
    assert_eq!(act(secretary, "submit").await.unwrap().status(), 200);
    assert_eq!(act(clinician, "approve").await.unwrap().status(), 200);
    draft
}

/// Learning from corrections with the real model: terms a secretary had to type in three
/// approved letters of one clinician join that clinician's lexicon and prompt, and the
/// fourth recording of the same dictation comes out with them.
async fn a_term_corrected_in_three_letters_is_right_in_the_fourth(backend: Backend) {
    let Some(corpus) = corpus_dir() else { return };
    let Some(app) = app_with_recognition(backend).await else { return };
    let patel = app.user("dr.patel", Role::Clinician, &["cardio"]).await;
    let jones = app.user("sec.jones", Role::Secretary, &["cardio"]).await;
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let scripts: Value = serde_json::from_str(&std::fs::read_to_string(corpus.join("scripts.json")).unwrap()).unwrap();
    let script = scripts["scripts"].as_array().unwrap().iter().find(|s| s["id"] == "cardio-02").unwrap();
    let typed = script["expected_text"].as_str().unwrap();
    let audio = std::fs::read(corpus.join("audio/cardio-02__piper__mp3-cbr32-22k.mp3")).unwrap();
    let upload = || async {
        let resp = app.upload(&patel, audio.clone(), "letter.mp3", &[("specialty", "Cardiology")]).await;
        assert_eq!(resp.status(), 201);
        resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
    };
    let mut first = String::new();
    for _ in 0..3 {
        let id = upload().await;
        first = correct_and_approve(&app, &patel, &jones, &id, typed).await;
    }
    let (_, learned) = app.get_json(&admin, "/api/v1/lexicon?source=learned&scope=clinician:dr.patel").await;
    let learned: Vec<String> =
        learned["items"].as_array().unwrap().iter().map(|i| i["term"].as_str().unwrap().to_lowercase()).collect();
    let missed: Vec<&String> = learned.iter().filter(|t| !first.to_lowercase().contains(t.as_str())).collect();
    assert!(!missed.is_empty(), "the corrections taught nothing: learned {learned:?} from draft {first}");

    let fourth = upload().await;
    let d = wait_for_transcription(&app, &patel, &fourth).await;
    let draft = d["draft"]["text"].as_str().unwrap().to_lowercase();
    let now_right: Vec<&&String> = missed.iter().filter(|t| draft.contains(t.as_str())).collect();
    eprintln!("missed in the first three drafts and learned: {missed:?}; right in the fourth: {now_right:?}");
    assert!(!now_right.is_empty(), "none of {missed:?} is right in the fourth draft: {draft}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_term_corrected_in_three_letters_is_right_in_the_fourth_sqlite() {
    a_term_corrected_in_three_letters_is_right_in_the_fourth(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_term_corrected_in_three_letters_is_right_in_the_fourth_postgres() {
    a_term_corrected_in_three_letters_is_right_in_the_fourth(Backend::Postgres).await;
}
