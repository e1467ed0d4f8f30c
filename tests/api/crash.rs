//! Real `dictaflow` processes. `kill -9` of the server in the middle of an upload: no
//! half-made dictation, no leftover temporary file, a clean restart, earlier dictations
//! intact; `kill -9` during a transcription: the job completes once after a restart; and
//! on PostgreSQL an API-only server plus two `dictaflow worker` processes sharing one
//! queue, each job done exactly once.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Backend, drop_pg_database, fixture, fresh_pg_database};

crate::both_backends!(kill_during_upload, kill_during_upload_to_a_bucket, kill_during_transcription);

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn dictaflow(data: &std::path::Path, db: &Option<String>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dictaflow"));
    cmd.arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "warn")
        .env("DICTAFLOW_STT__ENABLED", "false")
        .env_remove("DICTAFLOW_CONFIG");
    if let Some(url) = db {
        cmd.arg("--database-url").arg(url);
    }
    cmd
}

pub(crate) async fn start(data: &std::path::Path, db: &Option<String>) -> Server {
    start_with(data, db, &[]).await
}

pub(crate) async fn start_with(data: &std::path::Path, db: &Option<String>, env: &[(&str, String)]) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = dictaflow(data, db)
        .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start dictaflow serve");
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    for _ in 0..300 {
        if reqwest::get(format!("{}/readyz", server.base)).await.is_ok_and(|r| r.status() == 200) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("dictaflow did not become ready");
}

pub(crate) fn add_user(data: &std::path::Path, db: &Option<String>) -> String {
    let out = dictaflow(data, db)
        .args(["user", "add", "--username", "dr.patel", "--role", "clinician", "--team", "ent", "--token"])
        .output()
        .expect("user add");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout.lines().find_map(|l| l.strip_prefix("api token: ")).expect("token printed").to_string()
}

/// The database URL and PostgreSQL database name for a backend (`None` to skip:
/// PostgreSQL unreachable and not required).
pub(crate) async fn database_for(backend: Backend) -> Option<(Option<String>, Option<String>)> {
    match backend {
        Backend::Sqlite => Some((None, None)),
        Backend::Postgres => fresh_pg_database().await.map(|(url, name)| (Some(url), Some(name))),
    }
}

/// `GET /api/v1/dictations` of a running server.
pub(crate) async fn list(client: &reqwest::Client, base: &str, token: &str) -> Value {
    let resp = client.get(format!("{base}/api/v1/dictations")).bearer_auth(token).send().await.unwrap();
    resp.json().await.unwrap()
}

/// Uploads `bytes` to a running server, expecting 201; returns the dictation.
pub(crate) async fn upload(client: &reqwest::Client, base: &str, token: &str, bytes: Vec<u8>) -> Value {
    let form = reqwest::multipart::Form::new().part("audio", reqwest::multipart::Part::bytes(bytes).file_name("a.wav"));
    let resp =
        client.post(format!("{base}/api/v1/dictations")).bearer_auth(token).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn kill_during_upload(backend: Backend) {
    kill_during_upload_on(backend, None).await;
}

/// The same with the audio in a bucket of a real S3 server: the bucket gets no object.
async fn kill_during_upload_to_a_bucket(backend: Backend) {
    let Some(s3) = crate::s3_server::S3Server::start().await else { return };
    if kill_during_upload_on(backend, Some(&s3)).await {
        assert_eq!(s3.objects().len(), 1, "only the complete dictation's audio is in the bucket");
    }
}

/// Returns whether it ran (PostgreSQL may be missing and not required).
async fn kill_during_upload_on(backend: Backend, s3: Option<&crate::s3_server::S3Server>) -> bool {
    let Some((db, pg_name)) = database_for(backend).await else { return false };
    let dir = tempfile::tempdir().unwrap();
    let token = add_user(dir.path(), &db);
    let env = s3.map(|s| s.env()).unwrap_or_default();
    let mut server = start_with(dir.path(), &db, &env).await;
    let client = reqwest::Client::new();
    // One complete dictation before the crash.
    let kept = upload(&client, &server.base, &token, fixture("speech_3s.wav")).await;

    // A slow upload: half the body, then the server dies.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let form = reqwest::multipart::Form::new().part("audio", reqwest::multipart::Part::stream(body).file_name("b.wav"));
    let url = format!("{}/api/v1/dictations", server.base);
    let (c, t) = (client.clone(), token.clone());
    let upload = tokio::spawn(async move { c.post(url).bearer_auth(t).multipart(form).send().await });
    let wav = fixture("speech_3s.wav");
    tx.send(Ok(wav[..wav.len() / 2].to_vec())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tmp = dir.path().join("audio/tmp");
    assert_eq!(staged_files(&tmp), 1, "the upload is being written to a temporary file");
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    assert!(upload.await.unwrap().is_err(), "the interrupted upload did not succeed");
    drop(tx);

    // Its owner is gone: cleaned at start once older than the grace period (here none).
    let no_grace = [env, vec![("DICTAFLOW_STORAGE__ORPHAN_GRACE_SECONDS", "0".into())]].concat();
    let server = start_with(dir.path(), &db, &no_grace).await;
    assert_eq!(staged_files(&tmp), 0, "temporary files are cleaned at start");
    let list = list(&client, &server.base, &token).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "no half-made dictation: {list}");
    assert_eq!(items[0]["id"], kept["id"]);
    let audio = client
        .get(format!("{}/api/v1/dictations/{}/audio", server.base, kept["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(audio.bytes().await.unwrap().as_ref(), fixture("speech_3s.wav").as_slice());
    drop(server);
    if let Some(name) = pg_name {
        drop_pg_database(&name);
    }
    true
}

/// Uploads being written under `tmp` (every process's staging directory).
pub(crate) fn staged_files(tmp: &std::path::Path) -> usize {
    let dirs = std::fs::read_dir(tmp).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir());
    dirs.flat_map(|d| std::fs::read_dir(d).unwrap())
        .filter(|f| f.as_ref().unwrap().path().extension().is_some_and(|x| x == "part"))
        .count()
}

pub(crate) fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// `kill -9` while Whisper is running a job; after a restart the job is taken
/// again when its lease expires and completes exactly once.
async fn kill_during_transcription(backend: Backend) {
    let Some(corpus) = crate::helpers::corpus_dir() else { return };
    let Some((db, pg_name)) = database_for(backend).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let token = add_user(dir.path(), &db);
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let env = [
        ("DICTAFLOW_STT__ENABLED", "true".to_string()),
        ("DICTAFLOW_STT__MODELS_DIR", models.display().to_string()),
        ("DICTAFLOW_STT__LEASE_SECONDS", "3".to_string()),
        ("DICTAFLOW_STT__THREADS", "1".to_string()),
    ];
    let mut server = start_with(dir.path(), &db, &env).await;
    let client = reqwest::Client::new();
    let audio = std::fs::read(corpus.join("audio/onc-01__piper__wav-s16-16k.wav")).unwrap();
    let id = upload(&client, &server.base, &token, audio).await["id"].as_str().unwrap().to_string();
    let url = |base: &str| format!("{base}/api/v1/dictations/{id}");
    let mut running = false;
    for _ in 0..600 {
        let d: Value = client.get(url(&server.base)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if d["transcription"]["status"] == "running" {
            running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(running, "the job started");
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let server = start_with(dir.path(), &db, &env).await;
    let mut done = Value::Null;
    for _ in 0..600 {
        let d: Value = client.get(url(&server.base)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if d["transcription"]["status"] == "done" {
            done = d;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(done["transcription"]["status"], "done", "the job completed after the restart");
    assert_eq!(done["transcription"]["attempts"], 2, "taken again once its lease expired");
    let draft = done["draft"]["text"].as_str().unwrap().to_lowercase();
    assert!(draft.contains("pemberton") && draft.contains("biops"), "{draft}");
    let history: Value = client
        .get(format!("{}/history", url(&server.base)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = history.as_array().or_else(|| history["items"].as_array()).expect("history list");
    let done_events =
        events.iter().filter(|e| e["action"].as_str().is_some_and(|a| a.contains("recognition_done"))).count();
    assert_eq!(done_events, 1, "completed exactly once: {history}");
    drop(server);
    if let Some(name) = pg_name {
        drop_pg_database(&name);
    }
}

/// Scale-out on PostgreSQL: `dictaflow serve` with recognition off takes the uploads and
/// two `dictaflow worker` processes share the queue (`FOR UPDATE SKIP LOCKED`). Every job
/// is claimed once, completed once (one `recognition_done` event, one transcript) and
/// both processes did part of the work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_share_the_postgres_queue_exactly_once() {
    use sqlx::Row;
    if crate::helpers::corpus_dir().is_none() {
        return;
    }
    let Some((db, pg_name)) = database_for(Backend::Postgres).await else { return };
    let url = db.clone().expect("a PostgreSQL URL");
    let dir = tempfile::tempdir().unwrap();
    let token = add_user(dir.path(), &db);
    let server = start(dir.path(), &db).await;
    let client = reqwest::Client::new();
    const JOBS: usize = 24;
    let priorities = ["routine", "urgent", "two_week_wait"];
    for i in 0..JOBS {
        let form = reqwest::multipart::Form::new()
            .part("audio", reqwest::multipart::Part::bytes(fixture("speech_3s.wav")).file_name("a.wav"))
            .text("priority", priorities[i % 3]);
        let resp = client
            .post(format!("{}/api/v1/dictations", server.base))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let worker = || {
        dictaflow(dir.path(), &db)
            .env("DICTAFLOW_STT__ENABLED", "true")
            .env("DICTAFLOW_STT__MODELS_DIR", models.display().to_string())
            .env("DICTAFLOW_STT__WORKERS", "1")
            .env("DICTAFLOW_STT__THREADS", "1")
            .arg("worker")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map(|child| Server { child, base: String::new() })
            .expect("start dictaflow worker")
    };
    let workers = [worker(), worker()];
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let mut finished = 0i64;
    for _ in 0..1200 {
        finished = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('done', 'failed')")
            .fetch_one(&pool)
            .await
            .unwrap();
        if finished == JOBS as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(finished, JOBS as i64, "all jobs finished within 10 minutes");
    let rows = sqlx::query("SELECT status, attempts, lease_owner FROM jobs").fetch_all(&pool).await.unwrap();
    let mut owners = std::collections::HashMap::<String, usize>::new();
    for row in &rows {
        assert_eq!(row.get::<String, _>("status"), "done");
        assert_eq!(row.get::<i64, _>("attempts"), 1, "each job was claimed exactly once");
        let process = row.get::<String, _>("lease_owner").rsplit_once("-w").unwrap().0.to_string();
        *owners.entry(process).or_default() += 1;
    }
    assert_eq!(owners.len(), 2, "both worker processes took jobs: {owners:?}");
    let per_dictation: Vec<i64> = sqlx::query_scalar(
        "SELECT COUNT(e.id) FROM dictations d LEFT JOIN events e \
         ON e.dictation_id = d.id AND e.action LIKE '%recognition_done%' GROUP BY d.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(per_dictation, vec![1; JOBS], "one completion per dictation");
    let transcripts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM transcripts").fetch_one(&pool).await.unwrap();
    assert_eq!(transcripts, JOBS as i64);
    eprintln!("jobs per worker process: {owners:?}");
    pool.close().await;
    drop(workers);
    drop(server);
    if let Some(name) = pg_name {
        drop_pg_database(&name);
    }
}
