//! Server assembly: connects storage, reconciles it, builds the router and serves
//! on an injected listener until the shutdown token fires.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::audio::Limits;
use crate::clock::Clock;
use crate::config::Config;
use crate::ingest::Ingest;
use crate::storage::reconcile::reconcile;
use crate::storage::{BlobStore, Db};

/// The storage side of a running dictaflow: database and audio store, migrated and reconciled.
pub async fn open_storage(config: &Config) -> anyhow::Result<(Db, Arc<dyn BlobStore>)> {
    std::fs::create_dir_all(&config.storage.data_dir)
        .with_context(|| format!("cannot create the data directory {}", config.storage.data_dir.display()))?;
    let url = config.database_url();
    let db = Db::connect(&url, config.storage.connections(&url)).await?;
    db.migrate().await?;
    let blobs = crate::storage::blob::open(&config.storage).await?;
    let grace = Duration::from_secs(config.storage.orphan_grace_seconds);
    let report = reconcile(&db, blobs.as_ref(), grace)
        .await
        .with_context(|| format!("cannot reconcile the audio store {}", blobs.location()))?;
    tracing::info!(?report, audio = %blobs.location(), "storage reconciled");
    if !report.missing_audio.is_empty() {
        tracing::warn!(dictations = ?report.missing_audio,
            "these dictations' audio is not in this process's audio store; they were left unchanged");
    }
    Ok((db, blobs))
}

pub fn limits_of(config: &Config) -> Limits {
    Limits {
        max_duration_seconds: config.limits.max_duration_seconds,
        min_duration_seconds: config.limits.min_duration_seconds,
        decode_timeout: Duration::from_secs(config.limits.decode_timeout_seconds),
    }
}

pub async fn build_state(config: Config, clock: Clock) -> anyhow::Result<AppState> {
    let (db, blobs) = open_storage(&config).await?;
    let calendars = crate::workflow::calendar_file::load_all(config.calendars.dir.as_deref())?;
    crate::workflow::service::defs::install_calendars(&db.memo, calendars);
    crate::workflow::service::defs::seed(&db, clock.now_ms()).await?;
    let ingest = Ingest {
        db: db.clone(),
        blobs: blobs.clone(),
        limits: limits_of(&config),
        decode_slots: Arc::new(Semaphore::new(config.decode_concurrency())),
        clock: clock.clone(),
        max_attempts: config.stt.max_attempts,
    };
    let stt = crate::jobs::runtime::SttStatus::with_direct_slots(
        config.stt.enabled,
        config.stt.worker_count(),
        config.limits.direct_max_waiting,
    );
    let audit = crate::audit::writer::AuditWriter::spawn(db.clone());
    if config.audit.checkpoint_seconds > 0 {
        // Created before serving, so a missing or unreadable key stops the start.
        crate::audit::anchor::SigningKey::load_or_create(&config.audit.key_path(&config.storage.data_dir))?;
    }
    let oidc = crate::auth::oidc::ProviderCache::default();
    Ok(AppState { config: Arc::new(config), db, blobs, clock, ingest, stt, audit, oidc })
}

/// Serves until `shutdown` is cancelled, then lets in-flight requests finish
/// for the configured grace period.
pub async fn run(listener: TcpListener, state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let grace = Duration::from_secs(state.config.server.shutdown_grace_seconds);
    let scheduler =
        tokio::spawn(crate::workflow::service::scheduler::run(state.db.clone(), state.clock.clone(), shutdown.clone()));
    let deliverer = tokio::spawn(crate::webhooks::deliver::run(
        state.db.clone(),
        state.clock.clone(),
        crate::webhooks::deliver::Policy::from(&state.config.webhooks),
        shutdown.clone(),
    ));
    let recognition = state.config.stt.enabled.then(|| {
        crate::jobs::runtime::start(
            state.config.stt.clone(),
            &state.ingest,
            state.clock.clone(),
            state.stt.clone(),
            shutdown.clone(),
        )
    });
    let letters = tokio::spawn(crate::letters::dispatch::run(
        state.db.clone(),
        state.clock.clone(),
        crate::letters::dispatch::Delivering::from(&*state.config),
        shutdown.clone(),
    ));
    let finishing =
        tokio::spawn(crate::storage::blob::finish_accepted_periodically(state.blobs.clone(), shutdown.clone()));
    let retention = tokio::spawn(crate::retention::run(
        state.db.clone(),
        state.blobs.clone(),
        state.clock.clone(),
        state.config.retention.audio_days_after_dispatch,
        shutdown.clone(),
    ));
    let uploads = tokio::spawn(crate::ingest::resumable::run(
        state.db.clone(),
        crate::storage::partial::Partials::new(&state.config.storage.data_dir),
        state.clock.clone(),
        shutdown.clone(),
    ));
    let checkpoints = start_checkpoints(&state, &shutdown)?;
    let notify = start_notify(&state, &shutdown)?;
    let tls = match (&state.config.server.tls_cert, &state.config.server.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key)?),
        _ => None,
    };
    let throttled = tokio::spawn(crate::auth::throttled::run(state.db.clone(), state.clock.clone(), shutdown.clone()));
    let soft_nofile = crate::connections::nofile::raise();
    let limits = crate::connections::Limits::new(&state.config.server, soft_nofile);
    let app = api::router(state);
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        address = %listener.local_addr()?,
        scheme,
        open_file_limit = soft_nofile,
        max_connections = limits.max_connections,
        "dictaflow listening"
    );
    let mut server = tokio::spawn(crate::connections::serve(listener, tls, app, limits, shutdown.clone()));
    tokio::select! {
        joined = &mut server => {
            joined.context("server task failed")?.context("server error")?;
            return Ok(());
        }
        _ = shutdown.cancelled() => {}
    }
    match tokio::time::timeout(grace, server).await {
        Ok(joined) => joined.context("server task failed")?.context("server error")?,
        Err(_) => tracing::warn!("in-flight requests did not finish within the shutdown grace period"),
    }
    let _ = scheduler.await;
    let _ = retention.await;
    let _ = finishing.await;
    let _ = letters.await;
    let _ = uploads.await;
    let _ = throttled.await;
    let _ = deliverer.await;
    for task in notify {
        let _ = task.await;
    }
    if let Some(c) = checkpoints {
        let _ = c.await;
    }
    if let Some(r) = recognition {
        let _ = r.await;
    }
    tracing::info!("dictaflow stopped");
    Ok(())
}

/// Loads (or creates) the audit signing key and starts the signed checkpoints, unless
/// `audit.checkpoint_seconds` is 0.
fn start_checkpoints(
    state: &AppState,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let (audit, data_dir) = (&state.config.audit, &state.config.storage.data_dir);
    if audit.checkpoint_seconds == 0 {
        return Ok(None);
    }
    let key = crate::audit::anchor::SigningKey::load_or_create(&audit.key_path(data_dir))?;
    let every = Duration::from_secs(audit.checkpoint_seconds);
    let run = crate::audit::anchor::run(
        state.db.clone(),
        key,
        audit.export_path(data_dir),
        state.clock.clone(),
        every,
        shutdown.clone(),
    );
    Ok(Some(tokio::spawn(run)))
}

/// Starts the notification schedule (digests, weekly reports) and, when `[smtp]` has a
/// host, the email sender. A wrong `[smtp]` setting stops the start.
fn start_notify(state: &AppState, shutdown: &CancellationToken) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let config = &state.config;
    let schedule =
        crate::notify::schedule::run(state.db.clone(), state.clock.clone(), config.notify.clone(), shutdown.clone());
    let mut tasks = vec![tokio::spawn(schedule)];
    if let Some(mailer) = crate::notify::mailer::Mailer::new(&config.smtp)? {
        let sender = crate::notify::outbox::run(
            state.db.clone(),
            mailer,
            state.clock.clone(),
            config.smtp.clone(),
            config.notify.clone(),
            shutdown.clone(),
        );
        tasks.push(tokio::spawn(sender));
    }
    Ok(tasks)
}

/// Cancels `token` on ctrl-c or SIGTERM.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!("ctrl-c received; shutting down"),
            _ = term => tracing::info!("SIGTERM received; shutting down"),
        }
        token.cancel();
    });
}
