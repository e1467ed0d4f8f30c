//! The oversight views are exact at the scale of a whole trust: on 100,000 letters seeded by
//! `dev seed`, the at-risk view's totals (every page walked) and the load per person equal
//! counts taken independently in SQL, for a super-user, a team lead and a manager, on both
//! databases.

use std::collections::HashMap;
use std::time::Instant;

use dictaflow::clock::{Clock, parse_rfc3339};
use dictaflow::domain::Role;
use dictaflow::seed::{Options, seed};
use serde_json::Value;
use sqlx::Row;

use crate::helpers::{Backend, TestApp, spawn_app_clocked};

/// 100,000; `DICTAFLOW_TEST_SCALE_LETTERS` sets another number for a quicker local run.
fn letters() -> usize {
    std::env::var("DICTAFLOW_TEST_SCALE_LETTERS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

/// (open, breached, at risk) per username of the open letters each person holds.
async fn held(app: &TestApp, now: i64) -> HashMap<String, (u64, u64, u64)> {
    let rows = sqlx::query(
        "SELECT u.username, d.due_at, d.warn_at FROM dictations d JOIN users u ON u.id = d.assignee_id \
         WHERE d.finished_at IS NULL",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let mut out: HashMap<String, (u64, u64, u64)> = HashMap::new();
    for r in rows {
        let due: Option<i64> = r.try_get("due_at").unwrap();
        let warn: Option<i64> = r.try_get("warn_at").unwrap();
        let e = out.entry(r.try_get("username").unwrap()).or_default();
        e.0 += 1;
        e.1 += u64::from(due.is_some_and(|d| d <= now));
        e.2 += u64::from(due.is_some_and(|d| d > now) && warn.is_some_and(|w| w <= now));
    }
    out
}

/// (breached, at risk) of the open letters of `teams` (their clinicians' letters and their
/// pools'), or of every letter when `teams` is empty, counted row by row.
async fn risk_of(app: &TestApp, teams: &[&str], now: i64) -> (u64, u64) {
    let rows = sqlx::query(
        "SELECT d.due_at, d.warn_at, d.pool, (SELECT MIN(t.name) FROM team_members m JOIN teams t ON t.id = m.team_id \
         WHERE m.user_id = d.clinician_id) AS clinician_team FROM dictations d WHERE d.finished_at IS NULL",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let (mut breached, mut at_risk) = (0, 0);
    for r in rows {
        let pool: Option<String> = r.try_get("pool").unwrap();
        let team: Option<String> = r.try_get("clinician_team").unwrap();
        let mine = teams.is_empty() || [pool, team].iter().flatten().any(|t| teams.contains(&t.as_str()));
        let (Some(due), warn) =
            (r.try_get::<Option<i64>, _>("due_at").unwrap(), r.try_get::<Option<i64>, _>("warn_at").unwrap())
        else {
            continue;
        };
        if !mine {
            continue;
        }
        breached += u64::from(due <= now);
        at_risk += u64::from(due > now && warn.is_some_and(|w| w <= now));
    }
    (breached, at_risk)
}

/// (open, breached, at risk) of the open letters nobody holds of `teams` (their clinicians'
/// and their pools'), or of every team when `teams` is empty, counted row by row.
async fn unheld_of(app: &TestApp, teams: &[&str], now: i64) -> (u64, u64, u64) {
    let rows = sqlx::query(
        "SELECT d.due_at, d.warn_at, d.pool, (SELECT MIN(t.name) FROM team_members m JOIN teams t ON t.id = m.team_id \
         WHERE m.user_id = d.clinician_id) AS clinician_team FROM dictations d \
         WHERE d.finished_at IS NULL AND d.assignee_id IS NULL",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let mut out = (0, 0, 0);
    for r in rows {
        let pool: Option<String> = r.try_get("pool").unwrap();
        let team: Option<String> = r.try_get("clinician_team").unwrap();
        if !(teams.is_empty() || [pool, team].iter().flatten().any(|t| teams.contains(&t.as_str()))) {
            continue;
        }
        let due: Option<i64> = r.try_get("due_at").unwrap();
        let warn: Option<i64> = r.try_get("warn_at").unwrap();
        out.0 += 1;
        out.1 += u64::from(due.is_some_and(|d| d <= now));
        out.2 += u64::from(due.is_some_and(|d| d > now) && warn.is_some_and(|w| w <= now));
    }
    out
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, v) = app.get_json(token, path).await;
    assert_eq!(status, 200, "{path}: {v}");
    v
}

async fn views_are_exact_at_trust_scale(backend: Backend) {
    let now = parse_rfc3339("2026-12-07T10:30:00Z").unwrap();
    let Some(app) = spawn_app_clocked(backend, Clock::manual(now), |_| {}).await else { return };
    let s = &app.state;
    let started = Instant::now();
    let opts = Options { dictations: letters(), days: 60, seed: 20, prefix: "x".into() };
    let report = seed(&s.config, &s.db, s.blobs.as_ref(), &opts, now).await.expect("seed");
    eprintln!("{backend:?}: seeded {} letters in {:.1} s", letters(), started.elapsed().as_secs_f64());
    let token = |name: &str| report.users.iter().find(|u| u.username == name).unwrap().token.clone().unwrap();
    let manager = app.user("x.mgr.two", Role::Manager, &["ent", "cardiology"]).await;
    let callers = [
        ("super-user", token("x.admin"), vec![]),
        ("team lead", token("x.lead.ent"), vec!["ent"]),
        ("manager", manager, vec!["ent", "cardiology"]),
    ];
    let held = held(&app, now).await;
    let started = Instant::now();
    for (who, tok, teams) in &callers {
        let (breached, at_risk) = risk_of(&app, teams, now).await;
        assert!(
            breached > 100 && at_risk > 10,
            "{who}: the seed has breaches and letters at risk ({breached}, {at_risk})"
        );
        let page = get(&app, tok, "/api/v1/oversight/at-risk?limit=20").await;
        assert_eq!((page["breached"].as_u64(), page["at_risk"].as_u64()), (Some(breached), Some(at_risk)), "{who}");
        assert_eq!(page["total"].as_u64(), Some(breached + at_risk), "{who}");

        // Every breached letter, page by page, most late first.
        let (mut seen, mut offset, mut last_late) = (0u64, 0, i64::MAX);
        loop {
            let path = format!("/api/v1/oversight/at-risk?state=breached&limit=500&offset={offset}");
            let page = get(&app, tok, &path).await;
            assert_eq!(page["total"].as_u64(), Some(breached), "{who}");
            let items = page["items"].as_array().unwrap();
            for item in items {
                let late = item["working_seconds_late"].as_i64().unwrap();
                assert!(late >= 0 && late <= last_late, "{who}: most late first ({late} after {last_late})");
                assert_eq!(item["state"], "breached");
                last_late = late;
            }
            seen += items.len() as u64;
            offset += 500;
            if items.len() < 500 {
                break;
            }
        }
        assert_eq!(seen, breached, "{who}: the pages hold every breached letter once");

        // Load per person: every member of the caller's teams, with exact counts.
        let load = get(&app, tok, "/api/v1/oversight/load").await;
        let people = load["people"].as_array().unwrap();
        let members: Vec<String> = sqlx::query(
            "SELECT DISTINCT u.username FROM users u JOIN team_members m ON m.user_id = u.id \
             JOIN teams t ON t.id = m.team_id WHERE u.role <> 'manager' ORDER BY u.username",
        )
        .fetch_all(&s.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>("username").unwrap())
        .filter(|name| teams.is_empty() || teams.iter().any(|t| name.contains(&format!(".{t}"))))
        .collect();
        let listed: Vec<String> = people.iter().map(|p| p["username"].as_str().unwrap().to_string()).collect();
        assert_eq!(listed, members, "{who}: everyone in the teams, holding letters or not");
        for p in people {
            let name = p["username"].as_str().unwrap();
            let want = held.get(name).copied().unwrap_or_default();
            let got = (p["open"].as_u64().unwrap(), p["breached"].as_u64().unwrap(), p["at_risk"].as_u64().unwrap());
            assert_eq!(got, want, "{who}: {name}");
        }
        assert!(people.iter().any(|p| p["open"] == 0), "{who}: people holding nothing are listed too");
        let unheld = &load["unheld"];
        let got = (unheld["open"].as_u64().unwrap(), unheld["breached"].as_u64().unwrap(), unheld["at_risk"].as_u64());
        let want = unheld_of(&app, teams, now).await;
        assert_eq!(got, (want.0, want.1, Some(want.2)), "{who}: the letters nobody holds");
        assert!(want.0 > 100, "{who}: the seed leaves letters in the pools ({want:?})");
    }
    eprintln!("{backend:?}: views checked in {:.1} s", started.elapsed().as_secs_f64());
}

crate::both_backends!(views_are_exact_at_trust_scale);
