//! The turnaround report's detail for the same letters and scope as its groups: time
//! spent per stage (from the stage times), and the breaches with the stage and holder each
//! letter was at when its deadline passed.

use serde::Serialize;
use sqlx::Row;

use anyhow::Context;

use super::turnaround::percentile;
use crate::clock::{Millis, rfc3339};
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

/// The SQL condition (on `d`, with `$3` for the user) and its user id for a scope.
pub fn scope_clause(scope: &Scope) -> (&'static str, Option<String>) {
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

/// Per-stage time for letters received in `[from, to)`, from the per-letter totals each
/// transition keeps (`stage_times`), read from their report index alone: one row per
/// stage with its values packed in a string (a month is ~200,000 letter-stage pairs; row
/// by row through the driver they would cost most of a second). Stages come in the order
/// letters reach them (mean time after receipt).
pub async fn stage_times(db: &Db, scope: &Scope, from: Millis, to: Millis) -> anyhow::Result<Vec<StageTime>> {
    let clause = match scope {
        Scope::All => "",
        Scope::OwnDictations(_) => "AND st.clinician_id = $3",
        Scope::Teams(_) => {
            "AND st.clinician_id IN (SELECT m2.user_id FROM team_members m1 JOIN team_members m2 \
             ON m1.team_id = m2.team_id WHERE m1.user_id = $3)"
        }
    };
    let sql = format!(
        "SELECT st.stage, COUNT(*) AS n, CAST(AVG(st.first_at - st.received_at) AS BIGINT) AS pos, \
           string_agg(CAST(st.elapsed_ms AS TEXT), ',') AS elapsed, string_agg(CAST(st.working_ms AS TEXT), ',') AS working \
         FROM stage_times st WHERE st.received_at >= $1 AND st.received_at < $2 {clause} \
         GROUP BY st.stage ORDER BY pos, st.stage"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from).bind(to);
    if let Scope::OwnDictations(who) | Scope::Teams(who) = scope {
        q = q.bind(who);
    }
    let mut out = Vec::new();
    for r in q.fetch_all(&db.pool).await? {
        let stage: String = r.try_get("stage")?;
        let mut elapsed = hours(&r.try_get::<String, _>("elapsed")?).with_context(|| format!("stage {stage}"))?;
        let mut working = hours(&r.try_get::<String, _>("working")?).with_context(|| format!("stage {stage}"))?;
        out.push(StageTime {
            stage,
            letters: r.try_get::<i64, _>("n")? as u64,
            median_hours: percentile(&mut elapsed, 50.0),
            p90_hours: percentile(&mut elapsed, 90.0),
            median_working_hours: percentile(&mut working, 50.0),
            p90_working_hours: percentile(&mut working, 90.0),
        });
    }
    Ok(out)
}

/// Milliseconds packed as `1,2,3` to hours.
fn hours(packed: &str) -> anyhow::Result<Vec<f64>> {
    packed
        .split(',')
        .filter(|v| !v.is_empty())
        .map(|v| v.parse::<i64>().map(|ms| ms as f64 / 3_600_000.0).with_context(|| format!("bad stage time {v:?}")))
        .collect()
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
