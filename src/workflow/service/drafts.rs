//! The letter text: version 1 from recognition, then each save is the next version,
//! accepted only on top of the latest (`base_version`), and kept in `draft_versions`.
//! Editing an approved letter sends it back for approval in the same transaction: an
//! approval covers the text it approved (its hash is in the history), not a later one.

use sqlx::Row;

use super::assign::{after, auto_assign};
use super::persist::{self, Cause};
use super::state::{Loaded, load};
use super::{ServiceError, ServiceResult};
use crate::auth::policy::{self, Permission};
use crate::clock::{Clock, Millis, rfc3339};
use crate::storage::users::User;
use crate::storage::{Db, Tx};
use crate::workflow::{StageKind, Status, Transition, TransitionError, reopen_for_approval};

/// The largest letter accepted (characters).
pub const MAX_DRAFT_CHARS: usize = 200_000;

/// Stores the recognition draft as version 1 unless a draft exists.
pub async fn insert_first(tx: &mut Tx, id: &str, text: &str, now: Millis) -> Result<(), sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO drafts (dictation_id, version, text, updated_at, updated_by) VALUES ($1, 1, $2, $3, NULL) \
         ON CONFLICT (dictation_id) DO NOTHING",
    )
    .bind(id)
    .bind(text)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() > 0 {
        sqlx::query(
            "INSERT INTO draft_versions (dictation_id, version, text, created_at, created_by) VALUES ($1, 1, $2, $3, NULL)",
        )
        .bind(id)
        .bind(text)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A saved draft as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Draft {
    pub version: i64,
    pub text: String,
    pub updated_at: String,
    pub updated_by: String,
}

/// Saves `text` as the next version on top of `base_version` (0 when there is no draft yet),
/// with the audit entry `audit` builds (if any) in the same transaction.
pub async fn save(
    db: &Db,
    clock: &Clock,
    user: &User,
    id: &str,
    text: &str,
    base_version: i64,
    audit: impl FnOnce(&Draft) -> Option<crate::audit::NewEntry>,
) -> ServiceResult<Draft> {
    if text.chars().count() > MAX_DRAFT_CHARS {
        return Err(ServiceError::Invalid("text", format!("a letter has at most {MAX_DRAFT_CHARS} characters")));
    }
    let now = clock.now_ms();
    let mut tx = db.begin_write().await?;
    let loaded = load(&mut tx, id).await?.ok_or(ServiceError::NotFound)?;
    let is_holder = loaded.state.assignee.as_deref() == Some(user.username.as_str());
    let is_clinician = loaded.state.clinician == user.username;
    if !(is_holder || is_clinician || policy::can(user, Permission::SuperviseWork)) {
        return Err(ServiceError::Forbidden(
            "only the holder of the letter, its clinician or a team lead may edit it".into(),
        ));
    }
    let stage = loaded.def.stage(&loaded.state.stage);
    if stage.is_none_or(|s| s.kind == StageKind::Terminal) {
        return Err(crate::workflow::TransitionError::InvalidTransition {
            stage: loaded.state.stage.clone(),
            action: "edit".into(),
            reason: "the letter is finished".into(),
        }
        .into());
    }
    let current: i64 = sqlx::query("SELECT version FROM drafts WHERE dictation_id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("version"))
        .transpose()?
        .unwrap_or(0);
    if base_version != current {
        return Err(ServiceError::VersionConflict(format!(
            "the draft is at version {current}, not {base_version}; reload it and apply your changes again"
        )));
    }
    let reopen = reopening(&mut tx, &loaded).await?;
    let next = current + 1;
    sqlx::query(
        "INSERT INTO drafts (dictation_id, version, text, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (dictation_id) DO UPDATE SET version = excluded.version, text = excluded.text, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(id)
    .bind(next)
    .bind(text)
    .bind(now)
    .bind(&user.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO draft_versions (dictation_id, version, text, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(next)
    .bind(text)
    .bind(now)
    .bind(&user.id)
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_or(e, current))?;
    let draft =
        Draft { version: next, text: text.to_string(), updated_at: rfc3339(now), updated_by: user.username.clone() };
    if let Some(t) = &reopen {
        // After the new version is written: the history pins the edited text's hash.
        let cause = Cause { actor_id: Some(&user.id), comment: Some("edited after approval; sent back for approval") };
        let version = persist::apply(&mut tx, &loaded, t, &cause, now).await?;
        auto_assign(&mut tx, &after(&loaded, t, version, now), now, None).await?;
    }
    // The audit entry commits with the edit: neither exists without the other.
    if let Some(entry) = audit(&draft) {
        crate::audit::store::append(&mut tx, db.backend, &entry, now).await?;
    }
    tx.commit().await?;
    if reopen.is_some() {
        crate::webhooks::deliver::wake();
        super::scheduler::wake();
    }
    Ok(draft)
}

/// For an approved letter, the move back to the stage where it is approved (the one its
/// last approval came from); refused when its workflow has none.
async fn reopening(tx: &mut Tx, loaded: &Loaded) -> ServiceResult<Option<Transition>> {
    if loaded.def.status_of(&loaded.state.stage) != Some(Status::Approved) {
        return Ok(None);
    }
    let approved_from: Option<String> = sqlx::query_scalar(
        "SELECT from_stage FROM events WHERE dictation_id = $1 AND action = 'approve' ORDER BY at DESC, id DESC LIMIT 1",
    )
    .bind(&loaded.id)
    .fetch_optional(&mut **tx)
    .await?
    .flatten();
    let t = reopen_for_approval(&loaded.def, &loaded.state, approved_from.as_deref()).ok_or_else(|| {
        TransitionError::InvalidTransition {
            stage: loaded.state.stage.clone(),
            action: "edit".into(),
            reason: "the letter is approved and its workflow has no approval stage to send it back to".into(),
        }
    })?;
    Ok(Some(t))
}

fn conflict_or(e: sqlx::Error, current: i64) -> ServiceError {
    if crate::storage::is_unique_violation(&e) {
        ServiceError::VersionConflict(format!("the draft moved past version {current} meanwhile; reload it"))
    } else {
        e.into()
    }
}
