//! Content-addressed audio store: originals kept byte for byte under their SHA-256.
//!
//! Writes go to a temporary file that is fsynced, then renamed into place and the
//! directory fsynced, all before the dictation row that points at it commits.
//! `BlobStore` is the seam where an S3-compatible store can be added later.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

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
    /// Removes temporary files a crash left behind; returns how many.
    async fn clean_temporary(&self) -> anyhow::Result<usize>;
}

/// The local-disk store: `<root>/ab/cd/<sha256>` plus `<root>/tmp/`.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    pub async fn open(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let root = root.into();
        fs::create_dir_all(root.join("tmp")).await.with_context(|| format!("cannot create {}", root.display()))?;
        Ok(Self { root })
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
        let path = self.root.join("tmp").join(format!("{}.part", uuid::Uuid::now_v7().simple()));
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

    async fn clean_temporary(&self) -> anyhow::Result<usize> {
        let mut removed = 0;
        let mut dir = fs::read_dir(self.root.join("tmp")).await?;
        while let Some(entry) = dir.next_entry().await? {
            if fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
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
        assert_eq!(store.clean_temporary().await.unwrap(), 0);
        assert!(store.size("nothex").await.is_err());
    }
}
