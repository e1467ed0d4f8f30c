//! The recognition settings row a super-user saves (model, decoding, language, VAD,
//! low-confidence threshold, British spelling), with a version that grows on every change so that workers
//! in any process can tell cheaply whether to re-read it.

use sqlx::Row;

use super::{Db, Tx};
use crate::clock::Millis;

/// The stored settings. Validation is the caller's (`crate::jobs::settings`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSettings {
    pub model: String,
    pub beam_size: u32,
    pub language: String,
    pub vad: bool,
    pub low_confidence_threshold: f64,
    pub british_spelling: bool,
    pub version: i64,
    pub updated_at: Millis,
    pub updated_by: Option<String>,
}

/// The row, with the username of whoever saved it; `None` before the first save.
pub async fn load(db: &Db) -> Result<Option<StoredSettings>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT s.model, s.beam_size, s.language, s.vad, s.low_confidence_threshold, s.british_spelling, s.version, s.updated_at, \
         u.username AS updated_by FROM recognition_settings s LEFT JOIN users u ON u.id = s.updated_by WHERE s.id = 1",
    )
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(StoredSettings {
            model: r.try_get("model")?,
            beam_size: u32::try_from(r.try_get::<i64, _>("beam_size")?).unwrap_or(1),
            language: r.try_get("language")?,
            vad: r.try_get::<i64, _>("vad")? != 0,
            low_confidence_threshold: r.try_get::<f64, _>("low_confidence_threshold")?,
            british_spelling: r.try_get::<i64, _>("british_spelling")? != 0,
            version: r.try_get("version")?,
            updated_at: r.try_get("updated_at")?,
            updated_by: r.try_get("updated_by")?,
        })
    })
    .transpose()
}

/// The current version (0 before the first save): one indexed single-row read.
pub async fn version(db: &Db) -> Result<i64, sqlx::Error> {
    let v: Option<i64> =
        sqlx::query_scalar("SELECT version FROM recognition_settings WHERE id = 1").fetch_optional(&db.pool).await?;
    Ok(v.unwrap_or(0))
}

/// Writes the settings as the new version in `tx`; returns it.
pub async fn save(tx: &mut Tx, s: &StoredSettings, user_id: &str, now: Millis) -> Result<i64, sqlx::Error> {
    let version: i64 = sqlx::query_scalar(
        "INSERT INTO recognition_settings \
         (id, model, beam_size, language, vad, low_confidence_threshold, british_spelling, version, updated_at, updated_by) \
         VALUES (1, $1, $2, $3, $4, $5, $6, 1, $7, $8) \
         ON CONFLICT (id) DO UPDATE SET model = excluded.model, beam_size = excluded.beam_size, \
         language = excluded.language, vad = excluded.vad, \
         low_confidence_threshold = excluded.low_confidence_threshold, british_spelling = excluded.british_spelling, \
         version = recognition_settings.version + 1, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by \
         RETURNING version",
    )
    .bind(&s.model)
    .bind(i64::from(s.beam_size))
    .bind(&s.language)
    .bind(i64::from(s.vad))
    .bind(s.low_confidence_threshold)
    .bind(i64::from(s.british_spelling))
    .bind(now)
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(version)
}
