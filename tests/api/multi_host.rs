//! Nodes without shared disks: two `dictaflow serve` processes and `dictaflow worker`
//! processes, each with a data directory of its own (as on separate hosts), sharing only
//! one PostgreSQL database and one bucket on a real S3 server. An upload on A is
//! recognised by a worker, its audio ranges are read and its letter exported through B;
//! `kill -9` of A mid-upload leaves no row and no object, and `kill -9` of the worker
//! mid-recognition has the job resumed by a worker on another "host", completed once.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::crash::{
    Server, add_user, database_for, dictaflow, list, staged_files, start_with, tokio_stream_from, upload,
};
use crate::helpers::{Backend, drop_pg_database};
use crate::s3_server::S3Server;

fn worker(data: &std::path::Path, db: &Option<String>, env: &[(&'static str, String)]) -> Server {
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let child = dictaflow(data, db)
        .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .env("DICTAFLOW_STT__ENABLED", "true")
        .env("DICTAFLOW_STT__MODELS_DIR", models.display().to_string())
        .env("DICTAFLOW_STT__WORKERS", "1")
        .env("DICTAFLOW_STT__THREADS", "1")
        .env("DICTAFLOW_STT__LEASE_SECONDS", "3")
        .arg("worker")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start dictaflow worker");
    Server { child, base: String::new() }
}

async fn dictation(client: &reqwest::Client, base: &str, token: &str, id: &str) -> Value {
    let url = format!("{base}/api/v1/dictations/{id}");
    client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// Waits (up to `tries` × 250 ms) for the dictation's transcription to reach `status`.
async fn wait_for(client: &reqwest::Client, base: &str, token: &str, id: &str, status: &str, tries: usize) -> Value {
    let mut d = Value::Null;
    for _ in 0..tries {
        d = dictation(client, base, token, id).await;
        if d["transcription"]["status"] == status {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_worker_nodes_share_only_postgres_and_the_bucket() {
    let Some(corpus) = crate::helpers::corpus_dir() else { return };
    let Some(s3) = S3Server::start().await else { return };
    let Some((db, pg_name)) = database_for(Backend::Postgres).await else { return };
    let hosts: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let [a_dir, b_dir, w1_dir, w2_dir] = [0, 1, 2, 3].map(|i| hosts[i].path());
    let env = s3.env();
    let token = add_user(a_dir, &db);
    let mut a = start_with(a_dir, &db, &env).await;
    let b = start_with(b_dir, &db, &env).await;
    let client = reqwest::Client::new();

    // Uploaded on A, recognised by the worker on its own host.
    let audio = std::fs::read(corpus.join("audio/onc-01__piper__wav-s16-16k.wav")).unwrap();
    let id = upload(&client, &a.base, &token, audio.clone()).await["id"].as_str().unwrap().to_string();
    assert_eq!(s3.objects().len(), 1, "the audio is in the bucket");
    let mut w1 = worker(w1_dir, &db, &env);
    let d = wait_for(&client, &b.base, &token, &id, "running", 2400).await;
    assert_eq!(d["transcription"]["status"], "running", "the worker took the job: {d}");
    // kill -9 mid-recognition: a worker on another host takes the job once its lease expires.
    w1.child.kill().unwrap();
    w1.child.wait().unwrap();
    let _w2 = worker(w2_dir, &db, &env);
    let done = wait_for(&client, &b.base, &token, &id, "done", 2400).await;
    assert_eq!(done["transcription"]["status"], "done", "{done}");
    assert_eq!(done["transcription"]["attempts"], 2, "taken again once, after its lease expired");
    let draft = done["draft"]["text"].as_str().unwrap().to_lowercase();
    assert!(draft.contains("pemberton"), "{draft}");
    assert_eq!(scratch_files(w2_dir), 0, "no copy of the audio is left on the worker that finished");
    for host in [w1_dir, w2_dir] {
        assert!(!host.join("audio/ab").exists() && local_blobs(host) == 0, "nothing stored on a worker's disk");
    }
    // kill -9 can land while the killed worker still holds its copy for the decoder: the
    // next process on that host removes it (its owner is gone), after the grace period.
    let no_grace_env = [env.clone(), vec![("DICTAFLOW_STORAGE__ORPHAN_GRACE_SECONDS", "0".to_string())]].concat();
    let w1_again = worker(w1_dir, &db, &no_grace_env);
    for _ in 0..200 {
        if scratch_files(w1_dir) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(scratch_files(w1_dir), 0, "the killed worker's copy is removed when its host starts again");
    drop(w1_again);

    // Audio ranges read through B, which never saw the upload.
    let url = format!("{}/api/v1/dictations/{id}/audio", b.base);
    let resp = client.get(&url).bearer_auth(&token).header("range", "bytes=1000-65535").send().await.unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &audio[1000..65536]);
    let resp = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.bytes().await.unwrap().as_ref(), audio.as_slice());

    // The letter (the recognised draft), exported through B.
    let resp = client.get(format!("{}/api/v1/dictations/{id}/letter.pdf", b.base)).bearer_auth(&token).send();
    let resp = resp.await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.unwrap().starts_with(b"%PDF"), "a PDF letter");

    // kill -9 of A mid-upload: no row, no object; A's restart cleans its staging.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let form = reqwest::multipart::Form::new().part("audio", reqwest::multipart::Part::stream(body).file_name("b.wav"));
    let pending = client.post(format!("{}/api/v1/dictations", a.base)).bearer_auth(&token).multipart(form).send();
    let pending = tokio::spawn(pending);
    let other = crate::helpers::fixture("speech_3s.wav");
    tx.send(Ok(other[..other.len() / 2].to_vec())).await.unwrap();
    for _ in 0..100 {
        if staged_files(&a_dir.join("audio/tmp")) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(staged_files(&a_dir.join("audio/tmp")), 1, "the upload is being staged on A");
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    assert!(pending.await.unwrap().is_err(), "the interrupted upload did not succeed");
    drop(tx);
    let list = list(&client, &b.base, &token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "no half-made dictation: {list}");
    assert_eq!(s3.objects().len(), 1, "no object from the interrupted upload");
    let no_grace = [env.clone(), vec![("DICTAFLOW_STORAGE__ORPHAN_GRACE_SECONDS", "0".to_string())]].concat();
    let a = start_with(a_dir, &db, &no_grace).await;
    assert_eq!(staged_files(&a_dir.join("audio/tmp")), 0, "A's restart removed its abandoned staging");
    let again = dictation(&client, &a.base, &token, &id).await;
    assert_eq!(again["transcription"]["status"], "done", "nothing lost: {again}");
    assert_eq!(s3.objects().len(), 1, "a restart with no grace keeps the dictation's object");
    drop((a, b));
    if let Some(name) = pg_name {
        drop_pg_database(&name);
    }
}

/// Files in a host's staging directories (uploads, the decoder's copies), lock files aside.
fn scratch_files(host: &std::path::Path) -> usize {
    let Ok(dirs) = std::fs::read_dir(host.join("audio/tmp")) else { return 0 };
    dirs.flatten()
        .filter_map(|d| std::fs::read_dir(d.path()).ok())
        .flat_map(|files| files.flatten())
        .filter(|f| f.file_name() != "owner.lock")
        .count()
}

/// Stored blobs in a host's local audio directory (there should be none on a bucket).
fn local_blobs(host: &std::path::Path) -> usize {
    let root = host.join("audio");
    let Ok(entries) = std::fs::read_dir(&root) else { return 0 };
    entries.flatten().filter(|e| e.file_name() != "tmp").count()
}

/// A WAV of `seconds` of 16 kHz mono 16-bit audio: the fixture's samples over and over.
fn long_wav(seconds: usize) -> Vec<u8> {
    let fixture = crate::helpers::fixture("speech_3s.wav");
    let data_at = fixture.windows(4).position(|w| w == b"data").expect("a data chunk") + 8;
    let samples = &fixture[data_at..];
    let len = seconds * 16_000 * 2;
    let mut wav = Vec::with_capacity(len + 44);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + len as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&16_000u32.to_le_bytes());
    wav.extend_from_slice(&32_000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(len as u32).to_le_bytes());
    wav.extend(samples.iter().copied().cycle().take(len));
    wav
}

/// `kill -9` of the API node right after it answered a long upload (a multipart upload
/// accepted, perhaps not yet assembled under its digest): the other node serves every
/// byte of it, and the bucket ends with the object whole and nothing pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_answered_just_before_its_node_died_is_served_by_the_other() {
    let Some(s3) = S3Server::start().await else { return };
    let Some((db, pg_name)) = database_for(Backend::Postgres).await else { return };
    let [a_dir, b_dir] = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let env = s3.env();
    let token = add_user(a_dir.path(), &db);
    let mut a = start_with(a_dir.path(), &db, &env).await;
    let b = start_with(b_dir.path(), &db, &env).await;
    let client = reqwest::Client::new();

    let audio = long_wav(200); // 6.4 MB: two 5 MiB parts
    let id = upload(&client, &a.base, &token, audio.clone()).await["id"].as_str().unwrap().to_string();
    a.child.kill().unwrap(); // SIGKILL, at once
    a.child.wait().unwrap();

    let url = format!("{}/api/v1/dictations/{id}/audio", b.base);
    let at = 5 * 1024 * 1024 - 1000;
    let range = format!("bytes={at}-{}", at + 1999);
    let resp = client.get(&url).bearer_auth(&token).header("range", range).send().await.unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &audio[at..at + 2000], "across the parts' boundary");
    let resp = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.bytes().await.unwrap().as_ref(), audio.as_slice(), "every byte, through B");
    assert_eq!(s3.objects().len(), 1, "the object is whole under its digest");
    let metrics = client.get(format!("{}/metrics", b.base)).send().await.unwrap().text().await.unwrap();
    let by_b = metrics.lines().any(|l| l.starts_with("dictaflow_audio_uploads_finished_total{by=\"reader\"}"));
    eprintln!("the upload was finished by {}", if by_b { "B, on its first read" } else { "A, before it died" });
    // A killed after its copy but before removing the manifest leaves it (the object is
    // whole): A's next start (or any node's, or the sweep) clears it.
    let no_grace = [env.clone(), vec![("DICTAFLOW_STORAGE__ORPHAN_GRACE_SECONDS", "0".to_string())]].concat();
    let a = start_with(a_dir.path(), &db, &no_grace).await;
    let pending = s3.root.path().join(crate::s3_server::BUCKET).join(&s3.prefix).join("pending");
    let left = std::fs::read_dir(&pending).into_iter().flatten().flatten();
    let left: Vec<_> = left.flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten()).collect();
    assert!(left.is_empty(), "no manifest left after a start: {left:?}");
    assert!(s3.incoming().is_empty(), "no incoming object left after a start: {:?}", s3.incoming());
    assert_eq!(s3.objects().len(), 1);
    drop((a, b));
    if let Some(name) = pg_name {
        drop_pg_database(&name);
    }
}
