//! OpenAI-compatible direct transcription: `POST /v1/audio/transcriptions`.
//!
//! Existing clients and SDKs (the official `openai` Python package, curl scripts written
//! for OpenAI's API) work unchanged: the same multipart fields, the same response
//! formats (`json`, `text`, `srt`, `vtt`, `verbose_json`) and errors carrying OpenAI's
//! `{"error": {"message", "type", "param", "code"}}` object beside our problem+json
//! fields. The audio never leaves the machine and is not kept: it is staged to a
//! temporary file, decoded, transcribed with the loaded model and removed. No dictation,
//! workflow or draft is created.
//!
//! Differences from OpenAI, by design: `model` accepts `whisper-1` (what SDKs send by
//! default) or the loaded model's name and always uses the loaded model; parameter
//! errors are 400 with the parameter named; `stream=true` is refused; segment `tokens`
//! are not exposed (an empty list) and `seek` is the segment start in centiseconds.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::AppState;
use super::audit::record;
use super::client::Client;
use super::multipart::{MAX_PARTS, PartSpec, open_upload, read_parts};
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::jobs::runtime::ModelState;
use crate::stt::{Engine, TranscribeOptions, Transcript, output};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/audio/transcriptions", post(transcriptions).layer(DefaultBodyLimit::disable()))
        .layer(axum::middleware::map_response(with_openai_error))
}

/// The model name OpenAI clients send; it means "the model this server runs".
const OPENAI_MODEL: &str = "whisper-1";
const MAX_TEXT_PART: usize = 16 * 1024;
/// How long a request waits for a free transcription slot before 503 `overloaded`.
const SLOT_WAIT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Text,
    Srt,
    Vtt,
    VerboseJson,
}

impl Format {
    fn parse(s: &str) -> ApiResult<Self> {
        Ok(match s {
            "json" => Self::Json,
            "text" => Self::Text,
            "srt" => Self::Srt,
            "vtt" => Self::Vtt,
            "verbose_json" => Self::VerboseJson,
            other => {
                return Err(param_error(
                    "response_format",
                    format!("response_format {other:?} is not one of json, text, srt, vtt, verbose_json"),
                ));
            }
        })
    }
}

/// The request's parameters once parsed and checked.
#[derive(Debug)]
struct Params {
    model: Option<String>,
    language: Option<String>,
    prompt: Option<String>,
    format: Format,
    temperature: f32,
    words: bool,
    segments: bool,
}

fn param_error(param: &str, detail: impl Into<String>) -> ApiError {
    ApiError::Problem {
        status: StatusCode::BAD_REQUEST,
        code: "validation_failed",
        title: "Invalid parameter",
        detail: detail.into(),
        field: Some(param.to_string()),
    }
}

impl Params {
    fn from_fields(fields: &[(String, String)]) -> ApiResult<Self> {
        let one = |name: &str| -> ApiResult<Option<String>> {
            let mut values = fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim().to_string());
            let first = values.next();
            if values.next().is_some() {
                return Err(param_error(name, format!("{name} was sent more than once")));
            }
            Ok(first.filter(|v| !v.is_empty()))
        };
        let format = one("response_format")?.map(|f| Format::parse(&f)).transpose()?.unwrap_or(Format::Json);
        let temperature = match one("temperature")? {
            None => 0.0,
            Some(t) => match t.parse::<f32>() {
                Ok(v) if (0.0..=1.0).contains(&v) => v,
                _ => {
                    return Err(param_error(
                        "temperature",
                        format!("temperature must be a number from 0 to 1; got {t:?}"),
                    ));
                }
            },
        };
        if let Some(s) = one("stream")?
            && s != "false"
        {
            return Err(param_error(
                "stream",
                "streaming transcription is not supported; send stream=false or omit it",
            ));
        }
        let mut words = false;
        let mut segments = false;
        let granularities: Vec<&str> = fields
            .iter()
            .filter(|(k, _)| k == "timestamp_granularities[]" || k == "timestamp_granularities")
            .map(|(_, v)| v.trim())
            .collect();
        for g in &granularities {
            match *g {
                "word" => words = true,
                "segment" => segments = true,
                other => {
                    return Err(param_error(
                        "timestamp_granularities[]",
                        format!("timestamp granularity {other:?} is not word or segment"),
                    ));
                }
            }
        }
        if !granularities.is_empty() && format != Format::VerboseJson {
            return Err(param_error(
                "timestamp_granularities[]",
                "timestamp_granularities needs response_format=verbose_json",
            ));
        }
        if granularities.is_empty() {
            segments = true;
        }
        let language = one("language")?;
        if let Some(l) = &language
            && (l.len() > 8 || !l.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_'))
        {
            return Err(param_error("language", format!("language {l:?} is not an ISO-639-1 code such as \"en\"")));
        }
        Ok(Self { model: one("model")?, language, prompt: one("prompt")?, format, temperature, words, segments })
    }
}

/// Text parameters the endpoint knows; anything else is refused by name.
const TEXT_FIELDS: &[&str] = &[
    "model",
    "language",
    "prompt",
    "response_format",
    "temperature",
    "timestamp_granularities[]",
    "timestamp_granularities",
    "stream",
    "chunking_strategy",
];

async fn transcriptions(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    req: Request,
) -> ApiResult<Response> {
    let permitted = crate::auth::policy::require(&user, crate::auth::policy::Permission::Transcribe);
    let limit = state.config.limits.max_upload_bytes;
    let mut multipart = open_upload(req, limit, "file").await?;
    // A caller not allowed to transcribe, or no model to serve the request: refuse without
    // storing anything, but read (and drop) the body first (at most the upload limit, as
    // any upload) so the client sees the answer rather than a reset mid-upload.
    let engine = match permitted.and_then(|()| ready_engine(&state)) {
        Ok(engine) => engine,
        Err(e) => {
            while let Ok(Some(mut field)) = multipart.next_field().await {
                while let Ok(Some(_)) = field.chunk().await {}
            }
            return Err(e);
        }
    };
    let spec = PartSpec {
        file: "file",
        texts: TEXT_FIELDS,
        max_file_bytes: limit,
        max_text_bytes: MAX_TEXT_PART,
        max_parts: MAX_PARTS,
    };
    let parts = read_parts(&mut multipart, &spec, state.blobs.as_ref(), &|n, m| param_error(n, m)).await?;
    let fields = parts.texts;
    let Some((staged, _)) = parts.file else {
        return Err(param_error("file", "the `file` part with the audio is missing"));
    };
    let path = staged.path.clone();
    let bytes = staged.bytes;
    let result = transcribe_staged(&state, &user, engine, &fields, &path, bytes).await;
    staged.discard().await;
    let (response, transcript) = result?;
    // Who transcribed what amount of audio, not what was said.
    let details = json!({"bytes": bytes, "audio_seconds": transcript.audio_seconds, "model": transcript.model});
    record(&state, Some(&user), &client, action::TRANSCRIBE_DIRECT, None, details).await?;
    Ok(response)
}

async fn transcribe_staged(
    state: &AppState,
    user: &crate::storage::users::User,
    engine: Arc<Engine>,
    fields: &[(String, String)],
    path: &std::path::Path,
    bytes: u64,
) -> ApiResult<(Response, Transcript)> {
    let params = Params::from_fields(fields)?;
    if let Some(m) = &params.model
        && m != OPENAI_MODEL
        && m != engine.model_name()
    {
        return Err(ApiError::Problem {
            status: StatusCode::BAD_REQUEST,
            code: "unknown_model",
            title: "Unknown model",
            detail: format!("model {m:?} is not served here; use {OPENAI_MODEL:?} or {:?}", engine.model_name()),
            field: Some("model".into()),
        });
    }
    if bytes == 0 {
        return Err(audio_problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_audio",
            "the uploaded file is empty".into(),
        ));
    }
    // Admission before any decoding: a request either holds a transcription slot or is
    // one of the few allowed to wait for one; the rest get 503 at once. Decoded audio
    // (4 bytes a sample, 16 000 a second) then exists only for requests holding a slot.
    let ticket = state.stt.direct_queue().try_acquire_owned().map_err(|_| overloaded())?;
    let slot = tokio::time::timeout(SLOT_WAIT, state.stt.direct_slots().acquire_owned())
        .await
        .map_err(|_| overloaded())?
        .map_err(|_| overloaded())?;
    let samples = decode_direct(state, path).await?;
    let prompt = match params.prompt.clone() {
        Some(p) => Some(p),
        None => crate::vocabulary::prompt_for_scopes(&state.db, &user.username, None).await?,
    };
    // The recognition settings in force (beam, VAD, threshold, language), as for uploads.
    let settings = crate::jobs::settings::effective(&state.db, &state.config.stt).await?.settings;
    let mut options: TranscribeOptions = settings.options();
    options.initial_prompt = prompt;
    options.temperature = params.temperature;
    if params.language.is_some() {
        options.language = params.language.clone();
    }
    // Dropping this request (client gone) cancels the transcription.
    let cancel = Arc::new(AtomicBool::new(false));
    let guard = CancelOnDrop(cancel.clone());
    let job = tokio::task::spawn_blocking(move || {
        let result = engine.transcribe_owned(samples, &options, |_| {}, cancel);
        drop(slot);
        drop(ticket);
        result
    });
    let transcript = job.await.map_err(|e| ApiError::Internal(e.into()))?.map_err(|e| match e {
        crate::stt::SttError::InvalidOptions(msg) => param_error("language", msg),
        other => ApiError::Internal(other.into()),
    })?;
    drop(guard);
    tracing::info!(
        user = %user.username,
        audio_seconds = transcript.audio_seconds,
        processing_seconds = transcript.processing_seconds,
        "direct transcription"
    );
    Ok((render(&transcript, &params), transcript))
}

/// Decodes a staged upload to 16 kHz mono under the direct endpoint's duration limit
/// (`limits.direct_max_duration_seconds`, at most the upload limit).
async fn decode_direct(state: &AppState, path: &std::path::Path) -> ApiResult<Vec<f32>> {
    let mut limits = state.ingest.limits.clone();
    limits.max_duration_seconds = limits.max_duration_seconds.min(state.config.limits.direct_max_duration_seconds);
    let permit = tokio::time::timeout(Duration::from_secs(60), state.ingest.decode_slots.clone().acquire_owned())
        .await
        .map_err(|_| overloaded())?
        .map_err(|_| overloaded())?;
    let decoded = crate::audio::decode(path.to_path_buf(), limits).await;
    drop(permit);
    decoded.map(|(samples, _)| samples).map_err(|a| match a {
        crate::audio::AudioError::Io(e) => ApiError::Internal(anyhow::anyhow!("cannot read the staged upload: {e}")),
        a => {
            let status =
                if a.is_unsupported() { StatusCode::UNSUPPORTED_MEDIA_TYPE } else { StatusCode::UNPROCESSABLE_ENTITY };
            audio_problem(status, a.code(), a.to_string())
        }
    })
}

struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn ready_engine(state: &AppState) -> ApiResult<Arc<Engine>> {
    if let Some(engine) = state.stt.engine() {
        return Ok(engine);
    }
    let detail = match state.stt.get() {
        ModelState::Disabled => "speech recognition is disabled on this server (stt.enabled = false)".to_string(),
        ModelState::Loading => "the speech recognition model is still loading; retry shortly".to_string(),
        ModelState::Failed(e) => format!("the speech recognition model could not be loaded: {e}"),
        ModelState::Ready(_) => "the speech recognition model is not available".to_string(),
    };
    let mut err = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "model_unavailable", "Model unavailable", detail);
    if let ApiError::Problem { field, .. } = &mut err {
        *field = Some("model".into());
    }
    Err(err)
}

fn overloaded() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "Overloaded",
        "all transcription slots are busy; retry later",
    )
}

fn audio_problem(status: StatusCode, code: &'static str, detail: String) -> ApiError {
    ApiError::Problem { status, code, title: "Audio not accepted", detail, field: Some("file".into()) }
}

/// The full English name of a language code, as OpenAI's `verbose_json` reports it.
fn language_name(code: &str) -> String {
    whisper_rs::get_lang_id(code)
        .and_then(whisper_rs::get_lang_str_full)
        .map(str::to_string)
        .unwrap_or_else(|| code.to_string())
}

/// zlib compression ratio of a text (Whisper's repetition heuristic).
fn compression_ratio(text: &str) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let compressed = enc.write_all(text.as_bytes()).and_then(|_| enc.finish()).map(|v| v.len()).unwrap_or(0);
    if compressed == 0 { 0.0 } else { text.len() as f64 / compressed as f64 }
}

/// A word as OpenAI lists it: without attached punctuation.
fn bare_word(text: &str) -> &str {
    text.trim().trim_matches(|c: char| c.is_ascii_punctuation() && c != '\'' && c != '%')
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn verbose_json(t: &Transcript, p: &Params) -> Value {
    let mut body = json!({
        "task": "transcribe",
        "language": language_name(&t.language),
        "duration": round3(t.audio_seconds),
        "text": t.text.trim(),
        "usage": {"type": "duration", "seconds": t.audio_seconds.ceil() as u64},
    });
    if p.segments {
        let segments: Vec<Value> = t
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({
                    "id": i,
                    "seek": (s.start * 100.0).round() as u64,
                    "start": round3(s.start),
                    "end": round3(s.end),
                    "text": format!(" {}", s.text.trim()),
                    "tokens": [],
                    "temperature": p.temperature,
                    "avg_logprob": s.avg_logprob,
                    "compression_ratio": round3(compression_ratio(s.text.trim())),
                    "no_speech_prob": s.no_speech_prob,
                })
            })
            .collect();
        body["segments"] = Value::Array(segments);
    }
    if p.words {
        let words: Vec<Value> = t
            .words()
            .filter(|w| !bare_word(&w.text).is_empty())
            .map(|w| {
                json!({"word": bare_word(&w.text), "start": round3(w.start), "end": round3(w.end),
                       "confidence": w.confidence})
            })
            .collect();
        body["words"] = Value::Array(words);
    }
    body
}

fn render(t: &Transcript, p: &Params) -> Response {
    let text_response = |ct: &'static str, body: String| {
        let mut r = Response::new(Body::from(body));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        r
    };
    match p.format {
        Format::Json => axum::Json(json!({
            "text": t.text.trim(),
            "usage": {"type": "duration", "seconds": t.audio_seconds.ceil() as u64},
        }))
        .into_response(),
        Format::VerboseJson => axum::Json(verbose_json(t, p)).into_response(),
        Format::Text => {
            let text = t.text.trim();
            text_response(
                "text/plain; charset=utf-8",
                if text.is_empty() { String::new() } else { format!("{text}\n") },
            )
        }
        Format::Srt => text_response("application/x-subrip; charset=utf-8", output::to_srt(t)),
        Format::Vtt => text_response("text/vtt; charset=utf-8", output::to_vtt(t)),
    }
}

/// Adds OpenAI's `error` object to problem+json answers on the `/v1` routes, so OpenAI
/// clients show the message while dictaflow clients still branch on `code`.
async fn with_openai_error(resp: Response) -> Response {
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/problem+json"));
    if !is_problem {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut problem) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let status = parts.status;
    let kind = match status {
        StatusCode::UNAUTHORIZED => "authentication_error",
        StatusCode::FORBIDDEN => "permission_error",
        StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
        s if s.is_server_error() => "server_error",
        _ => "invalid_request_error",
    };
    problem["error"] = json!({
        "message": problem.get("detail").cloned().unwrap_or(Value::Null),
        "type": kind,
        "param": problem.get("field").cloned().unwrap_or(Value::Null),
        "code": problem.get("code").cloned().unwrap_or(Value::Null),
    });
    let body = serde_json::to_vec(&problem).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parameters_are_checked_by_name() {
        let p = Params::from_fields(&fields(&[("model", "whisper-1")])).unwrap();
        assert_eq!(p.format, Format::Json);
        assert!(p.segments && !p.words);
        let p = Params::from_fields(&fields(&[
            ("response_format", "verbose_json"),
            ("timestamp_granularities[]", "word"),
            ("temperature", "0.2"),
        ]))
        .unwrap();
        assert!(p.words && !p.segments);
        assert!((p.temperature - 0.2).abs() < 1e-6);
        let field_of = |e: ApiError| match e {
            ApiError::Problem { field, status, .. } => (status, field.unwrap_or_default()),
            ApiError::Internal(_) => panic!("internal"),
        };
        for (bad, param) in [
            (vec![("response_format", "xml")], "response_format"),
            (vec![("temperature", "1.5")], "temperature"),
            (vec![("temperature", "warm")], "temperature"),
            (vec![("timestamp_granularities[]", "word")], "timestamp_granularities[]"),
            (
                vec![("response_format", "verbose_json"), ("timestamp_granularities[]", "char")],
                "timestamp_granularities[]",
            ),
            (vec![("stream", "true")], "stream"),
            (vec![("language", "en; DROP")], "language"),
            (vec![("model", "a"), ("model", "b")], "model"),
        ] {
            let e = Params::from_fields(&fields(&bad)).unwrap_err();
            assert_eq!(field_of(e), (StatusCode::BAD_REQUEST, param.to_string()), "{bad:?}");
        }
    }

    #[test]
    fn words_lose_punctuation_and_compression_is_measured() {
        assert_eq!(bare_word("Ramsden,"), "Ramsden");
        assert_eq!(bare_word("\"don't\""), "don't");
        assert_eq!(bare_word("50%."), "50%");
        assert_eq!(bare_word("."), "");
        let looped = "the patient the patient ".repeat(20);
        assert!(compression_ratio(&looped) > 2.4, "a repetition loop compresses well");
        assert!(compression_ratio("Dear Doctor Ramsden, thank you.") < 2.0);
        assert_eq!(language_name("en"), "english");
    }
}
