//! Content-addressed audio store: originals kept byte for byte under their SHA-256.
//!
//! An upload is staged first: bytes stream into a temporary file of this process's
//! staging directory ([`staging`]), hashed on the way, fsynced, inspected, and only then
//! committed into the store, before the dictation row that points at it commits.
//! `BlobStore` is the seam between the service and where the audio lives:
//! [`LocalBlobStore`] (a directory, as one box or a shared filesystem has it) and
//! [`S3BlobStore`] (an S3-compatible bucket shared by API and worker nodes on separate
//! hosts). [`open`] picks one from `storage.audio_url`.

mod cache;
mod incoming;
mod local;
pub mod migrate;
mod profile;
mod s3;
mod staging;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::fs::{self, File};
use tokio::io::{AsyncRead, AsyncWriteExt, BufWriter};

pub use local::LocalBlobStore;
pub use s3::{BucketUrl, S3BlobStore};

/// An upload being written: bytes stream in, the hash is computed on the way.
pub struct PendingBlob {
    path: PathBuf,
    file: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
    /// Whether the staged file is fsynced: the local store's, which becomes the stored
    /// file. A bucket's staged file is only read back by this process (to inspect it, or
    /// to send it again), the durable copy being the bucket's.
    fsync: bool,
    /// The bucket's upload of the bytes as they arrive, while it keeps up; without it
    /// (local store, or after a failed part) the commit sends the staged file.
    incoming: Option<incoming::Incoming>,
}

impl PendingBlob {
    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
        self.file.write_all(chunk).await?;
        if let Some(incoming) = &mut self.incoming
            && let Err(e) = incoming.write(chunk).await
        {
            // The upload goes on: the commit sends the staged file instead.
            tracing::warn!(error = %e, "sending an upload to the bucket while receiving it failed");
            self.incoming = None;
        }
        Ok(())
    }
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    /// Flushes (and for the local store fsyncs) the temporary file; the blob is then
    /// ready to inspect and commit.
    pub async fn finish(mut self) -> std::io::Result<StagedBlob> {
        self.file.flush().await?;
        let file = self.file.into_inner();
        if self.fsync {
            file.sync_all().await?;
        }
        drop(file);
        let sha256 = hex::encode(self.hasher.finalize());
        let incoming = self.incoming.map(std::sync::Mutex::new);
        Ok(StagedBlob { path: self.path, sha256, bytes: self.bytes, incoming })
    }
    /// Abandons the upload, removing the temporary file.
    pub async fn discard(self) {
        let path = self.path.clone();
        drop(self);
        let _ = fs::remove_file(path).await;
    }
}

/// `len` bytes of `file` from `offset` (the local store's files, a node's cached copies).
async fn file_range(mut file: File, offset: u64, len: u64) -> std::io::Result<tokio::io::Take<File>> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    Ok(file.take(len))
}

/// A complete temporary file with its digest, not yet in the store (durable for the
/// local store; for a bucket, possibly sent already, see [`incoming`]).
#[derive(Debug)]
pub struct StagedBlob {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// In a mutex only so that a `&StagedBlob` may cross threads (the upload is not `Sync`).
    incoming: Option<std::sync::Mutex<incoming::Incoming>>,
}

impl StagedBlob {
    pub async fn discard(self) {
        let _ = fs::remove_file(&self.path).await;
    }
}

/// A stored blob as a file on this host: the store's own file (local store), or a
/// temporary copy in this process's staging directory, removed when this is dropped.
#[derive(Debug)]
pub struct LocalCopy {
    path: PathBuf,
    temporary: bool,
}

impl LocalCopy {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LocalCopy {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Starts a temporary upload (always on this host's disk, in this process's staging).
    async fn begin(&self) -> anyhow::Result<PendingBlob>;
    /// Moves a staged blob into the store durably (idempotent for equal content). The
    /// staged file is gone afterwards, whether the commit succeeded or not.
    async fn commit(&self, staged: StagedBlob) -> anyhow::Result<()>;
    /// Size in bytes, or `None` when the blob is missing.
    async fn size(&self, sha256: &str) -> anyhow::Result<Option<u64>>;
    /// Reads `len` bytes from `offset`, streamed.
    async fn read_range(
        &self,
        sha256: &str,
        offset: u64,
        len: u64,
    ) -> anyhow::Result<Box<dyn AsyncRead + Send + Unpin>>;
    /// A local file holding the blob (for the decoder and recogniser).
    async fn local_copy(&self, sha256: &str) -> anyhow::Result<LocalCopy>;
    /// Every stored blob with its modification time (for reconciliation).
    async fn list(&self) -> anyhow::Result<Vec<(String, SystemTime)>>;
    async fn delete(&self, sha256: &str) -> anyhow::Result<()>;
    /// Removes temporary files a crash left behind: only those of a process that is
    /// provably gone (its staging lock is free) and older than `grace`; returns how many.
    async fn clean_temporary(&self, grace: Duration) -> anyhow::Result<usize>;
    /// Finishes uploads accepted but left unfinished by a process that died (a bucket's
    /// completed uploads still to be copied to their digest's key, see `s3::pending`);
    /// returns how many. Nothing to do by default.
    async fn finish_accepted(&self) -> anyhow::Result<usize> {
        Ok(0)
    }
    /// Whether the store answers (for `/readyz`).
    async fn check(&self) -> anyhow::Result<()>;
    /// Where the audio lives, for logs and `/readyz` (no credentials).
    fn location(&self) -> String;
}

/// The audio store `storage.audio_url` names: empty for `<data_dir>/audio`, a directory,
/// or `s3://BUCKET/PREFIX`. Uploads are staged in `<data_dir>/audio/tmp` either way.
pub async fn open(storage: &crate::config::StorageConfig) -> anyhow::Result<Arc<dyn BlobStore>> {
    let local_root = storage.data_dir.join("audio");
    let url = storage.audio_url.trim();
    if let Some(bucket) = BucketUrl::parse(url)? {
        return Ok(Arc::new(S3BlobStore::open(&bucket, &storage.s3, local_root.join("tmp")).await?));
    }
    let root = if url.is_empty() { local_root } else { PathBuf::from(url.strip_prefix("file://").unwrap_or(url)) };
    Ok(Arc::new(LocalBlobStore::open(root).await?))
}

/// How often [`finish_accepted_periodically`] looks.
const FINISH_SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Every few minutes until `shutdown`, finishes the uploads a dead process accepted and
/// left unfinished, so that each reaches its content-addressed key even when no node
/// restarts or reads it.
pub async fn finish_accepted_periodically(blobs: Arc<dyn BlobStore>, shutdown: tokio_util::sync::CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(FINISH_SWEEP_EVERY) => {}
        }
        match blobs.finish_accepted().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(finished = n, "finished uploads a stopped process had accepted"),
            Err(e) => tracing::warn!(error = %e, "could not look for unfinished uploads; trying again later"),
        }
    }
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The store-relative name of a blob, `ab/cd/<sha256>`, for both stores.
fn relative_name(sha256: &str) -> anyhow::Result<[&str; 3]> {
    anyhow::ensure!(is_sha256_hex(sha256), "not a SHA-256 digest: {sha256:?}");
    Ok([&sha256[..2], &sha256[2..4], sha256])
}
