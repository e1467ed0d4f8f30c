//! This process's staging directory, `tmp/<pid>-<nonce>/`, where uploads are written
//! (and S3 blobs copied for the decoder) before they go anywhere else.
//!
//! The process holds an exclusive lock on `tmp/<pid>-<nonce>/owner.lock` for as long as it
//! runs. Several processes may share one `tmp/`: start-up clean-up only touches a staging
//! directory whose lock it can take (its owner is gone), and only files older than the
//! grace period in it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use sha2::{Digest, Sha256};
use tokio::fs::{self, File};
use tokio::io::BufWriter;

use super::PendingBlob;

/// The lock file of a staging directory.
const OWNER_LOCK: &str = "owner.lock";

#[derive(Debug, Clone)]
pub(super) struct Staging {
    /// The `tmp/` directory every process's staging directory lives in.
    tmp: PathBuf,
    /// This process's staging directory.
    own: PathBuf,
    /// The open, exclusively locked `owner.lock` of `own`; the lock lasts as long as the
    /// process (the operating system releases it when the process ends).
    _owner: Arc<std::fs::File>,
}

impl Staging {
    pub(super) async fn open(tmp: PathBuf) -> anyhow::Result<Self> {
        let own = tmp.join(format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple()));
        fs::create_dir_all(&own).await.with_context(|| format!("cannot create {}", own.display()))?;
        let lock_path = own.join(OWNER_LOCK);
        let owner =
            std::fs::File::create(&lock_path).with_context(|| format!("cannot create {}", lock_path.display()))?;
        owner.try_lock().with_context(|| format!("cannot lock {}", lock_path.display()))?;
        Ok(Self { tmp, own, _owner: Arc::new(owner) })
    }

    /// A new file name in this process's staging directory.
    pub(super) fn new_path(&self, extension: &str) -> PathBuf {
        self.own.join(format!("{}.{extension}", uuid::Uuid::now_v7().simple()))
    }

    pub(super) async fn begin(&self) -> anyhow::Result<PendingBlob> {
        let path = self.new_path("part");
        let file = File::create(&path).await.with_context(|| format!("cannot create {}", path.display()))?;
        let file = BufWriter::with_capacity(256 * 1024, file);
        Ok(PendingBlob { path, file, hasher: Sha256::new(), bytes: 0, fsync: true, incoming: None })
    }

    /// Removes what gone processes left beyond `grace`; returns how many files.
    pub(super) async fn clean(&self, grace: Duration) -> anyhow::Result<usize> {
        let (tmp, own) = (self.tmp.clone(), self.own.clone());
        tokio::task::spawn_blocking(move || clean_abandoned(&tmp, &own, grace)).await?
    }

    pub(super) fn own(&self) -> &Path {
        &self.own
    }
}

/// True when `path` was last modified at least `grace` ago.
fn older_than(path: &Path, grace: Duration) -> bool {
    let modified = std::fs::metadata(path).and_then(|m| m.modified());
    modified.is_ok_and(|m| SystemTime::now().duration_since(m).unwrap_or_default() >= grace)
}

/// Removes what the staging directories of gone processes hold beyond `grace` (and the
/// directories once empty), and loose files older than `grace` (an older release staged
/// them directly in `tmp/`). A directory whose lock is held belongs to a live process.
pub(super) fn clean_abandoned(tmp: &Path, own: &Path, grace: Duration) -> anyhow::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(tmp)? {
        let path = entry?.path();
        if path == own {
            continue;
        }
        if !path.is_dir() {
            if older_than(&path, grace) && std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
            continue;
        }
        let Ok(lock) = std::fs::File::options().read(true).write(true).open(path.join(OWNER_LOCK)) else {
            continue; // Being created, or not ours to judge.
        };
        if lock.try_lock().is_err() {
            continue; // Its owner is alive.
        }
        let mut left = 0;
        for file in std::fs::read_dir(&path)? {
            let file = file?.path();
            if file.file_name().is_some_and(|n| n == OWNER_LOCK) {
                continue;
            }
            if older_than(&file, grace) && std::fs::remove_file(&file).is_ok() {
                removed += 1;
            } else {
                left += 1;
            }
        }
        if left == 0 {
            std::fs::remove_file(path.join(OWNER_LOCK)).ok();
            std::fs::remove_dir(&path).ok();
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clean_up_spares_live_owners_and_young_files() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        let live = Staging::open(tmp.clone()).await.unwrap();
        let mut upload = live.begin().await.unwrap();
        upload.write(b"half an upload").await.unwrap();
        let gone = Staging::open(tmp.clone()).await.unwrap();
        let mut abandoned = gone.begin().await.unwrap();
        abandoned.write(b"left by a crash").await.unwrap();
        let abandoned_path = abandoned.path.clone();
        drop(abandoned);
        let gone_dir = gone.own().to_path_buf();
        drop(gone); // Its lock is released, as when a process ends.
        let starting = Staging::open(tmp.clone()).await.unwrap();
        assert_eq!(starting.clean(Duration::from_secs(3600)).await.unwrap(), 0, "too young");
        assert!(abandoned_path.exists());
        assert_eq!(starting.clean(Duration::ZERO).await.unwrap(), 1, "the gone owner's file");
        assert!(!abandoned_path.exists() && !gone_dir.exists());
        // The live owner's upload is untouched and completes.
        assert!(upload.path.exists(), "a live process's staged upload is kept");
        upload.write(b", the rest").await.unwrap();
        let staged = upload.finish().await.unwrap();
        assert_eq!(staged.bytes, 24);
        assert!(staged.path.exists());
    }
}
