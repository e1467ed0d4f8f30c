//! The audit trail: what is recorded, that appends stay one linear chain under
//! concurrency, that the database refuses changes, and that `dictaflow audit verify`
//! names a tampered row.

use std::process::Command;

use dictaflow::audit::{NewEntry, store};
use dictaflow::domain::Role;
use serde_json::json;

use super::support::{app, audit, call, login, login_resp};
use crate::helpers::{Backend, TestApp};

/// Runs the binary against the test's database.
fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dictaflow"))
        .arg("--data-dir")
        .arg(app.dir.path())
        .arg("--database-url")
        .arg(app.state.config.database_url())
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run dictaflow")
}

async fn tampering_is_detected(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    app.user("dr.patel", Role::Clinician, &["ent"]).await;
    login(&app, "dr.patel").await;
    assert_eq!(login_resp(&app, "dr.patel", "wrong password").await.status(), 401);
    login(&app, "dr.patel").await;
    let db = &app.state.db;
    assert_eq!(store::verify(db).await.unwrap(), Ok(store::Verified { rows: 3 }));
    let out = cli(&app, &["audit", "verify"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 entries"));

    // The database itself refuses to change or remove audit rows.
    for sql in ["UPDATE audit_log SET client_addr = '10.9.9.9' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 2"] {
        let err = sqlx::query(sql).execute(&db.pool).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    // Someone with database access switches the guard off and edits one row.
    let disable = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
    };
    sqlx::query(disable).execute(&db.pool).await.unwrap();
    sqlx::query("UPDATE audit_log SET client_addr = '10.9.9.9' WHERE seq = 2").execute(&db.pool).await.unwrap();
    let broken = store::verify(db).await.unwrap().unwrap_err();
    assert_eq!(broken.seq(), 2, "{broken}");
    let out = cli(&app, &["audit", "verify"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("seq 2"), "{stderr}");
}

async fn deleting_a_row_is_detected(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    app.user("dr.patel", Role::Clinician, &["ent"]).await;
    for _ in 0..4 {
        login(&app, "dr.patel").await;
    }
    let db = &app.state.db;
    let disable = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_delete",
        Backend::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
    };
    sqlx::query(disable).execute(&db.pool).await.unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = 4").execute(&db.pool).await.unwrap();
    assert_eq!(store::verify(db).await.unwrap().unwrap_err().seq(), 4, "the tail's removal is seen via the head");
    sqlx::query("DELETE FROM audit_log WHERE seq = 2").execute(&db.pool).await.unwrap();
    assert_eq!(store::verify(db).await.unwrap().unwrap_err().seq(), 3, "the row after the gap is named");
}

async fn concurrent_appends_stay_linear(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    let mut tasks = Vec::new();
    for i in 0..40 {
        let db = app.state.db.clone();
        tasks.push(tokio::spawn(async move {
            let entry = NewEntry::new("test.concurrent").details(json!({ "i": i }));
            store::record(&db, &entry, 1_000 + i).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store::verify(&app.state.db).await.unwrap(), Ok(store::Verified { rows: 40 }));
}

async fn super_users_search_the_trail(backend: Backend) {
    let Some(app) = app(backend, |_| {}).await else { return };
    let admin = app.user("admin", Role::Superuser, &[]).await;
    let patel = app.user("dr.patel", Role::Clinician, &["ent"]).await;
    login(&app, "dr.patel").await;
    assert_eq!(login_resp(&app, "dr.patel", "nope").await.status(), 401);
    assert_eq!(login_resp(&app, "nobody", "nope").await.status(), 401);

    let failed = audit(&app, &admin, "action=auth.login_failed").await;
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["target_id"], "nobody", "newest first");
    assert_eq!(failed[0]["actor"], json!(null));
    assert_eq!(failed[0]["client_addr"], "127.0.0.1");
    let logins = audit(&app, &admin, "actor=dr.patel").await;
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0]["action"], "auth.login");
    assert!(logins[0]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(audit(&app, &admin, "action=auth.").await.len(), 3, "a family prefix");
    assert_eq!(audit(&app, &admin, "target=dr.patel").await.len(), 2);
    assert_eq!(audit(&app, &admin, "from=2030-01-01T00:00:00Z").await.len(), 0);

    // Pages follow the cursor, newest first, without overlap.
    let (_, page1) = call(&app, "GET", &admin, "/api/v1/audit?limit=2", None).await;
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = call(&app, "GET", &admin, &format!("/api/v1/audit?limit=2&cursor={cursor}"), None).await;
    let seqs: Vec<i64> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["items"].as_array().unwrap())
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![3, 2, 1]);
    assert_eq!(page2["next_cursor"], json!(null));

    let (status, body) = call(&app, "GET", &patel, "/api/v1/audit", None).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    for bad in ["cursor=zzz", "limit=0", "from=yesterday", "colour=red"] {
        let (status, body) = call(&app, "GET", &admin, &format!("/api/v1/audit?{bad}"), None).await;
        assert!(status == 422 || status == 400, "{bad}: {status} {body}");
    }
}

crate::both_backends!(
    tampering_is_detected,
    deleting_a_row_is_detected,
    concurrent_appends_stay_linear,
    super_users_search_the_trail
);
