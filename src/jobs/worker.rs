//! Worker loops: claim a job, keep its lease alive while it runs, record the
//! outcome exactly once. Each job runs isolated so a panic cannot kill the loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::queue::{self, ClaimedJob};
use super::transcribe::Transcriber;
use crate::clock::Clock;
use crate::storage::Db;

pub const TRANSCRIBE: &str = "transcribe";

/// What a running job shares with its heartbeat.
#[derive(Default)]
pub struct JobControl {
    progress: AtomicU32,
    cancel: Arc<AtomicBool>,
}

impl JobControl {
    pub fn set_progress(&self, p: f32) {
        self.progress.store(p.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
    }
    pub fn progress(&self) -> f32 {
        f32::from_bits(self.progress.load(Ordering::Relaxed))
    }
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }
}

#[derive(Clone)]
pub struct Workers {
    pub db: Db,
    pub clock: Clock,
    pub transcriber: Arc<Transcriber>,
    pub lease_ms: i64,
    pub wake: Arc<Notify>,
    pub process_id: String,
}

impl Workers {
    /// Runs `count` worker loops until `shutdown`. A job interrupted by shutdown
    /// keeps its lease and is taken again when the lease expires.
    pub fn spawn(&self, count: usize, shutdown: CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
        let mut handles: Vec<_> = (0..count)
            .map(|i| {
                let me = self.clone();
                let stop = shutdown.clone();
                let owner = format!("{}-w{i}", self.process_id);
                tokio::spawn(async move { me.run_loop(&owner, stop).await })
            })
            .collect();
        handles.push(tokio::spawn(super::listen(self.db.clone(), shutdown)));
        handles
    }

    async fn run_loop(&self, owner: &str, shutdown: CancellationToken) {
        tracing::info!(worker = owner, "transcription worker started");
        while !shutdown.is_cancelled() {
            let ran = tokio::select! {
                r = self.run_one(owner) => r,
                _ = shutdown.cancelled() => break,
            };
            match ran {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = ?e, "worker loop error"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        tracing::info!(worker = owner, "transcription worker stopped");
    }

    /// Claims and runs one job now; `Ok(false)` when none was ready.
    pub async fn run_one(&self, owner: &str) -> anyhow::Result<bool> {
        let now = self.clock.now_ms();
        for id in queue::fail_exhausted(&self.db, TRANSCRIBE, now).await? {
            self.transcriber.mark_failed(&id, "the worker stopped during every attempt (crash or timeout)").await?;
        }
        let Some(job) = queue::claim(&self.db, TRANSCRIBE, owner, now, self.lease_ms).await? else {
            return Ok(false);
        };
        let span = tracing::info_span!("job", job = %job.id, dictation = job.dictation_id.as_deref().unwrap_or("-"), attempt = job.attempt);
        let _enter = span.enter();
        drop(_enter);
        let control = Arc::new(JobControl::default());
        let beat = self.heartbeat(job.clone(), control.clone());
        let outcome = std::panic::AssertUnwindSafe(self.transcriber.run(&job, control.clone())).catch_unwind().await;
        beat.abort();
        let outcome = match outcome {
            Ok(r) => r,
            Err(_) => Err(anyhow::anyhow!("the transcription panicked")),
        };
        if let Err(e) = outcome {
            if control.cancel.load(Ordering::Relaxed) {
                tracing::info!(job = %job.id, "job cancelled or lease lost; not recording an outcome");
            } else {
                tracing::warn!(job = %job.id, error = %format!("{e:#}"), "transcription attempt failed");
                crate::metrics::count("dictaflow_transcriptions_total", &[("outcome", "attempt_failed")], 1.0);
                self.transcriber.record_failure(&job, &format!("{e:#}")).await?;
            }
        }
        Ok(true)
    }

    fn heartbeat(&self, job: ClaimedJob, control: Arc<JobControl>) -> tokio::task::JoinHandle<()> {
        let (db, clock, lease) = (self.db.clone(), self.clock.clone(), self.lease_ms);
        tokio::spawn(async move {
            let every = Duration::from_millis((lease / 4).clamp(200, 10_000) as u64);
            loop {
                tokio::time::sleep(every).await;
                match queue::heartbeat(&db, &job, clock.now_ms(), lease, f64::from(control.progress())).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::info!(job = %job.id, "lease lost or job cancelled; stopping it");
                        control.cancel.store(true, Ordering::Relaxed);
                        return;
                    }
                    Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                }
            }
        })
    }
}
