//! `dictaflow storage`: the audio store from the command line (moving a local store into
//! the configured bucket).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::config::Config;
use crate::storage::blob::{BucketUrl, migrate};
use crate::storage::{LocalBlobStore, S3BlobStore};

#[derive(Subcommand, Debug)]
pub enum StorageCommand {
    /// Copy a local audio store into the bucket of `storage.audio_url`, verifying each
    /// object's SHA-256; resumable and idempotent (run it again after an interruption).
    MigrateAudio {
        /// The local audio store (default: `<data_dir>/audio`).
        #[arg(long)]
        from: Option<PathBuf>,
        /// Delete each local file once its copy in the bucket is verified.
        #[arg(long)]
        remove_local: bool,
    },
}

pub async fn run(config: &Config, cmd: StorageCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StorageCommand::MigrateAudio { from, remove_local } => migrate_audio(config, from, remove_local).await,
    }
}

async fn migrate_audio(config: &Config, from: Option<PathBuf>, remove_local: bool) -> anyhow::Result<ExitCode> {
    let storage = &config.storage;
    let bucket = BucketUrl::parse(storage.audio_url.trim())?.with_context(|| {
        format!("storage.audio_url must name the destination bucket (s3://BUCKET/PREFIX), not {:?}", storage.audio_url)
    })?;
    let from = from.unwrap_or_else(|| storage.data_dir.join("audio"));
    anyhow::ensure!(from.is_dir(), "--from: {} is not a directory holding an audio store", from.display());
    let source = LocalBlobStore::open(&from).await?;
    let dest = S3BlobStore::open(&bucket, &storage.s3, from.join("tmp")).await?;
    crate::storage::BlobStore::check(&dest).await.with_context(|| format!("cannot reach {bucket}"))?;
    println!("migrating {} -> {bucket}", from.display());
    let report = migrate::to_bucket(&source, &dest, remove_local, &|sha, what| println!("{sha}: {what}")).await?;
    println!(
        "copied {}, already in the bucket {}, removed locally {}, corrupt {}",
        report.copied,
        report.already_there,
        report.removed_local,
        report.corrupt.len()
    );
    if report.corrupt.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("dictaflow: these local files do not match their digest and were not copied: {:?}", report.corrupt);
    Ok(ExitCode::FAILURE)
}
