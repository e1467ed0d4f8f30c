//! A user's action on a dictation (`claim`, `submit`, `return`, ...): loaded, decided by
//! the engine, written with optimistic concurrency on the row version, then the letter
//! is auto-assigned if it lands unheld in a pool that hands work out.

use super::assign::{after, auto_assign};
use super::persist::{self, Cause};
use super::state::{actor_by_username, actor_of, is_absent, load};
use super::{ServiceError, ServiceResult};
use crate::clock::Clock;
use crate::storage::Db;
use crate::storage::users::User;
use crate::workflow::{ActionRequest, Builtin, Transition, apply_action};

/// What the caller asked for.
#[derive(Debug, Clone, Default)]
pub struct ActionInput {
    pub action: String,
    pub comment: Option<String>,
    /// Username to give the letter to (`reassign`).
    pub assignee: Option<String>,
    /// The row version the caller saw; a mismatch is a version conflict.
    pub expected_version: Option<i64>,
}

/// Applies the action and returns the transition. The caller has checked that the user
/// may see the dictation (scope); the engine checks that they may take the action. The
/// audit entry `audit` builds from the transition (if any) commits with it.
pub async fn act(
    db: &Db,
    clock: &Clock,
    user: &User,
    id: &str,
    input: &ActionInput,
    audit: impl FnOnce(&Transition) -> Option<crate::audit::NewEntry>,
) -> ServiceResult<Transition> {
    let now = clock.now_ms();
    let mut tx = db.begin_write().await?;
    let loaded = load(&mut tx, id).await?.ok_or(ServiceError::NotFound)?;
    if let Some(v) = input.expected_version.filter(|v| *v != loaded.version) {
        return Err(ServiceError::VersionConflict(format!(
            "the dictation is at version {}, not {v}; reload it",
            loaded.version
        )));
    }
    let assignee = match input.assignee.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => {
            let (uid, actor) = actor_by_username(&mut tx, name)
                .await?
                .ok_or_else(|| ServiceError::Invalid("assignee", format!("no active user is called {name:?}")))?;
            if is_absent(&mut tx, &uid, now).await? {
                return Err(ServiceError::Invalid("assignee", format!("{name} is absent; choose their cover")));
            }
            Some(actor)
        }
    };
    let request = ActionRequest { action: input.action.clone(), comment: input.comment.clone(), assignee };
    let t = apply_action(&loaded.def, &loaded.state, &actor_of(user), &request)?;
    let comment = input.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let cause = Cause { actor_id: Some(&user.id), comment };
    let version = persist::apply(&mut tx, &loaded, &t, &cause, now).await?;
    let released = loaded.def.stage(&loaded.state.stage).and_then(|s| loaded.def.action(s, &input.action));
    let skip = released.filter(|a| a.builtin == Some(Builtin::Release)).map(|_| user.username.as_str());
    auto_assign(&mut tx, &after(&loaded, &t, version, now), now, skip).await?;
    if let Some(entry) = audit(&t) {
        crate::audit::store::append(&mut tx, db.backend, &entry, now).await?;
    }
    tx.commit().await?;
    crate::webhooks::deliver::wake();
    if t.stage_changed {
        super::scheduler::wake();
    }
    Ok(t)
}
