//! The turnaround report's detail for the same letters and scope as its groups: time
//! spent per stage (from the history), and the breaches with the stage and holder each
//! letter was at when its deadline passed.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use super::defs::calendar;
use super::turnaround::percentile;
use crate::clock::{Millis, from_ms, rfc3339};
use crate::storage::Db;
use crate::storage::dictations::Scope;

/// Time letters spent in one stage. Only finished visits count (a letter still in the
/// stage is in the backlog); a stage visited twice (a return loop) counts once per
/// letter, with both visits added up.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StageTime {
    pub stage: String,
    pub letters: u64,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    pub median_working_hours: Option<f64>,
    pub p90_working_hours: Option<f64>,
}

/// A letter that missed its target.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Breach {
    pub dictation_id: String,
    pub priority: String,
    pub clinician: String,
    pub due_at: String,
    pub finished_at: Option<String>,
    pub status: String,
    /// Where the letter was, and who held it, when the deadline passed.
    pub stage_at_breach: Option<String>,
    pub assignee_at_breach: Option<String>,
    pub secretary: Option<String>,
}

/// The most breaches listed (oldest deadline first); the groups carry the counts.
pub const MAX_BREACHES: i64 = 500;

fn scope_clause(scope: &Scope) -> (&'static str, Option<String>) {
    match scope {
        Scope::All => ("", None),
        Scope::OwnDictations(u) => ("AND d.clinician_id = $3", Some(u.clone())),
        Scope::Teams(u) => (
            "AND d.clinician_id IN (SELECT m2.user_id FROM team_members m1 JOIN team_members m2 \
             ON m1.team_id = m2.team_id WHERE m1.user_id = $3)",
            Some(u.clone()),
        ),
    }
}

/// Per-stage time for letters received in `[from, to)`.
pub async fn stage_times(db: &Db, scope: &Scope, from: Millis, to: Millis) -> anyhow::Result<Vec<StageTime>> {
    let (clause, who) = scope_clause(scope);
    // Unordered (sorted below): the covering index on events serves each letter's rows.
    let sql = format!(
        "SELECT e.dictation_id, e.at, e.id, e.to_stage FROM dictations d JOIN events e ON e.dictation_id = d.id \
         WHERE d.created_at >= $1 AND d.created_at < $2 {clause} AND e.to_stage IS NOT NULL"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from).bind(to);
    if let Some(w) = who {
        q = q.bind(w);
    }
    let mut events: Vec<(String, Millis, String, String)> = Vec::new();
    for r in q.fetch_all(&db.pool).await? {
        events.push((r.try_get("dictation_id")?, r.try_get("at")?, r.try_get("id")?, r.try_get("to_stage")?));
    }
    events.sort_unstable_by(|a, b| (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2)));
    let cal = calendar("england-and-wales");
    let last = events.iter().map(|e| e.1).max().unwrap_or(to).max(to);
    let clock = cal.working_clock(from_ms(from), from_ms(last));
    // stage -> (order, per-letter elapsed ms, per-letter working ms)
    let mut stages: BTreeMap<String, (usize, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut letter: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let flush = |letter: &mut BTreeMap<String, (i64, i64)>, stages: &mut BTreeMap<_, (usize, Vec<f64>, Vec<f64>)>| {
        for (stage, (elapsed, working)) in std::mem::take(letter) {
            let n = stages.len();
            let e = stages.entry(stage).or_insert_with(|| (n, vec![], vec![]));
            e.1.push(elapsed as f64 / 3_600_000.0);
            e.2.push(working as f64 / 3_600_000.0);
        }
    };
    let mut prev: Option<(String, Millis, String)> = None;
    for (id, at, _, stage) in events {
        match prev.take() {
            Some((pid, pat, pstage)) if pid == id => {
                let working = clock.between_ms(pat, at);
                let entry = letter.entry(pstage).or_default();
                entry.0 += at - pat;
                entry.1 += working;
            }
            Some(_) => flush(&mut letter, &mut stages),
            None => {}
        }
        prev = Some((id, at, stage));
    }
    flush(&mut letter, &mut stages);
    let mut out: Vec<(usize, StageTime)> = stages
        .into_iter()
        .map(|(stage, (order, mut hours, mut working))| {
            let t = StageTime {
                stage,
                letters: hours.len() as u64,
                median_hours: percentile(&mut hours, 50.0),
                p90_hours: percentile(&mut hours, 90.0),
                median_working_hours: percentile(&mut working, 50.0),
                p90_working_hours: percentile(&mut working, 90.0),
            };
            (order, t)
        })
        .collect();
    out.sort_by_key(|(order, _)| *order);
    Ok(out.into_iter().map(|(_, t)| t).collect())
}

/// Letters received in `[from, to)` that missed their target (finished late, or open
/// past it at `now`), oldest deadline first, at most [`MAX_BREACHES`].
pub async fn breaches(db: &Db, scope: &Scope, from: Millis, to: Millis, now: Millis) -> anyhow::Result<Vec<Breach>> {
    let (clause, who) = scope_clause(scope);
    let now_param = if who.is_some() { "$4" } else { "$3" };
    // The history is looked up for the listed letters only (after the limit).
    let sql = format!(
        "SELECT b.*, c.username AS clinician, s.username AS secretary, \
           (SELECT e.to_stage FROM events e WHERE e.dictation_id = b.id AND e.at <= b.due_at \
            AND e.to_stage IS NOT NULL ORDER BY e.at DESC, e.id DESC LIMIT 1) AS stage_at_breach, \
           (SELECT u.username FROM events e LEFT JOIN users u ON u.id = e.assignee_id WHERE e.dictation_id = b.id \
            AND e.at <= b.due_at AND e.to_stage IS NOT NULL ORDER BY e.at DESC, e.id DESC LIMIT 1) AS assignee_at_breach \
         FROM (SELECT d.id, d.priority, d.due_at, d.finished_at, d.status, d.clinician_id, d.secretary_id \
               FROM dictations d WHERE d.created_at >= $1 AND d.created_at < $2 {clause} \
               AND d.status <> 'cancelled' AND d.due_at IS NOT NULL \
               AND ((d.finished_at IS NULL AND d.due_at <= {now_param}) OR d.finished_at > d.due_at) \
               ORDER BY d.due_at, d.id LIMIT {MAX_BREACHES}) b \
         JOIN users c ON c.id = b.clinician_id LEFT JOIN users s ON s.id = b.secretary_id \
         ORDER BY b.due_at, b.id"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from).bind(to);
    if let Some(w) = who {
        q = q.bind(w);
    }
    let rows = q.bind(now).fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| {
            Ok(Breach {
                dictation_id: r.try_get("id")?,
                priority: r.try_get("priority")?,
                clinician: r.try_get("clinician")?,
                due_at: rfc3339(r.try_get("due_at")?),
                finished_at: r.try_get::<Option<Millis>, _>("finished_at")?.map(rfc3339),
                status: r.try_get("status")?,
                stage_at_breach: r.try_get("stage_at_breach")?,
                assignee_at_breach: r.try_get("assignee_at_breach")?,
                secretary: r.try_get("secretary")?,
            })
        })
        .collect()
}
