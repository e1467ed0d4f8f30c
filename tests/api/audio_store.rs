//! The audio store on both stores, the local directory and an S3 bucket on a real S3
//! server: the blob contract (staging, content addressing, ranged reads, multipart
//! uploads, copies for the decoder, deletion), start-up reconciliation, `/readyz` and the
//! metrics, and `dictaflow storage migrate-audio`.

use std::sync::Arc;
use std::time::Duration;

use dictaflow::config::Config;
use dictaflow::domain::Role;
use dictaflow::storage::BlobStore;
use dictaflow::storage::reconcile::reconcile;
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::helpers::{TestApp, fixture};
use crate::s3_server::S3Server;

async fn store_on(s3: Option<&S3Server>) -> (Arc<dyn BlobStore>, tempfile::TempDir) {
    store_with(s3, |_| {}).await
}

async fn store_with(s3: Option<&S3Server>, tweak: impl FnOnce(&mut Config)) -> (Arc<dyn BlobStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_path_buf();
    if let Some(s3) = s3 {
        s3.configure(&mut config);
    }
    tweak(&mut config);
    (dictaflow::storage::blob::open(&config.storage).await.unwrap(), dir)
}

async fn put(store: &dyn BlobStore, bytes: &[u8]) -> String {
    let mut pending = store.begin().await.unwrap();
    for chunk in bytes.chunks(100_000) {
        pending.write(chunk).await.unwrap();
    }
    let staged = pending.finish().await.unwrap();
    let (sha, path) = (staged.sha256.clone(), staged.path.clone());
    store.commit(staged).await.unwrap();
    assert!(!path.exists(), "the staged file is gone after the commit");
    sha
}

async fn read(store: &dyn BlobStore, sha: &str, offset: u64, len: u64) -> Vec<u8> {
    let mut out = Vec::new();
    store.read_range(sha, offset, len).await.unwrap().read_to_end(&mut out).await.unwrap();
    out
}

/// What every store does, checked on `store`.
async fn blob_contract(store: &dyn BlobStore, temporary_copies: bool) {
    store.check().await.expect("the store answers");
    let sha = put(store, b"hello world").await;
    assert_eq!(sha, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
    assert_eq!(store.size(&sha).await.unwrap(), Some(11));
    assert_eq!(read(store, &sha, 6, 5).await, b"world");
    assert_eq!(read(store, &sha, 0, 11).await, b"hello world");
    assert_eq!(read(store, &sha, 3, 0).await, b"");
    // The same content again: one blob, no temporary file left.
    assert_eq!(put(store, b"hello world").await, sha);
    assert_eq!(store.list().await.unwrap().len(), 1);
    assert_eq!(store.clean_temporary(Duration::ZERO).await.unwrap(), 0);

    // Larger than two 5 MiB parts: a multipart upload on S3; reads across part boundaries.
    let big: Vec<u8> = (0..11 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let big_sha = put(store, &big).await;
    assert_eq!(store.size(&big_sha).await.unwrap(), Some(big.len() as u64));
    let at = 5 * 1024 * 1024 - 100;
    assert_eq!(read(store, &big_sha, at as u64, 300).await, &big[at..at + 300]);
    assert_eq!(read(store, &big_sha, 0, big.len() as u64).await, big);
    let copy = store.local_copy(&big_sha).await.unwrap();
    assert_eq!(std::fs::read(copy.path()).unwrap(), big, "the decoder's copy holds the blob");
    let copy_path = copy.path().to_path_buf();
    drop(copy);
    assert_eq!(copy_path.exists(), !temporary_copies, "a temporary copy is removed after use");
    let mut listed: Vec<String> = store.list().await.unwrap().into_iter().map(|(s, _)| s).collect();
    listed.sort();
    let mut expected = vec![sha.clone(), big_sha.clone()];
    expected.sort();
    assert_eq!(listed, expected);

    // Missing and malformed names.
    let missing = "0".repeat(64);
    assert_eq!(store.size(&missing).await.unwrap(), None);
    assert!(store.read_range(&missing, 0, 10).await.is_err());
    assert!(store.local_copy(&missing).await.is_err());
    assert!(store.size("../../etc/passwd").await.is_err(), "not a digest");
    store.delete(&big_sha).await.unwrap();
    store.delete(&big_sha).await.unwrap();
    assert_eq!(store.size(&big_sha).await.unwrap(), None);
    // An abandoned upload is no blob.
    let mut pending = store.begin().await.unwrap();
    pending.write(b"half").await.unwrap();
    pending.discard().await;
    assert_eq!(store.list().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_store_keeps_the_contract() {
    let (store, _dir) = store_on(None).await;
    blob_contract(store.as_ref(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_store_keeps_the_contract() {
    let Some(s3) = S3Server::start().await else { return };
    let (store, _dir) = store_on(Some(&s3)).await;
    blob_contract(store.as_ref(), true).await;
    assert_eq!(s3.objects().len(), 1, "what the store lists is what the bucket holds");
    assert!(s3.incoming().is_empty(), "no incoming object is left: {:?}", s3.incoming());
    assert!(store.location().starts_with("s3://"), "{}", store.location());
    // An incoming object a killed process left goes at start, after the grace period.
    let left = s3.root.path().join(crate::s3_server::BUCKET).join(&s3.prefix).join("incoming");
    std::fs::create_dir_all(&left).unwrap();
    std::fs::write(left.join("0190f0c2a1b27c3d8e9f0a1b2c3d4e5f"), b"completed, never copied").unwrap();
    assert_eq!(store.clean_temporary(Duration::from_secs(3600)).await.unwrap(), 0, "too young");
    assert_eq!(store.clean_temporary(Duration::ZERO).await.unwrap(), 1);
    assert!(s3.incoming().is_empty());
}

/// `storage.s3.keep_alive = false` (a new connection per request, for servers whose
/// sockets delay small writes) keeps the same contract.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_store_keeps_the_contract_with_a_connection_per_request() {
    let Some(s3) = S3Server::start().await else { return };
    let (store, _dir) = store_with(Some(&s3), |c| c.storage.s3.keep_alive = false).await;
    blob_contract(store.as_ref(), true).await;
    assert_eq!(s3.objects().len(), 1, "what the store lists is what the bucket holds");
}

/// A node reads the audio it committed, or has read once, from its own disk: the bytes
/// under a digest never change. A node that never saw an object reads through to the
/// bucket while its cache fills in the background.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_store_reads_through_its_cache() {
    let Some(s3) = S3Server::start().await else { return };
    let (a, _a_dir) = store_on(Some(&s3)).await;
    let big: Vec<u8> = (0..7 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let sha = put(a.as_ref(), &big).await;
    let (b, b_dir) = store_on(Some(&s3)).await;
    assert_eq!(read(b.as_ref(), &sha, 1000, 5000).await, &big[1000..6000], "B reads through to the bucket");
    let cached = || {
        let root = b_dir.path().join("audio/cache");
        let mut dirs = std::fs::read_dir(root).into_iter().flatten().flatten();
        dirs.any(|d| d.path().join(format!("{sha}.cached")).exists())
    };
    for _ in 0..200 {
        if cached() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(cached(), "B's first read filled its cache in the background");
    // Behind the stores' backs, the object goes: both nodes still serve it from disk.
    std::fs::remove_file(s3.object_file(&sha)).unwrap();
    assert_eq!(read(a.as_ref(), &sha, 6 * 1024 * 1024, 100).await, &big[6 * 1024 * 1024..][..100]);
    assert_eq!(read(b.as_ref(), &sha, 0, big.len() as u64).await, big);
    // The store's own delete empties the cache too.
    b.delete(&sha).await.unwrap();
    assert!(!cached() && b.read_range(&sha, 0, 10).await.is_err());
}

/// The manifests of accepted uploads not yet finished (`PREFIX/pending/<sha256>/<uuid>`).
fn manifests(s3: &S3Server) -> Vec<String> {
    let root = s3.root.path().join(crate::s3_server::BUCKET).join(&s3.prefix).join("pending");
    let digests = std::fs::read_dir(root).into_iter().flatten().flatten();
    let files = digests.flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten());
    files.map(|f| f.path().display().to_string()).collect()
}

/// What a node killed right after answering an upload leaves: the parts and the manifest
/// of a multipart upload in the bucket, the object not yet assembled under its digest.
/// Whichever node needs it first finishes it, or the next start does; deleting it gives
/// it up; nothing is ever visible under the digest before it is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_upload_is_finished_by_whichever_node_needs_it() {
    let Some(s3) = S3Server::start().await else { return };
    let a_dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    s3.configure(&mut config);
    let bucket = dictaflow::storage::blob::BucketUrl::parse(&s3.audio_url()).unwrap().unwrap();
    let a = dictaflow::storage::S3BlobStore::open(&bucket, &config.storage.s3, a_dir.path().join("audio/tmp"))
        .await
        .unwrap();
    let accept = |seed: u32| {
        let a = a.clone();
        async move {
            let bytes: Vec<u8> = (0..11 * 1024 * 1024u32)
                .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 9) as u8)
                .collect();
            let mut pending = a.begin().await.unwrap();
            for chunk in bytes.chunks(65_536) {
                pending.write(chunk).await.unwrap();
            }
            let staged = pending.finish().await.unwrap();
            let sha = staged.sha256.clone();
            a.accept(staged).await.unwrap();
            (sha, bytes)
        }
    };
    // B has no cache: every read goes to the bucket.
    let (b, _b_dir) = store_with(Some(&s3), |c| c.storage.s3.cache_mib = 0).await;

    let (sha, big) = accept(1).await;
    assert!(s3.objects().is_empty(), "nothing under a digest before the upload is finished");
    assert_eq!(manifests(&s3).len(), 1, "the accepted upload's manifest is in the bucket");
    let listed: Vec<String> = b.list().await.unwrap().into_iter().map(|(s, _)| s).collect();
    assert_eq!(listed, vec![sha.clone()], "an accepted upload counts as stored (its row may have committed)");
    let at = 5 * 1024 * 1024 - 100;
    assert_eq!(read(b.as_ref(), &sha, at as u64, 300).await, &big[at..at + 300], "B finishes it to read it");
    assert_eq!(s3.objects(), vec![sha.clone()]);
    assert!(manifests(&s3).is_empty() && s3.incoming().is_empty(), "{:?} {:?}", manifests(&s3), s3.incoming());
    assert_eq!(b.size(&sha).await.unwrap(), Some(big.len() as u64));
    let copy = b.local_copy(&sha).await.unwrap();
    assert_eq!(std::fs::read(copy.path()).unwrap(), big, "the finished object holds the upload byte for byte");

    // One nobody reads: the next start finishes it.
    let (second, _) = accept(2).await;
    assert!(!s3.objects().contains(&second));
    b.clean_temporary(Duration::ZERO).await.unwrap();
    assert!(s3.objects().contains(&second), "finished at start");
    assert!(manifests(&s3).is_empty() && s3.incoming().is_empty());

    // The same bytes accepted again: completed and copied over the object (its age
    // restarts), one object, nothing left pending.
    let (again, _) = accept(1).await;
    assert_eq!(again, sha);
    b.clean_temporary(Duration::ZERO).await.unwrap();
    assert!(manifests(&s3).is_empty() && s3.incoming().is_empty());
    assert_eq!(s3.objects().iter().filter(|o| **o == sha).count(), 1);
    assert_eq!(b.size(&sha).await.unwrap(), Some(big.len() as u64));

    // One deleted before it was finished (its row never committed): given up.
    let (third, _) = accept(3).await;
    b.delete(&third).await.unwrap();
    assert_eq!(b.size(&third).await.unwrap(), None);
    assert!(manifests(&s3).is_empty() && s3.incoming().is_empty());
    assert!(!s3.objects().contains(&third));
}

/// Orphans (objects without a row, older than the grace period) go; a row whose object
/// is missing is reported and left as it is.
async fn reconciliation_on_a_bucket(app: TestApp) {
    let s3 = app.s3.as_ref().unwrap();
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let resp = app.upload(&token, fixture("speech_3s.wav"), "a.wav", &[]).await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let sha = dictaflow::storage::blob::is_sha256_hex;
    assert_eq!(s3.objects().len(), 1, "the upload is in the bucket");
    assert!(s3.objects().iter().all(|o| sha(o)));
    let blobs = app.state.blobs.as_ref();
    let orphan = put(blobs, b"an upload whose row never committed").await;
    let report = reconcile(&app.state.db, blobs, Duration::from_secs(3600)).await.unwrap();
    assert_eq!(report.orphans_removed, 0, "a young orphan may be about to get its row");
    let report = reconcile(&app.state.db, blobs, Duration::ZERO).await.unwrap();
    assert_eq!((report.orphans_removed, report.rows_missing_audio), (1, 0));
    assert_eq!(blobs.size(&orphan).await.unwrap(), None);
    // The dictation's object disappears (an operator's mistake): reported, not dropped.
    let stored = s3.objects()[0].clone();
    blobs.delete(&stored).await.unwrap();
    let report = reconcile(&app.state.db, blobs, Duration::ZERO).await.unwrap();
    assert_eq!(report.missing_audio, vec![id.clone()]);
    let (status, d) = app.get_json(&token, &format!("/api/v1/dictations/{id}")).await;
    assert_eq!((status, d["status"].as_str()), (200, Some("received")), "left in its state");
    let audio = app.client.get(app.url(&format!("/api/v1/dictations/{id}/audio"))).bearer_auth(&token).send();
    assert_eq!(audio.await.unwrap().status(), 404);
}

/// `/readyz` answers 503 while the bucket is unreachable; `/metrics` counts the
/// object-store calls and their failures.
async fn readiness_checks_the_bucket(mut app: TestApp) {
    let details = |app: &TestApp| {
        let req = app.client.get(app.url("/readyz")).send();
        async move {
            let resp = req.await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = details(&app).await;
    assert_eq!((status, body["audio_store"].as_str()), (200, Some("ok")), "{body}");
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    assert_eq!(app.upload(&token, fixture("speech_3s.wav"), "a.wav", &[]).await.status(), 201);
    app.s3.as_mut().unwrap().stop();
    let (status, body) = details(&app).await;
    assert_eq!((status, body["audio_store"].as_str()), (503, Some("unreachable")), "{body}");
    let resp = app.upload(&token, fixture("speech_3s.wav"), "b.wav", &[("notes", "second")]).await;
    assert_eq!(resp.status(), 500, "an upload the bucket cannot take is refused, not half-made");
    let (_, list) = app.get_json(&token, "/api/v1/dictations").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "no row without its audio");
    assert_eq!(crate::crash::staged_files(&app.dir.path().join("audio/tmp")), 0, "no staged file left");
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("# TYPE dictaflow_object_store_seconds histogram"), "{text}");
    assert!(text.contains(r#"dictaflow_object_store_seconds_count{op="put"}"#), "{text}");
    assert!(text.contains(r#"dictaflow_object_store_errors_total{op="put"}"#), "{text}");
}

crate::on_s3_too!(reconciliation_on_a_bucket, readiness_checks_the_bucket);

/// A trust's existing local store moves into a bucket: verified, resumable, idempotent;
/// the server then serves the same bytes from the bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_store_migrates_into_a_bucket() {
    let Some(s3) = S3Server::start().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = None;
    let token = crate::crash::add_user(dir.path(), &db);
    let server = crate::crash::start(dir.path(), &db).await;
    let client = reqwest::Client::new();
    // Two recordings: the fixture, and the fixture with its last sample changed.
    let mut other = fixture("speech_3s.wav");
    *other.last_mut().unwrap() ^= 1;
    let recordings = [fixture("speech_3s.wav"), other];
    let mut ids = Vec::new();
    for bytes in &recordings {
        let d = crate::crash::upload(&client, &server.base, &token, bytes.clone()).await;
        ids.push(d["id"].as_str().unwrap().to_string());
    }
    drop(server);
    let migrate = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dictaflow"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["storage", "migrate-audio"])
            .args(extra)
            .envs(s3.env())
            .env("RUST_LOG", "warn")
            .env_remove("DICTAFLOW_CONFIG")
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let (ok, out) = migrate(&[]);
    assert!(ok, "{out}");
    assert!(out.contains("copied 2, already in the bucket 0, removed locally 0, corrupt 0"), "{out}");
    assert_eq!(s3.objects().len(), 2);
    // Idempotent: a second run verifies and changes nothing.
    let (ok, out) = migrate(&[]);
    assert!(ok && out.contains("copied 0, already in the bucket 2"), "{out}");
    // Resumable: an object lost (or never sent before an interruption) is sent again.
    let lost = s3.objects()[0].clone();
    let lost_file = s3.root.path().join(crate::s3_server::BUCKET).join(&s3.prefix).join(&lost[..2]).join(&lost[2..4]);
    std::fs::remove_file(lost_file.join(&lost)).unwrap();
    let (ok, out) = migrate(&["--remove-local"]);
    assert!(ok && out.contains("copied 1, already in the bucket 1, removed locally 2"), "{out}");
    assert!(dictaflow_local_blobs(dir.path()).is_empty(), "the local files went once verified");

    // The server, now on the bucket, serves both recordings byte for byte.
    let server = crate::crash::start_with(dir.path(), &db, &s3.env()).await;
    for (id, bytes) in ids.iter().zip(&recordings) {
        let url = format!("{}/api/v1/dictations/{id}/audio", server.base);
        let resp = client.get(url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes.as_slice());
    }
    drop(server);

    // A local file whose bytes do not match its name is reported and not sent.
    let bad = "ab".repeat(32);
    let bad_dir = dir.path().join("audio/ab/ab");
    std::fs::create_dir_all(&bad_dir).unwrap();
    std::fs::write(bad_dir.join(&bad), b"not what the name says").unwrap();
    let (ok, out) = migrate(&[]);
    assert!(!ok && out.contains(&format!("{bad}: corrupt")), "{out}");
    assert!(!s3.objects().contains(&bad));
}

fn dictaflow_local_blobs(data: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![data.join("audio")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name == "tmp" {
                continue;
            }
            if e.path().is_dir() {
                stack.push(e.path());
            } else if dictaflow::storage::blob::is_sha256_hex(&name) {
                out.push(name);
            }
        }
    }
    out
}

#[tokio::test]
async fn bad_storage_settings_are_named() {
    for (key, value, expected) in [
        ("DICTAFLOW_STORAGE__AUDIO_URL", "s3://x", "storage.audio_url"),
        ("DICTAFLOW_STORAGE__S3__SSE", "rot13", "storage.s3.sse"),
        ("DICTAFLOW_STORAGE__S3__PART_SIZE_MIB", "1", "storage.s3.part_size_mib"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dictaflow"))
            .arg("config")
            .env(key, value)
            .env_remove("DICTAFLOW_CONFIG")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expected), "{key}={value}: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dictaflow"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["storage", "migrate-audio"])
        .env_remove("DICTAFLOW_CONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("storage.audio_url must name the destination bucket"), "{err}");
}

#[tokio::test]
async fn the_configuration_shows_the_bucket_and_hides_its_secret() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dictaflow"))
        .arg("config")
        .env("DICTAFLOW_STORAGE__AUDIO_URL", "s3://trust-audio/dictations")
        .env("DICTAFLOW_STORAGE__S3__ENDPOINT", "https://objects.example.nhs.uk")
        .env("DICTAFLOW_STORAGE__S3__ACCESS_KEY_ID", "AKIAEXAMPLE")
        .env("DICTAFLOW_STORAGE__S3__SECRET_ACCESS_KEY", "wJalrXUtnFEMIexample")
        .env_remove("DICTAFLOW_CONFIG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("audio_url = \"s3://trust-audio/dictations\""), "{text}");
    assert!(text.contains("endpoint = \"https://objects.example.nhs.uk\""), "{text}");
    assert!(text.contains("secret_access_key = \"[redacted]\""), "{text}");
    assert!(!text.contains("wJalrXUtnFEMIexample"), "{text}");
}
