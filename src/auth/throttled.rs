//! Throttled logins in the audit trail, aggregated: a 429 adds one to a counter per
//! (window, account, address) in `login_throttled`; once the window has ended the counter
//! becomes one `auth.login_throttled` audit entry carrying the count, in the transaction
//! that removes it. A flood of throttled attempts therefore writes a few audit rows, not
//! one per attempt. Windows are fixed, `auth.login_window_seconds` long, aligned on the
//! epoch; a window is flushed by the next login after it ends, or by [`run`].

use std::time::Duration;

use serde_json::json;
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use crate::audit::{NewEntry, action, store};
use crate::clock::{Clock, Millis, rfc3339};
use crate::storage::{Backend, Db, Tx};

/// How often [`run`] flushes ended windows when no login does.
const FLUSH_EVERY: Duration = Duration::from_secs(60);

/// Counts one throttled attempt by `account` ('' when its address was throttled) from
/// `addr` ('' when unknown) at `now`.
pub async fn count(tx: &mut Tx, account: &str, addr: &str, now: Millis, window: Millis) -> Result<(), sqlx::Error> {
    let start = now - now.rem_euclid(window);
    sqlx::query(
        "INSERT INTO login_throttled (account, client_addr, window_start, window_end, attempts, first_at, last_at) \
         VALUES ($1, $2, $3, $4, 1, $5, $5) \
         ON CONFLICT (account, client_addr, window_start) \
         DO UPDATE SET attempts = login_throttled.attempts + 1, last_at = excluded.last_at",
    )
    .bind(account)
    .bind(addr)
    .bind(start)
    .bind(start + window)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One ended window's count.
struct Window {
    account: String,
    addr: String,
    start: Millis,
    end: Millis,
    attempts: i64,
    first_at: Millis,
    last_at: Millis,
}

impl Window {
    fn entry(&self) -> NewEntry {
        let mut entry = NewEntry::new(action::LOGIN_THROTTLED)
            .from_client(Some(self.addr.as_str()).filter(|a| !a.is_empty()), None)
            .details(json!({
                "attempts": self.attempts,
                "first_at": rfc3339(self.first_at),
                "last_at": rfc3339(self.last_at),
                "window_start": rfc3339(self.start),
                "window_end": rfc3339(self.end),
                "limited_by": if self.account.is_empty() { "address" } else { "account" },
            }));
        if !self.account.is_empty() {
            entry = entry.target("account", &self.account);
        }
        entry
    }
}

/// Turns every window that ended by `now` into its audit entry, in `tx`. Removing the
/// counters with `DELETE ... RETURNING` claims them: two processes never write the same one.
pub async fn flush_due(tx: &mut Tx, backend: Backend, now: Millis) -> Result<usize, sqlx::Error> {
    let rows = sqlx::query(
        "DELETE FROM login_throttled WHERE window_end <= $1 \
         RETURNING account, client_addr, window_start, window_end, attempts, first_at, last_at",
    )
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut windows = rows
        .iter()
        .map(|r| {
            Ok(Window {
                account: r.try_get("account")?,
                addr: r.try_get("client_addr")?,
                start: r.try_get("window_start")?,
                end: r.try_get("window_end")?,
                attempts: r.try_get("attempts")?,
                first_at: r.try_get("first_at")?,
                last_at: r.try_get("last_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    windows.sort_by(|a, b| (a.first_at, &a.account, &a.addr).cmp(&(b.first_at, &b.account, &b.addr)));
    let entries: Vec<NewEntry> = windows.iter().map(Window::entry).collect();
    let timed: Vec<(&NewEntry, Millis)> = entries.iter().map(|e| (e, now)).collect();
    store::append_all(tx, backend, &timed).await?;
    Ok(entries.len())
}

/// Flushes ended windows every minute until `shutdown`, so a window's count reaches the
/// audit trail even when nobody logs in afterwards.
pub async fn run(db: Db, clock: Clock, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(FLUSH_EVERY) => {}
        }
        let flushed = async {
            let mut tx = db.begin_write().await?;
            let n = flush_due(&mut tx, db.backend, clock.now_ms()).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        };
        match flushed.await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(windows = n, "throttled logins written to the audit trail"),
            Err(e) => tracing::warn!(error = %e, "cannot flush throttled login counts"),
        }
    }
}
