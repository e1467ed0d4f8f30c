//! Every corpus file, good and bad, uploaded over HTTP with the answer its manifest expects.

use std::collections::HashMap;

use dictaflow::domain::Role;
use serde_json::Value;

use crate::helpers::{TestApp, corpus_dir};

/// The specific code each rejected bad input must get.
fn expected_rejection(path: &str) -> Option<(u16, &'static str)> {
    Some(match path {
        "bad/empty.wav" => (422, "empty_audio"),
        "bad/random_bytes.wav" => (415, "unsupported_audio"),
        "bad/clinic_note_renamed.mp3" => (415, "unsupported_audio"),
        "bad/spectrogram_renamed.m4a" => (415, "unsupported_audio"),
        "bad/zero_channels.wav" => (422, "corrupt_audio"),
        _ => return None,
    })
}

async fn every_corpus_file_gets_its_expected_answer(app: TestApp) {
    let Some(dir) = corpus_dir() else { return };
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let mut failures = Vec::new();
    let mut accepted: HashMap<String, Value> = HashMap::new();
    for entry in manifest["files"].as_array().unwrap() {
        let path = entry["path"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(path)).unwrap();
        let name = path.rsplit('/').next().unwrap();
        let resp = app.upload(&token, bytes, name, &[]).await;
        let status = resp.status().as_u16();
        let content_type = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let reject = entry["expect"] == "reject";
        if reject {
            let (want_status, want_code) = expected_rejection(path).expect("a rejection rule for every rejected file");
            if status != want_status
                || body["code"] != want_code
                || content_type.as_deref() != Some("application/problem+json")
            {
                failures.push(format!("{path}: want {want_status} {want_code}, got {status} {body}"));
            }
            continue;
        }
        if status != 201 {
            failures.push(format!("{path}: want 201, got {status} {body}"));
            continue;
        }
        let audio = &body["audio"];
        if let Some(want) = entry["duration_s"].as_f64() {
            let partial = entry["partial"].as_bool().unwrap_or(false);
            let got = audio["duration_seconds"].as_f64().unwrap_or(-1.0);
            if !partial && (got - want).abs() > 0.05 {
                failures.push(format!("{path}: duration {got} != {want}"));
            }
        }
        // The manifest's container may carry a description after the name ("mp4 (m4a, ...)").
        let container = entry["container"].as_str().and_then(|c| c.split_whitespace().next());
        if container.is_some_and(|c| audio["container"] != c) {
            failures.push(format!("{path}: container {} != {container:?}", audio["container"]));
        }
        for key in ["codec", "sample_rate", "channels"] {
            if !entry[key].is_null() && audio[key] != entry[key] {
                failures.push(format!("{path}: {key} {} != {}", audio[key], entry[key]));
            }
        }
        accepted.insert(path.to_string(), body);
    }
    assert!(failures.is_empty(), "corpus mismatches:\n{}", failures.join("\n"));
    // Specific flags on the accepted bad inputs.
    let silence = &accepted["bad/silence_2s.wav"]["audio"];
    assert_eq!(silence["silent"], true, "silence is flagged");
    let speech = &accepted["bad/very_short_0p2s.wav"]["audio"];
    assert_eq!(speech["silent"], false);
    for truncated in ["bad/truncated_huge_header.wav", "bad/truncated_midframe.mp3"] {
        let warnings = accepted[truncated]["audio"]["warnings"].as_array().unwrap();
        assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("truncat")), "{truncated}: {warnings:?}");
    }
    let huge = accepted["bad/truncated_huge_header.wav"]["audio"]["duration_seconds"].as_f64().unwrap();
    assert!((huge - 3.079).abs() < 0.05, "decodes only what is present: {huge}");
    let midframe = accepted["bad/truncated_midframe.mp3"]["audio"]["duration_seconds"].as_f64().unwrap();
    assert!((midframe - 20.9).abs() < 0.2, "duration from decoding, not the header: {midframe}");
    assert_eq!(accepted["bad/flac_data_named.wav"]["audio"]["container"], "flac");
}

/// Fifty uploads at once all succeed with the right durations.
async fn fifty_concurrent_uploads(app: TestApp) {
    let Some(dir) = corpus_dir() else { return };
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let good: Vec<(String, f64)> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "speech" || e["kind"] == "speech_noisy")
        .map(|e| (e["path"].as_str().unwrap().to_string(), e["duration_s"].as_f64().unwrap()))
        .collect();
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let mut handles = Vec::new();
    for i in 0..50 {
        let (path, duration) = good[i % good.len()].clone();
        let bytes = std::fs::read(dir.join(&path)).unwrap();
        let (client, url, token) = (app.client.clone(), app.url("/api/v1/dictations"), token.clone());
        handles.push(tokio::spawn(async move {
            let form =
                reqwest::multipart::Form::new().part("audio", reqwest::multipart::Part::bytes(bytes).file_name("x"));
            let resp = client.post(url).bearer_auth(token).multipart(form).send().await.unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap();
            (path, duration, status, body)
        }));
    }
    for h in handles {
        let (path, duration, status, body) = h.await.unwrap();
        assert_eq!(status, 201, "{path}: {body}");
        let got = body["audio"]["duration_seconds"].as_f64().unwrap();
        assert!((got - duration).abs() <= 0.05, "{path}: {got} vs {duration}");
    }
    let (_, list) = app.get_json(&token, "/api/v1/dictations?limit=100").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 50);
}

crate::on_both_backends!(every_corpus_file_gets_its_expected_answer, fifty_concurrent_uploads);
