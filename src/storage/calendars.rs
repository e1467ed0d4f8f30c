//! Local closures a super-user adds to a working calendar (a hospital closure day, a
//! local holiday), kept in the database and merged with the shipped bank holidays.

use chrono::NaiveDate;
use sqlx::Row;

use super::{Db, Tx};
use crate::clock::Millis;

/// A stored closure.
#[derive(Debug, Clone)]
pub struct Closure {
    pub day: NaiveDate,
    pub reason: String,
    pub created_at: Millis,
    pub created_by: Option<String>,
}

const DAY: &str = "%Y-%m-%d";

fn closures_of(rows: &[sqlx::any::AnyRow]) -> Result<Vec<Closure>, sqlx::Error> {
    rows.iter()
        .map(|r| {
            let day: String = r.try_get("day")?;
            Ok(Closure {
                day: NaiveDate::parse_from_str(&day, DAY).map_err(|e| sqlx::Error::Decode(e.into()))?,
                reason: r.try_get("reason")?,
                created_at: r.try_get("created_at")?,
                created_by: r.try_get("created_by")?,
            })
        })
        .collect()
}

const SELECT: &str = "SELECT c.day, c.reason, c.created_at, u.username AS created_by FROM calendar_closures c \
                      LEFT JOIN users u ON u.id = c.created_by WHERE c.calendar = $1 ORDER BY c.day";

/// A calendar's closures, in date order.
pub async fn list(db: &Db, calendar: &str) -> Result<Vec<Closure>, sqlx::Error> {
    let rows = sqlx::query(SELECT).bind(calendar).fetch_all(&db.pool).await?;
    closures_of(&rows)
}

/// The same, inside a transaction (when due times are computed).
pub async fn list_in(tx: &mut Tx, calendar: &str) -> Result<Vec<Closure>, sqlx::Error> {
    let rows = sqlx::query(SELECT).bind(calendar).fetch_all(&mut **tx).await?;
    closures_of(&rows)
}

/// Adds closures (a day already closed takes the new reason); returns the rows written.
pub async fn add(
    db: &Db,
    calendar: &str,
    days: &[NaiveDate],
    reason: &str,
    user_id: &str,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let mut added = 0;
    for day in days {
        let done = sqlx::query(
            "INSERT INTO calendar_closures (calendar, day, reason, created_at, created_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (calendar, day) DO UPDATE SET reason = excluded.reason",
        )
        .bind(calendar)
        .bind(day.format(DAY).to_string())
        .bind(reason)
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        added += done.rows_affected();
    }
    tx.commit().await?;
    db.memo.forget_calendar(calendar);
    Ok(added)
}

/// Removes one closure; `false` when there was none.
pub async fn remove(db: &Db, calendar: &str, day: NaiveDate) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM calendar_closures WHERE calendar = $1 AND day = $2")
        .bind(calendar)
        .bind(day.format(DAY).to_string())
        .execute(&db.pool)
        .await?;
    db.memo.forget_calendar(calendar);
    Ok(done.rows_affected() > 0)
}
