//! Two schedulers on one database (each with its own connection pool, as two processes
//! have) firing the same ticks concurrently over many due timers: every timer fires
//! exactly once, in one scheduler or the other, and every notification is accounted for.

use std::collections::HashSet;

use dictaflow::storage::Db;
use dictaflow::workflow::service::scheduler::{BATCH, fire_batch};
use sqlx::Row;

use super::support::{DAY, team};
use crate::helpers::Backend;

crate::both_backends!(two_schedulers_fire_each_timer_exactly_once);

/// Extra timers per letter and kind, spread over the ticks below.
const PER_LETTER: i64 = 150;
const TICKS: i64 = 20;

async fn two_schedulers_fire_each_timer_exactly_once(backend: Backend) {
    let Some(t) = team(backend).await else { return };
    let mut letters = Vec::new();
    for _ in 0..4 {
        letters.push(t.upload(&t.patel, "routine").await["id"].as_str().unwrap().to_string());
    }
    // The schedulers below run on a time a month past the server's manual clock, so the
    // server's own scheduler (which reads that clock) cannot take part.
    let start = t.app.state.clock.now_ms() + 30 * DAY;
    let step = 1_000;
    let db = &t.app.state.db;
    let mut tx = db.begin_write().await.unwrap();
    for (n, id) in letters.iter().enumerate() {
        for i in 0..PER_LETTER {
            for kind in ["warning", "breach"] {
                let due = start + ((i + n as i64) % TICKS) * step;
                sqlx::query(
                    "INSERT INTO timers (id, kind, dictation_id, scope, due_at, late, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 0, $6)",
                )
                .bind(uuid::Uuid::now_v7().simple().to_string())
                .bind(kind)
                .bind(id)
                .bind(format!("load-{i}"))
                .bind(due)
                .bind(start)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
    }
    tx.commit().await.unwrap();
    let pending: i64 =
        count(db, "SELECT COUNT(*) AS n FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL").await;
    assert!(pending >= 4 * PER_LETTER * 2);

    let url = t.app.state.config.database_url();
    let (a, b) = (Db::connect(&url, 4).await.unwrap(), Db::connect(&url, 4).await.unwrap());
    let (ra, rb) = tokio::join!(run_ticks(a, start, step), run_ticks(b, start, step));
    let (fired_a, notes_a) = ra;
    let (fired_b, notes_b) = rb;
    eprintln!("scheduler A fired {}, scheduler B fired {}", fired_a.len(), fired_b.len());

    let set_a: HashSet<&String> = fired_a.iter().collect();
    let set_b: HashSet<&String> = fired_b.iter().collect();
    assert_eq!(set_a.len(), fired_a.len(), "A fired a timer twice");
    assert_eq!(set_b.len(), fired_b.len(), "B fired a timer twice");
    assert!(set_a.is_disjoint(&set_b), "a timer fired in both schedulers");
    assert_eq!((set_a.len() + set_b.len()) as i64, pending, "every due timer fired");
    let left = count(db, "SELECT COUNT(*) AS n FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL").await;
    assert_eq!(left, 0);
    // Each firing's notifications were all new: none was a duplicate swallowed by the
    // unique index, as a second firing of the same timer would be.
    let stored = count(db, "SELECT COUNT(*) AS n FROM notifications").await;
    assert_eq!((notes_a + notes_b) as i64, stored);
    assert!(stored >= pending, "each timer notified someone");
}

/// Fires every tick in turn, one batch transaction at a time (retrying a batch that
/// failed, e.g. a deadlock victim on PostgreSQL: its claims rolled back with it).
/// Returns the timers fired and the notifications written.
async fn run_ticks(db: Db, start: i64, step: i64) -> (Vec<String>, usize) {
    let (mut fired, mut notes) = (Vec::new(), 0);
    for tick in 0..TICKS {
        let mut tries = 0;
        loop {
            match fire_batch(&db, start + tick * step).await {
                Ok(report) => {
                    let full = report.fired.len() as i64 == BATCH;
                    fired.extend(report.fired.into_iter().map(|c| c.id));
                    notes += report.notifications;
                    if !full {
                        break;
                    }
                }
                Err(e) => {
                    tries += 1;
                    assert!(tries < 20, "firing keeps failing: {e:#}");
                }
            }
        }
    }
    (fired, notes)
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    sqlx::query(sql).fetch_one(&db.pool).await.unwrap().try_get("n").unwrap()
}
