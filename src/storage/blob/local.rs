//! The local-disk store: `<root>/ab/cd/<sha256>`, staged in `<root>/tmp/<pid>-<nonce>/`.
//!
//! A commit renames the fsynced staged file into place and fsyncs the directory, all
//! before the dictation row that points at it commits.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use async_trait::async_trait;
use tokio::fs::{self, File};
use tokio::io::AsyncRead;

use super::staging::Staging;
use super::{BlobStore, LocalCopy, PendingBlob, StagedBlob, is_sha256_hex, relative_name};

#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
    staging: Staging,
}

impl LocalBlobStore {
    pub async fn open(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let root = root.into();
        let staging = Staging::open(root.join("tmp")).await?;
        Ok(Self { root, staging })
    }

    /// The file of a blob (which may not exist).
    pub fn path_for(&self, sha256: &str) -> anyhow::Result<PathBuf> {
        let [a, b, name] = relative_name(sha256)?;
        Ok(self.root.join(a).join(b).join(name))
    }
}

async fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir).await?.sync_all().await
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn begin(&self) -> anyhow::Result<PendingBlob> {
        self.staging.begin().await
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
        let file = File::open(self.path_for(sha256)?).await?;
        Ok(Box::new(super::file_range(file, offset, len).await?))
    }

    async fn local_copy(&self, sha256: &str) -> anyhow::Result<LocalCopy> {
        let path = self.path_for(sha256)?;
        fs::metadata(&path).await.with_context(|| format!("{} is not in the audio store", path.display()))?;
        Ok(LocalCopy { path, temporary: false })
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
        self.staging.clean(grace).await
    }

    async fn check(&self) -> anyhow::Result<()> {
        let meta = fs::metadata(&self.root).await.with_context(|| format!("cannot read {}", self.root.display()))?;
        anyhow::ensure!(meta.is_dir(), "{} is not a directory", self.root.display());
        Ok(())
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }
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
        let copy = store.local_copy(&sha).await.unwrap();
        drop(copy);
        assert!(store.path_for(&sha).unwrap().exists(), "the store's own file is no temporary copy");
    }
}
