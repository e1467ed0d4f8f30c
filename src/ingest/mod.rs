//! Ingest: validates an upload's fields, inspects its audio by content, and commits
//! the blob, the dictation row and its transcription job durably.

pub mod fields;
pub mod resumable;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

pub use fields::{FieldError, RawFields, UploadFields};

use crate::audio::{self, AudioError, AudioInfo, Limits};
use crate::clock::Clock;
use crate::storage::blob::StagedBlob;
use crate::storage::dictations::{self, AudioRecord, NewDictation};
use crate::storage::users::User;
use crate::storage::{BlobStore, Db, is_unique_violation};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("the server is busy decoding other uploads; retry shortly")]
    Overloaded,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for IngestError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

/// Everything an upload needs from the running server.
#[derive(Clone, Debug)]
pub struct Ingest {
    pub db: Db,
    pub blobs: Arc<dyn BlobStore>,
    pub limits: Limits,
    pub decode_slots: Arc<Semaphore>,
    pub clock: Clock,
    /// Transcription attempts per dictation (`stt.max_attempts`).
    pub max_attempts: i64,
}

pub struct Upload {
    pub staged: StagedBlob,
    pub fields: UploadFields,
    pub uploader: User,
    pub clinician_id: String,
    pub idempotency_key: Option<String>,
    pub original_filename: Option<String>,
}

impl Ingest {
    /// Inspects the staged audio and, when it is acceptable, stores it and
    /// creates the dictation. Returns the dictation id. A rejected upload leaves
    /// nothing behind.
    pub async fn accept(&self, upload: Upload) -> Result<String, IngestError> {
        let info = match self.inspect(&upload.staged).await {
            Ok(info) => info,
            Err(e) => {
                upload.staged.discard().await;
                return Err(e);
            }
        };
        let staged = upload.staged;
        let record = audio_record(&staged, &info);
        self.blobs.commit(staged).await?;
        let f = upload.fields;
        let letter = f.letter.clone();
        let new = NewDictation {
            priority: f.priority,
            specialty: f.specialty,
            letter_type: f.letter_type,
            clinician_id: upload.clinician_id,
            created_by: upload.uploader.id.clone(),
            patient_nhs_number: f.patient_nhs_number.map(|n| n.as_str().to_string()),
            patient_name: f.patient_name,
            patient_dob: f.patient_dob.map(|d| d.to_string()),
            hospital_number: f.hospital_number,
            notes: f.notes,
            original_filename: upload.original_filename,
            idempotency_key: upload.idempotency_key.clone(),
            audio: record,
            max_attempts: self.max_attempts,
        };
        let mut tx = self.db.begin_write().await?;
        let now = self.clock.now_ms();
        match dictations::insert(&mut tx, &new, now).await {
            Ok(id) => {
                // Routing, the start stage, the due time and the timers commit with the row.
                if let Some(details) = &letter {
                    crate::storage::letters::put_details(&mut tx, &id, details, Some(&new.created_by), now).await?;
                }
                crate::workflow::service::start::start_dictation(&mut tx, &id, now).await?;
                crate::jobs::announce(&mut tx, self.db.backend).await?;
                tx.commit().await?;
                crate::jobs::wake();
                tracing::info!(dictation = %id, sha256 = %new.audio.sha256, duration = new.audio.duration_seconds, "dictation received");
                Ok(id)
            }
            Err(e) if is_unique_violation(&e) && upload.idempotency_key.is_some() => {
                // A concurrent request with the same key won the race: answer with its dictation.
                drop(tx);
                let key = upload.idempotency_key.unwrap_or_default();
                dictations::find_by_idempotency_key(&self.db, &upload.uploader.id, &key)
                    .await?
                    .ok_or_else(|| IngestError::Internal(anyhow::anyhow!("idempotency key conflict without a row")))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn inspect(&self, staged: &StagedBlob) -> Result<AudioInfo, IngestError> {
        // Decoding is CPU-bound: bound how many run at once, and how long an upload waits for a slot.
        let permit = tokio::time::timeout(Duration::from_secs(60), self.decode_slots.clone().acquire_owned())
            .await
            .map_err(|_| IngestError::Overloaded)?
            .map_err(|_| IngestError::Overloaded)?;
        let result = audio::inspect(staged.path.clone(), self.limits.clone()).await;
        drop(permit);
        Ok(result?)
    }
}

fn audio_record(staged: &StagedBlob, info: &AudioInfo) -> AudioRecord {
    AudioRecord {
        sha256: staged.sha256.clone(),
        bytes: staged.bytes,
        container: info.container.clone(),
        codec: info.codec.clone(),
        sample_rate: info.sample_rate,
        channels: info.channels,
        bits_per_sample: info.bits_per_sample,
        duration_seconds: info.duration_seconds,
        peak_dbfs: info.peak_dbfs,
        rms_dbfs: info.rms_dbfs,
        silent: info.silent,
        warnings: info.warnings.clone(),
    }
}
