//! The audit chain is anchored by signed checkpoints: rewriting rows and recomputing the
//! whole chain in the database is caught by `dictaflow audit verify` (and, with the
//! checkpoints also removed from the database, by `--checkpoints FILE`); verifying while
//! a live server appends is clean.

use std::process::Command;

use dictaflow::audit::anchor::{self, SigningKey};
use dictaflow::audit::chain::hash_of;
use dictaflow::audit::{NewEntry, store};
use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};

crate::both_backends!(a_recomputed_chain_is_caught_by_the_signed_checkpoints, verify_is_clean_on_a_live_server);

/// `dictaflow audit ...` against the test's database and data directory.
fn cli(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dictaflow"))
        .arg("--data-dir")
        .arg(app.dir.path())
        .arg("--database-url")
        .arg(app.state.config.database_url())
        .args(args)
        .env("RUST_LOG", "error")
        .env_remove("DICTAFLOW_CONFIG")
        .output()
        .expect("run dictaflow");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

async fn append(app: &TestApp, n: i64) {
    for i in 0..n {
        let entry = NewEntry::new("test.entry").details(json!({ "i": i }));
        store::record(&app.state.db, &entry, app.state.clock.now_ms()).await.unwrap();
    }
}

/// What someone with write access to the database does: switch the guard off, change
/// row 2, and recompute every later hash and the head, so the chain is consistent again.
async fn rewrite_row_2(app: &TestApp) {
    let db = &app.state.db;
    let unguard = match app.backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
    };
    sqlx::query(unguard).execute(&db.pool).await.unwrap();
    let mut rows = store::search(db, &store::Search { limit: 1000, ..Default::default() }).await.unwrap();
    rows.reverse();
    let mut prev = rows[0].hash.clone();
    for r in rows.iter_mut().skip(1) {
        if r.seq == 2 {
            r.details = json!({"forged": true}).to_string();
        }
        r.prev_hash = prev;
        r.hash = hash_of(r);
        prev = r.hash.clone();
        sqlx::query("UPDATE audit_log SET details = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
            .bind(&r.details)
            .bind(&r.prev_hash)
            .bind(&r.hash)
            .bind(r.seq)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&prev).execute(&db.pool).await.unwrap();
}

async fn a_recomputed_chain_is_caught_by_the_signed_checkpoints(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let (data_dir, audit) = (&app.state.config.storage.data_dir, &app.state.config.audit);
    let (key_path, export) = (audit.key_path(data_dir), audit.export_path(data_dir));
    let key = SigningKey::load(&key_path).expect("the server created its signing key at start");
    append(&app, 4).await;
    let c = anchor::checkpoint(&app.state.db, &key, &export, app.state.clock.now_ms()).await.unwrap().unwrap();
    assert_eq!((c.seq, c.rows), (4, 4));
    assert_eq!(anchor::read_export(&export).unwrap(), vec![c.clone()], "exported as a JSON line");
    append(&app, 2).await;
    let (ok, out) = cli(&app, &["audit", "verify"]);
    assert!(ok && out.contains("6 entries") && out.contains("1 signed checkpoints verified"), "{out}");

    rewrite_row_2(&app).await;
    assert!(store::verify(&app.state.db).await.unwrap().is_ok(), "the bare chain cannot see this rewrite");
    let (ok, out) = cli(&app, &["audit", "verify"]);
    assert!(!ok, "{out}");
    assert!(out.contains("seq 4") && out.contains("rewritten"), "{out}");

    // The checkpoints are removed from the database too: the exported file still holds one.
    sqlx::query("DELETE FROM audit_checkpoints").execute(&app.state.db.pool).await.unwrap();
    let export_arg = export.display().to_string();
    let (ok, out) = cli(&app, &["audit", "verify", "--checkpoints", &export_arg]);
    assert!(!ok, "{out}");
    assert!(out.contains("export file") && out.contains("rewritten"), "{out}");

    // A checkpoint signed by another key is refused.
    let other = SigningKey::load_or_create(&app.dir.path().join("attacker.p8")).unwrap();
    let last = store::search(&app.state.db, &store::Search { limit: 1, ..Default::default() }).await.unwrap();
    let forged = other.sign(6, &last[0].hash, 6, 0);
    let forged_file = app.dir.path().join("forged.jsonl");
    std::fs::write(&forged_file, serde_json::to_string(&forged).unwrap() + "\n").unwrap();
    let (ok, out) = cli(&app, &["audit", "verify", "--checkpoints", &forged_file.display().to_string()]);
    assert!(!ok && out.contains("signature"), "{out}");
}

async fn verify_is_clean_on_a_live_server(backend: Backend) {
    // The server signs a checkpoint every second while writers append.
    let Some(app) = spawn_app_with(backend, |c| c.audit.checkpoint_seconds = 1).await else { return };
    append(&app, 3).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (db, clock, stop) = (app.state.db.clone(), app.state.clock.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.is_cancelled() {
                    let entry = NewEntry::new("test.live").details(json!({ "writer": w, "n": n }));
                    store::record(&db, &entry, clock.now_ms()).await.unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let export = app.state.config.audit.export_path(&app.state.config.storage.data_dir).display().to_string();
    for _ in 0..4 {
        let (ok, out) = cli(&app, &["audit", "verify"]);
        assert!(ok, "verify on a live server: {out}");
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    }
    let (ok, out) = cli(&app, &["audit", "verify", "--checkpoints", &export]);
    assert!(ok, "{out}");
    stop.cancel();
    let written: i32 = futures_util::future::join_all(writers).await.into_iter().map(|n| n.unwrap()).sum();
    assert!(written > 0);
    let key = SigningKey::load(&app.state.config.audit.key_path(&app.state.config.storage.data_dir)).unwrap();
    let export_path = std::path::Path::new(&export);
    anchor::checkpoint(&app.state.db, &key, export_path, app.state.clock.now_ms()).await.unwrap();
    let (ok, out) = cli(&app, &["audit", "verify", "--checkpoints", &export]);
    assert!(ok && !out.contains(" 0 signed checkpoints"), "{out}");
}
