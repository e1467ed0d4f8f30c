//! Uploads accepted but not yet finished.
//!
//! A multipart upload is accepted once it is completed (a whole object under
//! `PREFIX/incoming/<uuid>`) and a manifest naming it is written to
//! `PREFIX/pending/<sha256>/<uuid>` ([`super::super::incoming`]). The client has its
//! answer then: the bytes are as durable as the bucket. Finishing the upload (a
//! server-side copy to its content-addressed key, removing the incoming object and the
//! manifest) is the uploading node's next job, and any node's when it needs the object
//! first (a worker about to decode it, another API node asked for a range), at start-up
//! or in the periodic sweep. Every step is idempotent and re-checked, so several nodes
//! may try at once; within a process one finish or delete per digest runs at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures_util::TryStreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use super::super::is_sha256_hex;
use super::{S3BlobStore, not_found, timed};

/// The folder of the bucket prefix holding the manifests of accepted uploads.
pub(in crate::storage::blob) const PENDING: &str = "pending";
/// The age from which a periodic sweep finishes an accepted upload (its uploader would
/// have done so within seconds, unless it died).
pub(super) const SWEEP_MIN_AGE: Duration = Duration::from_secs(300);
/// How long a node needing an object waits for another node finishing it.
const FINISH_WAIT: Duration = Duration::from_secs(60);

/// An accepted upload: where its completed object is and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(in crate::storage::blob) struct Manifest {
    pub sha256: String,
    pub bytes: u64,
    /// The completed upload's key (`PREFIX/incoming/<uuid>`).
    pub incoming: String,
}

impl Manifest {
    /// `PREFIX/pending/<sha256>/<uuid>`, the uuid being the incoming key's.
    pub(in crate::storage::blob) fn key(&self, prefix: &Key) -> Key {
        let name = self.incoming.rsplit('/').next().unwrap_or(&self.incoming);
        prefix.clone().join(PENDING).join(self.sha256.as_str()).join(name)
    }
}

/// Per-digest locks, so that one finish per object runs in this process at a time.
pub(super) type Finishing = Arc<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>;

impl S3BlobStore {
    /// Whether `key` is an object in the bucket.
    async fn exists(&self, key: &Key) -> anyhow::Result<bool> {
        match timed("head", self.store.head(key)).await {
            Ok(_) => Ok(true),
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The manifests of accepted uploads (of `sha256`, or all), with their ages.
    pub(super) async fn manifests(&self, sha256: Option<&str>) -> anyhow::Result<Vec<(Manifest, SystemTime)>> {
        let mut folder = self.prefix.clone().join(PENDING);
        if let Some(sha256) = sha256 {
            folder = folder.join(sha256);
        }
        let listed: Vec<_> = timed("list", self.store.list(Some(&folder)).try_collect::<Vec<_>>()).await?;
        let mut out = Vec::with_capacity(listed.len());
        for meta in listed {
            let body = match timed("get", self.store.get(&meta.location)).await {
                Ok(result) => result.bytes().await?,
                Err(e) if not_found(&e) => continue, // Finished meanwhile.
                Err(e) => return Err(e.into()),
            };
            match serde_json::from_slice::<Manifest>(&body) {
                Ok(m) if is_sha256_hex(&m.sha256) => out.push((m, SystemTime::from(meta.last_modified))),
                _ => tracing::warn!(key = %meta.location, "not an upload manifest; left as it is"),
            }
        }
        Ok(out)
    }

    /// Finishes an accepted upload: copies it to its digest's key, checks the copy's size
    /// and removes the incoming object and the manifest. `by` says who (metric).
    pub(super) async fn finish(&self, manifest: &Manifest, by: &'static str) -> anyhow::Result<()> {
        let result = self.one_at_a_time(&manifest.sha256, self.finish_steps(manifest)).await;
        if result.is_ok() {
            crate::metrics::count("dictaflow_audio_uploads_finished_total", &[("by", by)], 1.0);
        }
        result
    }

    /// Runs `work` on the object of `sha256` while no other finish or delete of it runs
    /// in this process.
    pub(super) async fn one_at_a_time<T>(&self, sha256: &str, work: impl Future<Output = T>) -> T {
        let lock = {
            let mut locks = self.finishing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            locks.entry(sha256.to_string()).or_default().clone()
        };
        let result = {
            let _turn = lock.lock().await;
            work.await
        };
        let mut locks = self.finishing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if Arc::strong_count(&lock) == 2 {
            locks.remove(sha256);
        }
        result
    }

    async fn finish_steps(&self, manifest: &Manifest) -> anyhow::Result<()> {
        let key = self.key(&manifest.sha256)?;
        let incoming = Key::from(manifest.incoming.as_str());
        // Copied even when an object with this digest exists: equal bytes replace equal
        // bytes, and its age restarts so reconciliation leaves it until the row commits.
        // A failed copy is fine when another node finished the upload meanwhile.
        if let Err(e) = timed("copy", self.store.copy(&incoming, &key)).await
            && !self.exists(&key).await?
        {
            return Err(e.into());
        }
        let size = timed("head", self.store.head(&key)).await?.size;
        anyhow::ensure!(
            size == manifest.bytes,
            "the bucket's object {key} has {size} bytes where its upload had {}; left for an operator",
            manifest.bytes
        );
        for gone in [incoming, manifest.key(&self.prefix)] {
            match timed("delete", self.store.delete(&gone)).await {
                Ok(()) => {}
                Err(e) if not_found(&e) => {}
                Err(e) => tracing::warn!(error = %e, key = %gone, "left for start-up clean-up"),
            }
        }
        Ok(())
    }

    /// For a node that needs the object of `sha256` and found none: finishes its accepted
    /// upload if there is one (or waits for the node finishing it). `Ok(false)`: nothing
    /// is pending under that digest.
    pub(super) async fn finish_pending(&self, sha256: &str) -> anyhow::Result<bool> {
        let manifests = self.manifests(Some(sha256)).await?;
        let mut failure = None;
        for (manifest, _) in &manifests {
            match self.finish(manifest, "reader").await {
                Ok(()) => return Ok(true),
                Err(e) => failure = Some(e),
            }
        }
        let Some(failure) = failure else { return Ok(false) };
        let key = self.key(sha256)?;
        let deadline = Instant::now() + FINISH_WAIT;
        while Instant::now() < deadline {
            if self.exists(&key).await? {
                return Ok(true);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(failure.context(format!("the accepted upload of {sha256} could not be finished")))
    }

    /// Finishes every accepted upload at least `min_age` old (younger ones are probably
    /// being finished by their uploader); returns how many were finished and the incoming
    /// keys of those that could not be (kept).
    pub(super) async fn finish_all(&self, min_age: Duration, by: &'static str) -> anyhow::Result<(usize, Vec<String>)> {
        let (mut finished, mut kept) = (0, Vec::new());
        for (manifest, written) in self.manifests(None).await? {
            if SystemTime::now().duration_since(written).unwrap_or_default() < min_age {
                kept.push(manifest.incoming);
                continue;
            }
            match self.finish(&manifest, by).await {
                Ok(()) => finished += 1,
                Err(e) => {
                    tracing::warn!(error = %e, sha256 = %manifest.sha256, "an accepted upload could not be finished yet");
                    kept.push(manifest.incoming);
                }
            }
        }
        Ok((finished, kept))
    }

    /// Gives up the accepted uploads of `sha256` (its object is being deleted).
    pub(super) async fn discard_pending(&self, sha256: &str) -> anyhow::Result<()> {
        for (manifest, _) in self.manifests(Some(sha256)).await? {
            let incoming = Key::from(manifest.incoming.as_str());
            for gone in [incoming, manifest.key(&self.prefix)] {
                match timed("delete", self.store.delete(&gone)).await {
                    Ok(()) => {}
                    Err(e) if not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }
}

/// The digest a listed key names when it is an accepted upload's manifest
/// (`…/pending/<sha256>/<uuid>`).
pub(super) fn pending_digest(key: &Key) -> Option<String> {
    let parts: Vec<_> = key.parts().collect();
    let [.., folder, sha, _] = parts.as_slice() else { return None };
    (folder.as_ref() == PENDING && is_sha256_hex(sha.as_ref())).then(|| sha.as_ref().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_keys_name_their_digest() {
        let sha = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
        let m = Manifest { sha256: sha.into(), bytes: 11, incoming: "trust/audio/incoming/0190abc".into() };
        let key = m.key(&Key::from("trust/audio"));
        assert_eq!(key.as_ref(), format!("trust/audio/pending/{sha}/0190abc"));
        assert_eq!(pending_digest(&key).as_deref(), Some(sha));
        assert_eq!(pending_digest(&Key::from(format!("trust/audio/b9/4d/{sha}"))), None);
        assert_eq!(pending_digest(&Key::from("trust/audio/pending/not-a-digest/x")), None);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Manifest>(&json).unwrap(), m);
    }
}
