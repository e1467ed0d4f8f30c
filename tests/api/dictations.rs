//! Upload, read, list, scope, idempotency, validation and `Range` on the dictation endpoints.

use dictaflow::domain::Role;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, fixture, spawn_app_with};

const PATIENT: &[(&str, &str)] = &[
    ("patient_nhs_number", "943 476 5919"),
    ("patient_name", "Ada Lovelace"),
    ("patient_dob", "1961-04-02"),
    ("hospital_number", "RX1234"),
    ("specialty", "ENT"),
    ("letter_type", "clinic_letter"),
    ("priority", "urgent"),
];

async fn upload_then_read_back(app: TestApp) {
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let bytes = fixture("speech_3s.wav");
    let resp = app.upload(&token, bytes.clone(), "whatever.mp3", PATIENT).await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let d: Value = resp.json().await.unwrap();
    let id = d["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/dictations/{id}"));
    assert_eq!(d["status"], "received");
    assert_eq!(d["clinician"], "dr.patel");
    assert_eq!(d["priority"], "urgent");
    assert_eq!(d["patient"]["nhs_number"], "9434765919");
    assert_eq!(d["patient"]["dob"], "1961-04-02");
    assert_eq!(d["audio"]["container"], "wav");
    assert_eq!(d["audio"]["sample_rate"], 16000);
    assert_eq!(d["audio"]["channels"], 1);
    assert_eq!(d["audio"]["bytes"], bytes.len() as u64);
    assert!((d["audio"]["duration_seconds"].as_f64().unwrap() - 3.0).abs() < 0.05);
    assert_eq!(d["audio"]["original_filename"], "whatever.mp3");
    assert_eq!(d["transcription"]["status"], "queued");
    let sha = d["audio"]["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);

    let (status, again) = app.get_json(&token, &location).await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], d["id"]);

    // The original bytes, whole and in ranges.
    let audio_url = app.url(&format!("{location}/audio"));
    let resp = app.client.get(&audio_url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["accept-ranges"], "bytes");
    assert_eq!(resp.headers()["content-type"], "audio/wav");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let resp = app.client.get(&audio_url).bearer_auth(&token).header("range", "bytes=100-199").send().await.unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["content-range"], format!("bytes 100-199/{}", bytes.len()));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &bytes[100..200]);
    let resp = app.client.get(&audio_url).bearer_auth(&token).header("range", "bytes=-10").send().await.unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &bytes[bytes.len() - 10..]);
    let resp = app
        .client
        .get(&audio_url)
        .bearer_auth(&token)
        .header("range", format!("bytes={}-", bytes.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 416);
    assert_eq!(resp.headers()["content-range"], format!("bytes */{}", bytes.len()));

    // The stored file (or the bucket's object) is the upload, byte for byte, under its digest.
    let stored = app.state.blobs.local_copy(&sha).await.unwrap();
    if app.s3.is_none() {
        let file = app.dir.path().join("audio").join(&sha[..2]).join(&sha[2..4]).join(&sha);
        assert_eq!(stored.path(), file);
    }
    assert_eq!(std::fs::read(stored.path()).unwrap(), bytes);
}

async fn scope_hides_other_peoples_dictations(app: TestApp) {
    let patel = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let jones = app.user("dr.jones", Role::Clinician, &["cardio"]).await;
    let sec_ent = app.user("sec.ent", Role::Secretary, &["ent"]).await;
    let sec_cardio = app.user("sec.cardio", Role::Secretary, &["cardio"]).await;
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let resp = app.upload(&patel, fixture("speech_3s.wav"), "a.wav", &[]).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/dictations/{id}");
    for (token, visible) in [(&patel, true), (&jones, false), (&sec_ent, true), (&sec_cardio, false), (&admin, true)] {
        let (status, body) = app.get_json(token, &path).await;
        assert_eq!(status, if visible { 200 } else { 404 }, "{body}");
        let resp = app.client.get(app.url(&format!("{path}/audio"))).bearer_auth(token).send().await.unwrap();
        assert_eq!(resp.status(), if visible { 200 } else { 404 });
        let (_, list) = app.get_json(token, "/api/v1/dictations").await;
        assert_eq!(list["items"].as_array().unwrap().len(), usize::from(visible));
    }
    // A secretary uploads for a clinician of her team, not for another team's.
    let resp = app.upload(&sec_ent, fixture("speech_3s.wav"), "b.wav", &[("clinician", "dr.patel")]).await;
    assert_eq!(resp.status(), 201);
    let resp = app.upload(&sec_ent, fixture("speech_3s.wav"), "b.wav", &[("clinician", "dr.jones")]).await;
    assert_eq!(resp.status(), 403);
    let resp = app.upload(&sec_ent, fixture("speech_3s.wav"), "b.wav", &[]).await;
    assert_eq!(resp.status(), 422);
    let resp = app.upload(&patel, fixture("speech_3s.wav"), "b.wav", &[("clinician", "dr.jones")]).await;
    assert_eq!(resp.status(), 403);
}

async fn idempotent_uploads_return_the_first(app: TestApp) {
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let first = app.upload_with_key(&token, fixture("speech_3s.wav"), "a.wav", &[], Some("clinic-42")).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    // Concurrent retries with the same key all get the same dictation.
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (client, url, token) = (app.client.clone(), app.url("/api/v1/dictations"), token.clone());
        handles.push(tokio::spawn(async move {
            let part = reqwest::multipart::Part::bytes(fixture("speech_3s.wav")).file_name("a.wav");
            let form = reqwest::multipart::Form::new().part("audio", part);
            let resp = client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "clinic-42")
                .multipart(form)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }));
    }
    for h in handles {
        let (status, body) = h.await.unwrap();
        assert_eq!(status, 201);
        assert_eq!(body["id"], first["id"]);
    }
    let other = app.upload_with_key(&token, fixture("speech_3s.wav"), "a.wav", &[], Some("clinic-43")).await;
    assert_ne!(other.json::<Value>().await.unwrap()["id"], first["id"]);
    let (_, list) = app.get_json(&token, "/api/v1/dictations").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

async fn bad_fields_are_named(app: TestApp) {
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (&[("patient_nhs_number", "9434765918")], "patient_nhs_number", "invalid_nhs_number"),
        (&[("patient_nhs_number", "12345")], "patient_nhs_number", "invalid_nhs_number"),
        (&[("patient_dob", "1961-13-02")], "patient_dob", "validation_failed"),
        (&[("patient_dob", "2999-01-01")], "patient_dob", "validation_failed"),
        (&[("priority", "stat")], "priority", "validation_failed"),
        (&[("colour", "blue")], "colour", "validation_failed"),
    ];
    for (fields, field, code) in cases {
        let resp = app.upload(&token, fixture("speech_3s.wav"), "a.wav", fields).await;
        assert_eq!(resp.status(), 422, "{fields:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["field"], *field);
        assert_eq!(body["code"], *code);
        assert!(!body["detail"].as_str().unwrap().is_empty());
    }
    // No audio part at all.
    let form = reqwest::multipart::Form::new().text("priority", "routine");
    let resp = app.client.post(app.url("/api/v1/dictations")).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    assert_eq!(resp.json::<Value>().await.unwrap()["field"], "audio");
    // Not multipart.
    let resp = app.client.post(app.url("/api/v1/dictations")).bearer_auth(&token).body("hello").send().await.unwrap();
    assert_eq!(resp.status(), 415);
    // Bad list filters.
    for q in ["status=lost", "priority=stat", "limit=0", "cursor=@@", "due_before=yesterday", "bogus=1"] {
        let (status, body) = app.get_json(&token, &format!("/api/v1/dictations?{q}")).await;
        assert_eq!(status, 422, "{q}: {body}");
    }
    // Nothing was stored by any refused upload.
    let (_, list) = app.get_json(&token, "/api/v1/dictations").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    assert_eq!(crate::crash::staged_files(&app.dir.path().join("audio/tmp")), 0, "no staged upload is left");
}

async fn listing_filters_and_pages(app: TestApp) {
    let patel = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    for priority in ["routine", "urgent", "routine", "two_week_wait", "routine"] {
        let resp = app.upload(&patel, fixture("speech_3s.wav"), "a.wav", &[("priority", priority)]).await;
        assert_eq!(resp.status(), 201);
    }
    let (_, urgent) = app.get_json(&patel, "/api/v1/dictations?priority=urgent").await;
    assert_eq!(urgent["items"].as_array().unwrap().len(), 1);
    let (_, received) = app.get_json(&patel, "/api/v1/dictations?status=received&clinician=dr.patel").await;
    assert_eq!(received["items"].as_array().unwrap().len(), 5);
    let mut seen = Vec::new();
    let mut path = "/api/v1/dictations?limit=2".to_string();
    loop {
        let (status, page) = app.get_json(&patel, &path).await;
        assert_eq!(status, 200);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|d| d["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/dictations?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, no duplicates across pages");
}

crate::on_both_backends!(
    upload_then_read_back,
    scope_hides_other_peoples_dictations,
    idempotent_uploads_return_the_first,
    bad_fields_are_named,
    listing_filters_and_pages,
    metrics_are_exposed,
);
// The same with the audio in a bucket of a real S3 server.
crate::on_s3_too!(upload_then_read_back, idempotent_uploads_return_the_first, metrics_are_exposed);

#[tokio::test]
async fn oversized_uploads_get_413_early_and_leave_nothing() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.limits.max_upload_bytes = 50_000).await.unwrap();
    let token = app.user("dr.patel", Role::Clinician, &[]).await;
    let resp = app.upload(&token, fixture("speech_3s.wav"), "a.wav", &[]).await;
    assert_eq!(resp.status(), 413);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "payload_too_large");
    // Without a Content-Length the limit is enforced while streaming.
    let stream = futures_util::stream::iter((0..40).map(|_| Ok::<_, std::io::Error>(vec![0u8; 4096])));
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream)).file_name("big.wav");
    let form = reqwest::multipart::Form::new().part("audio", part);
    let resp = app.client.post(app.url("/api/v1/dictations")).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(crate::crash::staged_files(&app.dir.path().join("audio/tmp")), 0, "no staged upload is left");
}

/// `GET /metrics` in the Prometheus text format: request counters by route template
/// (never a raw path with ids) and gauges read from the shared database.
async fn metrics_are_exposed(app: TestApp) {
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let resp = app.upload(&token, fixture("speech_3s.wav"), "a.wav", &[]).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let (status, _) = app.get_json(&token, &format!("/api/v1/dictations/{id}")).await;
    assert_eq!(status, 200);
    let resp = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = resp.text().await.unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/v1/dictations/{id}",status="200"}"#),
        "{text}"
    );
    assert!(text.contains(r#"route="/api/v1/dictations",status="201"}"#), "{text}");
    assert!(!text.contains(&id), "no ids in labels");
    assert!(text.contains("dictaflow_jobs{status=\"queued\"} 1\n"), "{text}");
    assert!(text.contains("# TYPE dictaflow_dictations gauge"), "{text}");
    assert!(text.contains("dictaflow_model_ready{model=\"tiny.en\"} 0\n"), "{text}");
}
