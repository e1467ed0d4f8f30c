//! Moving a local audio store into a bucket (`dictaflow storage migrate-audio`).
//!
//! Each blob is taken on its own: its local file is hashed (a file whose bytes do not
//! match its name is reported and left alone), the bucket's object of that name is
//! hashed from its bytes when there is one, and the file is sent unless the object is
//! already right; what was sent is read back and hashed again. So a run stopped anywhere
//! is resumed by running it again, and a run over a finished migration changes nothing.
//! With `remove_local`, a local file is deleted only once the bucket's copy is verified.

use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::{BlobStore, LocalBlobStore, S3BlobStore};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Sent to the bucket and verified.
    pub copied: usize,
    /// Already in the bucket with the right bytes.
    pub already_there: usize,
    /// Local files deleted after verification (`remove_local`).
    pub removed_local: usize,
    /// Local files whose bytes do not match their name (left where they are).
    pub corrupt: Vec<String>,
}

/// Copies every blob of `source` into `bucket`, verifying each SHA-256.
pub async fn to_bucket(
    source: &LocalBlobStore,
    bucket: &S3BlobStore,
    remove_local: bool,
    progress: &dyn Fn(&str, &str),
) -> anyhow::Result<MigrationReport> {
    let mut report = MigrationReport::default();
    let mut blobs = source.list().await?;
    blobs.sort();
    for (sha, _) in blobs {
        let path = source.path_for(&sha)?;
        let local = file_digest(&path).await?;
        if local != sha {
            progress(&sha, "corrupt: the local file's bytes do not match its name; left alone");
            report.corrupt.push(sha);
            continue;
        }
        if bucket.stored_digest(&sha).await?.as_deref() == Some(sha.as_str()) {
            report.already_there += 1;
            progress(&sha, "already in the bucket (verified)");
        } else {
            bucket.put_file(&path, &sha).await.with_context(|| format!("cannot send {sha}"))?;
            let sent = bucket.stored_digest(&sha).await?;
            anyhow::ensure!(sent.as_deref() == Some(sha.as_str()), "{sha}: the bucket's copy reads back as {sent:?}");
            report.copied += 1;
            progress(&sha, "copied (verified)");
        }
        if remove_local {
            source.delete(&sha).await?;
            report.removed_local += 1;
        }
    }
    Ok(report)
}

async fn file_digest(path: &Path) -> anyhow::Result<String> {
    let mut file = tokio::fs::File::open(path).await.with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}
