//! Login throttling: a sliding window over failed logins per account (reset by a
//! successful login) and per client address, kept in `login_attempts`. An attempt is
//! counted as a failure *before* its password is checked, in the same write transaction
//! as the count that admits it, so concurrent attempts cannot all pass the check, and the
//! limit holds across several server processes sharing the database. A success marks its
//! row afterwards. Throttled attempts are counted by [`super::throttled`].

use sqlx::Row;

use super::throttled;
use crate::clock::Millis;
use crate::config::AuthConfig;
use crate::storage::{Backend, Db, Tx, new_id};

/// Seconds until `times` (newest first) leaves fewer than `max` failures in the window,
/// or `None` when the caller is under the limit.
pub fn retry_after(times: &[Millis], max: u32, window_ms: Millis, now: Millis) -> Option<u64> {
    let max = max as usize;
    if max == 0 || times.len() < max {
        return None;
    }
    // The max-th newest failure is the one whose expiry brings the count under the limit.
    let frees_at = times[max - 1] + window_ms;
    let wait_ms = (frees_at - now).max(1);
    Some(((wait_ms + 999) / 1000) as u64)
}

/// An admitted attempt, already counted as a failure until [`succeeded`] says otherwise.
#[derive(Debug)]
pub struct Reservation(String);

#[derive(Debug)]
pub enum Admission {
    /// Check the password.
    Admitted(Reservation),
    /// Answer 429 with this many seconds to wait; the password is not checked.
    Throttled(u64),
}

/// Admits a login attempt for `username` from `addr` at `now`, or throttles it.
pub async fn admit(
    db: &Db,
    cfg: &AuthConfig,
    username: &str,
    addr: Option<&str>,
    now: Millis,
) -> Result<Admission, sqlx::Error> {
    let window = cfg.login_window_seconds as i64 * 1000;
    let since = now - window;
    let addr = addr.unwrap_or("");
    let mut tx = db.begin_write().await?;
    if db.backend == Backend::Postgres {
        // SQLite's write transaction already excludes other writers. Accounts first, then
        // addresses: no two attempts wait for each other's locks in opposite order.
        lock(&mut tx, 1, username).await?;
        if !addr.is_empty() {
            lock(&mut tx, 2, addr).await?;
        }
    }
    sqlx::query("DELETE FROM login_attempts WHERE at <= $1").bind(since).execute(&mut *tx).await?;
    let max = cfg.login_max_failures_per_account;
    let by_account = account_failures(&mut tx, username, since, max).await?;
    let account_wait = retry_after(&by_account, max, window, now);
    let addr_wait = match addr {
        "" => None,
        addr => {
            let max = cfg.login_max_failures_per_address;
            retry_after(&address_failures(&mut tx, addr, since, max).await?, max, window, now)
        }
    };
    let admission = match account_wait.max(addr_wait) {
        Some(wait) => {
            // Throttled by its address alone: one count for the address, whatever names it
            // tries (an account over its own limit is counted by name).
            let account = if account_wait.is_some() { username } else { "" };
            throttled::count(&mut tx, account, addr, now, window).await?;
            Admission::Throttled(wait)
        }
        None => {
            let id = new_id();
            sqlx::query("INSERT INTO login_attempts (id, account, client_addr, at) VALUES ($1, $2, $3, $4)")
                .bind(&id)
                .bind(username)
                .bind(addr)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            Admission::Admitted(Reservation(id))
        }
    };
    throttled::flush_due(&mut tx, db.backend, now).await?;
    tx.commit().await?;
    Ok(admission)
}

/// The password matched: the attempt is no failure, and it resets the account's count.
pub async fn succeeded(db: &Db, reservation: &Reservation) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE login_attempts SET succeeded = 1 WHERE id = $1").bind(&reservation.0).execute(&mut *tx).await?;
    tx.commit().await
}

/// A transaction-scoped PostgreSQL advisory lock on `key` in lock space `space`.
async fn lock(tx: &mut Tx, space: i32, key: &str) -> Result<(), sqlx::Error> {
    let sql = match space {
        1 => "SELECT pg_advisory_xact_lock(1, hashtext($1))",
        _ => "SELECT pg_advisory_xact_lock(2, hashtext($1))",
    };
    sqlx::query(sql).bind(key).execute(&mut **tx).await?;
    Ok(())
}

/// The account's failures since `since` and since its last success, newest first.
async fn account_failures(tx: &mut Tx, account: &str, since: Millis, max: u32) -> Result<Vec<Millis>, sqlx::Error> {
    let sql = format!(
        "SELECT at FROM login_attempts WHERE account = $1 AND succeeded = 0 AND at > $2 \
         AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE account = $1 AND succeeded = 1), 0) \
         ORDER BY at DESC LIMIT {}",
        max.max(1)
    );
    times(tx, sql, account, since).await
}

/// The address's failures since `since`, newest first.
async fn address_failures(tx: &mut Tx, addr: &str, since: Millis, max: u32) -> Result<Vec<Millis>, sqlx::Error> {
    let sql = format!(
        "SELECT at FROM login_attempts WHERE client_addr = $1 AND succeeded = 0 AND at > $2 \
         ORDER BY at DESC LIMIT {}",
        max.max(1)
    );
    times(tx, sql, addr, since).await
}

async fn times(tx: &mut Tx, sql: String, key: &str, since: Millis) -> Result<Vec<Millis>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(key).bind(since).fetch_all(&mut **tx).await?;
    rows.iter().map(|r| r.try_get("at")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window() {
        let w = 60_000;
        assert_eq!(retry_after(&[], 3, w, 100_000), None);
        assert_eq!(retry_after(&[99_000, 98_000], 3, w, 100_000), None);
        // Three failures at 99 s, 98 s, 50 s: the third frees at 110 s.
        assert_eq!(retry_after(&[99_000, 98_000, 50_000], 3, w, 100_000), Some(10));
        assert_eq!(retry_after(&[99_000, 98_000, 50_000, 45_000], 3, w, 100_000), Some(10));
        assert_eq!(retry_after(&[99_000, 98_000, 40_000], 3, w, 100_000), Some(1), "never less than a second");
        assert_eq!(retry_after(&[99_000], 0, w, 100_000), None, "0 switches the limit off");
    }
}
