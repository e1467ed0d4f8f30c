//! Recognition settings for new transcriptions: the configuration file's `stt.*` values,
//! overridden by what a super-user saved in the database; their validation; and the
//! per-process cache that workers consult (one version read) before each job, so a
//! change reaches every process sharing the database.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::clock::Millis;
use crate::config::SttConfig;
use crate::models::Manifest;
use crate::models::manifest::name_from_file;
use crate::storage::recognition::{self as store, StoredSettings};
use crate::storage::{Db, Tx};
use crate::stt::TranscribeOptions;

/// Widest beam offered (whisper.cpp accepts more, but the cost grows with no gain here).
pub const MAX_BEAM: u32 = 8;

/// What new transcriptions use.
#[derive(Debug, Clone, PartialEq)]
pub struct RecognitionSettings {
    /// A manifest name (`tiny.en`), or the configured path to a ggml file.
    pub model: String,
    /// 1 = greedy decoding; 2..=8 = beam search of that width.
    pub beam_size: u32,
    /// ISO 639-1 code; empty = the model's default (English for `.en` models).
    pub language: String,
    /// Drop long silences before recognition.
    pub vad: bool,
    /// Words below this confidence are marked `low_confidence`.
    pub low_confidence_threshold: f64,
    /// Convert the draft and its words to British spelling (tumor -> tumour).
    pub british_spelling: bool,
}

impl RecognitionSettings {
    /// The configuration file's values (and the engine's defaults for what it does not set).
    pub fn defaults(config: &SttConfig) -> Self {
        let engine = TranscribeOptions::default();
        Self {
            model: config.model.clone(),
            beam_size: config.beam_size.clamp(1, MAX_BEAM),
            language: config.language.clone(),
            vad: engine.vad,
            low_confidence_threshold: f64::from(engine.low_confidence_threshold),
            british_spelling: true,
        }
    }

    /// Per-job engine options (the prompt is added per dictation).
    pub fn options(&self) -> TranscribeOptions {
        TranscribeOptions {
            language: (!self.language.is_empty()).then(|| self.language.clone()),
            beam_size: (self.beam_size > 1).then_some(self.beam_size),
            vad: self.vad,
            low_confidence_threshold: self.low_confidence_threshold as f32,
            ..TranscribeOptions::default()
        }
    }

    /// The model's name as the engine reports it (`tiny.en` for a path to `ggml-tiny.en.bin`).
    pub fn model_name(&self) -> String {
        model_name(&self.model)
    }
}

/// `tiny.en` stays; `/x/ggml-tiny.en.bin` becomes `tiny.en`.
pub fn model_name(model: &str) -> String {
    if is_path(model) {
        let file = Path::new(model).file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
        name_from_file(&file)
    } else {
        model.to_string()
    }
}

fn is_path(model: &str) -> bool {
    model.ends_with(".bin") || model.contains('/')
}

/// The file a model setting names: a path as given, else `models_dir/ggml-<name>.bin`.
pub fn model_path(models_dir: &Path, model: &str) -> PathBuf {
    if is_path(model) { PathBuf::from(model) } else { models_dir.join(format!("ggml-{model}.bin")) }
}

/// The settings in force and where they come from.
#[derive(Debug, Clone)]
pub struct Effective {
    pub settings: RecognitionSettings,
    /// 0 while the configuration file's defaults apply.
    pub version: i64,
    pub updated_at: Option<Millis>,
    pub updated_by: Option<String>,
}

fn from_stored(s: StoredSettings) -> Effective {
    Effective {
        settings: RecognitionSettings {
            model: s.model,
            beam_size: s.beam_size,
            language: s.language,
            vad: s.vad,
            low_confidence_threshold: s.low_confidence_threshold,
            british_spelling: s.british_spelling,
        },
        version: s.version,
        updated_at: Some(s.updated_at),
        updated_by: s.updated_by,
    }
}

/// The settings new transcriptions use now.
pub async fn effective(db: &Db, config: &SttConfig) -> Result<Effective, sqlx::Error> {
    Ok(match store::load(db).await? {
        Some(s) => from_stored(s),
        None => Effective {
            settings: RecognitionSettings::defaults(config),
            version: 0,
            updated_at: None,
            updated_by: None,
        },
    })
}

/// Saves `s` as the new version in `tx` (validate it first; the caller commits it with
/// the audit entry).
pub async fn save(tx: &mut Tx, s: &RecognitionSettings, user_id: &str, now: Millis) -> Result<i64, sqlx::Error> {
    let stored = StoredSettings {
        model: s.model.clone(),
        beam_size: s.beam_size,
        language: s.language.clone(),
        vad: s.vad,
        low_confidence_threshold: s.low_confidence_threshold,
        british_spelling: s.british_spelling,
        version: 0,
        updated_at: now,
        updated_by: None,
    };
    store::save(tx, &stored, user_id, now).await
}

/// A change: each `Some` replaces the current value.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    pub model: Option<String>,
    pub beam_size: Option<i64>,
    pub language: Option<String>,
    pub vad: Option<bool>,
    pub low_confidence_threshold: Option<f64>,
    pub british_spelling: Option<bool>,
}

/// Why a change was refused: the field, a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> Invalid {
    Invalid { field, code, message: message.into() }
}

/// Applies `patch` to `current`, checking every value; a changed model must be a
/// manifest model installed in `models_dir`.
pub fn apply(
    current: &RecognitionSettings,
    patch: Patch,
    models_dir: &Path,
    manifest: &Manifest,
) -> Result<RecognitionSettings, Invalid> {
    let mut next = current.clone();
    if let Some(model) = patch.model {
        let model = model.trim().to_string();
        // The same model by name keeps its setting (the configured one may be a path).
        if model_name(&model) != current.model_name() {
            check_model(&model, models_dir, manifest)?;
            next.model = model;
        }
    }
    if let Some(beam) = patch.beam_size {
        if !(1..=i64::from(MAX_BEAM)).contains(&beam) {
            return Err(invalid(
                "beam_size",
                "validation_failed",
                format!("beam_size must be 1 (greedy) or a beam width from 2 to {MAX_BEAM}"),
            ));
        }
        next.beam_size = beam as u32;
    }
    if let Some(language) = patch.language {
        let l = language.trim().to_ascii_lowercase();
        next.language = if l == "auto" { String::new() } else { l };
    }
    if let Some(vad) = patch.vad {
        next.vad = vad;
    }
    if let Some(t) = patch.low_confidence_threshold {
        if !(0.0..=1.0).contains(&t) {
            return Err(invalid(
                "low_confidence_threshold",
                "validation_failed",
                "low_confidence_threshold must be between 0 and 1",
            ));
        }
        next.low_confidence_threshold = t;
    }
    if let Some(british) = patch.british_spelling {
        next.british_spelling = british;
    }
    check_language(&next, manifest)?;
    Ok(next)
}

fn check_model(model: &str, models_dir: &Path, manifest: &Manifest) -> Result<(), Invalid> {
    let Some(entry) = manifest.get(model) else {
        return Err(invalid(
            "model",
            "unknown_model",
            format!("unknown model {model:?}; known models: {}", manifest.names().join(", ")),
        ));
    };
    if !models_dir.join(&entry.file).is_file() {
        return Err(invalid(
            "model",
            "model_not_installed",
            format!("model {model} is not installed on this server; run `dictaflow models fetch {model}`"),
        ));
    }
    Ok(())
}

/// Whether the model can recognise the language: any whisper language for multilingual
/// models, only English for `.en` ones.
fn check_language(s: &RecognitionSettings, manifest: &Manifest) -> Result<(), Invalid> {
    let l = s.language.as_str();
    if l.is_empty() {
        return Ok(());
    }
    if l.len() > 8 || whisper_rs::get_lang_id(l).is_none() {
        return Err(invalid("language", "validation_failed", format!("unknown language code {l:?} (e.g. en, fr, de)")));
    }
    let name = s.model_name();
    let multilingual = manifest.get(&name).map_or(!name.ends_with(".en"), |e| e.multilingual);
    if !multilingual && l != "en" {
        return Err(invalid(
            "language",
            "validation_failed",
            format!("model {name} is English-only; language {l:?} needs a multilingual model"),
        ));
    }
    Ok(())
}

/// This process's copy of the settings, re-read only when the stored version changed.
#[derive(Debug)]
pub struct SettingsCache {
    db: Db,
    defaults: RecognitionSettings,
    cached: Mutex<Option<(i64, RecognitionSettings)>>,
}

impl SettingsCache {
    pub fn new(db: Db, config: &SttConfig) -> Self {
        Self { db, defaults: RecognitionSettings::defaults(config), cached: Mutex::new(None) }
    }

    /// The settings and their version for a job starting now.
    pub async fn current(&self) -> Result<(i64, RecognitionSettings), sqlx::Error> {
        let version = store::version(&self.db).await?;
        if version == 0 {
            return Ok((0, self.defaults.clone()));
        }
        let cached = self.cached.lock().ok().and_then(|c| c.clone());
        if let Some((v, s)) = cached
            && v == version
        {
            return Ok((v, s));
        }
        let fresh = match store::load(&self.db).await? {
            Some(s) => from_stored(s),
            None => return Ok((0, self.defaults.clone())),
        };
        if let Ok(mut c) = self.cached.lock() {
            *c = Some((fresh.version, fresh.settings.clone()));
        }
        Ok((fresh.version, fresh.settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> RecognitionSettings {
        RecognitionSettings::defaults(&SttConfig::default())
    }

    #[test]
    fn defaults_follow_the_config_and_the_engine() {
        let mut c = SttConfig { beam_size: 0, language: "en".into(), ..SttConfig::default() };
        let s = RecognitionSettings::defaults(&c);
        assert_eq!((s.model.as_str(), s.beam_size, s.language.as_str(), s.vad), ("tiny.en", 1, "en", true));
        assert!(s.british_spelling, "British spelling is on by default");
        assert_eq!(s.options().beam_size, None);
        c.beam_size = 5;
        let o = RecognitionSettings::defaults(&c).options();
        assert_eq!((o.beam_size, o.language.as_deref(), o.vad), (Some(5), Some("en"), true));
        assert_eq!(model_name("/m/ggml-tiny.en-q8_0.bin"), "tiny.en-q8_0");
        assert_eq!(model_name("base"), "base");
    }

    #[test]
    fn every_field_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let m = Manifest::builtin();
        let bad = |patch: Patch| apply(&base(), patch, dir.path(), &m).unwrap_err();
        let e = bad(Patch { beam_size: Some(9), ..Patch::default() });
        assert_eq!((e.field, e.code), ("beam_size", "validation_failed"));
        assert_eq!(bad(Patch { beam_size: Some(0), ..Patch::default() }).field, "beam_size");
        let e = bad(Patch { low_confidence_threshold: Some(1.5), ..Patch::default() });
        assert_eq!(e.field, "low_confidence_threshold");
        let e = bad(Patch { model: Some("huge-v9".into()), ..Patch::default() });
        assert_eq!((e.field, e.code), ("model", "unknown_model"));
        let e = bad(Patch { model: Some("base.en".into()), ..Patch::default() });
        assert_eq!((e.field, e.code), ("model", "model_not_installed"));
        assert!(e.message.contains("dictaflow models fetch base.en"), "{}", e.message);
        let e = bad(Patch { language: Some("fr".into()), ..Patch::default() });
        assert_eq!(e.field, "language", "tiny.en is English-only");
        assert_eq!(bad(Patch { language: Some("xx".into()), ..Patch::default() }).field, "language");

        std::fs::write(dir.path().join("ggml-base.bin"), b"x").unwrap();
        let ok = Patch {
            model: Some("base".into()),
            beam_size: Some(5),
            language: Some("FR".into()),
            vad: Some(false),
            low_confidence_threshold: Some(0.7),
            british_spelling: Some(false),
        };
        let s = apply(&base(), ok, dir.path(), &m).unwrap();
        assert_eq!((s.model.as_str(), s.beam_size, s.language.as_str(), s.vad), ("base", 5, "fr", false));
        assert!(!s.british_spelling);
        let o = s.options();
        assert_eq!((o.beam_size, o.language.as_deref(), o.vad), (Some(5), Some("fr"), false));
        assert!((o.low_confidence_threshold - 0.7).abs() < 1e-6);
        // Unchanged fields keep their values; an unchanged model is not re-checked.
        let same = apply(&s, Patch { vad: Some(true), ..Patch::default() }, Path::new("/nonexistent"), &m).unwrap();
        assert_eq!(same, RecognitionSettings { vad: true, ..s });
    }
}
