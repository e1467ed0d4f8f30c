//! An upload's bytes sent to the bucket while they are still being received.
//!
//! The digest, and so the object's key, is known only once the last byte has arrived.
//! The first part's worth of bytes is held in memory; an upload that ends there is one
//! PUT to its content-addressed key at commit. A longer one becomes a multipart upload to
//! `PREFIX/incoming/<uuid>` as soon as a part is full, its parts sent (at most
//! [`PARTS_IN_FLIGHT`] at once, so memory stays bounded) while the rest is received,
//! hashed and staged. At commit the last part is sent, the multipart upload completed
//! (the incoming object is whole and durable) and a manifest ([`super::s3::pending`])
//! written under `PREFIX/pending/<sha256>/`: the upload is *accepted*. Finishing it
//! (copying it server-side to its content-addressed key, deleting the incoming object and
//! the manifest) happens after the client has its answer, on this node or any other.
//! Nothing half-made is ever visible under a digest: a multipart upload's object exists
//! only once completed, and the digest's object only once the copy succeeds. Failure
//! before the completion aborts the multipart upload; a process killed before it leaves
//! an invisible incomplete upload (the bucket's lifecycle rule removes it), one killed
//! before the manifest an `incoming/` object that start-up clean-up removes.

use std::sync::Arc;

use object_store::aws::AmazonS3;
use object_store::path::Path as Key;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};

use super::s3::pending::Manifest;
use super::s3::timed;

/// Parts in flight per multipart upload.
pub(super) const PARTS_IN_FLIGHT: usize = 2;
/// The largest object one CopyObject request may copy (S3's limit); larger uploads are
/// sent again from the staged file.
pub(super) const COPY_LIMIT: u64 = 5 * 1024 * 1024 * 1024;

/// The folder of the bucket prefix holding objects being committed.
pub(super) const INCOMING: &str = "incoming";

pub(super) struct Incoming {
    store: Arc<AmazonS3>,
    /// The store's prefix (where the manifest goes).
    prefix: Key,
    key: Key,
    part_size: usize,
    /// The bytes received until a part is full.
    head: Vec<u8>,
    /// The multipart upload, once more than a part has arrived.
    writer: Option<WriteMultipart>,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming").field("key", &self.key).field("multipart", &self.writer.is_some()).finish()
    }
}

/// What [`Incoming::accept`] made of an upload.
pub(super) enum Accepted {
    /// Stored under its digest already (one PUT).
    Stored,
    /// Completed under `incoming/`, its manifest written; still to be copied to its digest.
    Pending(Manifest),
}

impl Incoming {
    pub(super) fn new(store: Arc<AmazonS3>, prefix: &Key, part_size: usize) -> Self {
        let key = prefix.clone().join(INCOMING).join(uuid::Uuid::now_v7().simple().to_string());
        Self { store, prefix: prefix.clone(), key, part_size, head: Vec::new(), writer: None }
    }

    /// Whether parts are being sent (else the bytes so far are held in memory).
    pub(super) fn is_multipart(&self) -> bool {
        self.writer.is_some()
    }

    /// Sends `chunk` on, waiting while [`PARTS_IN_FLIGHT`] parts are on their way.
    pub(super) async fn write(&mut self, chunk: &[u8]) -> anyhow::Result<()> {
        if let Some(writer) = &mut self.writer {
            timed("put_part", writer.wait_for_capacity(PARTS_IN_FLIGHT)).await?;
            writer.write(chunk);
            return Ok(());
        }
        if self.head.capacity() == 0 {
            self.head.reserve_exact(self.part_size + chunk.len());
        }
        self.head.extend_from_slice(chunk);
        if self.head.len() > self.part_size {
            let upload = timed("put_multipart", self.store.put_multipart(&self.key)).await?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
            writer.write(&std::mem::take(&mut self.head));
            self.writer = Some(writer);
        }
        Ok(())
    }

    /// Makes what was received durable in the bucket as the object `sha256` names (`key`):
    /// one PUT, or the multipart upload's last part sent, the upload completed and its
    /// manifest written (the caller then finishes it, see [`super::s3::pending`]). A
    /// failure before the completion aborts the upload.
    pub(super) async fn accept(mut self, key: &Key, sha256: &str, bytes: u64) -> anyhow::Result<Accepted> {
        let Some(mut writer) = self.writer.take() else {
            let body = PutPayload::from(std::mem::take(&mut self.head));
            timed("put", self.store.put(key, body)).await?;
            return Ok(Accepted::Stored);
        };
        if let Err(e) = timed("put_part", writer.wait_for_capacity(0)).await {
            abort(writer, &self.key).await;
            return Err(e.into());
        }
        // Completed before the client's answer: a server may stop a completion whose client
        // went away (s3s-fs does, after forgetting the upload), so one cut short by a killed
        // node must be one the client was never told had succeeded.
        timed("complete_multipart", writer.finish()).await?;
        let manifest = Manifest { sha256: sha256.to_string(), bytes, incoming: self.key.to_string() };
        let written = match serde_json::to_vec(&manifest) {
            Ok(body) => {
                let at = manifest.key(&self.prefix);
                timed("put", self.store.put(&at, PutPayload::from(body))).await.map(drop).map_err(Into::into)
            }
            Err(e) => Err(anyhow::Error::from(e)),
        };
        if let Err(e) = written {
            if let Err(e) = timed("delete", self.store.delete(&self.key)).await {
                tracing::warn!(error = %e, key = %self.key, "an incoming object is left for start-up clean-up");
            }
            return Err(e);
        }
        Ok(Accepted::Pending(manifest))
    }
}

async fn abort(writer: WriteMultipart, key: &Key) {
    if let Err(e) = timed("abort_multipart", writer.abort()).await {
        tracing::warn!(error = %e, key = %key, "could not abort a multipart upload (the lifecycle rule will)");
    }
}

impl Drop for Incoming {
    /// An upload given up (refused, failed, discarded) aborts its multipart upload.
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let key = self.key.clone();
            runtime.spawn(async move { abort(writer, &key).await });
        }
    }
}
