//! A burst of concurrent wrong-password logins for one account against a real
//! `dictaflow serve` process: no more attempts than the limit reach the password check
//! (the rest are answered 429 before any hashing), and the server's memory stays flat.

use futures_util::future::join_all;
use serde_json::json;

use crate::crash::{add_user, database_for, start_with};
use crate::helpers::{Backend, drop_pg_database};

crate::both_backends!(concurrent_wrong_passwords_are_checked_at_most_the_limit);

/// A `/proc/PID/status` field in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("{field} in {status}"));
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number of kB")
}

async fn concurrent_wrong_passwords_are_checked_at_most_the_limit(backend: Backend) {
    const ATTEMPTS: usize = 200;
    const LIMIT: usize = 5;
    let Some((db, pg_name)) = database_for(backend).await else { return };
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), &db);
    let env = [("DICTAFLOW_AUTH__LOGIN_MAX_FAILURES_PER_ACCOUNT", LIMIT.to_string())];
    let server = start_with(dir.path(), &db, &env).await;
    let pid = server.child.id();
    let rss_before = status_kb(pid, "VmRSS:");

    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/auth/login", server.base);
    let attempts = (0..ATTEMPTS).map(|i| {
        let password = format!("wrong guess {i}");
        client.post(&url).json(&json!({"username": "dr.patel", "password": password})).send()
    });
    let statuses: Vec<u16> =
        join_all(attempts).await.into_iter().map(|r| r.expect("answer").status().as_u16()).collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + throttled, ATTEMPTS, "only 401 and 429: {statuses:?}");
    assert!(checked <= LIMIT, "{checked} of {ATTEMPTS} attempts were checked against the password (limit {LIMIT})");

    let peak_growth_mb = status_kb(pid, "VmHWM:").saturating_sub(rss_before) / 1024;
    assert!(peak_growth_mb < 100, "the server's resident memory grew by {peak_growth_mb} MB");
    drop(server);
    if let Some(name) = pg_name {
        drop_pg_database(&name);
    }
}
