//! Each user's notification settings: the email address, an email per notification, a
//! daily digest, and the weekly report (on, off, or the role's default).

use sqlx::Row;

use super::{Db, Tx};
use crate::clock::Millis;
use crate::domain::Role;

/// A user's settings; the defaults (no email at all) when never saved.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Settings {
    pub email: String,
    pub email_each: bool,
    pub daily_digest: bool,
    /// `None`: the role's default (see `notify::weekly::receives_by_default`).
    pub weekly_report: Option<bool>,
}

fn flag(v: Option<i64>) -> Option<bool> {
    v.map(|v| v != 0)
}

pub async fn get(db: &Db, user_id: &str) -> Result<Settings, sqlx::Error> {
    let row = sqlx::query(
        "SELECT email, email_each, daily_digest, weekly_report FROM notification_settings WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(Settings::default()) };
    Ok(Settings {
        email: r.try_get("email")?,
        email_each: r.try_get::<i64, _>("email_each")? != 0,
        daily_digest: r.try_get::<i64, _>("daily_digest")? != 0,
        weekly_report: flag(r.try_get("weekly_report")?),
    })
}

/// Saves a user's settings in `tx` (the caller commits them with the audit entry).
pub async fn put(tx: &mut Tx, user_id: &str, s: &Settings, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notification_settings (user_id, email, email_each, daily_digest, weekly_report, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, \
         email_each = excluded.email_each, daily_digest = excluded.daily_digest, \
         weekly_report = excluded.weekly_report, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(&s.email)
    .bind(i64::from(s.email_each))
    .bind(i64::from(s.daily_digest))
    .bind(s.weekly_report.map(i64::from))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An active user and their settings (the defaults when never saved).
#[derive(Debug, Clone)]
pub struct Person {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub settings: Settings,
    pub last_digest_at: Option<Millis>,
}

impl Person {
    /// The user as the permission rules see them (teams are not needed for scope).
    pub fn as_user(&self) -> crate::storage::users::User {
        crate::storage::users::User {
            id: self.user_id.clone(),
            username: self.username.clone(),
            display_name: String::new(),
            role: self.role,
            teams: Vec::new(),
        }
    }
}

/// Every active user with their settings, by username.
pub async fn people(db: &Db) -> Result<Vec<Person>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.role, COALESCE(s.email, '') AS email, COALESCE(s.email_each, 0) AS email_each, \
         COALESCE(s.daily_digest, 0) AS daily_digest, s.weekly_report, s.last_digest_at \
         FROM users u LEFT JOIN notification_settings s ON s.user_id = u.id WHERE u.active = 1 ORDER BY u.username",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let role: String = r.try_get("role")?;
        let Ok(role) = role.parse::<Role>() else { continue };
        out.push(Person {
            user_id: r.try_get("id")?,
            username: r.try_get("username")?,
            role,
            settings: Settings {
                email: r.try_get("email")?,
                email_each: r.try_get::<i64, _>("email_each")? != 0,
                daily_digest: r.try_get::<i64, _>("daily_digest")? != 0,
                weekly_report: flag(r.try_get("weekly_report")?),
            },
            last_digest_at: r.try_get("last_digest_at")?,
        });
    }
    Ok(out)
}

/// Records that a digest covered a user's notifications up to `until`.
pub async fn mark_digested(tx: &mut Tx, user_id: &str, until: Millis) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE notification_settings SET last_digest_at = $1 WHERE user_id = $2")
        .bind(until)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
