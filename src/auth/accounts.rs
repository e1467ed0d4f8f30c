//! User and team administration, shared by the super-user API and the command line:
//! each change is validated, written and audited in one transaction. Disabling a user
//! revokes their tokens; a new password ends their sessions (and, unless asked not to,
//! revokes their API tokens).

use serde_json::json;

use crate::audit::{Who, action, store as audit};
use crate::clock::Millis;
use crate::domain::{Role, validate_username};
use crate::storage::accounts::{self, Account};
use crate::storage::users::{self, NewUser};
use crate::storage::{Db, Tx, is_unique_violation, oidc_subjects};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// (field, message)
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AdminError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

pub const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 1024;

/// Checks and hashes a password (argon2id, off the async runtime).
pub async fn hash_new_password(password: String) -> AdminResult<String> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(AdminError::Invalid(
            "password",
            format!("a password has {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} characters"),
        ));
    }
    let hashed = super::hashing::run(move || super::hash_password(&password)).await.map_err(AdminError::Internal)??;
    Ok(hashed)
}

pub struct CreateUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub teams: Vec<String>,
    pub password: Option<String>,
    /// Create teams that do not exist yet (the command line does; the API refuses).
    pub create_teams: bool,
}

async fn require_teams(tx: &mut Tx, teams: &[String]) -> AdminResult<()> {
    for t in teams {
        if accounts::team_id(tx, t).await?.is_none() {
            return Err(AdminError::Invalid("teams", format!("there is no team named {t:?}")));
        }
    }
    Ok(())
}

pub async fn create_user(db: &Db, who: &Who, u: CreateUser, now: Millis) -> AdminResult<Account> {
    validate_username(&u.username).map_err(|e| AdminError::Invalid("username", e))?;
    if u.display_name.chars().count() > 200 {
        return Err(AdminError::Invalid("display_name", "at most 200 characters".into()));
    }
    let hash = match u.password {
        Some(p) => Some(hash_new_password(p).await?),
        None => None,
    };
    let mut tx = db.begin_write().await?;
    if !u.create_teams {
        require_teams(&mut tx, &u.teams).await?;
    }
    let new = NewUser {
        username: &u.username,
        display_name: &u.display_name,
        role: u.role,
        password_hash: hash.as_deref(),
        teams: &u.teams,
    };
    let id = match users::insert_user(&mut tx, &new, now).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(AdminError::Conflict(format!("a user named {:?} already exists", u.username)));
        }
        Err(e) => return Err(e.into()),
    };
    let details = json!({"username": u.username, "role": u.role, "teams": u.teams});
    audit::append(&mut tx, db.backend, &who.entry(action::USER_CREATE).target("user", &id).details(details), now)
        .await?;
    let account = accounts::find(&mut tx, &id).await?.ok_or(AdminError::NotFound("user"))?;
    tx.commit().await?;
    Ok(account)
}

/// Fields of `PATCH /users/{id}`; `None` leaves a field alone.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub teams: Option<Vec<String>>,
    pub display_name: Option<String>,
    /// The signature block's grade and job title (letters).
    pub grade: Option<String>,
    pub job_title: Option<String>,
}

pub async fn update_user(db: &Db, who: &Who, id_or_name: &str, patch: UserPatch, now: Millis) -> AdminResult<Account> {
    let mut tx = db.begin_write().await?;
    let before = accounts::find(&mut tx, id_or_name).await?.ok_or(AdminError::NotFound("user"))?;
    let is_self = who.actor_id.as_deref() == Some(before.id.as_str());
    if is_self && (patch.disabled == Some(true) || patch.role.is_some_and(|r| r != before.role)) {
        return Err(AdminError::Conflict("you cannot disable or demote yourself; ask another super-user".into()));
    }
    if let Some(name) = &patch.display_name {
        if name.chars().count() > 200 {
            return Err(AdminError::Invalid("display_name", "at most 200 characters".into()));
        }
        accounts::set_display_name(&mut tx, &before.id, name).await?;
    }
    for (field, value) in [("grade", &patch.grade), ("job_title", &patch.job_title)] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 200 || v.chars().any(char::is_control)) {
            return Err(AdminError::Invalid(field, "at most 200 characters, on one line".into()));
        }
    }
    let trim = |v: &Option<String>| v.as_deref().map(str::trim).map(str::to_string);
    let (grade, job_title) = (trim(&patch.grade), trim(&patch.job_title));
    crate::storage::letters::set_signature_fields(&mut tx, &before.id, grade.as_deref(), job_title.as_deref()).await?;
    if let Some(role) = patch.role {
        accounts::set_role(&mut tx, &before.id, role).await?;
    }
    let mut revoked = 0;
    if let Some(disabled) = patch.disabled {
        revoked = accounts::set_disabled(&mut tx, &before.id, disabled, now).await?;
    }
    if let Some(teams) = &patch.teams {
        require_teams(&mut tx, teams).await?;
        for t in &before.teams {
            if !teams.contains(t)
                && let Some(team) = accounts::team_id(&mut tx, t).await?
            {
                accounts::remove_member(&mut tx, &team, &before.id).await?;
            }
        }
        for t in teams {
            if let Some(team) = accounts::team_id(&mut tx, t).await? {
                accounts::add_member(&mut tx, &team, &before.id).await?;
            }
        }
    }
    let after = accounts::find(&mut tx, &before.id).await?.ok_or(AdminError::NotFound("user"))?;
    let details = json!({
        "username": after.username,
        "before": {"role": before.role, "disabled": before.disabled, "teams": before.teams, "display_name": before.display_name,
                   "grade": before.grade, "job_title": before.job_title},
        "after": {"role": after.role, "disabled": after.disabled, "teams": after.teams, "display_name": after.display_name,
                  "grade": after.grade, "job_title": after.job_title},
        "tokens_revoked": revoked,
    });
    let entry = who.entry(action::USER_UPDATE).target("user", &after.id).details(details);
    audit::append(&mut tx, db.backend, &entry, now).await?;
    tx.commit().await?;
    Ok(after)
}

/// What a password reset ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PasswordReset {
    pub sessions_ended: u64,
    pub tokens_revoked: u64,
}

/// Sets a new password and ends the user's login sessions; with `revoke_tokens` (the
/// default of the API and the command line) their API tokens too, since a reset often
/// follows a suspected compromise and a token taken then would outlive it.
pub async fn set_password(
    db: &Db,
    who: &Who,
    id_or_name: &str,
    password: String,
    revoke_tokens: bool,
    now: Millis,
) -> AdminResult<PasswordReset> {
    let hash = hash_new_password(password).await?;
    let mut tx = db.begin_write().await?;
    let user = accounts::find(&mut tx, id_or_name).await?.ok_or(AdminError::NotFound("user"))?;
    accounts::set_password_hash(&mut tx, &user.id, &hash).await?;
    let sessions_ended = accounts::revoke_all(&mut tx, &user.id, Some("session"), now).await?;
    let tokens_revoked =
        if revoke_tokens { accounts::revoke_all(&mut tx, &user.id, Some("api"), now).await? } else { 0 };
    let details = json!({"username": user.username, "sessions_ended": sessions_ended,
        "revoke_tokens": revoke_tokens, "tokens_revoked": tokens_revoked});
    audit::append(
        &mut tx,
        db.backend,
        &who.entry(action::USER_PASSWORD).target("user", &user.id).details(details),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(PasswordReset { sessions_ended, tokens_revoked })
}

/// Removes the user's single sign-on binding (audited); false when there was none.
pub async fn unbind_oidc(db: &Db, who: &Who, id_or_name: &str, now: Millis) -> AdminResult<bool> {
    let mut tx = db.begin_write().await?;
    let user = accounts::find(&mut tx, id_or_name).await?.ok_or(AdminError::NotFound("user"))?;
    let Some(removed) = oidc_subjects::unbind(&mut tx, &user.id).await? else { return Ok(false) };
    let details = json!({"username": user.username, "issuer": removed.issuer, "subject": removed.subject});
    let entry = who.entry(action::USER_OIDC_UNBIND).target("user", &user.id).details(details);
    audit::append(&mut tx, db.backend, &entry, now).await?;
    tx.commit().await?;
    Ok(true)
}

fn validate_team_name(name: &str) -> AdminResult<()> {
    let ok = (1..=64).contains(&name.chars().count())
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ' '))
        && name.trim() == name;
    if ok {
        Ok(())
    } else {
        Err(AdminError::Invalid(
            "name",
            format!("team name {name:?} must be 1-64 letters, digits, '.', '_', '-' or spaces"),
        ))
    }
}

pub async fn create_team(db: &Db, who: &Who, name: &str, now: Millis) -> AdminResult<String> {
    validate_team_name(name)?;
    let mut tx = db.begin_write().await?;
    let id = accounts::create_team(&mut tx, name, now)
        .await?
        .ok_or_else(|| AdminError::Conflict(format!("a team named {name:?} already exists")))?;
    audit::append(
        &mut tx,
        db.backend,
        &who.entry(action::TEAM_CREATE).target("team", &id).details(json!({"name": name})),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds (`add = true`) or removes a member; false when nothing changed.
pub async fn membership(db: &Db, who: &Who, team: &str, user: &str, add: bool, now: Millis) -> AdminResult<bool> {
    let mut tx = db.begin_write().await?;
    let team_id = accounts::team_id(&mut tx, team).await?.ok_or(AdminError::NotFound("team"))?;
    let account = accounts::find(&mut tx, user).await?.ok_or(AdminError::NotFound("user"))?;
    let changed = if add {
        accounts::add_member(&mut tx, &team_id, &account.id).await?
    } else {
        accounts::remove_member(&mut tx, &team_id, &account.id).await?
    };
    if changed {
        let act = if add { action::TEAM_MEMBER_ADD } else { action::TEAM_MEMBER_REMOVE };
        let details = json!({"team": team, "user": account.username});
        audit::append(&mut tx, db.backend, &who.entry(act).target("team", &team_id).details(details), now).await?;
    }
    tx.commit().await?;
    Ok(changed)
}
