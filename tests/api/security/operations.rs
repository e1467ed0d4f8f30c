//! Operations: metrics and readiness details only for observers, and `dev seed` refusing
//! a database with real users.

use dictaflow::config::Secret;
use dictaflow::domain::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app_with};

crate::both_backends!(operational_details_are_for_observers_only, dev_seed_refuses_a_database_with_real_users);

async fn operational_details_are_for_observers_only(backend: Backend) {
    // The test client connects from loopback: allow another range only.
    let Some(app) = spawn_app_with(backend, |c| {
        c.metrics.allow_from = vec!["10.9.9.0/24".into()];
        c.metrics.bearer_token = Secret::new("scrape-secret");
    })
    .await
    else {
        return;
    };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let clinician = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    let metrics = |token: Option<&str>| {
        let mut req = app.client.get(app.url("/metrics"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let resp = metrics(None).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "unauthorized");
    assert_eq!(metrics(Some(&clinician)).await.unwrap().status(), 403);
    assert_eq!(metrics(Some("not-the-secret")).await.unwrap().status(), 403);
    for token in [admin.as_str(), "scrape-secret"] {
        let resp = metrics(Some(token)).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.text().await.unwrap().contains("dictaflow_jobs"));
    }
    // /readyz: the status for everyone (load balancers), the details for observers.
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"status": "ready"}));
    let (status, ready) = app.get_json(&clinician, "/readyz").await;
    assert_eq!((status, ready), (200, json!({"status": "ready"})));
    let (status, ready) = app.get_json(&admin, "/readyz").await;
    assert_eq!((status, ready["database"].as_str()), (200, Some("ok")), "{ready}");
    assert_eq!(ready["model"]["state"], "disabled");
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);

    // By default a scraper on this machine needs nothing.
    let Some(local) = spawn_app_with(backend, |_| {}).await else { return };
    let resp = local.client.get(local.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = local.client.get(local.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["database"], "ok");
}

fn seed(app: &TestApp, extra: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dictaflow"))
        .arg("--data-dir")
        .arg(app.dir.path())
        .arg("--database-url")
        .arg(app.state.config.database_url())
        .args(["dev", "seed", "--dictations", "20", "--days", "3"])
        .args(extra)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
}

async fn dev_seed_refuses_a_database_with_real_users(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else { return };
    let (ok, out) = seed(&app, &["--prefix", "s1"]);
    assert!(ok, "an empty database is seeded: {out}");
    assert!(out.contains("warning") && out.contains("known") && out.contains("seed-password-1"), "{out}");
    let (ok, out) = seed(&app, &["--prefix", "s2"]);
    assert!(ok, "seeded users are not real users: {out}");
    app.user("dr.real", Role::Clinician, &["ent"]).await;
    let (ok, out) = seed(&app, &["--prefix", "s3"]);
    assert!(!ok, "{out}");
    assert!(out.contains("dr.real") && out.contains("--force") && out.contains("known password"), "{out}");
    let (status, users) = app.get_json(&admin_token(&app).await, "/api/v1/users").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = users["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert!(!names.iter().any(|n| n.starts_with("s3.")), "nothing was seeded: {names:?}");
    let (ok, out) = seed(&app, &["--prefix", "s4", "--force"]);
    assert!(ok, "{out}");
}

async fn admin_token(app: &TestApp) -> String {
    app.user("admin.check", Role::Superuser, &[]).await
}
