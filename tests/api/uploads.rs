//! Resumable uploads (`/api/v1/uploads`): chunks with `Content-Range`, resuming after a cut,
//! the same idempotency and limits as `POST /dictations`, bad offsets, expiry.

use dictaflow::clock::Clock;
use dictaflow::domain::Role;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, TestApp, fixture, spawn_app_clocked};

const FIELDS: &[(&str, &str)] = &[("patient_nhs_number", "943 476 5919"), ("patient_name", "Ada Lovelace")];

fn fields() -> Value {
    Value::Object(FIELDS.iter().map(|(k, v)| (k.to_string(), json!(v))).collect())
}

impl TestApp {
    async fn open_upload(&self, token: &str, body: Value, key: Option<&str>) -> reqwest::Response {
        let mut req = self.client.post(self.url("/api/v1/uploads")).bearer_auth(token).json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.expect("open upload")
    }

    async fn chunk(&self, token: &str, id: &str, range: &str, bytes: Vec<u8>) -> reqwest::Response {
        self.client
            .patch(self.url(&format!("/api/v1/uploads/{id}")))
            .bearer_auth(token)
            .header("content-range", range)
            .body(bytes)
            .send()
            .await
            .expect("chunk")
    }
}

async fn problem(resp: reqwest::Response) -> (u16, String, Option<u64>) {
    let status = resp.status().as_u16();
    let offset = resp.headers().get("upload-offset").and_then(|v| v.to_str().ok()?.parse().ok());
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_string(), offset)
}

async fn dictation_count(app: &TestApp) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM dictations").fetch_one(&app.state.db.pool).await.unwrap().get("n")
}

async fn chunks_resume_and_finish_once(app: TestApp) {
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let bytes = fixture("speech_3s.wav");
    let n = bytes.len();
    let body = json!({"length": n, "filename": "recording.wav", "fields": fields()});
    let resp = app.open_upload(&token, body.clone(), Some("rec-1")).await;
    assert_eq!(resp.status(), 201);
    let s: Value = resp.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_string();
    assert_eq!((s["offset"].as_u64(), s["length"].as_u64()), (Some(0), Some(n as u64)));
    assert!(s["chunk_bytes"].as_u64().unwrap() > 0 && s["dictation"].is_null());

    let third = n / 3;
    let resp = app.chunk(&token, &id, &format!("bytes 0-{}/{n}", third - 1), bytes[..third].to_vec()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["upload-offset"], third.to_string().as_str());

    // The network dropped: the client re-opens with its key and learns where to go on.
    let resp = app.open_upload(&token, body.clone(), Some("rec-1")).await;
    assert_eq!(resp.status(), 200);
    let again: Value = resp.json().await.unwrap();
    assert_eq!((again["id"].as_str(), again["offset"].as_u64()), (Some(id.as_str()), Some(third as u64)));

    // A chunk from the wrong place, a wrong total, a malformed range, a body longer or
    // shorter than its range: refused with stable codes and the server's offset.
    let late =
        app.chunk(&token, &id, &format!("bytes {}-{}/{n}", third + 10, n - 1), bytes[third + 10..].to_vec()).await;
    assert_eq!(problem(late).await, (409, "upload_offset_mismatch".into(), Some(third as u64)));
    let wrong_total =
        app.chunk(&token, &id, &format!("bytes {third}-{}/{}", n - 1, n + 1), bytes[third..].to_vec()).await;
    assert_eq!(problem(wrong_total).await, (409, "upload_length_mismatch".into(), Some(third as u64)));
    let garbled = app.chunk(&token, &id, "bytes=0-9", bytes[..10].to_vec());
    assert_eq!(problem(garbled.await).await, (400, "invalid_content_range".into(), Some(third as u64)));
    let long =
        app.chunk(&token, &id, &format!("bytes {third}-{}/{n}", third + 9), bytes[third..third + 20].to_vec()).await;
    assert_eq!(problem(long).await, (400, "content_range_mismatch".into(), Some(third as u64)));

    // Bytes written by a request that died before its acknowledgement was recorded are
    // dropped: the next chunk starts at the acknowledged offset.
    let part = app.dir.path().join("uploads").join(format!("{id}.part"));
    let mut on_disk = std::fs::read(&part).unwrap();
    assert_eq!(on_disk.len(), third, "the acknowledged bytes are on disk");
    on_disk.extend_from_slice(b"not acknowledged");
    std::fs::write(&part, &on_disk).unwrap();
    let (status, v) = app.get_json(&token, &format!("/api/v1/uploads/{id}")).await;
    assert_eq!((status, v["offset"].as_u64()), (200, Some(third as u64)));

    let two = 2 * third;
    let resp = app.chunk(&token, &id, &format!("bytes {third}-{}/{n}", two - 1), bytes[third..two].to_vec()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(dictation_count(&app).await, 0, "nothing is a dictation before the last byte");
    let resp = app.chunk(&token, &id, &format!("bytes {two}-{}/{n}", n - 1), bytes[two..].to_vec()).await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let d: Value = resp.json().await.unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));
    assert_eq!(d["audio"]["sha256"], sha.as_str());
    assert_eq!(d["audio"]["bytes"], n as u64);
    assert_eq!(d["audio"]["original_filename"], "recording.wav");
    assert_eq!(d["patient"]["nhs_number"], "9434765919");
    assert_eq!(location, format!("/api/v1/dictations/{}", d["id"].as_str().unwrap()));
    assert!(!part.exists(), "the upload file is gone once the audio is in the store");

    // The answer was lost: the last chunk again, the session, the key and a one-piece
    // upload with the key all give the same dictation; still one dictation.
    let resp = app.chunk(&token, &id, &format!("bytes {two}-{}/{n}", n - 1), bytes[two..].to_vec()).await;
    assert_eq!((resp.status().as_u16(), resp.headers()["idempotent-replayed"].to_str().unwrap()), (201, "true"));
    assert_eq!(resp.json::<Value>().await.unwrap()["id"], d["id"]);
    let resp = app.open_upload(&token, body.clone(), Some("rec-1")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["dictation"]["id"], d["id"]);
    let resp = app.upload_with_key(&token, bytes.clone(), "x.wav", FIELDS, Some("rec-1")).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.json::<Value>().await.unwrap()["id"], d["id"]);
    assert_eq!(dictation_count(&app).await, 1);

    // A recording first sent in one piece, then offered in chunks under its key: finished at once.
    let resp = app.upload_with_key(&token, bytes.clone(), "y.wav", FIELDS, Some("rec-2")).await;
    let first: Value = resp.json().await.unwrap();
    let resp = app.open_upload(&token, body, Some("rec-2")).await;
    assert_eq!(resp.status(), 200);
    let s: Value = resp.json().await.unwrap();
    assert_eq!((s["offset"].as_u64(), &s["dictation"]["id"]), (Some(n as u64), &first["id"]));
}

async fn limits_scope_and_bad_audio(app: TestApp) {
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let other = app.user("dr.jones", Role::Clinician, &["ent"]).await;
    let limit = app.state.config.limits.max_upload_bytes;
    let open = |body: Value| app.open_upload(&token, body, None);
    assert_eq!(problem(open(json!({"length": limit + 1})).await).await.0, 413);
    assert_eq!(problem(open(json!({"length": 0})).await).await, (422, "empty_audio".into(), None));
    let bad_nhs = json!({"length": 10, "fields": {"patient_nhs_number": "943 476 5918"}});
    assert_eq!(problem(open(bad_nhs).await).await, (422, "invalid_nhs_number".into(), None));
    let unknown = json!({"length": 10, "fields": {"colour": "blue"}});
    assert_eq!(problem(open(unknown).await).await, (422, "validation_failed".into(), None));
    assert_eq!(problem(open(json!({"size": 10})).await).await.0, 422);

    // Not audio: refused when the last byte is in, and nothing is left behind.
    let junk = b"this is a text file, not a recording".repeat(20);
    let n = junk.len();
    let s: Value = open(json!({"length": n})).await.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_string();
    // Someone else's upload does not exist for them.
    let theirs = app.chunk(&other, &id, &format!("bytes 0-{}/{n}", n - 1), junk.clone()).await;
    assert_eq!(problem(theirs).await.0, 404);
    let resp = app.chunk(&token, &id, &format!("bytes 0-{}/{n}", n - 1), junk).await;
    let (status, code, _) = problem(resp).await;
    assert!(status == 415 || status == 422, "{status} {code}");
    assert_eq!(code, "unsupported_audio");
    assert_eq!(app.get_json(&token, &format!("/api/v1/uploads/{id}")).await.0, 404);
    assert!(!app.dir.path().join("uploads").join(format!("{id}.part")).exists());
    assert_eq!(dictation_count(&app).await, 0);

    // Abandoned by the client.
    let s: Value = open(json!({"length": 100})).await.json().await.unwrap();
    let id = s["id"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/uploads/{id}"));
    assert_eq!(app.client.delete(&url).bearer_auth(&token).send().await.unwrap().status(), 204);
    assert_eq!(app.get_json(&token, &format!("/api/v1/uploads/{id}")).await.0, 404);
    // Anonymous callers get 401.
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 401);
}

/// What phones record (MediaRecorder: WebM/Opus in Chromium and Chromium for Android, AAC in
/// MP4 on Safari) sent in chunks is decoded and accepted.
async fn phone_recordings_in_chunks(app: TestApp) {
    let Some(corpus) = crate::helpers::corpus_dir() else { return };
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let audio = corpus.join("audio");
    let mut names: Vec<String> = std::fs::read_dir(&audio)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with("webm-opus32-mediarecorder.webm") || n.ends_with("m4a-aac48-44k.m4a"))
        .collect();
    names.sort();
    assert!(names.len() >= 2, "the corpus has MediaRecorder WebM and AAC M4A files: {names:?}");
    let mut files: Vec<(String, std::path::PathBuf)> = names.into_iter().map(|n| (n.clone(), audio.join(n))).collect();
    // Safari's MediaRecorder writes fragmented MP4 (moov without samples, then moof/mdat
    // pairs): AAC at 48 kHz, made from tests/fixtures/speech_3s.wav with PyAV's
    // `movflags=frag_keyframe+empty_moov+default_base_moof`.
    let safari = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio/safari_fragmented.mp4");
    files.push(("safari_fragmented.mp4".into(), safari));
    for (name, path) in files {
        let bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        let s: Value =
            app.open_upload(&token, json!({"length": n, "filename": name}), None).await.json().await.unwrap();
        let id = s["id"].as_str().unwrap().to_string();
        let mut at = 0;
        let mut last = None;
        while at < n {
            let end = (at + 64 * 1024).min(n);
            let resp = app.chunk(&token, &id, &format!("bytes {at}-{}/{n}", end - 1), bytes[at..end].to_vec()).await;
            assert!(resp.status() == 200 || resp.status() == 201, "{name}: {}", resp.status());
            last = Some(resp);
            at = end;
        }
        let resp = last.unwrap();
        assert_eq!(resp.status(), 201, "{name}");
        let d: Value = resp.json().await.unwrap();
        let want = if name.ends_with(".webm") { ("webm", "opus") } else { ("mp4", "aac") };
        assert_eq!(
            (d["audio"]["container"].as_str(), d["audio"]["codec"].as_str()),
            (Some(want.0), Some(want.1)),
            "{name}"
        );
        assert!(d["audio"]["duration_seconds"].as_f64().unwrap() > 2.9, "{name}: {d}");
    }
}

async fn abandoned_uploads_expire(backend: Backend) {
    let clock = Clock::manual(1_800_000_000_000);
    let Some(app) = spawn_app_clocked(backend, clock.clone(), |_| {}).await else { return };
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let s: Value = app.open_upload(&token, json!({"length": 100}), Some("k")).await.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_string();
    assert_eq!(app.chunk(&token, &id, "bytes 0-49/100", vec![7; 50]).await.status(), 200);
    let part = app.dir.path().join("uploads").join(format!("{id}.part"));
    assert!(part.exists());
    // A stray file no session owns goes too.
    let stray = app.dir.path().join("uploads").join("0123abcd.part");
    std::fs::write(&stray, b"left by a crash").unwrap();

    let partials = dictaflow::storage::partial::Partials::new(app.dir.path());
    clock.advance_ms(23 * 3_600_000);
    let swept = dictaflow::ingest::resumable::sweep(&app.state.db, &partials, clock.now_ms()).await.unwrap();
    assert_eq!(swept, 1, "only the stray file: the session was sent to less than a day ago");
    assert_eq!(app.get_json(&token, &format!("/api/v1/uploads/{id}")).await.0, 200);
    clock.advance_ms(2 * 3_600_000);
    assert_eq!(app.get_json(&token, &format!("/api/v1/uploads/{id}")).await.0, 404, "expired");
    let swept = dictaflow::ingest::resumable::sweep(&app.state.db, &partials, clock.now_ms()).await.unwrap();
    assert_eq!(swept, 1);
    assert!(!part.exists() && !stray.exists());
    // The key is free again.
    assert_eq!(app.open_upload(&token, json!({"length": 100}), Some("k")).await.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_uploads_expire_sqlite() {
    abandoned_uploads_expire(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_uploads_expire_postgres() {
    abandoned_uploads_expire(Backend::Postgres).await;
}

crate::on_both_backends!(chunks_resume_and_finish_once, limits_scope_and_bad_audio, phone_recordings_in_chunks);
