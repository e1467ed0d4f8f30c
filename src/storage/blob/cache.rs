//! A bounded on-disk read-through cache of a bucket's objects on this node.
//!
//! Objects are content-addressed and never change under their digest, so a cached copy
//! never needs revalidating. Entries are files `<sha256>.cached` in this process's own
//! directory `<data_dir>/audio/cache/<pid>-<nonce>/` (created on the first entry, so a
//! worker that only decodes never has one; locked like a staging directory, and removed
//! at the next start once its process is gone), at most `storage.s3.cache_mib` in all,
//! least recently used out first. An entry also goes [`MAX_AGE`] after it was filled, so
//! that audio another node purged under the retention policy does not stay on this
//! node's disk for longer than that (it is never served meanwhile: the audio endpoint
//! checks the dictation row first). Filled from an upload's staged file when it is
//! committed (a rename) and by a background download, verified against its digest, on
//! the first read of an object this node has not cached.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OnceCell, Semaphore};

use super::staging::Staging;

/// How long an entry is kept after it was filled, however often it is read.
pub(super) const MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Background downloads at once; a read that finds them all busy does not start another.
const FILLS_AT_ONCE: usize = 2;

#[derive(Debug)]
pub(super) struct Cache {
    /// `<data_dir>/audio/cache`, holding every process's own directory.
    root: PathBuf,
    /// This process's directory, created with the first entry.
    own: OnceCell<Staging>,
    limit: u64,
    max_age: Duration,
    state: Mutex<State>,
    fills: Arc<Semaphore>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Entry>,
    total: u64,
    /// A counter standing for time: each use of an entry takes the next value.
    clock: u64,
    /// Downloads under way, with how far each has come.
    filling: HashMap<String, Arc<Progress>>,
}

/// A background download's file and how many of its first bytes are written.
#[derive(Debug)]
pub(super) struct Progress {
    pub path: PathBuf,
    pub written: AtomicU64,
}

#[derive(Debug)]
struct Entry {
    bytes: u64,
    used: u64,
    filled: Instant,
}

impl State {
    /// Takes out the entries past `max_age`, then the least recently used until `room`
    /// more bytes fit under `limit`; returns the digests taken out.
    fn make_room(&mut self, room: u64, limit: u64, max_age: Duration) -> Vec<String> {
        let mut out: Vec<String> =
            self.entries.iter().filter(|(_, e)| e.filled.elapsed() >= max_age).map(|(s, _)| s.clone()).collect();
        for sha in &out {
            self.forget(sha);
        }
        while self.total + room > limit {
            let Some(oldest) = self.entries.iter().min_by_key(|(_, e)| e.used).map(|(s, _)| s.clone()) else {
                break;
            };
            self.forget(&oldest);
            out.push(oldest);
        }
        out
    }

    fn forget(&mut self, sha256: &str) -> bool {
        match self.entries.remove(sha256) {
            Some(e) => {
                self.total -= e.bytes;
                true
            }
            None => false,
        }
    }
}

impl Cache {
    /// `None` when `limit` is 0 (no cache).
    pub(super) fn new(root: PathBuf, limit: u64) -> Option<Self> {
        (limit > 0).then(|| Self {
            root,
            own: OnceCell::new(),
            limit,
            max_age: MAX_AGE,
            state: Mutex::default(),
            fills: Arc::new(Semaphore::new(FILLS_AT_ONCE)),
        })
    }

    /// This process's directory, once created.
    pub(super) fn own(&self) -> Option<&Path> {
        self.own.get().map(Staging::own)
    }

    async fn dir(&self) -> anyhow::Result<&Staging> {
        self.own.get_or_try_init(|| Staging::open(self.root.clone())).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached file of `sha256`, marked as just used, or `None`.
    pub(super) fn get(&self, sha256: &str) -> Option<PathBuf> {
        let own = self.own()?;
        let mut state = self.lock();
        state.clock += 1;
        let clock = state.clock;
        if state.entries.get(sha256)?.filled.elapsed() >= self.max_age {
            state.forget(sha256);
            drop(state);
            std::fs::remove_file(entry_path(own, sha256)).ok();
            return None;
        }
        if let Some(entry) = state.entries.get_mut(sha256) {
            entry.used = clock;
        }
        Some(entry_path(own, sha256))
    }

    /// The size of a cached object, without marking it used.
    pub(super) fn size(&self, sha256: &str) -> Option<u64> {
        self.lock().entries.get(sha256).map(|e| e.bytes)
    }

    /// Moves the file `from` (`bytes` long, whose digest the caller has checked) in as the entry
    /// of `sha256`, evicting what must go. Returns whether it was taken: not when it is
    /// larger than the whole cache or cannot be moved, and then `from` is removed.
    pub(super) async fn admit(&self, sha256: &str, from: &Path, bytes: u64) -> bool {
        let taken = self.try_admit(sha256, from, bytes).await;
        if let Err(e) = &taken {
            tracing::debug!(error = %e, sha256, "not cached");
        }
        if !matches!(taken, Ok(true)) {
            tokio::fs::remove_file(from).await.ok();
        }
        matches!(taken, Ok(true))
    }

    async fn try_admit(&self, sha256: &str, from: &Path, bytes: u64) -> anyhow::Result<bool> {
        if bytes > self.limit {
            return Ok(false);
        }
        let own = self.dir().await?.own().to_path_buf();
        let (victims, present) = {
            let mut state = self.lock();
            let present = state.entries.contains_key(sha256);
            let victims = if present { Vec::new() } else { state.make_room(bytes, self.limit, self.max_age) };
            (victims, present)
        };
        for victim in victims {
            tokio::fs::remove_file(entry_path(&own, &victim)).await.ok();
        }
        if present {
            return Ok(false); // Already cached: the same bytes.
        }
        tokio::fs::rename(from, entry_path(&own, sha256)).await?;
        let mut state = self.lock();
        state.clock += 1;
        let used = state.clock;
        if let Some(old) = state.entries.insert(sha256.to_string(), Entry { bytes, used, filled: Instant::now() }) {
            state.total -= old.bytes;
        }
        state.total += bytes;
        Ok(true)
    }

    /// Forgets and removes the entry of `sha256` (the object was deleted).
    pub(super) async fn remove(&self, sha256: &str) {
        let removed = self.lock().forget(sha256);
        if removed && let Some(own) = self.own() {
            tokio::fs::remove_file(entry_path(own, sha256)).await.ok();
        }
    }

    /// Claims the download of `sha256` into the cache: `None` when it is cached, larger
    /// than the cache, already being downloaded, or every download slot is busy.
    pub(super) async fn claim_fill(self: &Arc<Self>, sha256: &str, bytes: u64) -> Option<Fill> {
        if bytes > self.limit {
            return None;
        }
        let permit = self.fills.clone().try_acquire_owned().ok()?;
        if self.lock().entries.contains_key(sha256) {
            return None;
        }
        let path = match self.dir().await {
            Ok(dir) => dir.new_path("filling"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot create the audio cache directory");
                return None;
            }
        };
        let progress = Arc::new(Progress { path: path.clone(), written: AtomicU64::new(0) });
        {
            let mut state = self.lock();
            if state.entries.contains_key(sha256) || state.filling.contains_key(sha256) {
                return None;
            }
            state.filling.insert(sha256.to_string(), progress.clone());
        }
        Some(Fill { cache: self.clone(), sha256: sha256.to_string(), path, progress, _permit: permit })
    }

    /// The file of a download of `sha256` under way that holds its first `end` bytes
    /// already: reads behind the download's front need not wait for it to finish.
    pub(super) fn filled_up_to(&self, sha256: &str, end: u64) -> Option<PathBuf> {
        let state = self.lock();
        let progress = state.filling.get(sha256)?;
        (progress.written.load(Ordering::Acquire) >= end).then(|| progress.path.clone())
    }

    /// Removes the cache directories of processes that are gone, whatever their age
    /// (a cache is worth nothing to the next process); returns how many files.
    pub(super) async fn clean_gone(&self) -> anyhow::Result<usize> {
        let root = self.root.clone();
        if !tokio::fs::try_exists(&root).await.unwrap_or(false) {
            return Ok(0);
        }
        let own = self.own().map_or_else(|| root.join("-"), Path::to_path_buf);
        tokio::task::spawn_blocking(move || super::staging::clean_abandoned(&root, &own, Duration::ZERO)).await?
    }

    #[cfg(test)]
    fn bytes(&self) -> u64 {
        self.lock().total
    }
}

/// A claimed background download: its temporary file, released when dropped.
pub(super) struct Fill {
    cache: Arc<Cache>,
    pub sha256: String,
    pub path: PathBuf,
    /// Where the download reports how far it has come.
    pub progress: Arc<Progress>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Fill {
    fn drop(&mut self) {
        self.cache.lock().filling.remove(&self.sha256);
        // A download that did not make it into the cache leaves nothing behind.
        std::fs::remove_file(&self.path).ok();
    }
}

fn entry_path(own: &Path, sha256: &str) -> PathBuf {
    own.join(format!("{sha256}.cached"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(n: u8) -> String {
        format!("{n:02x}").repeat(32)
    }

    async fn file(dir: &Path, name: &str, bytes: usize) -> PathBuf {
        let path = dir.join(name);
        tokio::fs::write(&path, vec![7u8; bytes]).await.unwrap();
        path
    }

    #[tokio::test]
    async fn least_recently_used_entries_go_first_and_the_limit_holds() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"), 100).unwrap();
        assert!(cache.get(&sha(1)).is_none(), "nothing before the first entry");
        for n in 1..=3 {
            let from = file(dir.path(), &format!("{n}.part"), 40).await;
            assert!(cache.admit(&sha(n), &from, 40).await);
            assert!(!from.exists(), "moved, not copied");
        }
        // 120 bytes do not fit in 100: the first entry went.
        assert!(cache.get(&sha(1)).is_none());
        assert_eq!(cache.bytes(), 80);
        // Reading 2 makes 3 the least recently used.
        let two = cache.get(&sha(2)).unwrap();
        assert_eq!(std::fs::read(&two).unwrap().len(), 40);
        let from = file(dir.path(), "4.part", 40).await;
        assert!(cache.admit(&sha(4), &from, 40).await);
        assert!(cache.get(&sha(3)).is_none() && cache.get(&sha(2)).is_some() && cache.get(&sha(4)).is_some());
        let own = cache.own().unwrap().to_path_buf();
        let files = std::fs::read_dir(&own).unwrap().filter(|e| e.as_ref().unwrap().path() != own.join("owner.lock"));
        assert_eq!(files.count(), 2, "evicted entries' files are removed");
        // Larger than the whole cache: not taken, and its file is removed.
        let from = file(dir.path(), "big.part", 101).await;
        assert!(!cache.admit(&sha(5), &from, 101).await);
        assert!(!from.exists());
        cache.remove(&sha(2)).await;
        assert!(cache.get(&sha(2)).is_none() && !entry_path(&own, &sha(2)).exists());
        assert_eq!(cache.bytes(), 40);
        assert!(Cache::new(dir.path().join("none"), 0).is_none(), "0 MiB: no cache");
    }

    #[tokio::test]
    async fn entries_expire_and_downloads_are_claimed_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::new(dir.path().join("cache"), 1000).unwrap();
        cache.max_age = Duration::ZERO;
        let from = file(dir.path(), "1.part", 10).await;
        assert!(cache.admit(&sha(1), &from, 10).await);
        assert!(cache.get(&sha(1)).is_none(), "past its age");
        let cache = Arc::new(cache);
        let fill = cache.claim_fill(&sha(2), 10).await.unwrap();
        assert!(cache.claim_fill(&sha(2), 10).await.is_none(), "one download per object");
        assert!(cache.claim_fill(&sha(3), 2000).await.is_none(), "larger than the cache");
        let other = cache.claim_fill(&sha(3), 10).await.unwrap();
        assert!(cache.claim_fill(&sha(4), 10).await.is_none(), "both download slots are busy");
        tokio::fs::write(&fill.path, b"0123456789").await.unwrap();
        // Reads behind the download's front are told its file; those ahead are not.
        assert_eq!(cache.filled_up_to(&sha(2), 1), None, "nothing counted as written yet");
        fill.progress.written.store(6, Ordering::Release);
        assert_eq!(cache.filled_up_to(&sha(2), 6), Some(fill.path.clone()));
        assert_eq!(cache.filled_up_to(&sha(2), 7), None, "past the front");
        assert_eq!(cache.filled_up_to(&sha(5), 1), None, "no download of that object");
        let path = fill.path.clone();
        drop((fill, other));
        assert_eq!(cache.filled_up_to(&sha(2), 1), None, "the download is over");
        assert!(!path.exists(), "an abandoned download leaves nothing");
        assert!(cache.claim_fill(&sha(2), 10).await.is_some(), "free again");
    }
}
