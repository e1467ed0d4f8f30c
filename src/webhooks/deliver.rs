//! The deliverer: leases due deliveries, POSTs each signed body with a timeout, and
//! records the outcome: delivered on 2xx, else retried with exponential backoff until
//! [`Policy::max_attempts`], then failed. Several processes may run it on one database.
//! Tests call [`deliver_due`] directly with a manual clock.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::sign::signature;
use crate::clock::{Clock, Millis};
use crate::storage::Db;
use crate::storage::webhooks::{self as store, ClaimedDelivery, Outcome};

/// Retry and timing rules.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Attempts before a delivery is marked failed.
    pub max_attempts: i64,
    /// Wait before the second attempt; doubled for each further one.
    pub first_backoff_ms: Millis,
    pub max_backoff_ms: Millis,
    /// Time bound of one POST (connect, send, response headers and body).
    pub timeout: Duration,
    /// A lease longer than any attempt, after which another process may take it again.
    pub lease_ms: Millis,
    /// Deliveries leased per pass.
    pub batch: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: 8,
            first_backoff_ms: 30_000,
            max_backoff_ms: 3_600_000,
            timeout: Duration::from_secs(10),
            lease_ms: 60_000,
            batch: 16,
        }
    }
}

impl From<&super::WebhooksConfig> for Policy {
    fn from(c: &super::WebhooksConfig) -> Self {
        Policy::new(c.max_attempts, c.first_backoff_seconds, c.timeout_seconds, 1000)
    }
}

impl Policy {
    /// Attempts, first backoff and timeout as configured (each at least 1), with a lease
    /// of the timeout plus `margin_ms` (at least the default's).
    pub fn new(max_attempts: i64, first_backoff_seconds: u64, timeout_seconds: u64, margin_ms: Millis) -> Self {
        let timeout = Duration::from_secs(timeout_seconds.max(1));
        Policy {
            max_attempts: max_attempts.max(1),
            first_backoff_ms: (first_backoff_seconds.max(1) * 1000) as Millis,
            timeout,
            lease_ms: (timeout.as_millis() as Millis + margin_ms).max(Policy::default().lease_ms),
            ..Policy::default()
        }
    }

    /// The wait after failed attempt number `attempt` (1-based): 30 s, 1 min, 2 min, ...
    pub fn backoff_ms(&self, attempt: i64) -> Millis {
        let doublings = (attempt - 1).clamp(0, 30) as u32;
        self.first_backoff_ms.saturating_mul(1i64 << doublings).min(self.max_backoff_ms)
    }
}

/// The longest sleep between passes (also bounds a missed wake-up).
pub const MAX_SLEEP: Duration = Duration::from_secs(30);

fn waker() -> &'static Notify {
    static WAKE: OnceLock<Notify> = OnceLock::new();
    WAKE.get_or_init(Notify::new)
}

/// Tells this process's deliverer that deliveries were queued (call after commit).
pub fn wake() {
    waker().notify_waiters();
}

/// The HTTP client deliveries use: no redirects (a receiver must answer itself).
pub fn client(policy: &Policy) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(policy.timeout)
        .connect_timeout(policy.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("dictaflow/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// What one pass did.
#[derive(Debug, Default, Clone)]
pub struct PassReport {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Sends every delivery due at the clock's time, as `owner`. Returns when none is due.
pub async fn deliver_due(
    db: &Db,
    http: &reqwest::Client,
    clock: &Clock,
    policy: &Policy,
    owner: &str,
) -> anyhow::Result<PassReport> {
    let mut report = PassReport::default();
    loop {
        let claimed = store::claim(db, owner, clock.now_ms(), policy.lease_ms, policy.batch).await?;
        if claimed.is_empty() {
            return Ok(report);
        }
        let sends = claimed.iter().map(|d| send(http, clock, d));
        let outcomes = futures_util::future::join_all(sends).await;
        for (d, result) in claimed.iter().zip(outcomes) {
            let now = clock.now_ms();
            let outcome = match result {
                Ok(status) => Outcome::Delivered { status },
                Err((status, error)) => {
                    let retry_at = (d.attempt < policy.max_attempts).then(|| now + policy.backoff_ms(d.attempt));
                    Outcome::Failed { status, error, retry_at }
                }
            };
            match &outcome {
                Outcome::Delivered { .. } => report.delivered += 1,
                Outcome::Failed { retry_at: Some(_), .. } => report.retried += 1,
                Outcome::Failed { retry_at: None, .. } => report.failed += 1,
            }
            log(d, &outcome);
            if !store::finish(db, &d.id, owner, &outcome, now).await? {
                tracing::warn!(delivery = %d.id, "webhook delivery lease was lost before its outcome was recorded");
            }
        }
    }
}

fn log(d: &ClaimedDelivery, outcome: &Outcome) {
    match outcome {
        Outcome::Delivered { status } => {
            tracing::info!(delivery = %d.id, webhook = %d.webhook_id, event = %d.event, attempt = d.attempt,
                status, "webhook delivered")
        }
        Outcome::Failed { status, error, retry_at } => {
            tracing::warn!(delivery = %d.id, webhook = %d.webhook_id, event = %d.event, attempt = d.attempt,
                status, error = %error, will_retry = retry_at.is_some(), "webhook delivery failed")
        }
    }
}

/// One POST. `Ok(status)` on 2xx; else the status (if any) and a short reason.
async fn send(http: &reqwest::Client, clock: &Clock, d: &ClaimedDelivery) -> Result<u16, (Option<u16>, String)> {
    let body = d.payload.clone().into_bytes();
    // The timestamp is signed with the body, so a replayed request carries a stale one.
    let timestamp = clock.now_ms() / 1000;
    let request = http
        .post(&d.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Dictaflow-Signature", signature(&d.secret, timestamp, &body))
        .header("X-Dictaflow-Timestamp", timestamp.to_string())
        .header("X-Dictaflow-Delivery", &d.id)
        .header("X-Dictaflow-Event", &d.event)
        .body(body);
    match request.send().await {
        Ok(resp) if resp.status().is_success() => Ok(resp.status().as_u16()),
        Ok(resp) => Err((Some(resp.status().as_u16()), format!("the receiver answered {}", resp.status()))),
        Err(e) if e.is_timeout() => Err((None, "timed out".into())),
        Err(e) if e.is_connect() => Err((None, "cannot connect".into())),
        Err(_) => Err((None, "request failed".into())),
    }
}

/// The next delivery's due time (`Some(None)`: none waiting); `None` when it cannot be
/// read (logged), which makes the loop try a pass.
async fn next_due(db: &Db) -> Option<Option<Millis>> {
    match store::next_due(db).await {
        Ok(due) => Some(due),
        Err(e) => {
            tracing::error!(error = ?e, "cannot read the next webhook delivery");
            None
        }
    }
}

/// Runs until `shutdown` is cancelled: a pass, then a sleep until the next delivery is
/// due (or a wake-up, or at most [`MAX_SLEEP`]).
pub async fn run(db: Db, clock: Clock, policy: Policy, shutdown: CancellationToken) {
    let http = client(&policy);
    let owner = format!("{}-{}", std::process::id(), crate::storage::new_id());
    tracing::info!("webhook deliverer started");
    loop {
        let woken = waker().notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        // Read first: most wake-ups are transitions with no delivery due, and the claim is
        // a write that would queue behind the letters' own transactions.
        let mut next = next_due(&db).await;
        if next.is_none_or(|due| due.is_some_and(|d| d <= clock.now_ms())) {
            if let Err(e) = deliver_due(&db, &http, &clock, &policy, &owner).await {
                tracing::error!(error = ?e, "delivering webhooks failed; retrying shortly");
            }
            next = next_due(&db).await;
        }
        let sleep = match next {
            Some(Some(due)) => Duration::from_millis(due.saturating_sub(clock.now_ms()).max(0) as u64).min(MAX_SLEEP),
            Some(None) | None => MAX_SLEEP,
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = woken => {}
            _ = tokio::time::sleep(sleep.max(Duration::from_millis(50))) => {}
        }
    }
    tracing::info!("webhook deliverer stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = Policy::default();
        let waits: Vec<Millis> = (1..=9).map(|a| p.backoff_ms(a)).collect();
        assert_eq!(waits[..4], [30_000, 60_000, 120_000, 240_000]);
        assert_eq!(p.backoff_ms(8), 3_600_000);
        assert_eq!(p.backoff_ms(60), 3_600_000, "no overflow");
    }
}
