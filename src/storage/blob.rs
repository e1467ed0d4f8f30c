//! Content-addressed audio store: originals kept byte for byte under their SHA-256.
//!
//! Writes go to a temporary file that is fsynced, then renamed into place and the
//! directory fsynced, all before the dictation row that points at it commits.
//! `BlobStore` is the seam where an S3-compatible store can be added later.
//!
//! Each process stages its uploads in its own directory, `tmp/<pid>-<nonce>/`, holding an
//! exclusive lock on `tmp/<pid>-<nonce>/owner.lock` for as long as it runs. Several
//! processes may share one data directory: start-up clean-up only touches a staging
//! directory whose lock it can take (its owner is gone), and only files older than the
//! grace period in it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::fs::{self, File};
use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWriteExt, BufWriter};

/// An upload being written: bytes stream in, the hash is computed on the way.
pub struct PendingBlob {
    path: PathBuf,
    file: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

impl PendingBlob {
    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
        self.file.write_all(chunk).await
    }
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    /// Flushes and fsyncs the temporary file; the blob is then ready to inspect and commit.
    pub async fn finish(mut self) -> std::io::Result<StagedBlob> {
        self.file.flush().await?;
        let file = self.file.into_inner();
        file.sync_all().await?;
        drop(file);
        Ok(StagedBlob { path: self.path, sha256: hex::encode(self.hasher.finalize()), bytes: self.bytes })
    }
    /// Abandons the upload, removing the temporary file.
    pub async fn discard(self) {
        let path = self.path.clone();
        drop(self);
        let _ = fs::remove_file(path).await;
    }
}

/// A complete, durable temporary file with its digest, not yet in the store.
#[derive(Debug)]
pub struct StagedBlob {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
}

impl StagedBlob {
    pub async fn discard(self) {
        let _ = fs::remove_file(&self.path).await;
    }
}

#[async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Starts a temporary upload.
    async fn begin(&self) -> anyhow::Result<PendingBlob>;
    /// Moves a staged blob into the store durably (idempotent for equal content).
    async fn commit(&self, staged: StagedBlob) -> anyhow::Result<()>;
    /// Size in bytes, or `None` when the blob is missing.
    async fn size(&self, sha256: &str) -> anyhow::Result<Option<u64>>;
    /// Reads `len` bytes from `offset`.
    async fn read_range(
        &self,
        sha256: &str,
        offset: u64,
        len: u64,
    ) -> anyhow::Result<Box<dyn AsyncRead + Send + Unpin>>;
    /// A local file holding the blob (for the decoder and recogniser).
    async fn local_path(&self, sha256: &str) -> anyhow::Result<PathBuf>;
    /// Every stored blob with its modification time (for reconciliation).
    async fn list(&self) -> anyhow::Result<Vec<(String, SystemTime)>>;
    async fn delete(&self, sha256: &str) -> anyhow::Result<()>;
    /// Removes temporary files a crash left behind: only those of a process that is
    /// provably gone (its staging lock is free) and older than `grace`; returns how many.
    async fn clean_temporary(&self, grace: Duration) -> anyhow::Result<usize>;
}

/// The local-disk store: `<root>/ab/cd/<sha256>` plus `<root>/tmp/<pid>-<nonce>/`.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
    /// This process's staging directory.
    staging: PathBuf,
    /// The open, exclusively locked `owner.lock` of `staging`; the lock lasts as long as
    /// the process (the operating system releases it when the process ends).
    _owner: Arc<std::fs::File>,
}

/// The lock file of a staging directory.
const OWNER_LOCK: &str = "owner.lock";

impl LocalBlobStore {
    pub async fn open(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let root = root.into();
        let staging = root.join("tmp").join(format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple()));
        fs::create_dir_all(&staging).await.with_context(|| format!("cannot create {}", staging.display()))?;
        let lock_path = staging.join(OWNER_LOCK);
        let owner =
            std::fs::File::create(&lock_path).with_context(|| format!("cannot create {}", lock_path.display()))?;
        owner.try_lock().with_context(|| format!("cannot lock {}", lock_path.display()))?;
        Ok(Self { root, staging, _owner: Arc::new(owner) })
    }

    fn path_for(&self, sha256: &str) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(is_sha256_hex(sha256), "not a SHA-256 digest: {sha256:?}");
        Ok(self.root.join(&sha256[..2]).join(&sha256[2..4]).join(sha256))
    }
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir).await?.sync_all().await
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn begin(&self) -> anyhow::Result<PendingBlob> {
        let path = self.staging.join(format!("{}.part", uuid::Uuid::now_v7().simple()));
        let file = File::create(&path).await.with_context(|| format!("cannot create {}", path.display()))?;
        Ok(PendingBlob { path, file: BufWriter::with_capacity(256 * 1024, file), hasher: Sha256::new(), bytes: 0 })
    }

    async fn commit(&self, staged: StagedBlob) -> anyhow::Result<()> {
        let dest = self.path_for(&staged.sha256)?;
        let dir = dest.parent().context("blob path has no parent")?.to_path_buf();
        fs::create_dir_all(&dir).await?;
        if fs::try_exists(&dest).await? {
            // Same digest, same bytes: keep the stored copy, refresh its age so
            // reconciliation does not collect it before the row commits.
            fs::remove_file(&staged.path).await.ok();
            let f = std::fs::File::options().append(true).open(&dest)?;
            f.set_modified(SystemTime::now())?;
            return Ok(());
        }
        fs::rename(&staged.path, &dest).await.context("cannot move the upload into the audio store")?;
        fsync_dir(&dir).await?;
        Ok(())
    }

    async fn size(&self, sha256: &str) -> anyhow::Result<Option<u64>> {
        match fs::metadata(self.path_for(sha256)?).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn read_range(
        &self,
        sha256: &str,
        offset: u64,
        len: u64,
    ) -> anyhow::Result<Box<dyn AsyncRead + Send + Unpin>> {
        use tokio::io::AsyncReadExt;
        let mut file = File::open(self.path_for(sha256)?).await?;
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        Ok(Box::new(file.take(len)))
    }

    async fn local_path(&self, sha256: &str) -> anyhow::Result<PathBuf> {
        self.path_for(sha256)
    }

    async fn list(&self) -> anyhow::Result<Vec<(String, SystemTime)>> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for a in std::fs::read_dir(&root)? {
                let a = a?;
                if a.file_name() == "tmp" || !a.file_type()?.is_dir() {
                    continue;
                }
                for b in std::fs::read_dir(a.path())? {
                    let b = b?;
                    if !b.file_type()?.is_dir() {
                        continue;
                    }
                    for f in std::fs::read_dir(b.path())? {
                        let f = f?;
                        let name = f.file_name().to_string_lossy().to_string();
                        if is_sha256_hex(&name) {
                            out.push((name, f.metadata()?.modified()?));
                        }
                    }
                }
            }
            Ok(out)
        })
        .await?
    }

    async fn delete(&self, sha256: &str) -> anyhow::Result<()> {
        match fs::remove_file(self.path_for(sha256)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn clean_temporary(&self, grace: Duration) -> anyhow::Result<usize> {
        let (tmp, own) = (self.root.join("tmp"), self.staging.clone());
        tokio::task::spawn_blocking(move || clean_abandoned(&tmp, &own, grace)).await?
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
fn clean_abandoned(tmp: &Path, own: &Path, grace: Duration) -> anyhow::Result<usize> {
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
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn write_commit_read_and_dedupe() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).await.unwrap();
        let mut p = store.begin().await.unwrap();
        p.write(b"hello ").await.unwrap();
        p.write(b"world").await.unwrap();
        let staged = p.finish().await.unwrap();
        assert_eq!(staged.sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
        let sha = staged.sha256.clone();
        store.commit(staged).await.unwrap();
        assert_eq!(store.size(&sha).await.unwrap(), Some(11));
        let mut s = String::new();
        store.read_range(&sha, 6, 5).await.unwrap().read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "world");
        // The same content again is a no-op that leaves no temporary file.
        let mut p = store.begin().await.unwrap();
        p.write(b"hello world").await.unwrap();
        store.commit(p.finish().await.unwrap()).await.unwrap();
        assert_eq!(store.list().await.unwrap().len(), 1);
        assert_eq!(store.clean_temporary(Duration::ZERO).await.unwrap(), 0);
        assert!(store.size("nothex").await.is_err());
    }

    #[tokio::test]
    async fn clean_up_spares_live_owners_and_young_files() {
        let dir = tempfile::tempdir().unwrap();
        let live = LocalBlobStore::open(dir.path()).await.unwrap();
        let mut upload = live.begin().await.unwrap();
        upload.write(b"half an upload").await.unwrap();
        let gone = LocalBlobStore::open(dir.path()).await.unwrap();
        let mut abandoned = gone.begin().await.unwrap();
        abandoned.write(b"left by a crash").await.unwrap();
        let abandoned_path = abandoned.path.clone();
        drop(abandoned);
        let gone_dir = gone.staging.clone();
        drop(gone); // Its lock is released, as when a process ends.
        let starting = LocalBlobStore::open(dir.path()).await.unwrap();
        assert_eq!(starting.clean_temporary(Duration::from_secs(3600)).await.unwrap(), 0, "too young");
        assert!(abandoned_path.exists());
        assert_eq!(starting.clean_temporary(Duration::ZERO).await.unwrap(), 1, "the gone owner's file");
        assert!(!abandoned_path.exists() && !gone_dir.exists());
        // The live owner's upload is untouched and completes.
        assert!(upload.path.exists(), "a live process's staged upload is kept");
        upload.write(b", the rest").await.unwrap();
        live.commit(upload.finish().await.unwrap()).await.unwrap();
        assert_eq!(live.list().await.unwrap().len(), 1);
    }
}
