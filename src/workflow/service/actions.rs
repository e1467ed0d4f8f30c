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
use crate::workflow::{ActionRequest, Builtin, Status, Transition, apply_action};

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

/// Times a letter is read again when it changed between the read and the write.
const MAX_ATTEMPTS: u32 = 5;

/// Applies the action and returns the transition. The caller has checked that the user
/// may see the dictation (scope); the engine checks that they may take the action. The
/// audit entry `audit` builds from the transition (if any) commits with it.
///
/// The letter, its workflow and its history are read before the write transaction, so
/// that on SQLite they are not read inside the single write turn. The update is guarded
/// by the row version: when the letter changed in between, nothing has been written, and
/// the action is decided again from the letter's new state (or, when the caller named the
/// version it saw, refused as a version conflict).
pub async fn act(
    db: &Db,
    clock: &Clock,
    user: &User,
    id: &str,
    input: &ActionInput,
    audit: impl FnOnce(&Transition) -> Option<crate::audit::NewEntry>,
) -> ServiceResult<Transition> {
    let mut audit = Some(audit);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let loaded = {
            let mut read = db.begin_read().await?;
            let loaded = load(&mut read, id).await?.ok_or(ServiceError::NotFound)?;
            read.commit().await?;
            loaded
        };
        if let Some(v) = input.expected_version.filter(|v| *v != loaded.version) {
            return Err(ServiceError::VersionConflict(format!(
                "the dictation is at version {}, not {v}; reload it",
                loaded.version
            )));
        }
        let mut tx = db.begin_write().await?;
        let now = clock.now_ms();
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
        let version = match persist::apply(&mut tx, &loaded, &t, &cause, now).await {
            // Changed since it was read: nothing is written yet; read it again.
            Err(ServiceError::VersionConflict(_)) if input.expected_version.is_none() && attempt < MAX_ATTEMPTS => {
                continue;
            }
            result => result?,
        };
        let released = loaded.def.stage(&loaded.state.stage).and_then(|s| loaded.def.action(s, &input.action));
        let skip = released.filter(|a| a.builtin == Some(Builtin::Release)).map(|_| user.username.as_str());
        auto_assign(&mut tx, &after(&loaded, &t, version, now), now, skip).await?;
        if matches!(t.new_status, Status::Approved | Status::Dispatched) {
            // Learned from after the commit (`lexicon::learn_store::learn_pending`).
            crate::lexicon::learn_store::enqueue(&mut tx, id, now).await?;
        }
        if let Some(entry) = audit.take().and_then(|audit| audit(&t)) {
            crate::audit::store::append(&mut tx, db.backend, &entry, now).await?;
        }
        tx.commit().await?;
        crate::webhooks::deliver::wake();
        if t.stage_changed {
            super::scheduler::wake();
        }
        return Ok(t);
    }
}
