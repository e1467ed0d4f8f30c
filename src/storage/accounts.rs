//! User administration in the database: listing (with disabled users), role, display
//! name, disabling (which revokes every token), passwords, team membership, and
//! personal API tokens. The caller owns the transaction where one is taken.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Tx, new_id};
use crate::clock::Millis;
use crate::domain::Role;

/// A user as administrators see them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub display_name: String,
    /// The signature block's grade ("Consultant") and job title ("Consultant ENT Surgeon").
    pub grade: String,
    pub job_title: String,
    pub role: Role,
    pub teams: Vec<String>,
    pub disabled: bool,
    pub created_at: Millis,
}

async fn teams_in(tx: &mut Tx, user_id: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT t.name FROM teams t JOIN team_members m ON m.team_id = t.id WHERE m.user_id = $1 ORDER BY t.name",
    )
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(|r| r.try_get::<String, _>("name")).collect()
}

fn account_of(row: &AnyRow, teams: Vec<String>) -> Result<Account, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(Account {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        grade: row.try_get("grade")?,
        job_title: row.try_get("job_title")?,
        role: role.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))?,
        teams,
        disabled: row.try_get::<i64, _>("active")? == 0,
        created_at: row.try_get("created_at")?,
    })
}

const ACCOUNT_COLUMNS: &str = "id, username, display_name, grade, job_title, role, active, created_at";

pub async fn list(db: &Db) -> Result<Vec<Account>, sqlx::Error> {
    let mut tx = db.begin_read().await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLUMNS} FROM users ORDER BY username")))
        .fetch_all(&mut *tx)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: String = row.try_get("id")?;
        out.push(account_of(row, teams_in(&mut tx, &id).await?)?);
    }
    tx.commit().await?;
    Ok(out)
}

/// One user by id or username.
pub async fn find(tx: &mut Tx, id_or_name: &str) -> Result<Option<Account>, sqlx::Error> {
    let row =
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = $1 OR username = $1")))
            .bind(id_or_name)
            .fetch_optional(&mut **tx)
            .await?;
    match row {
        Some(row) => {
            let id: String = row.try_get("id")?;
            let teams = teams_in(tx, &id).await?;
            Ok(Some(account_of(&row, teams)?))
        }
        None => Ok(None),
    }
}

pub async fn set_role(tx: &mut Tx, user_id: &str, role: Role) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
        .bind(role.as_str())
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_display_name(tx: &mut Tx, user_id: &str, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2").bind(name).bind(user_id).execute(&mut **tx).await?;
    Ok(())
}

/// Disables (revoking every live token) or re-enables a user.
pub async fn set_disabled(tx: &mut Tx, user_id: &str, disabled: bool, now: Millis) -> Result<u64, sqlx::Error> {
    sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
        .bind(i64::from(!disabled))
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    if disabled { revoke_all(tx, user_id, None, now).await } else { Ok(0) }
}

/// Revokes the user's live tokens (of one kind, or all); returns how many.
pub async fn revoke_all(tx: &mut Tx, user_id: &str, kind: Option<&str>, now: Millis) -> Result<u64, sqlx::Error> {
    let sql = match kind {
        Some(_) => "UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND kind = $3",
        None => "UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    };
    let mut q = sqlx::query(sql).bind(now).bind(user_id);
    if let Some(k) = kind {
        q = q.bind(k);
    }
    let done = q.execute(&mut **tx).await?;
    Ok(done.rows_affected())
}

pub async fn set_password_hash(tx: &mut Tx, user_id: &str, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A team's id by name.
pub async fn team_id(tx: &mut Tx, name: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT id FROM teams WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()
}

/// Creates a team; `Ok(None)` when the name is taken.
pub async fn create_team(tx: &mut Tx, name: &str, now: Millis) -> Result<Option<String>, sqlx::Error> {
    let id = new_id();
    let done =
        sqlx::query("INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
            .bind(&id)
            .bind(name)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    Ok((done.rows_affected() > 0).then_some(id))
}

/// Adds a member; false when already a member.
pub async fn add_member(tx: &mut Tx, team_id: &str, user_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(team_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes a member; false when not a member.
pub async fn remove_member(tx: &mut Tx, team_id: &str, user_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
        .bind(team_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A team and its members (username, role).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Member {
    pub id: String,
    pub username: String,
    pub role: String,
    pub disabled: bool,
}

pub async fn teams(db: &Db) -> Result<Vec<Team>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT t.id AS team_id, t.name, u.id AS user_id, u.username, u.role, u.active FROM teams t \
         LEFT JOIN team_members m ON m.team_id = t.id LEFT JOIN users u ON u.id = m.user_id \
         ORDER BY t.name, u.username",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out: Vec<Team> = Vec::new();
    for row in &rows {
        let id: String = row.try_get("team_id")?;
        if out.last().is_none_or(|t| t.id != id) {
            out.push(Team { id: id.clone(), name: row.try_get("name")?, members: Vec::new() });
        }
        if let Some(user_id) = row.try_get::<Option<String>, _>("user_id")?
            && let Some(team) = out.last_mut()
        {
            team.members.push(Member {
                id: user_id,
                username: row.try_get("username")?,
                role: row.try_get("role")?,
                disabled: row.try_get::<i64, _>("active")? == 0,
            });
        }
    }
    Ok(out)
}

/// A personal token as its owner sees it (never the secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub name: Option<String>,
    pub kind: String,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
}

pub async fn insert_named_token(
    tx: &mut Tx,
    user_id: &str,
    token_hash: &str,
    name: &str,
    now: Millis,
    expires_at: Option<Millis>,
) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO tokens (id, user_id, token_hash, kind, name, created_at, expires_at) \
         VALUES ($1, $2, $3, 'api', $4, $5, $6)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(token_hash)
    .bind(name)
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The user's live API tokens, newest first.
pub async fn live_api_tokens(db: &Db, user_id: &str, now: Millis) -> Result<Vec<TokenInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, kind, created_at, expires_at FROM tokens WHERE user_id = $1 AND kind = 'api' \
         AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at DESC, id DESC",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TokenInfo {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .collect()
}

/// Revokes one of the user's API tokens; false when there is no such live token of theirs.
pub async fn revoke_api_token(tx: &mut Tx, user_id: &str, token_id: &str, now: Millis) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND kind = 'api' AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(token_id)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Keeps a single sign-on login in progress until its callback.
pub async fn save_oidc_login(
    db: &Db,
    state: &str,
    nonce: &str,
    verifier: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    // Logins never completed are dropped after a day.
    sqlx::query("DELETE FROM oidc_logins WHERE created_at < $1").bind(now - 86_400_000).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO oidc_logins (state, nonce, verifier, created_at) VALUES ($1, $2, $3, $4)")
        .bind(state)
        .bind(nonce)
        .bind(verifier)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Takes (once) the login with `state` if it began after `since`: (nonce, verifier).
pub async fn take_oidc_login(db: &Db, state: &str, since: Millis) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query("DELETE FROM oidc_logins WHERE state = $1 RETURNING nonce, verifier, created_at")
        .bind(state)
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(r) if r.try_get::<i64, _>("created_at")? >= since => {
            Ok(Some((r.try_get("nonce")?, r.try_get("verifier")?)))
        }
        _ => Ok(None),
    }
}
