//! The transcription engine: one shared whisper.cpp context, a fresh state per job,
//! VAD compaction, progress/abort plumbing, word assembly and repetition repair.
// The only unsafe code in dictaflow: C callbacks handed to whisper.cpp for progress and
// cancellation, whose user data outlives the `full` call they are registered for.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Instant;

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState, WhisperSysContext,
    WhisperSysState,
};

use super::repetition::{cut_loops, find_loops, flat_words, segment_of_word};
use super::types::{EngineConfig, Segment, SttError, TranscribeOptions, Transcript};
use super::vad::{self, SAMPLE_RATE, TimeMap};
use super::windows;
use super::words::{RawSegment, RawToken, assemble, remap_times};

/// Shared, cheaply clonable handle on a loaded model.
#[derive(Clone)]
pub struct Engine {
    ctx: Arc<WhisperContext>,
    config: EngineConfig,
    model_name: String,
    multilingual: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("model", &self.model_name)
            .field("multilingual", &self.multilingual)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Progress forwarding with a sub-range and a monotonic guard.
struct ProgressSink {
    f: Box<dyn Fn(f32) + Send>,
    last: AtomicU32,
}

impl ProgressSink {
    fn emit(&self, v: f32) {
        let v = v.clamp(0.0, 1.0);
        if v > f32::from_bits(self.last.load(Ordering::Relaxed)) {
            self.last.store(v.to_bits(), Ordering::Relaxed);
            (self.f)(v);
        }
    }
}

/// Pass-specific view of the sink: whisper's 0..100 maps onto `lo..hi`.
struct PassProgress<'a> {
    sink: &'a ProgressSink,
    lo: f32,
    hi: f32,
}

unsafe extern "C" fn progress_trampoline(
    _: *mut WhisperSysContext,
    _: *mut WhisperSysState,
    pct: c_int,
    user_data: *mut c_void,
) {
    // SAFETY: user_data is the &PassProgress kept alive on the stack across `full`.
    let pass = unsafe { &*(user_data as *const PassProgress) };
    let _ = catch_unwind(AssertUnwindSafe(|| {
        pass.sink.emit(pass.lo + (pass.hi - pass.lo) * (pct as f32 / 100.0));
    }));
}

unsafe extern "C" fn abort_trampoline(user_data: *mut c_void) -> bool {
    // SAFETY: user_data is the AtomicBool inside the caller's Arc, alive across `full`.
    unsafe { &*(user_data as *const AtomicBool) }.load(Ordering::Relaxed)
}

/// Hands the C allocator's free memory back to the system. A job's whisper state (its
/// compute buffers, caches and the mel of the whole recording: 150-250 MB with tiny.en)
/// is allocated and freed through glibc's malloc, whose arenas otherwise keep much of it:
/// the server's resident memory grew from job to job (94 -> 171 -> 239 MB after three
/// letters), and the next job's peak stacked on top.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the C allocator; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl Engine {
    /// Load the model once; the context is shared by all jobs.
    pub fn load(path: &Path, config: EngineConfig) -> Result<Self, SttError> {
        let fail = |reason: String| SttError::ModelLoad { path: path.display().to_string(), reason };
        let p = path.to_str().ok_or_else(|| fail("non-UTF-8 path".into()))?;
        let mut params = WhisperContextParameters::default();
        params.use_gpu(config.use_gpu).flash_attn(config.flash_attn);
        let ctx = WhisperContext::new_with_params(p, params).map_err(|e| fail(e.to_string()))?;
        let file = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
        Ok(Self {
            multilingual: ctx.is_multilingual(),
            ctx: Arc::new(ctx),
            config,
            model_name: crate::models::manifest::name_from_file(&file),
        })
    }

    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// Transcribe 16 kHz mono samples. Blocking: run it on a dedicated thread.
    pub fn transcribe(
        &self,
        samples_16k_mono: &[f32],
        opts: &TranscribeOptions,
        progress: impl Fn(f32) + Send + 'static,
        cancel: Arc<AtomicBool>,
    ) -> Result<Transcript, SttError> {
        let result = self.transcribe_with_state(samples_16k_mono, opts, progress, cancel);
        release_freed_memory();
        result
    }

    fn transcribe_with_state(
        &self,
        samples_16k_mono: &[f32],
        opts: &TranscribeOptions,
        progress: impl Fn(f32) + Send + 'static,
        cancel: Arc<AtomicBool>,
    ) -> Result<Transcript, SttError> {
        let started = Instant::now();
        let sink = ProgressSink { f: Box::new(progress), last: AtomicU32::new((-1.0f32).to_bits()) };
        sink.emit(0.0);
        let language = self.resolve_language(opts)?;
        let samples: Vec<f32> =
            samples_16k_mono.iter().map(|x| if x.is_finite() { x.clamp(-1.0, 1.0) } else { 0.0 }).collect();
        let audio_seconds = samples.len() as f64 / SAMPLE_RATE as f64;
        let map = if opts.vad { vad::detect(&samples, &self.config.vad) } else { TimeMap::identity(samples.len()) };
        let mut transcript = Transcript {
            text: String::new(),
            language: language.clone().unwrap_or_else(|| "en".into()),
            segments: vec![],
            model: self.model_name.clone(),
            processing_seconds: 0.0,
            audio_seconds,
        };
        if map.is_empty() {
            tracing::debug!("no speech detected: whisper not run");
            sink.emit(1.0);
            transcript.processing_seconds = started.elapsed().as_secs_f64();
            return Ok(transcript);
        }
        let compact = map.extract(&samples);
        drop(samples);
        tracing::debug!(kept = compact.len() as f64 / 16e3, of = audio_seconds, "vad compaction");
        let junctions: Vec<windows::Junction> = map
            .pieces
            .windows(2)
            .map(|w| windows::Junction {
                at: w[1].compact_start,
                removed: w[1].orig_start - (w[0].orig_start + w[0].len),
            })
            .collect();
        let windows = windows::plan(&compact, &junctions, &self.config.windows);
        let mut state = self.ctx.create_state().map_err(|e| SttError::Whisper(e.to_string()))?;
        let mut raw = Vec::new();
        let mut lang = String::from("en");
        // A multilingual model detects the language on the first window; the rest keep it.
        let mut language = language;
        let total = compact.len().max(1) as f32;
        for w in &windows {
            let range = (0.9 * w.start as f32 / total, 0.9 * w.end as f32 / total);
            let audio = &compact[w.start..w.end];
            let (mut part, l) = self.run(
                &mut state,
                audio,
                w.audio_ctx,
                opts,
                language.as_deref(),
                opts.temperature,
                &cancel,
                &sink,
                range,
            )?;
            let offset = w.start as f64 / SAMPLE_RATE as f64;
            for seg in &mut part {
                seg.shift(offset);
            }
            raw.extend(part);
            language.get_or_insert_with(|| l.clone());
            lang = l;
        }
        tracing::debug!(windows = windows.len(), "recognition windows");
        let mut segments = assemble(&raw, opts.low_confidence_threshold);
        if opts.repetition_guard {
            segments = self.repair_loops(&mut state, segments, &compact, opts, language.as_deref(), &cancel, &sink)?;
        }
        let max = audio_seconds;
        remap_times(&mut segments, |t| map.to_original(t), |t| map.to_original_end(t), max);
        transcript.text = segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
        transcript.segments = segments;
        transcript.language = lang;
        transcript.processing_seconds = started.elapsed().as_secs_f64();
        sink.emit(1.0);
        Ok(transcript)
    }

    fn resolve_language(&self, opts: &TranscribeOptions) -> Result<Option<String>, SttError> {
        let lang = opts.language.as_ref().map(|l| l.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase());
        match lang.as_deref() {
            None | Some("" | "auto") if !self.multilingual => Ok(Some("en".into())),
            None | Some("" | "auto") => Ok(None),
            Some(l) if whisper_rs::get_lang_id(l).is_none() => {
                Err(SttError::InvalidOptions(format!("unknown language {l:?}")))
            }
            Some(l) if !self.multilingual && l != "en" => Err(SttError::InvalidOptions(format!(
                "model {} is English-only; language {l:?} needs a multilingual model",
                self.model_name
            ))),
            Some(l) => Ok(Some(l.to_string())),
        }
    }

    /// One whisper.cpp pass over `audio` with a fresh state. Returns segments with
    /// special tokens removed (times in seconds on `audio`'s timeline) and the language.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        state: &mut WhisperState,
        audio: &[f32],
        audio_ctx: usize,
        opts: &TranscribeOptions,
        language: Option<&str>,
        temperature: f32,
        cancel: &Arc<AtomicBool>,
        sink: &ProgressSink,
        range: (f32, f32),
    ) -> Result<(Vec<RawSegment>, String), SttError> {
        if cancel.load(Ordering::Relaxed) {
            return Err(SttError::Cancelled);
        }
        // whisper.cpp skips inputs under 100 ms; pad short clips with silence to 1 s.
        let mut padded;
        let audio = if audio.len() < SAMPLE_RATE {
            padded = audio.to_vec();
            padded.resize(SAMPLE_RATE, 0.0);
            &padded[..]
        } else {
            audio
        };
        let wstate_err = |e: whisper_rs::WhisperError| SttError::Whisper(e.to_string());
        let strategy = match opts.beam_size {
            Some(b) if b > 1 => SamplingStrategy::BeamSearch { beam_size: b as c_int, patience: -1.0 },
            _ => SamplingStrategy::Greedy { best_of: 5 },
        };
        let mut p = FullParams::new(strategy);
        p.set_n_threads(self.config.threads.max(1) as c_int);
        p.set_translate(opts.translate);
        p.set_language(Some(language.unwrap_or("auto")));
        p.set_print_special(false);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_timestamps(false);
        p.set_token_timestamps(true);
        p.set_suppress_nst(true);
        p.set_temperature(temperature);
        p.set_temperature_inc(opts.temperature_increment);
        p.set_no_context(true);
        p.set_n_max_text_ctx(self.config.max_text_ctx.clamp(1, 224) as c_int);
        p.set_audio_ctx(audio_ctx as c_int);
        if let Some(prompt) = opts.initial_prompt.as_deref().map(|s| s.replace('\0', " "))
            && !prompt.trim().is_empty()
        {
            p.set_initial_prompt(&prompt);
        }
        let pass = PassProgress { sink, lo: range.0, hi: range.1 };
        // SAFETY: both user-data pointers outlive `state.full` below (stack / caller's Arc),
        // and the trampolines only read through them.
        unsafe {
            p.set_progress_callback(Some(progress_trampoline));
            p.set_progress_callback_user_data(&pass as *const PassProgress as *mut c_void);
            p.set_abort_callback(Some(abort_trampoline));
            p.set_abort_callback_user_data(Arc::as_ptr(cancel) as *mut c_void);
        }
        let result = state.full(p, audio);
        if cancel.load(Ordering::Relaxed) {
            return Err(SttError::Cancelled);
        }
        result.map_err(wstate_err)?;
        let eot = self.ctx.token_eot();
        let mut segments = Vec::new();
        for seg in state.as_iter() {
            let (t0, t1) = (seg.start_timestamp() as f64 / 100.0, seg.end_timestamp() as f64 / 100.0);
            let mut tokens = Vec::new();
            let (mut plog_sum, mut plog_n) = (0.0f64, 0usize);
            for i in 0..seg.n_tokens() {
                let Some(tok) = seg.get_token(i) else {
                    continue;
                };
                if tok.token_id() >= eot {
                    continue;
                }
                let d = tok.token_data();
                if d.plog.is_finite() {
                    plog_sum += d.plog as f64;
                    plog_n += 1;
                }
                let bytes = tok.to_bytes().map(<[u8]>::to_vec).unwrap_or_default();
                let ts = |v: i64, dflt: f64| if v >= 0 { v as f64 / 100.0 } else { dflt };
                tokens.push(RawToken { bytes, p: d.p, t0: ts(d.t0, t0), t1: ts(d.t1, t1) });
            }
            let avg_logprob = if plog_n > 0 { (plog_sum / plog_n as f64) as f32 } else { 0.0 };
            let no_speech_prob = seg.no_speech_probability();
            segments.push(RawSegment { t0, t1, tokens, no_speech_prob, avg_logprob });
        }
        let lang = whisper_rs::get_lang_str(state.full_lang_id_from_state()).unwrap_or("en").to_string();
        Ok((segments, lang))
    }

    /// Re-decode windows holding repetition loops at a higher temperature; cut whatever
    /// still loops. Times stay on the compact timeline.
    #[allow(clippy::too_many_arguments)]
    fn repair_loops(
        &self,
        state: &mut WhisperState,
        mut segments: Vec<Segment>,
        audio: &[f32],
        opts: &TranscribeOptions,
        language: Option<&str>,
        cancel: &Arc<AtomicBool>,
        sink: &ProgressSink,
    ) -> Result<Vec<Segment>, SttError> {
        let loops = find_loops(&flat_words(&segments));
        let n = loops.len().min(self.config.max_redecodes);
        for (k, lp) in loops.iter().rev().take(n).enumerate() {
            let (si, sj) = (segment_of_word(&segments, lp.start), segment_of_word(&segments, lp.end() - 1));
            let (a, b) = (segments[si].start, segments[sj].end);
            let (sa, sb) = ((a * 16e3) as usize, ((b * 16e3) as usize).min(audio.len()));
            tracing::warn!(start = a, end = b, unit = lp.unit, repeats = lp.repeats, "repetition loop: re-decoding");
            if sb <= sa + SAMPLE_RATE / 2 {
                continue;
            }
            let range = (0.9 + 0.09 * k as f32 / n as f32, 0.9 + 0.09 * (k + 1) as f32 / n as f32);
            let retry = TranscribeOptions { beam_size: None, initial_prompt: None, ..opts.clone() };
            let piece = &audio[sa..sb];
            let ctx = windows::audio_ctx_for(piece.len(), &self.config.windows);
            let temperature = opts.temperature.max(0.0) + 0.4;
            let (raw, _) = self.run(state, piece, ctx, &retry, language, temperature, cancel, sink, range)?;
            let mut fresh = assemble(&raw, opts.low_confidence_threshold);
            if !find_loops(&flat_words(&fresh)).is_empty() {
                continue;
            }
            remap_times(&mut fresh, |t| a + t, |t| a + t, b);
            segments.splice(si..=sj, fresh);
        }
        let left = find_loops(&flat_words(&segments));
        if !left.is_empty() {
            let removed = cut_loops(&mut segments, &left);
            tracing::warn!(loops = left.len(), removed, "repetition loops cut");
        }
        Ok(segments)
    }
}
