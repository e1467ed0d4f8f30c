//! The S3-compatible store: `s3://BUCKET/PREFIX` holding `PREFIX/ab/cd/<sha256>`.
//!
//! Uploads are staged on this host's disk as for the local store (hashed, inspected) and
//! sent to the bucket while they are received ([`super::incoming`]): parts of
//! `storage.s3.part_size_mib`, at most two in flight (so memory stays bounded whatever
//! the file's size), to an incoming key; at commit the upload is completed and accepted
//! (its manifest written), then copied to the content-addressed key after the client has
//! its answer, by this node or whichever needs it first ([`pending`]).
//! When sending on the way fails, the commit sends the staged file instead (one PUT, or
//! a multipart upload read from the file). S3 makes an object visible only when its PUT,
//! multipart completion or copy succeeds, so no half-made object is ever seen under a
//! digest; a process killed mid-upload leaves an incomplete multipart upload, invisible,
//! which the bucket's lifecycle rule removes (docs/deploy.md). Reads are ranged GETs
//! streamed to the client, or served from this node's read-through cache
//! ([`super::cache`]) once the object is in it; the decoder gets a copy in this process's
//! staging directory, checked against its digest and removed after use.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};
use sha2::{Digest, Sha256};
use tokio::fs::{self, File};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::cache::Cache;
use super::incoming::{Accepted, COPY_LIMIT, Incoming, PARTS_IN_FLIGHT};
use super::staging::Staging;
use super::{BlobStore, LocalCopy, PendingBlob, StagedBlob, is_sha256_hex, relative_name};
use crate::config::S3Config;

mod cached;
pub(super) mod pending;

/// `s3://BUCKET/PREFIX`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketUrl {
    pub bucket: String,
    /// Without leading or trailing slashes; may be empty.
    pub prefix: String,
}

impl BucketUrl {
    /// `None` when `url` is no `s3://` URL; an error when it is a malformed one.
    pub fn parse(url: &str) -> anyhow::Result<Option<Self>> {
        let Some(rest) = url.strip_prefix("s3://") else { return Ok(None) };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        anyhow::ensure!(valid_bucket, "storage.audio_url: {bucket:?} is not a valid bucket name (s3://BUCKET/PREFIX)");
        let prefix = prefix.trim_matches('/').to_string();
        anyhow::ensure!(
            prefix.split('/').all(|s| !s.is_empty() && s != "." && s != "..") || prefix.is_empty(),
            "storage.audio_url: the prefix {prefix:?} has an empty, `.` or `..` segment"
        );
        Ok(Some(Self { bucket: bucket.to_string(), prefix }))
    }
}

impl std::fmt::Display for BucketUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

#[derive(Debug, Clone)]
pub struct S3BlobStore {
    store: Arc<AmazonS3>,
    url: BucketUrl,
    prefix: Key,
    part_size: usize,
    staging: Staging,
    /// Sizes of objects seen: an object's bytes never change under its digest, so the audio
    /// endpoint's range requests need no HEAD each. Forgotten on delete; bounded.
    sizes: Arc<Mutex<HashMap<String, u64>>>,
    /// This node's read-through cache (`storage.s3.cache_mib`; none at 0).
    cache: Option<Arc<Cache>>,
    /// Accepted uploads being finished by this process ([`pending`]).
    finishing: pending::Finishing,
}

/// Sizes remembered at most (then the memory starts again).
const SIZES_KEPT: usize = 10_000;
/// Bytes gathered before a downloaded object's next write to its file.
const WRITE_BUFFER: usize = 1 << 20;

impl S3BlobStore {
    /// Connects lazily (the first request does); `staging` is this host's `tmp/`, the
    /// cache lives beside it in `cache/`.
    pub async fn open(url: &BucketUrl, config: &S3Config, staging: PathBuf) -> anyhow::Result<Self> {
        let store = builder(url, config)?.build().context("invalid S3 settings (storage.s3)")?;
        let cache_root = staging.parent().unwrap_or(&staging).join("cache");
        let cache = Cache::new(cache_root, config.cache_mib.saturating_mul(1024 * 1024)).map(Arc::new);
        Ok(Self {
            store: Arc::new(store),
            url: url.clone(),
            prefix: Key::from(url.prefix.as_str()),
            part_size: config.part_size_mib.clamp(5, 512) * 1024 * 1024,
            staging: Staging::open(staging).await?,
            sizes: Arc::default(),
            cache,
            finishing: Arc::default(),
        })
    }

    fn remember(&self, sha256: &str, size: Option<u64>) {
        let Ok(mut sizes) = self.sizes.lock() else { return };
        match size {
            Some(size) => {
                if sizes.len() >= SIZES_KEPT {
                    sizes.clear();
                }
                sizes.insert(sha256.to_string(), size);
            }
            None => {
                sizes.remove(sha256);
            }
        }
    }

    fn key(&self, sha256: &str) -> anyhow::Result<Key> {
        let [a, b, name] = relative_name(sha256)?;
        Ok(self.prefix.clone().join(a).join(b).join(name))
    }

    /// Downloads the object of `sha256` to `path`, checked against its digest, counting
    /// the bytes written in `progress` on the way.
    pub(super) async fn download_to(
        &self,
        sha256: &str,
        path: &Path,
        progress: Option<&AtomicU64>,
    ) -> anyhow::Result<()> {
        let key = self.key(sha256)?;
        let mut file = File::create(path).await?;
        let mut got = self.fetch(&key, Some((&mut file, progress))).await?;
        if got.is_none() && self.finish_pending(sha256).await? {
            got = self.fetch(&key, Some((&mut file, progress))).await?;
        }
        let got = got.with_context(|| format!("{key} is not in the bucket"))?;
        anyhow::ensure!(got == sha256, "the bucket's object {key} has digest {got}, not its name's");
        Ok(())
    }

    /// The SHA-256 of the stored object (streamed, written to `sink` on the way, the bytes
    /// written counted in its counter), or `None` when it is missing.
    async fn fetch(&self, key: &Key, sink: Option<(&mut File, Option<&AtomicU64>)>) -> anyhow::Result<Option<String>> {
        let mut stream = match timed("get", self.store.get(key)).await {
            Ok(result) => result.into_stream(),
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // The body arrives in pieces of a few KiB; each write to a tokio file is a trip to
        // the blocking pool, so they are gathered into writes of a MiB.
        let mut sink = sink.map(|(file, progress)| Sink { file, progress, buf: Vec::new(), written: 0 });
        let mut hasher = Sha256::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.inspect_err(|_| {
                crate::metrics::count("dictaflow_object_store_errors_total", &[("op", "get_body")], 1.0);
            })?;
            hasher.update(&chunk);
            if let Some(sink) = sink.as_mut() {
                sink.buf.extend_from_slice(&chunk);
                if sink.buf.len() >= WRITE_BUFFER {
                    sink.write_out().await?;
                }
            }
        }
        if let Some(sink) = sink.as_mut() {
            sink.write_out().await?;
        }
        Ok(Some(hex::encode(hasher.finalize())))
    }

    /// The digest of the bucket's object named `sha256` computed from its bytes, or `None`
    /// when there is no such object.
    pub async fn stored_digest(&self, sha256: &str) -> anyhow::Result<Option<String>> {
        let key = self.key(sha256)?;
        match self.fetch(&key, None).await? {
            None if self.finish_pending(sha256).await? => self.fetch(&key, None).await,
            got => Ok(got),
        }
    }

    /// The first half of [`BlobStore::commit`]: makes a staged upload durable in the
    /// bucket, one PUT under its digest or, for a multipart upload, the completed upload
    /// under `incoming/` and its manifest ([`pending`]), without finishing it (the copy to
    /// the digest's key). `commit` finishes it in the background; any node needing the
    /// object first, starting or sweeping finishes it otherwise.
    pub async fn accept(&self, mut staged: StagedBlob) -> anyhow::Result<()> {
        let accepted = self.accept_staged(&mut staged).await;
        staged.discard().await;
        accepted.map(drop)
    }

    async fn accept_staged(&self, staged: &mut StagedBlob) -> anyhow::Result<Accepted> {
        // Sent even when an object with this digest exists: equal bytes replace equal
        // bytes, and its age restarts so reconciliation leaves it until the row commits.
        let incoming =
            staged.incoming.take().map(|i| i.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner));
        let incoming = incoming.filter(|i| !i.is_multipart() || staged.bytes <= COPY_LIMIT);
        let key = self.key(&staged.sha256)?;
        let accepted = match incoming {
            Some(incoming) => incoming.accept(&key, &staged.sha256, staged.bytes).await,
            None => self.upload(&staged.path, staged.bytes, &key).await.map(|()| Accepted::Stored),
        };
        let accepted = accepted.context("cannot store the upload in the bucket")?;
        self.remember(&staged.sha256, Some(staged.bytes));
        if let Some(cache) = &self.cache {
            cache.admit(&staged.sha256, &staged.path, staged.bytes).await;
        }
        Ok(accepted)
    }

    /// Sends a file of this host as the blob `sha256` (the caller vouches for the digest).
    pub async fn put_file(&self, path: &Path, sha256: &str) -> anyhow::Result<()> {
        let bytes = fs::metadata(path).await.with_context(|| format!("cannot read {}", path.display()))?.len();
        self.upload(path, bytes, &self.key(sha256)?).await
    }

    /// Sends a staged file to `key`: one PUT, or a multipart upload aborted on failure.
    async fn upload(&self, path: &Path, bytes: u64, key: &Key) -> anyhow::Result<()> {
        let mut file = File::open(path).await.with_context(|| format!("cannot open {}", path.display()))?;
        if bytes <= self.part_size as u64 {
            let mut body = Vec::with_capacity(bytes as usize);
            file.read_to_end(&mut body).await?;
            timed("put", self.store.put(key, PutPayload::from(body))).await?;
            return Ok(());
        }
        let upload = timed("put_multipart", self.store.put_multipart(key)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
        let sent = send_parts(&mut file, &mut writer).await;
        match sent {
            Ok(()) => {
                timed("complete_multipart", writer.finish()).await?;
                Ok(())
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, key = %key, "could not abort a failed multipart upload");
                }
                Err(e)
            }
        }
    }
}

/// A download's file, its buffer, and the count of bytes written that readers may see.
struct Sink<'a> {
    file: &'a mut File,
    progress: Option<&'a AtomicU64>,
    buf: Vec<u8>,
    written: u64,
}

impl Sink<'_> {
    async fn write_out(&mut self) -> std::io::Result<()> {
        self.file.write_all(&self.buf).await?;
        // A tokio file's write may still be on its way in the blocking pool: readers of
        // the file are told of bytes only once they are in it.
        self.file.flush().await?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        if let Some(progress) = self.progress {
            progress.store(self.written, Ordering::Release);
        }
        Ok(())
    }
}

async fn send_parts(file: &mut File, writer: &mut WriteMultipart) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        timed("put_part", writer.wait_for_capacity(PARTS_IN_FLIGHT)).await?;
        writer.write(&buf[..n]);
    }
}

/// The client: `AWS_*` environment variables first, then `storage.s3`, then (without
/// keys from either) the shared credentials file's profile; without any, object_store
/// asks the instance role, the container's role or a web identity token.
fn builder(url: &BucketUrl, config: &S3Config) -> anyhow::Result<AmazonS3Builder> {
    let mut options = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        // A whole request, body included: long enough for a slow reader of a long recording.
        .with_timeout(Duration::from_secs(900))
        .with_allow_http(config.allow_http);
    if !config.keep_alive {
        options = options.with_pool_max_idle_per_host(0);
    }
    let retry = RetryConfig { max_retries: 3, retry_timeout: Duration::from_secs(60), ..RetryConfig::default() };
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(&url.bucket)
        .with_client_options(options)
        .with_retry(retry)
        .with_unsigned_payload(!config.sign_payload)
        .with_virtual_hosted_style_request(config.virtual_hosted_style);
    if !config.endpoint.is_empty() {
        b = b.with_endpoint(&config.endpoint);
    }
    if !config.region.is_empty() {
        b = b.with_region(&config.region);
    } else if std::env::var_os("AWS_REGION").is_none() {
        let default_region = std::env::var("AWS_DEFAULT_REGION").unwrap_or_else(|_| "us-east-1".into());
        b = b.with_region(default_region);
    }
    if !config.access_key_id.is_empty() {
        b = b.with_access_key_id(&config.access_key_id).with_secret_access_key(config.secret_access_key.expose());
    } else if std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
        && let Some(profile) = super::profile::credentials()?
    {
        b = b.with_access_key_id(profile.key_id).with_secret_access_key(profile.secret);
        if let Some(token) = profile.token {
            b = b.with_token(token);
        }
    }
    match config.sse.as_str() {
        "" => {}
        "aws:kms" => b = b.with_sse_kms_encryption(&config.sse_kms_key_id),
        "aws:kms:dsse" => b = b.with_dsse_kms_encryption(&config.sse_kms_key_id),
        "AES256" => {
            b = b.with_config("aws_server_side_encryption".parse().context("object_store key")?, "AES256");
        }
        other => anyhow::bail!("storage.s3.sse: {other:?} is not \"\", \"AES256\", \"aws:kms\" or \"aws:kms:dsse\""),
    }
    Ok(b)
}

/// Runs one object-store call, recording its latency and, when it fails, an error. A
/// lookup that finds nothing (404) is an answer, not a failure: logged at debug level
/// and not counted, so that operators see errors only for what went wrong.
pub(super) async fn timed<T, E: std::fmt::Display + 'static>(
    op: &'static str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let started = Instant::now();
    let result = call.await;
    crate::metrics::observe("dictaflow_object_store_seconds", &[("op", op)], started.elapsed().as_secs_f64());
    if let Err(e) = &result {
        let missing = (e as &dyn std::any::Any).downcast_ref::<object_store::Error>().is_some_and(not_found);
        if missing {
            tracing::debug!(op, error = %e, "object store: not found");
        } else {
            crate::metrics::count("dictaflow_object_store_errors_total", &[("op", op)], 1.0);
            tracing::warn!(op, error = %e, "object store call failed");
        }
    }
    result
}

fn not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn begin(&self) -> anyhow::Result<PendingBlob> {
        let mut pending = self.staging.begin().await?;
        pending.fsync = false;
        pending.incoming = Some(Incoming::new(self.store.clone(), &self.prefix, self.part_size));
        Ok(pending)
    }

    async fn commit(&self, mut staged: StagedBlob) -> anyhow::Result<()> {
        let accepted = self.accept_staged(&mut staged).await;
        staged.discard().await;
        if let Accepted::Pending(manifest) = accepted? {
            // The client need not wait for the server-side copy to the digest's key.
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(e) = this.finish(&manifest, "uploader").await {
                    tracing::warn!(error = %e, sha256 = %manifest.sha256,
                        "an accepted upload is not finished yet; a reader or the next start will");
                }
            });
        }
        Ok(())
    }

    async fn size(&self, sha256: &str) -> anyhow::Result<Option<u64>> {
        let key = self.key(sha256)?;
        if let Some(size) = self.sizes.lock().ok().and_then(|s| s.get(sha256).copied()) {
            return Ok(Some(size));
        }
        if let Some(size) = self.cache.as_ref().and_then(|c| c.size(sha256)) {
            return Ok(Some(size));
        }
        for attempt in 0..2 {
            match timed("head", self.store.head(&key)).await {
                Ok(meta) => {
                    self.remember(sha256, Some(meta.size));
                    return Ok(Some(meta.size));
                }
                Err(e) if not_found(&e) => {
                    if attempt > 0 || !self.finish_pending(sha256).await? {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    async fn read_range(
        &self,
        sha256: &str,
        offset: u64,
        len: u64,
    ) -> anyhow::Result<Box<dyn AsyncRead + Send + Unpin>> {
        let key = self.key(sha256)?;
        if len == 0 {
            return Ok(Box::new(tokio::io::empty()));
        }
        if let Some(cache) = &self.cache {
            if let Some(file) = self.cached(cache, sha256).await {
                return Ok(Box::new(super::file_range(file, offset, len).await?));
            }
            self.fill_in_background(cache, sha256).await;
            // Behind the front of the download under way, its file has the bytes.
            if let Some(path) = cache.filled_up_to(sha256, offset + len)
                && let Ok(file) = File::open(path).await
            {
                crate::metrics::count("dictaflow_audio_cache_reads_total", &[("result", "filling")], 1.0);
                return Ok(Box::new(super::file_range(file, offset, len).await?));
            }
        }
        let options = GetOptions { range: Some(GetRange::Bounded(offset..offset + len)), ..GetOptions::default() };
        let result = match timed("get", self.store.get_opts(&key, options.clone())).await {
            Err(e) if not_found(&e) && self.finish_pending(sha256).await? => {
                timed("get", self.store.get_opts(&key, options)).await?
            }
            result => result?,
        };
        let stream = result.into_stream().map_err(|e| {
            crate::metrics::count("dictaflow_object_store_errors_total", &[("op", "get_body")], 1.0);
            std::io::Error::other(e)
        });
        Ok(Box::new(tokio_util::io::StreamReader::new(stream)))
    }

    async fn local_copy(&self, sha256: &str) -> anyhow::Result<LocalCopy> {
        let copy = LocalCopy { path: self.staging.new_path("copy"), temporary: true };
        // A cached object is linked, not downloaded (the link outlives an eviction).
        if let Some(cached) = self.cache.as_ref().and_then(|c| c.get(sha256))
            && fs::hard_link(&cached, copy.path()).await.is_ok()
        {
            return Ok(copy);
        }
        self.download_to(sha256, copy.path(), None).await?;
        Ok(copy)
    }

    async fn list(&self) -> anyhow::Result<Vec<(String, SystemTime)>> {
        let started = Instant::now();
        let listed: Result<Vec<_>, _> = self.store.list(Some(&self.prefix)).try_collect().await;
        crate::metrics::observe("dictaflow_object_store_seconds", &[("op", "list")], started.elapsed().as_secs_f64());
        let listed = listed
            .inspect_err(|_| crate::metrics::count("dictaflow_object_store_errors_total", &[("op", "list")], 1.0))?;
        // Accepted uploads count as stored: their rows may have committed already.
        let mut found = HashMap::new();
        for meta in listed {
            let modified = SystemTime::from(meta.last_modified);
            let name = meta.location.filename().filter(|n| is_sha256_hex(n)).map(str::to_string);
            if let Some(sha) = name.or_else(|| pending::pending_digest(&meta.location)) {
                found.entry(sha).and_modify(|m: &mut SystemTime| *m = (*m).max(modified)).or_insert(modified);
            }
        }
        Ok(found.into_iter().collect())
    }

    async fn delete(&self, sha256: &str) -> anyhow::Result<()> {
        let key = self.key(sha256)?;
        self.remember(sha256, None);
        if let Some(cache) = &self.cache {
            cache.remove(sha256).await;
        }
        // Not while this process finishes its upload (that would bring the object back).
        self.one_at_a_time(sha256, async {
            self.discard_pending(sha256).await?;
            match timed("delete", self.store.delete(&key)).await {
                Ok(()) => Ok(()),
                Err(e) if not_found(&e) => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn clean_temporary(&self, grace: Duration) -> anyhow::Result<usize> {
        let mut removed = self.staging.clean(grace).await?;
        if let Some(cache) = &self.cache {
            removed += cache.clean_gone().await?;
        }
        // After a crash: what the killed process accepted and did not finish.
        let (finished, kept) = self.finish_all(grace.min(Duration::from_secs(60)), "start").await?;
        if finished > 0 {
            tracing::info!(finished, "finished uploads accepted before a restart");
        }
        Ok(removed + self.clean_incoming(grace, &kept).await?)
    }

    async fn finish_accepted(&self) -> anyhow::Result<usize> {
        Ok(self.finish_all(pending::SWEEP_MIN_AGE, "sweep").await?.0)
    }

    async fn check(&self) -> anyhow::Result<()> {
        let call = timed("list", self.store.list_with_delimiter(Some(&self.prefix)));
        tokio::time::timeout(Duration::from_secs(5), call).await.context("the bucket did not answer within 5 s")??;
        Ok(())
    }

    fn location(&self) -> String {
        self.url.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lookup_that_finds_nothing_is_no_error() {
        let missing = || object_store::Error::NotFound { path: "a/b".into(), source: "404".into() };
        let failed = || object_store::Error::Generic { store: "S3", source: "connection refused".into() };
        assert!(timed("test_lookup", async { Err::<(), _>(missing()) }).await.is_err());
        assert!(timed("test_failure", async { Err::<(), _>(failed()) }).await.is_err());
        let mut text = String::new();
        crate::metrics::render_registry(&mut text);
        assert!(text.contains(r#"dictaflow_object_store_seconds_count{op="test_lookup"}"#), "{text}");
        assert!(!text.contains(r#"dictaflow_object_store_errors_total{op="test_lookup"}"#), "{text}");
        assert!(text.contains(r#"dictaflow_object_store_errors_total{op="test_failure"} 1"#), "{text}");
    }

    #[test]
    fn bucket_urls() {
        let u = BucketUrl::parse("s3://audio-bucket/trust/dictations/").unwrap().unwrap();
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("audio-bucket", "trust/dictations"));
        assert_eq!(BucketUrl::parse("s3://audio").unwrap().unwrap().prefix, "");
        assert_eq!(BucketUrl::parse("/srv/audio").unwrap(), None);
        assert!(BucketUrl::parse("s3://").is_err());
        assert!(BucketUrl::parse("s3://Bad_Bucket/x").is_err());
        assert!(BucketUrl::parse("s3://bucket/a//b").is_err());
        assert!(BucketUrl::parse("s3://bucket/a/../b").is_err());
    }
}
