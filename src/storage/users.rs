//! Users, teams and credential tokens in the database.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Tx, new_id};
use crate::clock::Millis;
use crate::domain::Role;

#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub teams: Vec<String>,
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: Option<&'a str>,
    pub teams: &'a [String],
}

fn role_of(row: &AnyRow) -> Result<Role, sqlx::Error> {
    let role: String = row.try_get("role")?;
    role.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))
}

pub async fn insert_user(tx: &mut Tx, user: &NewUser<'_>, now: Millis) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO users (id, username, display_name, role, password_hash, active, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6)",
    )
    .bind(&id)
    .bind(user.username)
    .bind(user.display_name)
    .bind(user.role.as_str())
    .bind(user.password_hash)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for team in user.teams {
        let team_id = ensure_team(tx, team, now).await?;
        sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(&team_id)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}

/// Returns the team's id, creating it when new.
pub async fn ensure_team(tx: &mut Tx, name: &str, now: Millis) -> Result<String, sqlx::Error> {
    sqlx::query("INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
        .bind(new_id())
        .bind(name)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query("SELECT id FROM teams WHERE name = $1").bind(name).fetch_one(&mut **tx).await?.try_get("id")
}

async fn teams_of(db: &Db, user_id: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT t.name FROM teams t JOIN team_members m ON m.team_id = t.id WHERE m.user_id = $1 ORDER BY t.name",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| r.try_get::<String, _>("name")).collect()
}

async fn user_from_row(db: &Db, row: &AnyRow) -> Result<User, sqlx::Error> {
    let id: String = row.try_get("id")?;
    Ok(User {
        teams: teams_of(db, &id).await?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: role_of(row)?,
        id,
    })
}

/// An active user and their password hash, by username.
pub async fn find_for_login(db: &Db, username: &str) -> Result<Option<(User, Option<String>)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, username, display_name, role, password_hash FROM users WHERE username = $1 AND active = 1",
    )
    .bind(username)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(row) => Ok(Some((user_from_row(db, &row).await?, row.try_get("password_hash")?))),
        None => Ok(None),
    }
}

pub async fn find_by_username(db: &Db, username: &str) -> Result<Option<User>, sqlx::Error> {
    Ok(find_for_login(db, username).await?.map(|(u, _)| u))
}

/// An active user by id.
pub async fn find_active_by_id(db: &Db, id: &str) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query("SELECT id, username, display_name, role FROM users WHERE id = $1 AND active = 1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(row) => Ok(Some(user_from_row(db, &row).await?)),
        None => Ok(None),
    }
}

pub async fn insert_token(
    db: &Db,
    user_id: &str,
    token_hash: &str,
    kind: &str,
    now: Millis,
    expires_at: Option<Millis>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO tokens (id, user_id, token_hash, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(token_hash)
    .bind(kind)
    .bind(now)
    .bind(expires_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The active user a live (unexpired, unrevoked) token belongs to.
pub async fn user_for_token(db: &Db, token_hash: &str, now: Millis) -> Result<Option<User>, sqlx::Error> {
    // The user and their teams in one statement (one row per team, or one with no team):
    // this runs before every authenticated request.
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.display_name, u.role, t.name AS team FROM tokens k \
         JOIN users u ON u.id = k.user_id \
         LEFT JOIN team_members m ON m.user_id = u.id LEFT JOIN teams t ON t.id = m.team_id \
         WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2) \
           AND u.active = 1 \
         ORDER BY t.name",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    let Some(first) = rows.first() else { return Ok(None) };
    let mut teams = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(team) = row.try_get::<Option<String>, _>("team")? {
            teams.push(team);
        }
    }
    Ok(Some(User {
        id: first.try_get("id")?,
        username: first.try_get("username")?,
        display_name: first.try_get("display_name")?,
        role: role_of(first)?,
        teams,
    }))
}

pub async fn revoke_token(db: &Db, token_hash: &str, now: Millis) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(token_hash)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
