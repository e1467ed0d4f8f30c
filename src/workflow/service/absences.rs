//! Absence and cover: a team lead records that a user is away (from, to, optional
//! cover). When the absence starts (now, or by its timer later) the user's open letters
//! go to the cover or back to their pool; auto-assignment skips them while away.

use sqlx::Row;

use super::assign::{after, auto_assign};
use super::persist::{self, Cause};
use super::state::{actor_by_username, load};
use super::{ServiceError, ServiceResult};
use crate::clock::{Clock, Millis};
use crate::storage::users::User;
use crate::storage::{Db, Tx, new_id, timers};
use crate::workflow::{ActionRequest, Builtin, apply_action};

#[derive(Debug, Clone)]
pub struct NewAbsence {
    pub user: String,
    pub from: Millis,
    pub to: Millis,
    pub cover: Option<String>,
}

/// What starting an absence did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Applied {
    pub absence_id: String,
    /// (dictation id, new holder or `None` for the pool).
    pub moved: Vec<(String, Option<String>)>,
    /// Letters that could not move (e.g. a clinician's review without cover).
    pub kept: Vec<String>,
}

/// Records an absence; applies it at once when it has started. The audit entry `audit`
/// builds from what was done commits with it.
pub async fn create(
    db: &Db,
    clock: &Clock,
    lead: &User,
    a: &NewAbsence,
    audit: impl FnOnce(&Applied) -> Option<crate::audit::NewEntry>,
) -> ServiceResult<Applied> {
    if a.to <= a.from {
        return Err(ServiceError::Invalid("to", "`to` must be after `from`".into()));
    }
    let now = clock.now_ms();
    let mut tx = db.begin_write().await?;
    let user_id = absent_user(&mut tx, lead, &a.user).await?;
    let cover_id = cover_of(&mut tx, lead, &a.user, a.cover.as_deref()).await?;
    let id = new_id();
    sqlx::query(
        "INSERT INTO absences (id, user_id, from_at, to_at, cover_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&user_id)
    .bind(a.from)
    .bind(a.to)
    .bind(&cover_id)
    .bind(&lead.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let applied = if a.from <= now {
        apply_in(&mut tx, &id, now).await?
    } else {
        timers::arm_absence(&mut tx, &id, a.from, now).await?;
        Applied { absence_id: id.clone(), ..Default::default() }
    };
    if let Some(entry) = audit(&applied) {
        crate::audit::store::append(&mut tx, db.backend, &entry, now).await?;
    }
    tx.commit().await?;
    super::scheduler::wake();
    Ok(applied)
}

/// The id of the active user `username`, who must be in one of `lead`'s teams.
pub(super) async fn absent_user(tx: &mut Tx, lead: &User, username: &str) -> ServiceResult<String> {
    let (user_id, absent) = actor_by_username(tx, username)
        .await?
        .ok_or_else(|| ServiceError::Invalid("user", format!("no active user is called {username:?}")))?;
    if !crate::auth::policy::covers_teams(lead, &absent.teams) {
        return Err(ServiceError::Invalid("user", format!("{username} is not in your teams")));
    }
    Ok(user_id)
}

/// The id of the cover `cover` for `absent`: an active user in one of `lead`'s teams, not
/// the absent user themselves.
pub(super) async fn cover_of(
    tx: &mut Tx,
    lead: &User,
    absent: &str,
    cover: Option<&str>,
) -> ServiceResult<Option<String>> {
    let Some(c) = cover else { return Ok(None) };
    if c == absent {
        return Err(ServiceError::Invalid("cover", "nobody covers for themselves".into()));
    }
    let (cover_id, cover) = actor_by_username(tx, c)
        .await?
        .ok_or_else(|| ServiceError::Invalid("cover", format!("no active user is called {c:?}")))?;
    // The cover receives the absent user's letters: a team lead may hand them only
    // to someone in one of the lead's own teams.
    if !crate::auth::policy::covers_teams(lead, &cover.teams) {
        return Err(ServiceError::Invalid("cover", format!("{c} is not in your teams")));
    }
    Ok(Some(cover_id))
}

/// Moves the open letters of the absence's user to the cover, or back to the pool.
pub async fn apply_in(tx: &mut Tx, absence_id: &str, now: Millis) -> anyhow::Result<Applied> {
    let row = sqlx::query(
        "SELECT a.user_id, a.to_at, c.username AS cover, l.username AS lead FROM absences a \
         LEFT JOIN users c ON c.id = a.cover_id JOIN users l ON l.id = a.created_by WHERE a.id = $1",
    )
    .bind(absence_id)
    .fetch_one(&mut **tx)
    .await?;
    let mut applied = Applied { absence_id: absence_id.to_string(), ..Default::default() };
    if row.try_get::<i64, _>("to_at")? <= now {
        return Ok(applied);
    }
    let user_id: String = row.try_get("user_id")?;
    let cover: Option<String> = row.try_get("cover")?;
    let lead_name: String = row.try_get("lead")?;
    let Some((lead_id, lead)) = actor_by_username(tx, &lead_name).await? else { return Ok(applied) };
    let open = sqlx::query("SELECT id FROM dictations WHERE assignee_id = $1 AND finished_at IS NULL ORDER BY due_at")
        .bind(&user_id)
        .fetch_all(&mut **tx)
        .await?;
    for r in open {
        let id: String = r.try_get("id")?;
        match move_one(tx, &id, &lead_id, &lead, cover.as_deref(), now).await {
            Ok(holder) => applied.moved.push((id, holder)),
            Err(e) => {
                tracing::info!(dictation = %id, error = %e, "letter kept with the absent user");
                applied.kept.push(id);
            }
        }
    }
    Ok(applied)
}

/// Reassigns one letter to `cover` (or releases it) on behalf of the team lead.
async fn move_one(
    tx: &mut Tx,
    id: &str,
    lead_id: &str,
    lead: &crate::workflow::Actor,
    cover: Option<&str>,
    now: Millis,
) -> anyhow::Result<Option<String>> {
    let loaded = load(tx, id).await?.ok_or_else(|| anyhow::anyhow!("no dictation {id}"))?;
    let mut attempt = None;
    if let Some(c) = cover
        && let Some((_, cover_actor)) = actor_by_username(tx, c).await?
    {
        let request = ActionRequest {
            action: Builtin::Reassign.as_str().into(),
            assignee: Some(cover_actor),
            ..Default::default()
        };
        attempt = apply_action(&loaded.def, &loaded.state, lead, &request).ok();
    }
    let t = match attempt {
        Some(t) => t,
        None => {
            let request = ActionRequest { action: Builtin::Release.as_str().into(), ..Default::default() };
            apply_action(&loaded.def, &loaded.state, lead, &request)?
        }
    };
    let cause = Cause { actor_id: Some(lead_id), comment: Some("absence cover") };
    let version = persist::apply(tx, &loaded, &t, &cause, now).await.map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let skip = loaded.state.assignee.clone();
    auto_assign(tx, &after(&loaded, &t, version, now), now, skip.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    Ok(t.assignee)
}
