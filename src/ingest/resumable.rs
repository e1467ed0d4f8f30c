//! Expiry of resumable uploads: sessions not sent to within `limits.upload_session_hours`
//! are removed with their bytes, and so are upload files no session owns (a crash between
//! removing a session and its file).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, Millis};
use crate::storage::Db;
use crate::storage::partial::Partials;
use crate::storage::uploads;

const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Removes what expired at `now`; returns how many sessions and stray files went.
pub async fn sweep(db: &Db, partials: &Partials, now: Millis) -> anyhow::Result<usize> {
    let mut removed = 0;
    loop {
        let ids = uploads::take_expired(db, now, 500).await?;
        for id in &ids {
            partials.remove(id).await?;
        }
        removed += ids.len();
        if ids.len() < 500 {
            break;
        }
    }
    for id in partials.ids().await? {
        if !uploads::exists(db, &id).await? {
            partials.remove(&id).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Sweeps at start and every ten minutes until `shutdown`.
pub async fn run(db: Db, partials: Partials, clock: Clock, shutdown: CancellationToken) {
    loop {
        match sweep(&db, &partials, clock.now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired resumable uploads removed"),
            Err(e) => tracing::warn!(error = ?e, "cannot remove expired resumable uploads"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}
