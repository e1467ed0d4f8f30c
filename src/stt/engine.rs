//! The transcription engine: one shared whisper.cpp context, a fresh state per job,
//! VAD compaction, progress/abort plumbing, word assembly and repetition repair.
// The only unsafe code in dictaflow: C callbacks handed to whisper.cpp for progress and
// cancellation, whose user data outlives the `full` call they are registered for.
#![allow(unsafe_code)]

use std::borrow::Cow;
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

use super::repetition::{cut_loops, find_loops, flat_words, has_echo, segment_of_word};
use super::rescore;
use super::terms::TermIndex;
use super::types::{EngineConfig, Segment, SttError, TranscribeOptions, Transcript};
use super::vad::{self, SAMPLE_RATE, TimeMap};
use super::windows;
use super::words::{RawSegment, RawToken, assemble, is_lexical, remap_times, text_of, words_of};

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

/// What the encoder-start callback sees: the job's cancel flag, and whether the call
/// must stop before its second window.
struct EncoderGate<'a> {
    cancel: &'a AtomicBool,
    one_window: bool,
    starts: AtomicU32,
}

unsafe extern "C" fn encoder_gate_trampoline(
    _: *mut WhisperSysContext,
    _: *mut WhisperSysState,
    user_data: *mut c_void,
) -> bool {
    // SAFETY: user_data is the &EncoderGate kept alive on the stack across `full`.
    let gate = unsafe { &*(user_data as *const EncoderGate) };
    let starts = gate.starts.fetch_add(1, Ordering::Relaxed) + 1;
    let second_window = gate.one_window && starts > 1;
    !(gate.cancel.load(Ordering::Relaxed) || second_window)
}

/// What one job's passes share.
struct Job<'a> {
    opts: &'a TranscribeOptions,
    cancel: &'a Arc<AtomicBool>,
    sink: &'a ProgressSink,
    /// Samples of compacted audio, for progress.
    total: f32,
}

impl Job<'_> {
    /// The share of the progress bar for samples `[start, end)` (recognition is 0..0.9).
    fn range(&self, start: usize, end: usize) -> (f32, f32) {
        (0.9 * start as f32 / self.total, 0.9 * end as f32 / self.total)
    }
}

/// The decoder's context at the start of a `full` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// None but the vocabulary prompt.
    Fresh,
    /// The text the state's previous call decoded (whisper's own carry-over).
    Carry,
    /// Nothing at all.
    None,
}

/// One `full` call.
struct Pass<'a> {
    audio: &'a [f32],
    /// Encoder positions (0: whisper's full 30 s).
    audio_ctx: usize,
    temperature: f32,
    context: Context,
    /// Stop before a second window: the caller moves the window itself.
    one_window: bool,
    /// How much of `audio` whisper may decode, in ms (0: all of it).
    duration_ms: usize,
    /// Context tokens given explicitly (instead of `context`): a window decoded again.
    prompt: Option<&'a [c_int]>,
    /// whisper's temperature fallback (`TranscribeOptions::temperature_increment`).
    fallback: bool,
    range: (f32, f32),
}

impl<'a> Pass<'a> {
    /// A call over all of `audio` with whisper's defaults: full encoder, fresh context,
    /// temperature fallback, every window.
    fn whole(audio: &'a [f32], temperature: f32, range: (f32, f32)) -> Self {
        Self {
            audio,
            audio_ctx: 0,
            temperature,
            context: Context::Fresh,
            one_window: false,
            duration_ms: 0,
            prompt: None,
            fallback: true,
            range,
        }
    }
}

struct PassOut {
    segments: Vec<RawSegment>,
    /// The decoded token ids, text and timestamps (what whisper carries as context).
    ids: Vec<c_int>,
    lang: String,
    /// The call was stopped before its second window.
    stopped: bool,
}

/// Signs that a window's decoding went astray: a segment starting after the window's
/// audio has ended or ending past what the encoder saw (`encoder_seconds`), a mean token
/// log-probability under whisper's own threshold for a retry (-1), or a phrase echoed back
/// to back.
fn astray(segments: &[RawSegment], audio_seconds: f64, encoder_seconds: f64, opts: &TranscribeOptions) -> bool {
    const LOGPROB_THRESHOLD: f64 = -1.0;
    if segments.iter().any(|s| s.t0 >= audio_seconds || s.t1 > encoder_seconds) {
        return true;
    }
    let (sum, n) = segments
        .iter()
        .fold((0.0, 0usize), |(sum, n), s| (sum + s.avg_logprob as f64 * s.tokens.len() as f64, n + s.tokens.len()));
    if n > 0 && sum / (n as f64) < LOGPROB_THRESHOLD {
        return true;
    }
    has_echo(&flat_words(&assemble(segments, opts.low_confidence_threshold)))
}

/// Words of `segments` as the draft will have them, punctuation alone not counted.
fn word_count(segments: &[RawSegment]) -> usize {
    segments.iter().flat_map(|s| words_of(s, 0.0)).filter(|w| is_lexical(w.text.as_bytes())).count()
}

/// A window that came back with next to no text for its speech: whisper now and then
/// closes a window after a token or two (a comma, then a timestamp at the window's end),
/// confidently, when its context leads it there. With a department's vocabulary as the
/// prompt, the first 30 s of a noisy corpus letter (onc-05, babble at 15 dB) came back as
/// "," and the draft lost three quarters of the letter. Dictation runs at 2-3 words a
/// second and the VAD has already cut the long pauses, so under one word in 5 s of a
/// window's audio is not a slow speaker.
fn dropped_speech(segments: &[RawSegment], audio_seconds: f64) -> bool {
    const MIN_SECONDS: f64 = 5.0;
    const SECONDS_PER_WORD: f64 = 5.0;
    audio_seconds >= MIN_SECONDS && (word_count(segments) as f64) < audio_seconds / SECONDS_PER_WORD
}

/// Seconds of 16 kHz audio in `samples`.
fn seconds(samples: usize) -> f64 {
    samples as f64 / SAMPLE_RATE as f64
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

/// Keeps whisper.cpp's large blocks out of glibc's heap. glibc serves a block of 128 KiB or
/// more from its own mapping, returned to the system when freed, but each time such a block
/// is freed it raises that threshold to the block's size (up to 32 MB). After the first job
/// whisper's per-job buffers of 1-32 MB (the log-mel, the cross-attention cache, the
/// convolution buffer) came from the heap instead, where they fragmented and stayed
/// resident: over the six uploads of `bench/upload_to_draft.sh` the idle server grew from
/// 81 to 157 MB and its peak reached 312 MB. With the threshold fixed the idle server stays
/// near 90 MB and the peak is the first job's (258 MB).
fn fix_mmap_threshold() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes a tuning parameter of the C allocator.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        }
    });
}

impl Engine {
    /// Load the model once; the context is shared by all jobs.
    pub fn load(path: &Path, config: EngineConfig) -> Result<Self, SttError> {
        fix_mmap_threshold();
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
        let result = self.transcribe_with_state(Cow::Borrowed(samples_16k_mono), opts, progress, cancel);
        release_freed_memory();
        result
    }

    /// [`Self::transcribe`], taking the samples: they are freed as soon as the speech is
    /// cut out of them (a long recording's samples are tens of MB of the job's peak).
    pub fn transcribe_owned(
        &self,
        samples_16k_mono: Vec<f32>,
        opts: &TranscribeOptions,
        progress: impl Fn(f32) + Send + 'static,
        cancel: Arc<AtomicBool>,
    ) -> Result<Transcript, SttError> {
        let result = self.transcribe_with_state(Cow::Owned(samples_16k_mono), opts, progress, cancel);
        release_freed_memory();
        result
    }

    fn transcribe_with_state(
        &self,
        mut samples: Cow<'_, [f32]>,
        opts: &TranscribeOptions,
        progress: impl Fn(f32) + Send + 'static,
        cancel: Arc<AtomicBool>,
    ) -> Result<Transcript, SttError> {
        let started = Instant::now();
        let sink = ProgressSink { f: Box::new(progress), last: AtomicU32::new((-1.0f32).to_bits()) };
        sink.emit(0.0);
        let language = self.resolve_language(opts)?;
        // Mended in place, or copied only when borrowed samples need it (a long
        // recording's samples are tens of MB, and the job's peak memory counts every copy).
        if !samples.iter().all(|x| x.abs() <= 1.0) {
            for x in samples.to_mut().iter_mut() {
                *x = if x.is_finite() { x.clamp(-1.0, 1.0) } else { 0.0 };
            }
        }
        let audio_seconds = seconds(samples.len());
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
        tracing::debug!(kept = seconds(compact.len()), of = audio_seconds, "vad compaction");
        let junctions: Vec<windows::Junction> = map
            .pieces
            .windows(2)
            .map(|w| windows::Junction {
                at: w[1].compact_start,
                removed: w[1].orig_start - (w[0].orig_start + w[0].len),
            })
            .collect();
        let mut state = self.ctx.create_state().map_err(|e| SttError::Whisper(e.to_string()))?;
        let job = Job { opts, cancel: &cancel, sink: &sink, total: compact.len().max(1) as f32 };
        let (raw, lang, language) = if self.config.windows.enabled {
            let windows = windows::plan(&compact, &junctions, &self.config.windows);
            tracing::debug!(windows = windows.len(), "recognition windows");
            self.windowed(&mut state, &compact, &windows, language, &job)?
        } else {
            self.slide(&mut state, &compact, language, &job)?
        };
        let mut segments = assemble(&raw, opts.low_confidence_threshold);
        if opts.repetition_guard {
            segments = self.repair_loops(&mut state, segments, &compact, language.as_deref(), &job)?;
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

    /// The experimental pause windows: each window decoded on its own, with a fresh
    /// context (see [`windows::plan`]).
    fn windowed(
        &self,
        state: &mut WhisperState,
        compact: &[f32],
        windows: &[windows::Window],
        mut language: Option<String>,
        job: &Job,
    ) -> Result<(Vec<RawSegment>, String, Option<String>), SttError> {
        let (mut raw, mut lang) = (Vec::new(), String::from("en"));
        for w in windows {
            let pass = Pass {
                audio_ctx: w.audio_ctx,
                ..Pass::whole(&compact[w.start..w.end], job.opts.temperature, job.range(w.start, w.end))
            };
            let mut out = self.run(state, &pass, job.opts, language.as_deref(), job)?;
            let offset = seconds(w.start);
            for seg in &mut out.segments {
                seg.shift(offset);
            }
            raw.extend(out.segments);
            // A multilingual model detects the language on the first window; the rest keep it.
            language.get_or_insert_with(|| out.lang.clone());
            lang = out.lang;
        }
        Ok((raw, lang, language))
    }

    /// whisper's sliding 30 s window, taken one window per `full` call so that each gets
    /// an encoder sized to the audio left in it (see [`windows::WindowConfig::sized_slide`]).
    ///
    /// Each call may decode the next 30 s (it is given 60 s, see below) and is stopped
    /// before its second encoder pass; the window then moves to where whisper's last
    /// complete segment ended (all 30 s when whisper found the window's speech complete),
    /// as whisper.cpp moves it, and the decoded text stays in the state as the next call's
    /// context. As whisper does, the context is dropped for a last piece under 5 s (it
    /// makes the decoder repeat).
    fn slide(
        &self,
        state: &mut WhisperState,
        compact: &[f32],
        mut language: Option<String>,
        job: &Job,
    ) -> Result<(Vec<RawSegment>, String, Option<String>), SttError> {
        const WINDOW: usize = 30 * SAMPLE_RATE;
        // whisper.cpp stops with under 100 ms left, and drops its context under 5 s.
        const MIN_LEFT: usize = SAMPLE_RATE / 10;
        const CONTEXT_LEFT: usize = 5 * SAMPLE_RATE;
        // Audio given past the window: see the comment where it is used.
        const LOOKAHEAD: usize = 15 * SAMPLE_RATE;
        const HISTORY: usize = 448;
        let cfg = &self.config.windows;
        if !cfg.sized_slide {
            let pass = Pass::whole(compact, job.opts.temperature, job.range(0, compact.len()));
            let out = self.run(state, &pass, job.opts, language.as_deref(), job)?;
            return Ok((out.segments, out.lang.clone(), language.or(Some(out.lang))));
        }
        let (mut raw, mut lang) = (Vec::new(), String::from("en"));
        let mut seek = 0;
        let mut steps = 0;
        // What whisper carries from window to window (the vocabulary prompt, then the
        // tokens decoded), kept to give a window decoded again the context it first had.
        let mut history: Vec<c_int> = match job.opts.initial_prompt.as_deref().map(str::trim) {
            Some(prompt) if !prompt.is_empty() => {
                self.ctx.tokenize(&prompt.replace('\0', " "), 1024).unwrap_or_default()
            }
            _ => Vec::new(),
        };
        while seek == 0 || seek + MIN_LEFT < compact.len() {
            let end = (seek + WINDOW).min(compact.len());
            let context = match seek {
                0 => Context::Fresh,
                _ if compact.len() - seek < CONTEXT_LEFT => Context::None,
                _ => Context::Carry,
            };
            // whisper is given 15 s of audio past the window too, and told to decode no more
            // than the window: its log-mel floor is set by the loudest frame it is given, and
            // the window's last frames see what follows, as in one whole-file call (cutting
            // at 30 s raised WER on 16 corpus letters from 0.220 to 0.233). Each call computes
            // the log-mel of all it is given (110 ms for 60 s on 2 threads), so less is
            // faster; 15 s gave every corpus letter and the long dictation the same words as
            // 30 s did, 5 s changed seven words of the long dictation (m4a) and 1 s one.
            let audio = &compact[seek..(end + LOOKAHEAD).min(compact.len())];
            let duration_ms = if end < compact.len() { (end - seek) * 1000 / SAMPLE_RATE } else { 0 };
            let audio_ctx = windows::audio_ctx_for(end - seek, cfg);
            let pass = Pass {
                audio,
                audio_ctx,
                temperature: job.opts.temperature,
                context,
                one_window: true,
                duration_ms,
                prompt: None,
                fallback: audio_ctx == 0,
                range: job.range(seek, end),
            };
            let mut out = self.run(state, &pass, job.opts, language.as_deref(), job)?;
            // A trimmed encoder now and then sends the decoder astray (text after the end of
            // the audio, a phrase echoed, a low mean log-probability): that window is decoded
            // again with the full one, from the same context, and with whisper's temperature
            // fallback, which the trimmed attempt goes without (it would retry at five times
            // the cost before the redo that fixes it). A last segment that merely ends in the
            // encoder's padding is not a sign: whisper puts its last timestamp there with the
            // full encoder too (4 of the 16 corpus letters were decoded twice for it, to the
            // same words).
            let (audio_s, encoder_s) = (seconds(end - seek), seconds(pass.audio_ctx * windows::SAMPLES_PER_CTX));
            if pass.audio_ctx != 0 && astray(&out.segments, audio_s, encoder_s, job.opts) {
                tracing::info!(at = seconds(seek), "trimmed window went astray: decoding it with the full encoder");
                tracing::debug!(
                    segments = ?out.segments.iter().map(|s| (s.t0, s.t1, s.avg_logprob, text_of(s))).collect::<Vec<_>>(),
                    "what the trimmed attempt decoded"
                );
                let tail = history.len().saturating_sub(self.config.max_text_ctx.clamp(1, 224));
                let redo = Pass {
                    audio_ctx: 0,
                    fallback: true,
                    prompt: (context == Context::Carry).then_some(&history[tail..]),
                    ..pass
                };
                out = self.run(state, &redo, job.opts, language.as_deref(), job)?;
            }
            // A window that lost its speech to its context (the vocabulary prompt, or the
            // text before it) is decoded again with none, with the full encoder and
            // whisper's temperature fallback; the attempt with more words is kept.
            // (Before the first window is added, `history` holds the vocabulary prompt alone.)
            let with_context = context == Context::Carry || (context == Context::Fresh && !history.is_empty());
            if with_context && dropped_speech(&out.segments, audio_s) {
                tracing::info!(
                    at = seconds(seek),
                    words = word_count(&out.segments),
                    "window came back with next to no text: decoding it again without context"
                );
                let redo = Pass { audio_ctx: 0, fallback: true, context: Context::None, prompt: None, ..pass };
                let again = self.run(state, &redo, job.opts, language.as_deref(), job)?;
                if word_count(&again.segments) > word_count(&out.segments) {
                    out = again;
                }
            }
            if let Some(index) = job.opts.lexicon.as_deref().filter(|i| !i.is_empty()) {
                self.rescore(state, &mut out, language.as_deref(), index, job.opts);
            }
            history.extend_from_slice(&out.ids);
            if history.len() > 2 * HISTORY {
                history.drain(..history.len() - HISTORY);
            }
            // Where whisper would move its window: the end of the last complete segment when
            // it went on to decode the rest of these 30 s, else past them.
            let mut advance = end - seek;
            if out.stopped
                && let Some(last) = out.segments.last()
            {
                let to = (last.t1 * SAMPLE_RATE as f64).round().max(0.0) as usize;
                if to > 0 {
                    advance = to.min(advance);
                }
            }
            let offset = seconds(seek);
            tracing::debug!(
                at = offset,
                seconds = seconds(end - seek),
                audio_ctx = pass.audio_ctx,
                stopped = out.stopped,
                advance = seconds(advance),
                segments = ?out.segments.iter().map(|s| (s.t0, s.t1)).collect::<Vec<_>>(),
                "sliding window step"
            );
            for seg in &mut out.segments {
                seg.shift(offset);
            }
            raw.extend(out.segments);
            language.get_or_insert_with(|| out.lang.clone());
            lang = out.lang;
            seek += advance;
            steps += 1;
            if end == compact.len() && !out.stopped {
                break;
            }
            // Each step moves on by at least one 20 ms timestamp; this bounds a pathological
            // run of tiny steps all the same.
            if steps > 8 + 4 * compact.len() / WINDOW {
                tracing::warn!(seek, len = compact.len(), "sliding window stopped after too many steps");
                break;
            }
        }
        tracing::debug!(steps, "sliding window");
        Ok((raw, lang, language))
    }

    /// Puts lexicon terms in place of the uncertain spans of a window just decoded (its
    /// encoder output is still in `state`).
    fn rescore(
        &self,
        state: &mut WhisperState,
        out: &mut PassOut,
        language: Option<&str>,
        index: &TermIndex,
        opts: &TranscribeOptions,
    ) {
        let t = Instant::now();
        let mut sot = vec![self.ctx.token_sot()];
        if self.multilingual {
            let lang = whisper_rs::get_lang_id(language.unwrap_or(&out.lang)).unwrap_or(0);
            sot.push(self.ctx.token_lang(lang));
            sot.push(if opts.translate { self.ctx.token_translate() } else { self.ctx.token_transcribe() });
        }
        let window = rescore::Window {
            sot,
            prev: self.ctx.token_prev(),
            ids: &mut out.ids,
            eot: self.ctx.token_eot(),
            beg: self.ctx.token_beg(),
        };
        let engine_threads = self.config.threads.max(1);
        let threads = match opts.rescore.threads {
            0 => engine_threads,
            n => n.min(engine_threads),
        };
        let outcome = rescore::window(&self.ctx, state, threads, &mut out.segments, window, index, &opts.rescore);
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), ?outcome, "lexicon rescoring");
    }

    /// One whisper.cpp `full` call on `state`. Returns segments with special tokens
    /// removed (times in seconds on `pass.audio`'s timeline), the language, and whether
    /// the call was stopped before a second window ([`Pass::one_window`]).
    fn run(
        &self,
        state: &mut WhisperState,
        pass: &Pass,
        opts: &TranscribeOptions,
        language: Option<&str>,
        job: &Job,
    ) -> Result<PassOut, SttError> {
        let cancel = job.cancel;
        if cancel.load(Ordering::Relaxed) {
            return Err(SttError::Cancelled);
        }
        // whisper.cpp skips inputs under 100 ms; pad short clips with silence to 1 s.
        let mut padded;
        let audio = if pass.audio.len() < SAMPLE_RATE {
            padded = pass.audio.to_vec();
            padded.resize(SAMPLE_RATE, 0.0);
            &padded[..]
        } else {
            pass.audio
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
        p.set_temperature(pass.temperature);
        p.set_temperature_inc(if pass.fallback { opts.temperature_increment } else { 0.0 });
        p.set_no_context(pass.context != Context::Carry || pass.prompt.is_some());
        if let Some(prompt) = pass.prompt {
            p.set_tokens(prompt);
        }
        p.set_n_max_text_ctx(self.config.max_text_ctx.clamp(1, 224) as c_int);
        p.set_audio_ctx(pass.audio_ctx as c_int);
        p.set_duration_ms(pass.duration_ms as c_int);
        if let Some(prompt) = opts.initial_prompt.as_deref().map(|s| s.replace('\0', " "))
            && !prompt.trim().is_empty()
            && pass.context == Context::Fresh
            && pass.prompt.is_none()
        {
            p.set_initial_prompt(&prompt);
        }
        let progress = PassProgress { sink: job.sink, lo: pass.range.0, hi: pass.range.1 };
        let gate = EncoderGate { cancel, one_window: pass.one_window, starts: AtomicU32::new(0) };
        // SAFETY: all three user-data pointers outlive `state.full` below (this frame / the
        // caller's Arc), and the trampolines only read through them (atomics included).
        unsafe {
            p.set_progress_callback(Some(progress_trampoline));
            p.set_progress_callback_user_data(&progress as *const PassProgress as *mut c_void);
            p.set_abort_callback(Some(abort_trampoline));
            p.set_abort_callback_user_data(Arc::as_ptr(cancel) as *mut c_void);
            p.set_start_encoder_callback(Some(encoder_gate_trampoline));
            p.set_start_encoder_callback_user_data(&gate as *const EncoderGate as *mut c_void);
        }
        let t = Instant::now();
        let result = state.full(p, audio);
        tracing::debug!(
            seconds = t.elapsed().as_secs_f64(),
            audio_ctx = pass.audio_ctx,
            fallback = pass.fallback,
            prompt = pass.prompt.map(<[c_int]>::len),
            "whisper pass"
        );
        if cancel.load(Ordering::Relaxed) {
            return Err(SttError::Cancelled);
        }
        result.map_err(wstate_err)?;
        let (eot, beg) = (self.ctx.token_eot(), self.ctx.token_beg());
        let mut segments = Vec::new();
        let mut ids = Vec::new();
        for seg in state.as_iter() {
            let (t0, t1) = (seg.start_timestamp() as f64 / 100.0, seg.end_timestamp() as f64 / 100.0);
            let mut tokens = Vec::new();
            let (mut plog_sum, mut plog_n) = (0.0f64, 0usize);
            for i in 0..seg.n_tokens() {
                let Some(tok) = seg.get_token(i) else {
                    continue;
                };
                if tok.token_id() < eot || tok.token_id() >= beg {
                    ids.push(tok.token_id());
                }
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
                tokens.push(RawToken {
                    bytes,
                    p: d.p,
                    t0: ts(d.t0, t0),
                    t1: ts(d.t1, t1),
                    id: tok.token_id(),
                    heard: None,
                });
            }
            let avg_logprob = if plog_n > 0 { (plog_sum / plog_n as f64) as f32 } else { 0.0 };
            let no_speech_prob = seg.no_speech_probability();
            segments.push(RawSegment { t0, t1, tokens, no_speech_prob, avg_logprob });
        }
        let lang = whisper_rs::get_lang_str(state.full_lang_id_from_state()).unwrap_or("en").to_string();
        Ok(PassOut { segments, ids, lang, stopped: gate.starts.load(Ordering::Relaxed) > 1 })
    }

    /// Re-decode windows holding repetition loops at a higher temperature; cut whatever
    /// still loops. Times stay on the compact timeline.
    fn repair_loops(
        &self,
        state: &mut WhisperState,
        mut segments: Vec<Segment>,
        audio: &[f32],
        language: Option<&str>,
        job: &Job,
    ) -> Result<Vec<Segment>, SttError> {
        let opts = job.opts;
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
            let pass = Pass {
                audio_ctx: windows::audio_ctx_for(piece.len(), &self.config.windows),
                ..Pass::whole(piece, opts.temperature.max(0.0) + 0.4, range)
            };
            let out = self.run(state, &pass, &retry, language, job)?;
            let mut fresh = assemble(&out.segments, opts.low_confidence_threshold);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(t0: f64, t1: f64, text: &str, avg_logprob: f32) -> RawSegment {
        let n = text.split_whitespace().count().max(1) as f64;
        let tokens = text
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| RawToken {
                bytes: format!(" {w}").into_bytes(),
                p: 0.9,
                t0: t0 + (t1 - t0) * i as f64 / n,
                t1: t0 + (t1 - t0) * (i + 1) as f64 / n,
                id: 0,
                heard: None,
            })
            .collect();
        RawSegment { t0, t1, tokens, no_speech_prob: 0.0, avg_logprob }
    }

    #[test]
    fn a_last_segment_running_into_the_encoders_padding_is_not_astray() {
        // ortho-01's last window: 5.66 s of audio, 448 positions (8.96 s); whisper's last
        // timestamp lands at 7.04 s with the full encoder too.
        let opts = TranscribeOptions::default();
        let segs = [seg(0.0, 7.04, "including a 1% risk of infection and he wishes to proceed. Kind regards.", -0.09)];
        assert!(!astray(&segs, 5.66, 8.96, &opts));
    }

    #[test]
    fn text_after_the_audio_or_past_the_encoder_is_astray() {
        let opts = TranscribeOptions::default();
        let ok = seg(0.0, 5.4, "the rest of her skin check was unremarkable", -0.1);
        assert!(astray(&[ok.clone(), seg(5.7, 8.0, "thank you for watching", -0.2)], 5.66, 8.96, &opts));
        assert!(astray(&[seg(0.0, 9.5, "the rest of her skin check was unremarkable", -0.1)], 5.66, 8.96, &opts));
        assert!(!astray(&[ok], 5.66, 8.96, &opts));
    }

    #[test]
    fn a_low_mean_log_probability_or_an_echo_is_astray() {
        let opts = TranscribeOptions::default();
        assert!(astray(&[seg(0.0, 5.0, "he does not need adjuvant chemotherapy", -1.4)], 9.66, 12.8, &opts));
        let echo = seg(0.0, 9.1, "juvenile unit in a juvenile unit in a", -0.5);
        assert!(astray(&[echo], 9.66, 12.8, &opts));
    }

    #[test]
    fn a_window_of_speech_that_comes_back_as_a_comma_has_dropped_its_speech() {
        // onc-05 (babble, 15 dB) with its department's vocabulary: 30 s came back as ",".
        assert!(dropped_speech(&[seg(0.0, 30.0, ",", -0.06)], 30.0));
        assert!(dropped_speech(&[], 12.0));
        assert!(dropped_speech(&[seg(0.0, 30.0, "Dear Dr. Lindqvist, -", -0.3)], 30.0));
        assert_eq!(word_count(&[seg(0.0, 30.0, "Dear Dr. Lindqvist, - 12th .", -0.3)]), 4);
    }

    #[test]
    fn slow_or_short_speech_has_not_dropped_anything() {
        // Six words in 30 s of speech is slow, not lost; under 5 s is too short to judge.
        assert!(!dropped_speech(&[seg(0.0, 30.0, "he does not need adjuvant chemotherapy", -0.2)], 30.0));
        assert!(!dropped_speech(&[seg(0.0, 4.0, "yours sincerely", -0.2)], 4.9));
        assert!(!dropped_speech(&[], 4.9));
    }
}
