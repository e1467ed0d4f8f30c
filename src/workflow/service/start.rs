//! A new dictation enters its workflow: routing picks the workflow (latest version) and
//! pool, the start stage is entered, the due time computed on the working calendar, and
//! the letter's warning and breach timers armed, in the upload's transaction.

use anyhow::Context;
use sqlx::Row;

use super::defs::{calendar_in, parse_stored, parse_stored_routing};
use super::persist::{arm_stage, ms};
use super::state::Loaded;
use crate::clock::{Millis, from_ms};
use crate::storage::history::{self, NewEvent};
use crate::storage::{Tx, timers, workflows};
use crate::timers::deadlines;
use crate::workflow::{DictationState, Priority, RouteQuery, RoutingRule, start};

/// What routing decided for a new dictation.
struct Routed {
    rule: RoutingRule,
    version: i64,
    loaded: Loaded,
}

/// Reads the new dictation and picks its rule, workflow (latest version) and pool.
async fn route(tx: &mut Tx, id: &str) -> anyhow::Result<Routed> {
    let row = sqlx::query(
        "SELECT d.specialty, d.letter_type, d.priority, d.created_at, d.clinician_id, d.version, c.username AS clinician \
         FROM dictations d JOIN users c ON c.id = d.clinician_id WHERE d.id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    let (specialty, letter_type): (Option<String>, Option<String>) =
        (row.try_get("specialty")?, row.try_get("letter_type")?);
    let clinician: String = row.try_get("clinician")?;
    let priority: Priority = row.try_get::<String, _>("priority")?.parse().map_err(anyhow::Error::msg)?;
    let stored_routing = workflows::routing_in(tx).await?.context("no routing table is stored")?;
    let table = parse_stored_routing(&stored_routing)?;
    let query = RouteQuery {
        specialty: specialty.as_deref(),
        clinician: &clinician,
        letter_type: letter_type.as_deref(),
        priority,
    };
    let rule = table.route(&query).context("no routing rule matches the dictation")?.clone();
    let stored = workflows::workflow_in(tx, &rule.workflow)
        .await?
        .with_context(|| format!("routing names the workflow {} which is not stored", rule.workflow))?;
    let clinician_id: String = row.try_get("clinician_id")?;
    let pool = match &rule.pool {
        Some(p) => Some(p.clone()),
        None => only_team(tx, &clinician_id).await?,
    };
    let loaded = Loaded {
        id: id.to_string(),
        def: parse_stored(&stored)?,
        state: DictationState { clinician, pool, ..Default::default() },
        version: row.try_get("version")?,
        priority,
        assign: rule.assign,
        created_at: row.try_get("created_at")?,
        due_at: None,
        clinician_id,
        stage_mark: None,
    };
    Ok(Routed { rule, version: stored.version, loaded })
}

/// Routes the freshly inserted dictation `id` and puts it at its workflow's start.
pub async fn start_dictation(tx: &mut Tx, id: &str, now: Millis) -> anyhow::Result<()> {
    let Routed { rule, version, loaded } = route(tx, id).await?;
    let (def, priority, pool) = (&loaded.def, loaded.priority, &loaded.state.pool);
    let t = start(def, &loaded.state).context("the workflow has no start stage")?;
    let created_at = loaded.created_at;
    let (target, warn) = def.sla_target(priority, None).context("the workflow has no target for this priority")?;
    let cal = calendar_in(tx, &def.calendar).await?;
    let (warn_at, breach_at) = deadlines(&cal, from_ms(created_at), target, warn);
    let assignee_id: Option<String> = match &t.assignee {
        Some(u) => sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(u)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get("id"))
            .transpose()?,
        None => None,
    };
    sqlx::query(
        "UPDATE dictations SET workflow_name = $1, workflow_version = $2, stage = $3, status = $4, pool = $5, \
         routing_rule = $6, assign_strategy = $7, due_at = $8, warn_at = $9, sla_state = 'on_track', \
         stage_entered_at = $10, assignee_id = $11 WHERE id = $12",
    )
    .bind(&def.name)
    .bind(version)
    .bind(&t.to_stage)
    .bind(t.new_status.as_str())
    .bind(pool)
    .bind(&rule.name)
    .bind(rule.assign.as_str())
    .bind(ms(breach_at))
    .bind(ms(warn_at))
    .bind(now)
    .bind(&assignee_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    let comment = format!("routed by rule `{}` to {} v{version}", rule.name, def.name);
    let event = NewEvent {
        dictation_id: id,
        at: now,
        action: "route",
        to_status: Some(t.new_status.as_str()),
        to_stage: Some(&t.to_stage),
        assignee_id: assignee_id.as_deref(),
        comment: Some(&comment),
        ..Default::default()
    };
    history::insert(tx, &event).await?;
    timers::arm(tx, id, "warning", "", ms(warn_at), now).await?;
    timers::arm(tx, id, "breach", "", ms(breach_at), now).await?;
    arm_stage(tx, &loaded, &t.to_stage, now).await?;
    super::scheduler::wake();
    Ok(())
}

/// Without a pool from routing, a clinician's letters go to their team when they have
/// exactly one (so other departments' secretaries are not offered them).
async fn only_team(tx: &mut Tx, clinician_id: &str) -> Result<Option<String>, sqlx::Error> {
    let rows = sqlx::query("SELECT t.name FROM teams t JOIN team_members m ON m.team_id = t.id WHERE m.user_id = $1")
        .bind(clinician_id)
        .fetch_all(&mut **tx)
        .await?;
    match rows.as_slice() {
        [one] => one.try_get("name").map(Some),
        _ => Ok(None),
    }
}
