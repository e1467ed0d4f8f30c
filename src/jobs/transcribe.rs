//! The transcription job: decode the stored audio, run Whisper off the async
//! runtime, format the draft (in British spelling unless the settings say otherwise),
//! and record transcript + draft + status in one transaction guarded by the job lease
//! (so it is written exactly once).

use std::sync::Arc;

use anyhow::Context;
use sqlx::Row;

use super::queue::{self, ClaimedJob};
use super::runtime::Recognition;
use super::worker::JobControl;
use crate::audio::{self, Limits};
use crate::clock::Clock;
use crate::draft::{CommandTable, format_draft, to_british};
use crate::storage::{BlobStore, Db, Tx};
use crate::stt::Transcript;
use crate::workflow::SystemEvent;
use crate::workflow::service::recognition;

pub struct Transcriber {
    pub db: Db,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Clock,
    /// The settings and engine in force when a job starts (they may change between jobs).
    pub recognition: Arc<Recognition>,
    pub limits: Limits,
    pub commands: Arc<CommandTable>,
}

impl Transcriber {
    pub async fn run(&self, job: &ClaimedJob, control: Arc<JobControl>) -> anyhow::Result<()> {
        let id = job.dictation_id.as_deref().context("transcription job without a dictation")?;
        let row = sqlx::query("SELECT audio_sha256, status, clinician_id, specialty FROM dictations WHERE id = $1")
            .bind(id)
            .fetch_one(&self.db.pool)
            .await?;
        let sha: String = row.try_get("audio_sha256")?;
        self.mark_transcribing(id).await?;
        // With a bucket: a temporary copy on this host, removed once decoded.
        let copy = self.blobs.local_copy(&sha).await.context("cannot fetch the stored audio")?;
        let (samples, _info) = audio::decode(copy.path().to_path_buf(), self.limits.clone())
            .await
            .context("cannot decode the stored audio")?;
        drop(copy);
        let (engine, settings) = self.recognition.for_job().await?;
        let mut options = settings.options();
        options.initial_prompt = crate::vocabulary::prompt_for(&self.db, id).await?;
        if self.recognition.config.lexicon {
            options.lexicon = Some(Arc::new(crate::lexicon::index_for_dictation(&self.db, id).await?));
        }
        let cancel = control.cancel_flag();
        let progress = control.clone();
        let mut transcript = crate::telemetry::spawn_blocking_with_tracing(move || {
            engine.transcribe_owned(samples, &options, move |p| progress.set_progress(p), cancel)
        })
        .await
        .context("the recogniser thread failed")??;
        crate::lexicon::substitute::apply_approved(&self.db, id, &mut transcript).await;
        let draft = draft_of(&mut transcript, &self.commands, settings.british_spelling);
        self.record_success(job, id, &transcript, &draft).await
    }

    async fn mark_transcribing(&self, id: &str) -> anyhow::Result<()> {
        let status: String = sqlx::query("SELECT status FROM dictations WHERE id = $1")
            .bind(id)
            .fetch_one(&self.db.pool)
            .await?
            .try_get("status")?;
        if status == "received" {
            recognition::on_recognition_started(&self.db, &self.clock, id).await?;
        }
        Ok(())
    }

    async fn record_success(&self, job: &ClaimedJob, id: &str, t: &Transcript, draft: &str) -> anyhow::Result<()> {
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        if !queue::complete(&mut tx, job, now).await? {
            tracing::warn!(job = %job.id, "lease lost before completion; another worker owns the job");
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO transcripts (dictation_id, model, language, raw_text, text, segments, processing_seconds, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(&t.model)
        .bind(&t.language)
        .bind(&t.text)
        .bind(draft)
        .bind(serde_json::to_string(&t.segments)?)
        .bind(t.processing_seconds)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        recognition::apply_in(&mut tx, id, SystemEvent::RecognitionDone, Some(draft), None, now).await?;
        tx.commit().await?;
        crate::workflow::service::scheduler::wake();
        tracing::info!(dictation = %id, audio_seconds = t.audio_seconds, processing_seconds = t.processing_seconds, "transcribed");
        crate::metrics::observe("dictaflow_transcription_seconds", &[("model", &t.model)], t.processing_seconds);
        crate::metrics::count("dictaflow_transcribed_audio_seconds_total", &[("model", &t.model)], t.audio_seconds);
        crate::metrics::count("dictaflow_transcriptions_total", &[("outcome", "done")], 1.0);
        Ok(())
    }

    /// Records a failed attempt; after the last one the dictation is `failed` with the reason.
    pub async fn record_failure(&self, job: &ClaimedJob, error: &str) -> anyhow::Result<()> {
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        let last = queue::fail(&mut tx, job, now, error).await?;
        if last && let Some(id) = &job.dictation_id {
            fail_dictation(&mut tx, id, error, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn mark_failed(&self, dictation_id: &str, reason: &str) -> anyhow::Result<()> {
        let mut tx = self.db.begin_write().await?;
        fail_dictation(&mut tx, dictation_id, reason, self.clock.now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The formatted draft, and with `british_spelling` the draft and the words the secretary
/// sees (segments) in British spelling alike; `text` stays what the recogniser wrote.
fn draft_of(t: &mut Transcript, commands: &CommandTable, british_spelling: bool) -> String {
    if !british_spelling {
        return format_draft(&t.text, commands);
    }
    make_british(t);
    format_draft(&to_british(&t.text), commands)
}

/// Writes a transcript's segments and words in British spelling; its `text` stays as the
/// recogniser wrote it.
pub fn make_british(t: &mut Transcript) {
    for segment in &mut t.segments {
        segment.text = to_british(&segment.text).into_owned();
        for word in &mut segment.words {
            word.text = to_british(&word.text).into_owned();
        }
    }
}

async fn fail_dictation(tx: &mut Tx, id: &str, reason: &str, now: i64) -> anyhow::Result<()> {
    recognition::apply_in(tx, id, SystemEvent::RecognitionFailed, None, Some(reason), now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SttConfig;
    use crate::jobs::settings::RecognitionSettings;
    use crate::stt::{Segment, Word};

    fn transcript(words: &[&str]) -> Transcript {
        let text = words.join(" ");
        let words = words
            .iter()
            .enumerate()
            .map(|(i, w)| Word {
                start: i as f64,
                end: i as f64 + 0.5,
                text: (*w).into(),
                confidence: 0.9,
                low_confidence: false,
                heard: None,
            })
            .collect();
        Transcript {
            text: text.clone(),
            language: "en".into(),
            segments: vec![Segment { start: 0.0, end: 9.0, text, words, ..Segment::default() }],
            model: "tiny.en".into(),
            processing_seconds: 1.0,
            audio_seconds: 9.0,
        }
    }

    fn words(t: &Transcript) -> Vec<&str> {
        t.words().map(|w| w.text.as_str()).collect()
    }

    const SAID: [&str; 8] = ["The", "tumor", "has", "lowered", "her", "hemoglobin", "full", "stop"];

    #[test]
    fn the_default_drafts_in_british_spelling_words_and_text_alike() {
        let british = RecognitionSettings::defaults(&SttConfig::default()).british_spelling;
        let mut t = transcript(&SAID);
        let draft = draft_of(&mut t, &CommandTable::builtin(), british);
        assert_eq!(draft, "The tumour has lowered her haemoglobin.");
        assert_eq!(words(&t), ["The", "tumour", "has", "lowered", "her", "haemoglobin", "full", "stop"]);
        assert_eq!(t.segments[0].text, "The tumour has lowered her haemoglobin full stop");
        assert_eq!(t.text, SAID.join(" "), "the recogniser's own text is kept as it wrote it");
    }

    #[test]
    fn with_the_setting_off_the_draft_stays_american() {
        let mut t = transcript(&SAID);
        let draft = draft_of(&mut t, &CommandTable::builtin(), false);
        assert_eq!(draft, "The tumor has lowered her hemoglobin.");
        assert_eq!(words(&t), SAID);
    }
}
