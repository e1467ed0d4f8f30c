//! Delivering dispatched letters. The dispatch queues one delivery row in its own
//! transaction (`storage::letters::queue_delivery`); this worker then writes the letter
//! to the EPR inbox folder (`letters.dispatch_dir`: the PDF, then the FHIR Bundle as the
//! "ready" file, each written to a temporary name, synced and renamed) and offers the
//! Bundle to the webhooks subscribed to `letter.dispatched` (which retry on their own).
//! A failed attempt is retried with the webhooks' backoff; each outcome is audited.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::assemble;
use crate::audit::{self, Who};
use crate::clock::{Clock, Millis, rfc3339};
use crate::storage::dictations::{self, Scope};
use crate::storage::letters::{self as store, Delivery};
use crate::storage::{Db, webhooks};
use crate::webhooks::deliver::Policy;

/// The webhook event carrying a dispatched letter's FHIR document Bundle.
pub const LETTER_DISPATCHED: &str = "letter.dispatched";

/// Where and how deliveries go.
#[derive(Debug, Clone)]
pub struct Delivering {
    /// The EPR inbox folder; `None` delivers to webhooks only.
    pub folder: Option<PathBuf>,
    pub retry: Policy,
}

impl From<&crate::config::Config> for Delivering {
    fn from(c: &crate::config::Config) -> Self {
        let dir = c.letters.dispatch_dir.trim();
        Delivering { folder: (!dir.is_empty()).then(|| PathBuf::from(dir)), retry: Policy::from(&c.webhooks) }
    }
}

/// Writes `bytes` as `dir/name` so a reader sees the whole file or none: a temporary
/// name in the same folder, synced, renamed, and the folder synced.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let target = dir.join(name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, &target)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(target)
}

/// Writes the letter and offers it to the webhooks; returns what the audit records.
async fn deliver(db: &Db, clock: &Clock, cfg: &Delivering, d: &Delivery) -> anyhow::Result<serde_json::Value> {
    let view = dictations::get(db, &d.dictation_id, &Scope::All)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the dictation is gone"))?;
    let (letter, data, _) = assemble::assemble(db, &view, clock.now().date_naive(), None).await?;
    let now = clock.now();
    let (pdf, bundle) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let pdf = super::pdf::write(&letter)?;
        let bundle = super::fhir::bundle(&letter, &data, &pdf, now);
        Ok((pdf, bundle))
    })
    .await??;
    let mut files = Vec::new();
    if let Some(dir) = cfg.folder.clone() {
        let (id, bundle_bytes) = (d.dictation_id.clone(), serde_json::to_vec_pretty(&bundle)?);
        files = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<String>> {
            let pdf = write_atomically(&dir, &format!("letter-{id}.pdf"), &pdf)?;
            let json = write_atomically(&dir, &format!("letter-{id}.fhir.json"), &bundle_bytes)?;
            Ok([pdf, json].iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect())
        })
        .await??;
    }
    let payload = json!({
        "event": LETTER_DISPATCHED,
        "id": d.id,
        "occurred_at": rfc3339(clock.now_ms()),
        "dictation": {"id": d.dictation_id},
        "document": bundle,
    });
    Ok(json!({"files": files, "payload": payload}))
}

/// Finishes one claimed delivery: done (with the webhook deliveries queued) or retried.
async fn finish(db: &Db, clock: &Clock, cfg: &Delivering, d: &Delivery) -> anyhow::Result<()> {
    let outcome = deliver(db, clock, cfg, d).await;
    let now = clock.now_ms();
    let mut tx = db.begin_write().await?;
    let entry = Who { actor: Some("system".into()), ..Default::default() }
        .entry(crate::audit::action::LETTER_DELIVERY)
        .target("dictation", &d.dictation_id);
    match outcome {
        Ok(done) => {
            let key = format!("letter:{}", d.id);
            let payload = done["payload"].to_string();
            let hooks = webhooks::enqueue(&mut tx, LETTER_DISPATCHED, &key, || payload, now).await?;
            store::delivery_done(&mut tx, &d.id, now).await?;
            let details = json!({"status": "done", "attempt": d.attempts, "files": done["files"], "webhooks": hooks});
            audit::store::append(&mut tx, db.backend, &entry.details(details), now).await?;
            tx.commit().await?;
            crate::webhooks::deliver::wake();
        }
        Err(e) => {
            let give_up = d.attempts >= cfg.retry.max_attempts;
            let next = now + cfg.retry.backoff_ms(d.attempts);
            tracing::warn!(dictation = %d.dictation_id, attempt = d.attempts, error = %e, "letter delivery failed");
            store::delivery_failed(&mut tx, &d.id, give_up, next, &format!("{e:#}")).await?;
            let status = if give_up { "failed" } else { "retrying" };
            let details = json!({"status": status, "attempt": d.attempts, "error": format!("{e:#}")});
            audit::store::append(&mut tx, db.backend, &entry.details(details), now).await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// Delivers every delivery that is due now; returns how many were attempted.
pub async fn deliver_due(db: &Db, clock: &Clock, cfg: &Delivering) -> anyhow::Result<usize> {
    let mut attempted = 0;
    for id in store::due_deliveries(db, clock.now_ms(), 16).await? {
        let lease_until: Millis = clock.now_ms() + cfg.retry.lease_ms;
        let Some(d) = store::claim_delivery(db, &id, clock.now_ms(), lease_until).await? else { continue };
        finish(db, clock, cfg, &d).await?;
        attempted += 1;
    }
    Ok(attempted)
}

/// Runs until `shutdown`: a pass every few seconds (dispatches are rare; a pass that
/// finds nothing due is one indexed read).
pub async fn run(db: Db, clock: Clock, cfg: Delivering, shutdown: CancellationToken) {
    loop {
        if let Err(e) = deliver_due(&db, &clock, &cfg).await {
            tracing::error!(error = ?e, "delivering letters failed; retrying shortly");
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_leaves_only_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_atomically(dir.path(), "letter-1.pdf", b"%PDF-1").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"%PDF-1");
        write_atomically(dir.path(), "letter-1.pdf", b"%PDF-2").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"%PDF-2");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["letter-1.pdf"], "no temporary file is left");
    }
}
