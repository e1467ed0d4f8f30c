//! Time each letter spent in each workflow stage (`stage_times`): one row per letter and
//! stage, added to by every transition that leaves a stage, so the turnaround report
//! aggregates a row per letter and stage instead of replaying the whole history.
//!
//! Databases that had history before the table existed are filled once from the
//! events (the `stage_times` entry in `pending_backfills`), with the same arithmetic.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use sqlx::Row;

use super::{Backend, Db, Tx};
use crate::clock::{Millis, from_ms};
use crate::timers::calendar::Calendar;

/// The letter a stage time belongs to, with the fields the report selects on.
#[derive(Debug, Clone, Copy)]
pub struct Letter<'a> {
    pub id: &'a str,
    pub received_at: Millis,
    pub clinician_id: &'a str,
}

/// Adds the time in `stage` from `entered` to `left` to the letter's totals; `left_stage`
/// when the letter moved on (rather than, say, being claimed in the stage).
pub async fn add_visit(
    tx: &mut Tx,
    cal: &Calendar,
    letter: Letter<'_>,
    stage: &str,
    (entered, left): (Millis, Millis),
    left_stage: bool,
) -> Result<(), sqlx::Error> {
    let elapsed = (left - entered).max(0);
    let working = if elapsed == 0 { 0 } else { working_ms(cal, entered, left) };
    sqlx::query(
        "INSERT INTO stage_times (dictation_id, stage, visits, elapsed_ms, working_ms, first_at, received_at, \
         clinician_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (dictation_id, stage) DO UPDATE SET visits = stage_times.visits + excluded.visits, \
         elapsed_ms = stage_times.elapsed_ms + excluded.elapsed_ms, \
         working_ms = stage_times.working_ms + excluded.working_ms",
    )
    .bind(letter.id)
    .bind(stage)
    .bind(i64::from(left_stage))
    .bind(elapsed)
    .bind(working)
    .bind(entered)
    .bind(letter.received_at)
    .bind(letter.clinician_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn working_ms(cal: &Calendar, a: Millis, b: Millis) -> Millis {
    cal.working_time_between(from_ms(a), from_ms(b)).num_milliseconds()
}

/// One letter's time in one stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Total {
    /// Times the letter left the stage.
    pub visits: i64,
    pub elapsed_ms: i64,
    pub working_ms: i64,
    /// When the letter first entered the stage.
    pub first_at: Millis,
}

/// Per-stage totals of one letter.
pub type Totals = BTreeMap<String, Total>;

/// The totals of one letter from its stage-entering events `(at, stage)`, oldest first:
/// each event closes the visit the previous one opened.
pub fn totals(cal: &Calendar, events: &[(Millis, String)]) -> Totals {
    let mut out = Totals::new();
    for pair in events.windows(2) {
        let ((entered, stage), (left, next)) = (&pair[0], &pair[1]);
        let elapsed = (left - entered).max(0);
        let working = if elapsed == 0 { 0 } else { working_ms(cal, *entered, *left) };
        let e = out.entry(stage.clone()).or_insert(Total { first_at: *entered, ..Total::default() });
        e.visits += i64::from(next != stage);
        e.elapsed_ms += elapsed;
        e.working_ms += working;
    }
    out
}

/// Letters per batch when rebuilding from the history.
const BATCH: i64 = 2_000;

/// Runs the one-off fill when a migration asked for it.
pub async fn backfill_if_pending(db: &Db) -> anyhow::Result<()> {
    let pending = sqlx::query("SELECT name FROM pending_backfills WHERE name = 'stage_times'")
        .fetch_optional(&db.pool)
        .await
        .context("reading pending_backfills")?;
    if pending.is_none() {
        return Ok(());
    }
    let letters = rebuild(db).await?;
    sqlx::query("DELETE FROM pending_backfills WHERE name = 'stage_times'").execute(&db.pool).await?;
    if letters > 0 {
        tracing::info!(letters, "stage times filled in from the history");
    }
    Ok(())
}

/// Recomputes every letter's stage times from its history (idempotent: each batch of
/// letters is replaced in one transaction that holds those letters, so a concurrent
/// transition on PostgreSQL waits for it). Working time is counted on each letter's own
/// calendar (its workflow version's, with local closures), as transitions count it.
/// Returns the number of letters with history.
pub async fn rebuild(db: &Db) -> anyhow::Result<u64> {
    let mut calendars = crate::workflow::service::working_time::Calendars::new(db);
    let mut after = String::new();
    let mut letters = 0u64;
    loop {
        let mut tx = db.begin_write().await?;
        let lock = if db.backend == Backend::Postgres { " FOR UPDATE" } else { "" };
        let ids: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM dictations WHERE id > $1 ORDER BY id LIMIT {BATCH}{lock}"
        )))
        .bind(&after)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
        let Some(last) = ids.last().cloned() else { break };
        let rows = sqlx::query(
            "SELECT e.dictation_id, e.at, e.id, e.to_stage, d.created_at, d.clinician_id, d.workflow_name, \
             d.workflow_version FROM events e \
             JOIN dictations d ON d.id = e.dictation_id \
             WHERE e.dictation_id > $1 AND e.dictation_id <= $2 AND e.to_stage IS NOT NULL",
        )
        .bind(&after)
        .bind(&last)
        .fetch_all(&mut *tx)
        .await?;
        // (letter, at, event id, stage, received, clinician, calendar)
        type Row = (String, Millis, String, String, Millis, String, Arc<Calendar>);
        let mut events: Vec<Row> = Vec::with_capacity(rows.len());
        for r in &rows {
            let flow: Option<String> = r.try_get("workflow_name")?;
            let calendar = calendars.of(flow.as_deref(), r.try_get("workflow_version")?).await?;
            events.push((
                r.try_get("dictation_id")?,
                r.try_get("at")?,
                r.try_get("id")?,
                r.try_get("to_stage")?,
                r.try_get("created_at")?,
                r.try_get("clinician_id")?,
                calendar,
            ));
        }
        events.sort_unstable_by(|a, b| (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2)));
        sqlx::query("DELETE FROM stage_times WHERE dictation_id > $1 AND dictation_id <= $2")
            .bind(&after)
            .bind(&last)
            .execute(&mut *tx)
            .await?;
        let mut out: Vec<(&Row, String, Total)> = Vec::new();
        for letter in events.chunk_by(|a, b| a.0 == b.0) {
            letters += 1;
            let path: Vec<(Millis, String)> = letter.iter().map(|e| (e.1, e.3.clone())).collect();
            for (stage, t) in totals(&letter[0].6, &path) {
                out.push((&letter[0], stage, t));
            }
        }
        const COLUMNS: usize = 8;
        let rows = crate::seed::rows::params_per_statement(db.backend) / COLUMNS;
        for chunk in out.chunks(rows) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p: Vec<String> = (1..=COLUMNS).map(|k| format!("${}", COLUMNS * i + k)).collect();
                    format!("({})", p.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO stage_times (dictation_id, stage, visits, elapsed_ms, working_ms, first_at, received_at, \
                 clinician_id) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (row, stage, t) in chunk {
                q = q.bind(&row.0).bind(stage).bind(t.visits).bind(t.elapsed_ms).bind(t.working_ms).bind(t.first_at);
                q = q.bind(row.4).bind(&row.5);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        after = last;
    }
    Ok(letters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::service::defs::calendar;

    #[test]
    fn totals_close_each_visit_and_add_up_return_loops() {
        let cal = calendar("england-and-wales");
        // Mon 2026-03-02 09:00 UTC, then 1 h, 2 h (same stage again: a claim), 24 h later
        // on Tuesday a return to `correct`, 30 min there, and the letter is still in review.
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z").unwrap().timestamp_millis();
        let h = 3_600_000;
        let path: Vec<(Millis, String)> = [
            (t0, "queue"),
            (t0 + h, "correct"),
            (t0 + 3 * h, "correct"),
            (t0 + 4 * h, "review"),
            (t0 + 28 * h, "correct"),
            (t0 + 28 * h + h / 2, "review"),
        ]
        .into_iter()
        .map(|(t, s)| (t, s.to_string()))
        .collect();
        let t = totals(cal, &path);
        assert_eq!(t["queue"], Total { visits: 1, elapsed_ms: h, working_ms: h, first_at: t0 });
        // Two visits, the first split by a claim: 2 h + 1 h + 30 min.
        assert_eq!(
            t["correct"],
            Total { visits: 2, elapsed_ms: 3 * h + h / 2, working_ms: 3 * h + h / 2, first_at: t0 + h }
        );
        // Monday 13:00 to Tuesday 13:00: 24 h elapsed, of which the working time is the
        // Monday afternoon and the Tuesday morning.
        let review = t["review"];
        assert_eq!((review.visits, review.elapsed_ms, review.first_at), (1, 24 * h, t0 + 4 * h));
        assert_eq!(review.working_ms, working_ms(cal, t0 + 4 * h, t0 + 28 * h));
        assert!(review.working_ms < 24 * h && review.working_ms > 0);
        assert!(totals(cal, &path[..1]).is_empty());
    }
}
