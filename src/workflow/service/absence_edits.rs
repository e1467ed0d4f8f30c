//! Absences after they are recorded: listed (a period, or one day: who is away and who
//! covers them), edited and cancelled. An absence ahead is changed freely (its start
//! timer follows); one that has begun keeps its start, may end earlier or later, and is
//! cancelled by ending it now (letters already moved stay with their cover). Each change
//! is audited in the transaction that makes it.

use serde::Serialize;
use sqlx::Row;

use super::absences::{Applied, absent_user, apply_in, cover_of};
use super::{ServiceError, ServiceResult};
use crate::audit::NewEntry;
use crate::clock::{Clock, Millis, rfc3339};
use crate::domain::Role;
use crate::storage::users::User;
use crate::storage::{Db, Tx};

/// An absence as listed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Absence {
    pub id: String,
    pub user: String,
    pub cover: Option<String>,
    pub from: String,
    pub to: String,
    pub created_by: String,
    /// `ahead`, `current` or `ended`.
    pub state: &'static str,
}

/// Absences overlapping `[from, to)` of the people in `lead`'s teams (super-users:
/// everyone's), by start.
pub async fn list(db: &Db, lead: &User, from: Millis, to: Millis, now: Millis) -> anyhow::Result<Vec<Absence>> {
    let all = lead.role == Role::Superuser;
    let rows = sqlx::query(
        "SELECT a.id, u.username AS absent, c.username AS cover, l.username AS lead, a.from_at, a.to_at \
         FROM absences a JOIN users u ON u.id = a.user_id LEFT JOIN users c ON c.id = a.cover_id \
         JOIN users l ON l.id = a.created_by \
         WHERE a.from_at < $2 AND a.to_at > $1 AND ($3 = 1 OR a.user_id IN (SELECT m2.user_id FROM team_members m1 \
           JOIN team_members m2 ON m1.team_id = m2.team_id WHERE m1.user_id = $4)) \
         ORDER BY a.from_at, u.username, a.id",
    )
    .bind(from)
    .bind(to)
    .bind(i64::from(all))
    .bind(&lead.id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let (from_at, to_at): (Millis, Millis) = (r.try_get("from_at")?, r.try_get("to_at")?);
            Ok(Absence {
                id: r.try_get("id")?,
                user: r.try_get("absent")?,
                cover: r.try_get("cover")?,
                from: rfc3339(from_at),
                to: rfc3339(to_at),
                created_by: r.try_get("lead")?,
                state: state_of(from_at, to_at, now),
            })
        })
        .collect()
}

fn state_of(from: Millis, to: Millis, now: Millis) -> &'static str {
    if to <= now {
        "ended"
    } else if from <= now {
        "current"
    } else {
        "ahead"
    }
}

/// A change to an absence; `None` leaves a field as it is. `cover: Some(None)` removes it.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub cover: Option<Option<String>>,
}

struct Stored {
    user: String,
    from: Millis,
    to: Millis,
    cover: Option<String>,
}

/// The absence `id` if it concerns someone in `lead`'s teams.
async fn stored(tx: &mut Tx, lead: &User, id: &str) -> ServiceResult<Stored> {
    let row = sqlx::query(
        "SELECT u.username, a.from_at, a.to_at, c.username AS cover FROM absences a JOIN users u ON u.id = a.user_id \
         LEFT JOIN users c ON c.id = a.cover_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ServiceError::NotFound)?;
    let s = Stored {
        user: row.try_get("username")?,
        from: row.try_get("from_at")?,
        to: row.try_get("to_at")?,
        cover: row.try_get("cover")?,
    };
    // Someone outside the lead's teams: as if it did not exist.
    absent_user(tx, lead, &s.user).await.map_err(|_| ServiceError::NotFound)?;
    Ok(s)
}

/// What an edit did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Edited {
    pub id: String,
    pub from: String,
    pub to: String,
    pub cover: Option<String>,
    /// When the edit made the absence start now: the letters moved.
    pub applied: Option<Applied>,
}

/// Edits the absence `id` (see the module's rules).
pub async fn update(
    db: &Db,
    clock: &Clock,
    lead: &User,
    id: &str,
    change: &Change,
    audit: impl FnOnce(&Edited) -> Option<NewEntry>,
) -> ServiceResult<Edited> {
    let now = clock.now_ms();
    let mut tx = db.begin_write().await?;
    let old = stored(&mut tx, lead, id).await?;
    if old.to <= now {
        return Err(ServiceError::Invalid("to", "this absence has ended and can no longer change".into()));
    }
    let started = old.from <= now;
    if started && change.from.is_some_and(|f| f != old.from) {
        return Err(ServiceError::Invalid("from", "this absence has started: change its end, or cancel it".into()));
    }
    let from = change.from.unwrap_or(old.from);
    let to = change.to.unwrap_or(old.to);
    if to <= from {
        return Err(ServiceError::Invalid("to", "`to` must be after `from`".into()));
    }
    if to <= now {
        return Err(ServiceError::Invalid(
            "to",
            "`to` must be in the future; to end the absence now, cancel it".into(),
        ));
    }
    let cover = change.cover.clone().unwrap_or(old.cover);
    let cover_id = cover_of(&mut tx, lead, &old.user, cover.as_deref()).await?;
    sqlx::query("UPDATE absences SET from_at = $2, to_at = $3, cover_id = $4 WHERE id = $1")
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(&cover_id)
        .execute(&mut *tx)
        .await?;
    let mut edited = Edited { id: id.to_string(), from: rfc3339(from), to: rfc3339(to), cover, applied: None };
    if !started {
        if from <= now {
            cancel_start(&mut tx, id, now).await?;
            edited.applied = Some(apply_in(&mut tx, id, now).await?);
        } else {
            sqlx::query(
                "UPDATE timers SET due_at = $2 WHERE absence_id = $1 AND kind = 'absence_start' \
                 AND fired_at IS NULL AND cancelled_at IS NULL",
            )
            .bind(id)
            .bind(from)
            .execute(&mut *tx)
            .await?;
        }
    }
    if let Some(entry) = audit(&edited) {
        crate::audit::store::append(&mut tx, db.backend, &entry, now).await?;
    }
    tx.commit().await?;
    super::scheduler::wake();
    Ok(edited)
}

/// Cancels the pending start timer of an absence.
async fn cancel_start(tx: &mut Tx, id: &str, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE timers SET cancelled_at = $2 WHERE absence_id = $1 AND kind = 'absence_start' \
         AND fired_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a cancellation did: `removed` (it had not started) or `ended` (now).
#[derive(Debug, Clone, Serialize)]
pub struct Cancelled {
    pub id: String,
    pub outcome: &'static str,
    pub user: String,
}

/// Cancels the absence `id`: one ahead is removed with its start timer; one under way
/// ends now (letters already moved stay where they are).
pub async fn cancel(
    db: &Db,
    clock: &Clock,
    lead: &User,
    id: &str,
    audit: impl FnOnce(&Cancelled) -> Option<NewEntry>,
) -> ServiceResult<Cancelled> {
    let now = clock.now_ms();
    let mut tx = db.begin_write().await?;
    let old = stored(&mut tx, lead, id).await?;
    if old.to <= now {
        return Err(ServiceError::Invalid("to", "this absence has already ended".into()));
    }
    let outcome = if old.from > now {
        cancel_start(&mut tx, id, now).await?;
        sqlx::query("DELETE FROM absences WHERE id = $1").bind(id).execute(&mut *tx).await?;
        "removed"
    } else {
        sqlx::query("UPDATE absences SET to_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *tx).await?;
        "ended"
    };
    let done = Cancelled { id: id.to_string(), outcome, user: old.user };
    if let Some(entry) = audit(&done) {
        crate::audit::store::append(&mut tx, db.backend, &entry, now).await?;
    }
    tx.commit().await?;
    Ok(done)
}
