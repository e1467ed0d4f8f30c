//! Two real `dictaflow serve` processes on one PostgreSQL database, both asleep until the
//! same few hundred timers fall due within two seconds: each timer fires exactly once,
//! in one process or the other (counted from both processes' logs, where a second
//! firing would show even though the notification table would swallow it).

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dictaflow::clock::Clock;
use dictaflow::seed::{Options, seed};
use serde_json::Value;
use sqlx::Row;

use crate::helpers::{drop_pg_database, fresh_pg_database, test_config};

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const LETTERS: usize = 40;
const SCOPES: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_fire_each_timer_once() {
    let Some((url, name)) = fresh_pg_database().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = dictaflow::server::build_state(test_config(dir.path(), Some(url.clone())), Clock::system())
        .await
        .expect("state");
    let now = state.clock.now_ms();
    let opts = Options { dictations: LETTERS, days: 10, seed: 3, prefix: "p".into() };
    seed(&state.config, &state.db, state.blobs.as_ref(), &opts, now).await.expect("seed");
    let ids: Vec<String> = sqlx::query("SELECT id FROM dictations ORDER BY id")
        .fetch_all(&state.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("id").unwrap())
        .collect();
    // Due 10 to 12 s from now: both processes are up and asleep by then.
    let first_due = now + 10_000;
    let mut tx = state.db.begin_write().await.unwrap();
    for (n, id) in ids.iter().enumerate() {
        for s in 0..SCOPES {
            for kind in ["warning", "breach"] {
                sqlx::query(
                    "INSERT INTO timers (id, kind, dictation_id, scope, due_at, late, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 0, $6)",
                )
                .bind(uuid::Uuid::now_v7().simple().to_string())
                .bind(kind)
                .bind(id)
                .bind(format!("load-{s}"))
                .bind(first_due + ((n * SCOPES + s) % 20) as i64 * 100)
                .bind(now)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
    }
    tx.commit().await.unwrap();
    let total = LETTERS * SCOPES * 2;

    let logs: Vec<_> = (0..2).map(|i| dir.path().join(format!("process-{i}.log"))).collect();
    let processes: Vec<Process> = logs
        .iter()
        .map(|log| {
            let file = std::fs::File::create(log).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_dictaflow"))
                .arg("--data-dir")
                .arg(dir.path())
                .arg("--database-url")
                .arg(&url)
                .args(["--log-format", "json", "serve", "--bind", "127.0.0.1:0"])
                .env("RUST_LOG", "warn,dictaflow::workflow::service::escalation=info")
                .env("DICTAFLOW_STT__ENABLED", "false")
                .env_remove("DICTAFLOW_CONFIG")
                .stdout(file.try_clone().unwrap())
                .stderr(file)
                .stdin(Stdio::null())
                .spawn()
                .expect("start dictaflow serve");
            Process(child)
        })
        .collect();

    let mut left = i64::MAX;
    for _ in 0..600 {
        left = sqlx::query("SELECT COUNT(*) AS n FROM timers WHERE scope LIKE 'load-%' AND fired_at IS NULL")
            .fetch_one(&state.db.pool)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(processes);
    assert_eq!(left, 0, "every timer fired within a minute");

    let mut seen = HashSet::new();
    let mut per_process = Vec::new();
    for log in &logs {
        let text = std::fs::read_to_string(log).unwrap();
        let mut fired = 0;
        for line in text.lines().filter(|l| l.contains("escalation fired")) {
            let v: Value = serde_json::from_str(line).expect("a JSON log line");
            let f = &v["fields"];
            if !f["scope"].as_str().unwrap_or_default().starts_with("load-") {
                continue;
            }
            let key = (f["dictation"].to_string(), f["kind"].to_string(), f["scope"].to_string());
            assert!(seen.insert(key.clone()), "fired twice: {key:?}");
            fired += 1;
        }
        per_process.push(fired);
    }
    eprintln!("timers fired per process: {per_process:?}");
    assert_eq!(seen.len(), total, "each timer fired once across the two processes");
    state.db.pool.close().await;
    drop_pg_database(&name);
}
