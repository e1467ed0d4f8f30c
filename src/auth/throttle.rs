//! Login throttling: a sliding window over the failed logins recorded in the audit
//! trail, per account (reset by a successful login) and per client address. Counting
//! the audit rows makes the limit hold across several server processes.

use crate::audit::action::{LOGIN, LOGIN_FAILED};
use crate::audit::store::{Column, recent_times};
use crate::clock::Millis;
use crate::config::AuthConfig;
use crate::storage::Db;

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

/// `Some(seconds)` when a login for `username` from `addr` must wait.
pub async fn check(
    db: &Db,
    cfg: &AuthConfig,
    username: &str,
    addr: Option<&str>,
    now: Millis,
) -> Result<Option<u64>, sqlx::Error> {
    let window = cfg.login_window_seconds as i64 * 1000;
    let since = now - window;
    let max = cfg.login_max_failures_per_account;
    let by_account =
        recent_times(db, LOGIN_FAILED, Column::TargetId, username, since, Some(LOGIN), i64::from(max)).await?;
    let mut wait = retry_after(&by_account, max, window, now);
    if let Some(addr) = addr {
        let max = cfg.login_max_failures_per_address;
        let by_addr = recent_times(db, LOGIN_FAILED, Column::ClientAddr, addr, since, None, i64::from(max)).await?;
        wait = wait.max(retry_after(&by_addr, max, window, now));
    }
    Ok(wait)
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
