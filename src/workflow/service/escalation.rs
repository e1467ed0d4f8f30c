//! What a fired timer does: a warning or breach notifies the people the workflow's
//! `escalation` names (team leads of the letter's teams, super-users, named teams and
//! users) in-app, and moves the letter's SLA state; an absence start moves work.

use sqlx::Row;

use super::state::load;
use crate::clock::{Millis, rfc3339};
use crate::storage::notifications::{self, NewNotification};
use crate::storage::timers::Claimed;
use crate::storage::{Tx, webhooks};
use crate::workflow::Notify;

/// Acts on one claimed timer inside the claiming transaction.
pub async fn handle(tx: &mut Tx, timer: &Claimed, now: Millis) -> anyhow::Result<usize> {
    match (timer.kind.as_str(), &timer.dictation_id, &timer.absence_id) {
        ("warning" | "breach", Some(id), _) => escalate(tx, timer, id, now).await,
        ("absence_start", _, Some(absence)) => super::absences::apply_in(tx, absence, now).await.map(|r| r.moved.len()),
        _ => {
            tracing::warn!(timer = %timer.id, kind = %timer.kind, "timer of unknown kind ignored");
            Ok(0)
        }
    }
}

async fn escalate(tx: &mut Tx, timer: &Claimed, id: &str, now: Millis) -> anyhow::Result<usize> {
    let Some(loaded) = load(tx, id).await? else { return Ok(0) };
    let breach = timer.kind == "breach";
    if timer.scope.is_empty() {
        // A breach overrides any state; a warning only moves a letter still on track.
        sqlx::query(
            "UPDATE dictations SET sla_state = $1 WHERE id = $2 AND finished_at IS NULL \
             AND (sla_state IS NULL OR sla_state = 'on_track' OR $1 = 'breached')",
        )
        .bind(if breach { "breached" } else { "warning" })
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    let notify = if breach { &loaded.def.escalation.breach } else { &loaded.def.escalation.warning };
    let recipients = recipients(tx, notify, &loaded.clinician_id, loaded.state.pool.as_deref()).await?;
    let what = if timer.scope.is_empty() { "the letter".to_string() } else { format!("stage `{}`", timer.scope) };
    let verb = if breach { "breached its turnaround target" } else { "is approaching its turnaround target" };
    let late = if timer.late { " (notified late)" } else { "" };
    let message = format!(
        "{} dictation {id}: {what} {verb} (due {}; now in stage `{}`){late}",
        loaded.priority,
        rfc3339(if breach { timer.due_at } else { loaded.due_at.unwrap_or(timer.due_at) }),
        loaded.state.stage,
    );
    for user_id in &recipients {
        let n = NewNotification {
            user_id,
            dictation_id: Some(id),
            timer_id: Some(&timer.id),
            kind: &timer.kind,
            stage: Some(&timer.scope).filter(|s| !s.is_empty()).map(String::as_str),
            message: &message,
            late: timer.late,
        };
        notifications::insert(tx, &n, now).await?;
    }
    let event = crate::webhooks::SlaEvent {
        timer_id: &timer.id,
        breach,
        dictation_id: id,
        priority: loaded.priority.as_str(),
        scope: Some(timer.scope.as_str()).filter(|s| !s.is_empty()),
        current_stage: &loaded.state.stage,
        assignee: loaded.state.assignee.as_deref(),
        due_at: timer.due_at,
        late: timer.late,
    };
    let name = if breach { crate::webhooks::SLA_BREACH } else { crate::webhooks::SLA_WARNING };
    let payload = || crate::webhooks::sla_payload(&event, now).to_string();
    webhooks::enqueue(tx, name, &format!("timer:{}", timer.id), payload, now).await?;
    tracing::info!(dictation = %id, kind = %timer.kind, scope = %timer.scope, late = timer.late,
        recipients = recipients.len(), "escalation fired");
    Ok(recipients.len())
}

/// User ids to notify: each role among the users sharing a team with the clinician or
/// in the pool (super-users wherever they are), each team's members, each named user.
async fn recipients(
    tx: &mut Tx,
    notify: &Notify,
    clinician_id: &str,
    pool: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for role in &notify.roles {
        let rows = sqlx::query(
            "SELECT u.id FROM users u WHERE u.active = 1 AND u.role = $1 AND (u.role = 'superuser' \
             OR EXISTS (SELECT 1 FROM team_members m1 JOIN team_members m2 ON m1.team_id = m2.team_id \
                        WHERE m1.user_id = u.id AND m2.user_id = $2) \
             OR EXISTS (SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id \
                        WHERE m.user_id = u.id AND t.name = $3))",
        )
        .bind(role)
        .bind(clinician_id)
        .bind(pool.unwrap_or(""))
        .fetch_all(&mut **tx)
        .await?;
        for r in rows {
            out.push(r.try_get("id")?);
        }
    }
    for team in &notify.teams {
        let rows = sqlx::query(
            "SELECT m.user_id FROM team_members m JOIN teams t ON t.id = m.team_id JOIN users u ON u.id = m.user_id \
             WHERE t.name = $1 AND u.active = 1",
        )
        .bind(team)
        .fetch_all(&mut **tx)
        .await?;
        for r in rows {
            out.push(r.try_get("user_id")?);
        }
    }
    for name in &notify.users {
        let row = sqlx::query("SELECT id FROM users WHERE username = $1 AND active = 1")
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(r) = row {
            out.push(r.try_get("id")?);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}
