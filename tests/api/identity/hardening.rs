//! Security headers on every response, and the audio retention purge on a manual clock.

use dictaflow::domain::Role;
use serde_json::{Value, json};

use super::support::{DAY, app, audit, call};
use crate::helpers::{Backend, fixture};

async fn every_response_carries_security_headers(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    let token = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let requests = [
        app.client.get(app.url("/healthz")),
        app.client.get(app.url("/no/such/page")),
        app.client.get(app.url("/api/v1/dictations")),
        app.client.get(app.url("/api/v1/dictations")).bearer_auth(&token),
        app.client.post(app.url("/api/v1/auth/login")).body("{bad"),
    ];
    for req in requests {
        let resp = req.send().await.unwrap();
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        for part in ["default-src 'self'", "frame-ancestors 'none'", "media-src 'self' blob:", "script-src 'self'"] {
            assert!(csp.contains(part), "{csp}");
        }
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(!h.contains_key("strict-transport-security"), "no HSTS over plain HTTP");
    }
}

async fn audio_is_purged_after_dispatch(backend: Backend) {
    let Some(app) = app(backend, |c| c.retention.audio_days_after_dispatch = 30).await else { return };
    purge_scenario(app).await;
}

/// The same with the audio in a bucket of a real S3 server.
async fn audio_in_a_bucket_is_purged_after_dispatch(backend: Backend) {
    let clock = dictaflow::clock::Clock::manual(dictaflow::clock::parse_rfc3339(super::support::START).unwrap());
    let app = crate::helpers::spawn_app_s3(backend, clock, |c| c.retention.audio_days_after_dispatch = 30).await;
    let Some(app) = app else { return };
    let app = purge_scenario(app).await;
    assert!(app.s3.as_ref().unwrap().objects().is_empty(), "the purged recording is gone from the bucket itself");
}

/// Returns the app, for the variants' own checks.
async fn purge_scenario(app: crate::helpers::TestApp) -> crate::helpers::TestApp {
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let patel = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let jones = app.user("sec.jones", Role::Secretary, &["ent"]).await;
    let s = &app.state;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let resp = app
            .upload(
                &patel,
                fixture("speech_3s.wav"),
                "a.wav",
                &[("specialty", "ENT"), ("letter_type", "clinic_letter")],
            )
            .await;
        assert_eq!(resp.status(), 201);
        let d: Value = resp.json().await.unwrap();
        ids.push(d["id"].as_str().unwrap().to_string());
    }
    let (kept, gone) = (&ids[0], &ids[1]);
    dictaflow::workflow::service::on_recognition_done(&s.db, &s.clock, gone, "Dear Dr Smith.").await.unwrap();
    for (token, action) in [(&jones, "claim"), (&jones, "submit"), (&patel, "approve"), (&jones, "dispatch")] {
        let (status, d) =
            call(&app, "POST", token, &format!("/api/v1/dictations/{gone}/actions/{action}"), Some(json!({}))).await;
        assert_eq!(status, 200, "{action}: {d}");
    }
    let sha: String = {
        use sqlx::Row;
        sqlx::query("SELECT audio_sha256 FROM dictations WHERE id = $1")
            .bind(gone)
            .fetch_one(&s.db.pool)
            .await
            .unwrap()
            .try_get("audio_sha256")
            .unwrap()
    };
    // Both uploads are the same file; the other dictation still needs it.
    let purge = || dictaflow::retention::purge_due(&s.db, s.blobs.as_ref(), 30, s.clock.now_ms());
    s.clock.advance_ms(30 * DAY - 1);
    assert!(purge().await.unwrap().is_empty(), "not yet 30 days");
    s.clock.advance_ms(1);
    assert_eq!(purge().await.unwrap(), vec![gone.clone()]);
    assert!(purge().await.unwrap().is_empty(), "once only");
    let (status, err) = call(&app, "GET", &patel, &format!("/api/v1/dictations/{gone}/audio"), None).await;
    assert_eq!((status, err["code"].as_str()), (410, Some("audio_purged")));
    assert_eq!(s.blobs.size(&sha).await.unwrap(), Some(fixture("speech_3s.wav").len() as u64), "still shared");
    let resp = app.client.get(app.url(&format!("/api/v1/dictations/{kept}/audio"))).bearer_auth(&patel).send().await;
    assert_eq!(resp.unwrap().status(), 200);
    let url = app.url(&format!("/api/v1/dictations/{kept}/audio"));
    let resp = app.client.get(url).bearer_auth(&jones).header("range", "bytes=100-199").send().await.unwrap();
    assert_eq!(resp.status(), 206);
    let listens = audit(&app, &admin, &format!("action=dictation.audio&target={kept}")).await;
    let ranges: Vec<String> = listens.iter().map(|e| format!("{} {}", e["actor"], e["details"]["range"])).collect();
    let last = fixture("speech_3s.wav").len() - 1;
    assert_eq!(ranges, [r#""sec.jones" "100-199""#.to_string(), format!(r#""dr.patel" "0-{last}""#)]);
    // The letter stays.
    let (status, d) = call(&app, "GET", &jones, &format!("/api/v1/dictations/{gone}"), None).await;
    assert_eq!((status, d["status"].as_str()), (200, Some("dispatched")));
    assert_eq!(d["draft"]["text"], "Dear Dr Smith.");

    // When the last dictation using the file goes, the file goes; a restart does not
    // mistake a purged recording for a lost one.
    sqlx::query("UPDATE dictations SET status = 'dispatched' WHERE id = $1")
        .bind(kept)
        .execute(&s.db.pool)
        .await
        .unwrap();
    let mut tx = s.db.begin_write().await.unwrap();
    dictaflow::storage::dictations::insert_event(
        &mut tx,
        kept,
        s.clock.now_ms(),
        None,
        "dispatch",
        None,
        Some("dispatched"),
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    s.clock.advance_ms(31 * DAY);
    assert_eq!(purge().await.unwrap(), vec![kept.clone()]);
    assert_eq!(s.blobs.size(&sha).await.unwrap(), None, "the file is deleted");
    let report =
        dictaflow::storage::reconcile::reconcile(&s.db, s.blobs.as_ref(), std::time::Duration::ZERO).await.unwrap();
    assert_eq!(report.rows_missing_audio, 0);

    let purges = audit(&app, &admin, "action=dictation.audio_purge").await;
    assert_eq!(purges.len(), 2);
    assert_eq!(purges[1]["target_id"], gone.as_str());
    assert_eq!(purges[1]["actor"], "retention");
    assert_eq!(purges[1]["details"]["file_deleted"], false);
    assert_eq!(purges[0]["details"]["file_deleted"], true);
    assert!(dictaflow::audit::store::verify(&s.db).await.unwrap().is_ok());
    app
}

async fn built_in_tls(backend: Backend) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let Some(app) = app(backend, |c| {
        c.server.tls_cert = Some(cert.clone());
        c.server.tls_key = Some(key.clone());
    })
    .await
    else {
        return;
    };
    app.user("sec.jones", Role::Secretary, &["ent"]).await;
    let port = app.base.rsplit(':').next().unwrap();
    let root = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let client = reqwest::Client::builder().add_root_certificate(root).build().unwrap();
    let resp = client.get(format!("https://localhost:{port}/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["strict-transport-security"], "max-age=31536000");
    let resp = client
        .post(format!("https://localhost:{port}/api/v1/auth/login"))
        .json(&json!({"username": "sec.jones", "password": super::support::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cookies: Vec<&str> = resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert!(cookies.len() == 2 && cookies.iter().all(|c| c.contains("; Secure")), "{cookies:?}");
    // The client address still comes from the socket.
    let search = dictaflow::audit::store::Search { action: Some("auth.login".into()), limit: 10, ..Default::default() };
    let logins = dictaflow::audit::store::search(&app.state.db, &search).await.unwrap();
    assert_eq!(logins[0].client_addr.as_deref(), Some("127.0.0.1"));
    // Plain HTTP on the TLS port gets no HTTP answer.
    assert!(app.client.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_err());
}

crate::both_backends!(
    every_response_carries_security_headers,
    audio_is_purged_after_dispatch,
    audio_in_a_bucket_is_purged_after_dispatch,
    built_in_tls
);
