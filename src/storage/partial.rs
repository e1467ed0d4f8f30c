//! The bytes of resumable uploads while they arrive: `<data_dir>/uploads/<id>.part`,
//! shared by every process on the data directory. A chunk is appended and fsynced before
//! it is acknowledged; a writer holds an exclusive lock on the file, so two requests for
//! one upload cannot interleave. Bytes past the acknowledged length (a chunk cut off
//! before its acknowledgement was recorded) are dropped when the next chunk starts.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tokio::fs::{self, File};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::{BlobStore, StagedBlob};

#[derive(Debug, Clone)]
pub struct Partials {
    dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum PartError {
    #[error("another request is writing to this upload")]
    Busy,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// An open upload file positioned at the acknowledged length, locked for one writer.
pub struct PartWriter {
    file: File,
    end: u64,
}

impl PartWriter {
    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.file.write_all(chunk).await?;
        self.end += chunk.len() as u64;
        Ok(())
    }

    /// The length of the file with what was written so far.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Makes what was written durable; returns the new length. The lock ends here.
    pub async fn sync(mut self) -> std::io::Result<u64> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        Ok(self.end)
    }
}

impl Partials {
    pub fn new(data_dir: &Path) -> Self {
        Self { dir: data_dir.join("uploads") }
    }

    fn path(&self, id: &str) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()),
            "not an upload id: {id:?}"
        );
        Ok(self.dir.join(format!("{id}.part")))
    }

    /// Opens upload `id` for appending at `at` (the acknowledged length), creating it
    /// when `at` is 0. [`PartError::Busy`] when another writer holds it.
    pub async fn open_at(&self, id: &str, at: u64) -> Result<PartWriter, PartError> {
        let path = self.path(id)?;
        fs::create_dir_all(&self.dir).await?;
        let std_file = std::fs::File::options().create(true).truncate(false).write(true).open(&path)?;
        if std_file.try_lock().is_err() {
            return Err(PartError::Busy);
        }
        let len = std_file.metadata()?.len();
        if len < at {
            return Err(PartError::Other(anyhow::anyhow!(
                "upload {id}: {len} bytes on disk but {at} were acknowledged"
            )));
        }
        std_file.set_len(at)?;
        let mut file = File::from_std(std_file);
        file.seek(std::io::SeekFrom::Start(at)).await?;
        Ok(PartWriter { file, end: at })
    }

    /// Copies the complete upload into the blob store's staging area (hashing it on the
    /// way) for the ingest path; the upload file stays until [`Partials::remove`].
    pub async fn stage(&self, id: &str, blobs: &dyn BlobStore) -> anyhow::Result<StagedBlob> {
        let path = self.path(id)?;
        let mut file = File::open(&path).await.with_context(|| format!("cannot open {}", path.display()))?;
        let mut pending = blobs.begin().await?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    pending.discard().await;
                    return Err(e.into());
                }
            };
            if let Err(e) = pending.write(&buf[..n]).await {
                pending.discard().await;
                return Err(e.into());
            }
        }
        Ok(pending.finish().await?)
    }

    /// Removes upload `id`'s file (nothing when there is none).
    pub async fn remove(&self, id: &str) -> anyhow::Result<()> {
        match fs::remove_file(self.path(id)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The ids of the upload files on disk.
    pub async fn ids(&self) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut dir = match fs::read_dir(&self.dir).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        while let Some(entry) = dir.next_entry().await? {
            if let Some(id) = entry.file_name().to_string_lossy().strip_suffix(".part") {
                out.push(id.to_string());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::LocalBlobStore;

    #[tokio::test]
    async fn append_resume_after_a_cut_and_stage() {
        let dir = tempfile::tempdir().unwrap();
        let parts = Partials::new(dir.path());
        let mut w = parts.open_at("abc", 0).await.unwrap();
        w.write(b"hello ").await.unwrap();
        // A second writer is refused while the first holds the file.
        assert!(matches!(parts.open_at("abc", 0).await, Err(PartError::Busy)));
        assert_eq!(w.sync().await.unwrap(), 6);
        // A chunk written but never acknowledged: the next one starts at 6 again.
        let mut w = parts.open_at("abc", 6).await.unwrap();
        w.write(b"wor").await.unwrap();
        drop(w);
        let mut w = parts.open_at("abc", 6).await.unwrap();
        w.write(b"world").await.unwrap();
        assert_eq!(w.sync().await.unwrap(), 11);
        // Acknowledged bytes that are missing are an error, not silently zeros.
        assert!(matches!(parts.open_at("abc", 20).await, Err(PartError::Other(_))));
        let blobs = LocalBlobStore::open(dir.path().join("audio")).await.unwrap();
        let staged = parts.stage("abc", &blobs).await.unwrap();
        assert_eq!(staged.sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
        assert_eq!(parts.ids().await.unwrap(), vec!["abc".to_string()]);
        parts.remove("abc").await.unwrap();
        assert!(parts.ids().await.unwrap().is_empty());
        assert!(parts.open_at("../x", 0).await.is_err());
    }
}
