//! Recognition events from the speech-recognition worker: started, done (the draft is
//! stored as version 1 and the letter moves to its first human stage), failed.
//! An event the letter no longer waits for (cancelled meanwhile, a duplicate delivery)
//! is logged and ignored, so the worker never retries it forever.

use anyhow::Context;

use super::assign::{after, auto_assign};
use super::persist::{self, Cause};
use super::state::load;
use super::{ServiceError, drafts};
use crate::clock::Clock;
use crate::storage::{Db, Tx};
use crate::workflow::{SystemEvent, TransitionError, apply_event};

/// Recognition of `dictation_id` has started.
pub async fn on_recognition_started(db: &Db, clock: &Clock, dictation_id: &str) -> anyhow::Result<()> {
    deliver(db, clock, dictation_id, SystemEvent::RecognitionStarted, None, None).await
}

/// Recognition finished: stores `draft_text` as draft version 1 and moves the letter on.
pub async fn on_recognition_done(db: &Db, clock: &Clock, dictation_id: &str, draft_text: &str) -> anyhow::Result<()> {
    deliver(db, clock, dictation_id, SystemEvent::RecognitionDone, Some(draft_text), None).await
}

/// Recognition failed for good; `reason` goes into the history and `failure_reason`.
pub async fn on_recognition_failed(db: &Db, clock: &Clock, dictation_id: &str, reason: &str) -> anyhow::Result<()> {
    deliver(db, clock, dictation_id, SystemEvent::RecognitionFailed, None, Some(reason)).await
}

async fn deliver(
    db: &Db,
    clock: &Clock,
    id: &str,
    event: SystemEvent,
    draft: Option<&str>,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    let now = clock.now_ms();
    let mut tx = db.begin_write().await?;
    apply_in(&mut tx, id, event, draft, reason, now).await?;
    tx.commit().await?;
    super::scheduler::wake();
    Ok(())
}

/// Applies a recognition event inside the caller's transaction (the worker
/// commits it together with the job's completion, so it happens exactly once).
/// Call `scheduler::wake()` after committing.
pub async fn apply_in(
    tx: &mut Tx,
    id: &str,
    event: SystemEvent,
    draft: Option<&str>,
    reason: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    let loaded = load(tx, id).await?.with_context(|| format!("no dictation {id}"))?;
    if let Some(text) = draft {
        drafts::insert_first(tx, id, text, now).await?;
    }
    let t = match apply_event(&loaded.def, &loaded.state, event) {
        Ok(t) => t,
        Err(e @ TransitionError::InvalidTransition { .. }) => {
            tracing::warn!(dictation = %id, %event, error = %e, "recognition event ignored");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(reason) = reason {
        sqlx::query("UPDATE dictations SET failure_reason = $1 WHERE id = $2")
            .bind(reason)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    let cause = Cause { actor_id: None, comment: reason };
    let version = persist::apply(tx, &loaded, &t, &cause, now).await.map_err(service)?;
    auto_assign(tx, &after(&loaded, &t, version, now), now, None).await.map_err(service)?;
    tracing::info!(dictation = %id, %event, stage = %t.to_stage, "recognition event applied");
    Ok(())
}

fn service(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Internal(e) => e,
        other => anyhow::anyhow!(other.to_string()),
    }
}
