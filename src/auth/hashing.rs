//! Password hashing and checking off the async runtime, on threads of their own, a few at
//! a time. An argon2 check holds about 19 MiB for tens of milliseconds: run on tokio's
//! blocking pool without a bound, a burst of logins filled the pool that uploads and
//! transcription need and took hundreds of MB. Here at most one hash per core runs; the
//! others wait for a slot without holding any hash memory.

use std::sync::{Arc, LazyLock};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// Password hashes that may run at once in this process.
pub fn slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

static SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(slots())));

/// Runs `work` (a password hash or check) on a thread of its own once a slot is free.
/// The slot is held by the thread, not by the caller: a caller that goes away (a client
/// that disconnects) does not free it before the hash is done.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let permit: OwnedSemaphorePermit = SLOTS.clone().acquire_owned().await?;
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new().name("password-hash".into()).spawn(move || {
        let out = work();
        drop(permit);
        let _ = tx.send(out);
    })?;
    Ok(rx.await?)
}

/// Checks `password` against `hash`, or against a dummy hash when there is none (an
/// unknown user costs the same time as a wrong password).
pub async fn verify(password: String, hash: Option<String>) -> anyhow::Result<bool> {
    run(move || match hash {
        Some(hash) => super::verify_password(&password, &hash),
        None => {
            super::verify_password(&password, super::dummy_hash());
            false
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn no_more_than_the_slots_run_at_once() {
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        let tasks: Vec<_> = (0..(slots() * 4))
            .map(|_| {
                tokio::spawn(run(|| {
                    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
                    PEAK.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    RUNNING.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert!(PEAK.load(Ordering::SeqCst) <= slots(), "peak {}", PEAK.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn checks_passwords() {
        let hash = run(|| super::super::hash_password("correct horse").unwrap()).await.unwrap();
        assert!(verify("correct horse".into(), Some(hash.clone())).await.unwrap());
        assert!(!verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!verify("correct horse".into(), None).await.unwrap());
    }
}
