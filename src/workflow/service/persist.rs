//! Writes an accepted transition: the dictation row (guarded by its version), one history
//! event per step, and the stage and letter timers. The caller's transaction commits.

use chrono::DateTime;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::defs::calendar_in;
use super::state::Loaded;
use super::{ServiceError, ServiceResult};
use crate::clock::{Millis, from_ms};
use crate::storage::history::{self, NewEvent};
use crate::storage::notifications::{self, NewNotification};
use crate::storage::{Tx, stage_times, timers, webhooks};
use crate::timers::deadlines;
use crate::workflow::engine::REOPEN;
use crate::workflow::{Builtin, Transition, WorkflowDef};

/// Who caused a transition and why, for the history.
#[derive(Debug, Clone, Default)]
pub struct Cause<'a> {
    /// The acting user's id; `None` for the system.
    pub actor_id: Option<&'a str>,
    pub comment: Option<&'a str>,
}

async fn user_id(tx: &mut Tx, username: Option<&str>) -> Result<Option<String>, sqlx::Error> {
    let Some(name) = username else { return Ok(None) };
    let row =
        sqlx::query("SELECT id, role FROM users WHERE username = $1").bind(name).fetch_optional(&mut **tx).await?;
    row.map(|r| r.try_get("id")).transpose()
}

/// Applies `t` to the row loaded as `loaded`; fails with a version conflict when the row
/// changed since. Returns the new row version.
pub async fn apply(tx: &mut Tx, loaded: &Loaded, t: &Transition, cause: &Cause<'_>, now: Millis) -> ServiceResult<i64> {
    let assignee_id = user_id(tx, t.assignee.as_deref()).await?;
    let finished_state = t.finished.then(|| if loaded.due_at.is_none_or(|d| now <= d) { "met" } else { "breached" });
    let done = sqlx::query(
        "UPDATE dictations SET stage = $1, status = $2, assignee_id = $3, version = version + 1, updated_at = $4, \
         stage_entered_at = CASE WHEN $5 = 1 THEN $4 ELSE stage_entered_at END, \
         finished_at = CASE WHEN $6 = 1 THEN $4 ELSE finished_at END, \
         sla_state = COALESCE($7, sla_state), \
         secretary_id = COALESCE((SELECT u.id FROM users u WHERE u.id = $3 AND u.role = 'secretary'), secretary_id) \
         WHERE id = $8 AND version = $9",
    )
    .bind(&t.to_stage)
    .bind(t.new_status.as_str())
    .bind(&assignee_id)
    .bind(now)
    .bind(i64::from(t.stage_changed))
    .bind(i64::from(t.finished))
    .bind(finished_state)
    .bind(&loaded.id)
    .bind(loaded.version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ServiceError::VersionConflict("the dictation was changed by someone else; reload it".into()));
    }
    record_steps(tx, &loaded.def, &loaded.id, t, assignee_id.as_deref(), cause, now).await?;
    notify_holder(tx, loaded, t, assignee_id.as_deref(), cause, now).await?;
    record_stage_times(tx, loaded, t, now).await?;
    let version = loaded.version + 1;
    let payload = || crate::webhooks::transition_payload(&loaded.id, version, &loaded.def.name, t, now).to_string();
    let key = format!("transition:{}:{version}", loaded.id);
    webhooks::enqueue(tx, crate::webhooks::TRANSITION, &key, payload, now).await?;
    if t.new_status.as_str() == "dispatched" {
        // The letter leaves the building: its delivery commits with the dispatch.
        crate::storage::letters::queue_delivery(tx, &loaded.id, now).await?;
    }
    if t.finished {
        timers::cancel(tx, &loaded.id, None, now).await?;
    } else if t.stage_changed {
        timers::cancel(tx, &loaded.id, Some(&t.from_stage), now).await?;
        arm_stage(tx, loaded, &t.to_stage, now).await?;
    }
    Ok(version)
}

async fn record_steps(
    tx: &mut Tx,
    def: &WorkflowDef,
    id: &str,
    t: &Transition,
    assignee_id: Option<&str>,
    cause: &Cause<'_>,
    now: Millis,
) -> Result<(), sqlx::Error> {
    let last = t.steps.len().saturating_sub(1);
    // Approvals and re-openings name the text they concern (read once, after any edit
    // this transaction made).
    let pins_text = |action: &str| action == Builtin::Approve.as_str() || action == REOPEN;
    let text = match t.steps.iter().any(|s| pins_text(&s.action)) {
        true => current_text(tx, id).await?,
        false => None,
    };
    for (i, step) in t.steps.iter().enumerate() {
        let pinned = text.as_ref().filter(|_| pins_text(&step.action));
        let event = NewEvent {
            dictation_id: id,
            at: now,
            actor_id: if step.automatic { None } else { cause.actor_id },
            action: &step.action,
            from_status: def.status_of(&step.from).map(|s| s.as_str()),
            to_status: def.status_of(&step.to).map(|s| s.as_str()),
            from_stage: Some(step.from.as_str()).filter(|s| !s.is_empty()),
            to_stage: Some(&step.to),
            assignee_id: if i == last { assignee_id } else { None },
            comment: if i == 0 { cause.comment } else { None },
            draft_version: pinned.map(|(version, _)| *version),
            text_sha256: pinned.map(|(_, sha)| sha.as_str()),
        };
        history::insert(tx, &event).await?;
    }
    Ok(())
}

/// Tells the new holder of a letter returned or reassigned to them, unless they did it
/// themselves. The message names the letter by id (a return's comment stays in the
/// letter's history: it may be clinical).
async fn notify_holder(
    tx: &mut Tx,
    loaded: &Loaded,
    t: &Transition,
    assignee_id: Option<&str>,
    cause: &Cause<'_>,
    now: Millis,
) -> Result<(), sqlx::Error> {
    let Some(to) = assignee_id else { return Ok(()) };
    if Some(to) == cause.actor_id || loaded.state.assignee == t.assignee {
        return Ok(());
    }
    let (kind, what) = match t.steps.first().map(|s| s.action.as_str()) {
        Some(a) if a == Builtin::Return.as_str() => ("returned", "was returned to you with a comment"),
        Some(a) if a == Builtin::Reassign.as_str() => ("reassigned", "was reassigned to you"),
        _ => return Ok(()),
    };
    let message = format!("{} dictation {}: {what} (now in stage `{}`)", loaded.priority, loaded.id, t.to_stage);
    let n = NewNotification {
        user_id: to,
        dictation_id: Some(&loaded.id),
        timer_id: None,
        kind,
        stage: Some(&t.to_stage),
        message: &message,
        late: false,
    };
    notifications::insert(tx, &n, now).await
}

/// The letter's current draft version and the SHA-256 (hex) of its text.
async fn current_text(tx: &mut Tx, id: &str) -> Result<Option<(i64, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT version, text FROM drafts WHERE dictation_id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| {
        let text: String = r.try_get("text")?;
        Ok((r.try_get("version")?, hex::encode(Sha256::digest(text.as_bytes()))))
    })
    .transpose()
}

/// Closes the visit the letter's latest step opened, and the zero-length visits of the
/// automatic steps passed through now.
async fn record_stage_times(tx: &mut Tx, loaded: &Loaded, t: &Transition, now: Millis) -> Result<(), sqlx::Error> {
    if loaded.stage_mark.is_none() && t.steps.len() < 2 {
        return Ok(());
    }
    let cal = calendar_in(tx, &loaded.def.calendar).await?;
    let mut mark = loaded.stage_mark.clone();
    for step in &t.steps {
        if let Some((entered, stage)) = mark.take() {
            let left = stage != step.to;
            let letter = stage_times::Letter {
                id: &loaded.id,
                received_at: loaded.created_at,
                clinician_id: &loaded.clinician_id,
            };
            stage_times::add_visit(tx, &cal, letter, &stage, (entered, now), left).await?;
        }
        mark = Some((now, step.to.clone()));
    }
    Ok(())
}

/// Arms the warning and breach timers of a stage target, if the stage has one.
pub async fn arm_stage(tx: &mut Tx, loaded: &Loaded, stage: &str, now: Millis) -> Result<(), sqlx::Error> {
    let Some((target, warn)) = loaded.def.sla_target(loaded.priority, Some(stage)) else { return Ok(()) };
    let cal = calendar_in(tx, &loaded.def.calendar).await?;
    let (warn_at, breach_at) = deadlines(&cal, from_ms(now), target, warn);
    timers::arm(tx, &loaded.id, "warning", stage, ms(warn_at), now).await?;
    timers::arm(tx, &loaded.id, "breach", stage, ms(breach_at), now).await?;
    Ok(())
}

pub fn ms(t: DateTime<chrono::Utc>) -> Millis {
    t.timestamp_millis()
}
