//! Personal settings kept on the server, one JSON document per user and name (the foot
//! pedal set-up), so they follow the user from one workstation to the next.

use sqlx::Row;

use super::Db;
use crate::clock::Millis;

/// The user's setting `name` (JSON text), if saved.
pub async fn get(db: &Db, user_id: &str, name: &str) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT value FROM user_settings WHERE user_id = $1 AND name = $2")
        .bind(user_id)
        .bind(name)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| r.try_get("value")).transpose()
}

/// Saves the user's setting `name` (JSON text), replacing what was there.
pub async fn put(db: &Db, user_id: &str, name: &str, value: &str, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_settings (user_id, name, value, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(name)
    .bind(value)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}
