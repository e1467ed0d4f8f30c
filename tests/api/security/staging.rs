//! Several processes on one database: a process starting while another receives an
//! upload leaves that upload alone (shared data directory), and a process that cannot see
//! another's audio (its own data directory) reports it without touching the dictations.

use std::time::Duration;

use serde_json::Value;

use crate::crash::{Server, add_user, database_for, staged_files, start, start_with, tokio_stream_from, upload};
use crate::helpers::{Backend, drop_pg_database, fixture};

crate::both_backends!(a_starting_process_spares_a_live_upload_and_others_audio);

async fn status(client: &reqwest::Client, server: &Server, token: &str, id: &str) -> Value {
    let url = format!("{}/api/v1/dictations/{id}", server.base);
    let d: Value = client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    d["status"].clone()
}

async fn a_starting_process_spares_a_live_upload_and_others_audio(backend: Backend) {
    let Some((db, pg_name)) = database_for(backend).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let token = add_user(dir.path(), &db);
    let first = start(dir.path(), &db).await;
    let client = reqwest::Client::new();
    let earlier = upload(&client, &first.base, &token, fixture("speech_3s.wav")).await;
    let earlier = earlier["id"].as_str().unwrap().to_string();

    // A slow upload to the first process: half the body now.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let form = reqwest::multipart::Form::new().part("audio", reqwest::multipart::Part::stream(body).file_name("b.wav"));
    let url = format!("{}/api/v1/dictations", first.base);
    let (c, t) = (client.clone(), token.clone());
    let slow = tokio::spawn(async move { c.post(url).bearer_auth(t).multipart(form).send().await });
    let wav = fixture("speech_3s.wav");
    tx.send(Ok(wav[..wav.len() / 2].to_vec())).await.unwrap();
    let tmp = dir.path().join("audio/tmp");
    for _ in 0..100 {
        if staged_files(&tmp) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(staged_files(&tmp), 1, "the upload is being staged");

    // A second process starts on the same data directory (a rolling restart), with no
    // grace period: only the owner's lock protects the staged file.
    let no_grace = [("DICTAFLOW_STORAGE__ORPHAN_GRACE_SECONDS", "0".to_string())];
    let second = start_with(dir.path(), &db, &no_grace).await;
    assert_eq!(staged_files(&tmp), 1, "the live upload's staged file is still there");
    tx.send(Ok(wav[wav.len() / 2..].to_vec())).await.unwrap();
    drop(tx);
    let resp = slow.await.unwrap().unwrap();
    assert_eq!(resp.status(), 201, "the upload completes: {}", resp.text().await.unwrap_or_default());

    // A third process with a data directory of its own sees none of the audio: it
    // reports that and leaves the dictations as they are.
    let before = status(&client, &first, &token, &earlier).await;
    assert_ne!(before, "failed");
    let other_dir = tempfile::tempdir().unwrap();
    let shared_db =
        db.clone().or_else(|| Some(format!("sqlite://{}?mode=rwc", dir.path().join("dictaflow.db").display())));
    let third = start_with(other_dir.path(), &shared_db, &no_grace).await;
    for server in [&first, &second, &third] {
        assert_eq!(status(&client, server, &token, &earlier).await, before, "{}", server.base);
    }
    let audio = client.get(format!("{}/api/v1/dictations/{earlier}/audio", first.base)).bearer_auth(&token).send();
    assert_eq!(audio.await.unwrap().status(), 200, "the first process still serves it");
    drop((first, second, third));
    if let Some(name) = pg_name {
        drop_pg_database(&name);
    }
}
