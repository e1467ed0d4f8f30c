//! Anchoring the hash chain outside the database: every `audit.checkpoint_seconds` the
//! server signs a checkpoint (last seq, its hash, row count, time) with an Ed25519 key kept
//! in a file, stores it in `audit_checkpoints` and appends it to an export file as a JSON
//! line. Someone who can write the database can recompute the chain, but cannot sign a
//! checkpoint for it, nor change the exported ones.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, Millis};
use crate::storage::Db;

/// `[audit]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnchorConfig {
    /// The Ed25519 signing key (PKCS#8), created with mode 0600 on first start when absent.
    /// Default `<data_dir>/audit-signing-key.p8`; keep it where database administrators
    /// cannot write.
    pub signing_key: Option<PathBuf>,
    /// Seconds between checkpoints (0: none).
    pub checkpoint_seconds: u64,
    /// The JSON-lines file each checkpoint is appended to. Default
    /// `<data_dir>/audit-checkpoints.jsonl`; ship it off the machine.
    pub checkpoint_export: Option<PathBuf>,
}

impl Default for AnchorConfig {
    fn default() -> Self {
        Self { signing_key: None, checkpoint_seconds: 300, checkpoint_export: None }
    }
}

impl AnchorConfig {
    pub fn key_path(&self, data_dir: &Path) -> PathBuf {
        self.signing_key.clone().unwrap_or_else(|| data_dir.join("audit-signing-key.p8"))
    }
    pub fn export_path(&self, data_dir: &Path) -> PathBuf {
        self.checkpoint_export.clone().unwrap_or_else(|| data_dir.join("audit-checkpoints.jsonl"))
    }
}

/// The server's checkpoint signing key.
pub struct SigningKey(Ed25519KeyPair);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", key_id(self.public_key()))
    }
}

impl SigningKey {
    /// Reads the key at `path`, or creates it there (readable by the owner only).
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| anyhow::anyhow!("cannot generate an Ed25519 key"))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut f) => {
                    f.write_all(doc.as_ref())?;
                    f.sync_all()?;
                    tracing::info!(path = %path.display(), "created the audit checkpoint signing key");
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
            }
        }
        Self::load(path)
    }

    /// Reads the key at `path`.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read the signing key {}", path.display()))?;
        let pair = Ed25519KeyPair::from_pkcs8(&bytes)
            .map_err(|e| anyhow::anyhow!("{} is not an Ed25519 PKCS#8 key: {e}", path.display()))?;
        Ok(Self(pair))
    }

    pub fn public_key(&self) -> &[u8] {
        self.0.public_key().as_ref()
    }

    /// A signed checkpoint of the chain at `seq`.
    pub fn sign(&self, seq: i64, hash: &str, rows: i64, at: Millis) -> Checkpoint {
        let mut c =
            Checkpoint { seq, hash: hash.into(), rows, at, key_id: key_id(self.public_key()), signature: "".into() };
        c.signature = hex::encode(self.0.sign(c.message().as_bytes()).as_ref());
        c
    }
}

/// The first 16 hex digits of the SHA-256 of a public key: which key signed.
pub fn key_id(public_key: &[u8]) -> String {
    hex::encode(Sha256::digest(public_key))[..16].to_string()
}

/// A signed statement: "the chain had `rows` rows and ended at `seq` with `hash` at `at`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub rows: i64,
    pub at: Millis,
    pub key_id: String,
    /// Ed25519 over [`Checkpoint::message`], hex.
    pub signature: String,
}

impl Checkpoint {
    /// The signed bytes: a fixed prefix and each field on its own line.
    pub fn message(&self) -> String {
        format!("dictaflow-audit-checkpoint-v1\n{}\n{}\n{}\n{}", self.seq, self.hash, self.rows, self.at)
    }

    /// True when the signature is `public_key`'s over this checkpoint's fields.
    pub fn is_signed_by(&self, public_key: &[u8]) -> bool {
        let Ok(signature) = hex::decode(&self.signature) else { return false };
        UnparsedPublicKey::new(&ED25519, public_key).verify(self.message().as_bytes(), &signature).is_ok()
    }
}

/// Reads an export file (one JSON checkpoint a line; blank lines skipped).
pub fn read_export(path: &Path) -> anyhow::Result<Vec<Checkpoint>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{} line {}", path.display(), i + 1)))
        .collect()
}

fn append_export(path: &Path, c: &Checkpoint) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).with_context(|| format!("cannot open {}", path.display()))?;
    writeln!(f, "{}", serde_json::to_string(c)?)?;
    f.sync_data()?;
    Ok(())
}

/// Signs and stores a checkpoint of the committed chain, then exports it. `None` when the
/// chain is empty or already has a checkpoint at its head (another process's, perhaps).
pub async fn checkpoint(db: &Db, key: &SigningKey, export: &Path, now: Millis) -> anyhow::Result<Option<Checkpoint>> {
    let mut read = db.begin_read().await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&mut *read).await?;
    let (seq, hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE seq <= $1").bind(seq).fetch_one(&mut *read).await?;
    read.commit().await?;
    if seq == 0 {
        return Ok(None);
    }
    let c = key.sign(seq, &hash, rows, now);
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(
        "INSERT INTO audit_checkpoints (seq, hash, rows, at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (seq) DO NOTHING",
    )
    .bind(c.seq)
    .bind(&c.hash)
    .bind(c.rows)
    .bind(c.at)
    .bind(&c.key_id)
    .bind(&c.signature)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    append_export(export, &c)?;
    // Also in the log, for operators who ship logs to syslog or a SIEM.
    tracing::info!(target: "dictaflow::audit::checkpoint", seq = c.seq, hash = %c.hash, rows = c.rows,
        key_id = %c.key_id, signature = %c.signature, "audit checkpoint");
    Ok(Some(c))
}

/// Takes a checkpoint every `every` until `shutdown`, and a last one on the way out.
pub async fn run(db: Db, key: SigningKey, export: PathBuf, clock: Clock, every: Duration, shutdown: CancellationToken) {
    loop {
        let stop = tokio::select! {
            _ = shutdown.cancelled() => true,
            _ = tokio::time::sleep(every) => false,
        };
        if let Err(e) = checkpoint(&db, &key, &export, clock.now_ms()).await {
            tracing::error!(error = format!("{e:#}"), "cannot take an audit checkpoint");
        }
        if stop {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_verify_only_under_their_key_and_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/audit.p8");
        let key = SigningKey::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let again = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(key.public_key(), again.public_key(), "the key is kept, not replaced");
        let c = key.sign(42, &"ab".repeat(32), 42, 1_700_000_000_000);
        assert!(c.is_signed_by(key.public_key()));
        let other = SigningKey::load_or_create(&dir.path().join("other.p8")).unwrap();
        assert!(!c.is_signed_by(other.public_key()), "another key");
        type Edit = fn(&mut Checkpoint);
        let edits: [Edit; 4] = [|c| c.seq += 1, |c| c.hash = "cd".repeat(32), |c| c.rows -= 1, |c| c.at += 1];
        for edit in edits {
            let mut forged = c.clone();
            edit(&mut forged);
            assert!(!forged.is_signed_by(key.public_key()), "{forged:?}");
        }
    }
}
