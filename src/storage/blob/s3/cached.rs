//! The S3 store's use of this node's read-through cache ([`super::super::cache`]): reads
//! of cached objects, background downloads into it, and the clean-up of incoming objects
//! a killed process left.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::fs::File;

use super::super::BlobStore;
use super::super::cache::Cache;
use super::super::incoming::INCOMING;
use super::{S3BlobStore, timed};

impl S3BlobStore {
    /// The cached file of `sha256`, opened, counting the hit or miss.
    pub(super) async fn cached(&self, cache: &Cache, sha256: &str) -> Option<File> {
        let file = match cache.get(sha256) {
            Some(path) => File::open(path).await.ok(), // Evicted meanwhile: a miss.
            None => None,
        };
        let result = if file.is_some() { "hit" } else { "miss" };
        crate::metrics::count("dictaflow_audio_cache_reads_total", &[("result", result)], 1.0);
        file
    }

    /// Starts downloading `sha256` into the cache, unless it is on its way already.
    pub(super) async fn fill_in_background(&self, cache: &Arc<Cache>, sha256: &str) {
        let Ok(Some(bytes)) = self.size(sha256).await else { return };
        let Some(fill) = cache.claim_fill(sha256, bytes).await else { return };
        let (this, cache) = (self.clone(), cache.clone());
        tokio::spawn(async move {
            let outcome = match this.download_to(&fill.sha256, &fill.path, Some(&fill.progress.written)).await {
                Ok(()) if cache.admit(&fill.sha256, &fill.path, bytes).await => "cached",
                Ok(()) => "not_kept",
                Err(e) => {
                    tracing::warn!(error = %e, sha256 = %fill.sha256, "could not fill the audio cache");
                    "failed"
                }
            };
            crate::metrics::count("dictaflow_audio_cache_fills_total", &[("outcome", outcome)], 1.0);
        });
    }

    /// Removes `incoming/` objects older than `grace` (a process killed mid-commit), but
    /// not those of accepted uploads still to be finished (`kept`).
    pub(super) async fn clean_incoming(&self, grace: Duration, kept: &[String]) -> anyhow::Result<usize> {
        let prefix = self.prefix.clone().join(INCOMING);
        let listed: Vec<_> = timed("list", self.store.list(Some(&prefix)).try_collect::<Vec<_>>()).await?;
        let mut removed = 0;
        for meta in listed {
            let age = SystemTime::now().duration_since(SystemTime::from(meta.last_modified)).unwrap_or_default();
            let kept = kept.iter().any(|k| k.as_str() == meta.location.as_ref());
            if age >= grace && !kept && timed("delete", self.store.delete(&meta.location)).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}
