//! Clinical terms put right where Whisper was unsure: each uncertain span of a window is
//! compared, by Whisper's own decoder on the same encoder output, with the lexicon terms
//! that sound like it; a term replaces the span only when the decoder prefers it by a
//! margin.
//!
//! A small model writes "at our vassa" for "atorvastatin": it heard the sounds, but the
//! word was too rare for it to choose greedily. Forced through the decoder, the term's
//! tokens, and the tokens that follow the span, often score better than what greedy
//! decoding picked token by token. Nothing is replaced on sound alone: a candidate the
//! decoder does not prefer leaves Whisper's words (and their low confidence) as they were,
//! so the lexicon cannot invent a medicine where the audio does not support one. Every
//! replacement keeps what Whisper heard ([`RawToken::heard`]), shown to the secretary.
//!
//! Runs right after a window is decoded, while the state still holds its encoder output.
//! The decoder's cache keeps the window's prefix between spans, so each candidate costs
//! one decoder step per token.

use std::ffi::c_int;

use whisper_rs::{WhisperContext, WhisperState};

use super::sound::{dissimilarity, key};
use super::terms::TermIndex;
use super::types::RescoreConfig;
use super::words::{RawSegment, RawToken, is_lexical};

/// What one window's rescoring did, for the logs and the benchmark.
#[derive(Debug, Default, Clone, Copy)]
pub struct Outcome {
    /// Spans that had candidates and were scored.
    pub spans: usize,
    /// Candidates forced through the decoder.
    pub candidates: usize,
    pub replaced: usize,
    /// Decoder calls made.
    pub steps: usize,
    /// Tokens those calls decoded.
    pub tokens: usize,
}

/// A word of a segment: its tokens `[start, core_end)` without trailing punctuation.
#[derive(Debug, Clone)]
struct SpanWord {
    start: usize,
    core_end: usize,
    text: String,
    confidence: f32,
    has_digit: bool,
    /// Punctuation follows the word: a term does not run on past it.
    closes: bool,
    /// A capital not at a sentence start, or letters all capitals: a name or an
    /// abbreviation, which Whisper wrote as it heard it on purpose.
    name_like: bool,
}

fn words_in(seg: &RawSegment) -> Vec<SpanWord> {
    let mut words: Vec<SpanWord> = Vec::new();
    for (i, tok) in seg.tokens.iter().enumerate() {
        if tok.bytes.first() == Some(&b' ') || words.is_empty() {
            words.push(SpanWord {
                start: i,
                core_end: i,
                text: String::new(),
                confidence: 1.0,
                has_digit: false,
                closes: false,
                name_like: false,
            });
        }
        let w = words.last_mut().expect("pushed above");
        if is_lexical(&tok.bytes) {
            w.core_end = i + 1;
            w.confidence = w.confidence.min(if tok.p.is_finite() { tok.p } else { 0.0 });
        }
    }
    let mut sentence_start = true;
    let ends: Vec<usize> = words.iter().skip(1).map(|w| w.start).chain([seg.tokens.len()]).collect();
    for (w, end) in words.iter_mut().zip(ends) {
        let core = w.core_end.max(w.start);
        let bytes: Vec<u8> = seg.tokens[w.start..core].iter().flat_map(|t| t.bytes.clone()).collect();
        w.text = String::from_utf8_lossy(&bytes).trim().to_string();
        w.has_digit = w.text.bytes().any(|b| b.is_ascii_digit());
        let tail: Vec<u8> = seg.tokens[core..end].iter().flat_map(|t| t.bytes.clone()).collect();
        w.closes = tail.iter().any(|b| b.is_ascii_punctuation());
        let letters: Vec<char> = w.text.chars().filter(|c| c.is_alphabetic()).collect();
        let capital = letters.first().is_some_and(|c| c.is_uppercase());
        let all_caps = letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase());
        w.name_like = all_caps || (capital && !sentence_start);
        sentence_start = tail.iter().any(|b| matches!(b, b'.' | b'?' | b'!'));
    }
    words.retain(|w| w.core_end > w.start && !w.text.is_empty());
    words
}

/// Distributions the decoder remembers (each is the vocabulary's logits, 200 KB: 3 MB in
/// all).
const RECENT_KEPT: usize = 16;

/// The next-token distribution of the decoder after a token sequence, with the decoder's
/// cache reused for the part of the sequence it has already seen.
struct Decoder<'a> {
    state: &'a mut WhisperState,
    threads: usize,
    /// The tokens whose keys and values the decoder's cache holds, position by position.
    cached: Vec<c_int>,
    /// The distributions computed most recently (sequence, log-softmax normaliser,
    /// logits), newest last: the newest is the one after `cached`; the others serve a
    /// span's context asked for again before each of its candidates, and a prefix that
    /// several candidates share, each of which would otherwise cost a decoder step again.
    recent: Vec<(Vec<c_int>, f32, Vec<f32>)>,
    steps: usize,
    /// Tokens put through the decoder: whisper.cpp computes the vocabulary's logits for
    /// each (50,000 x 384 multiply-adds), which is most of the cost.
    tokens: usize,
}

impl<'a> Decoder<'a> {
    fn new(state: &'a mut WhisperState, threads: usize) -> Self {
        Self {
            state,
            threads: threads.max(1),
            cached: Vec::new(),
            recent: Vec::with_capacity(RECENT_KEPT),
            steps: 0,
            tokens: 0,
        }
    }

    /// The log-probability of `token` following `seq`.
    fn logprob(&mut self, seq: &[c_int], token: c_int) -> Result<f32, whisper_rs::WhisperError> {
        if seq.is_empty() {
            return Err(whisper_rs::WhisperError::InvalidText);
        }
        if let Some((_, lse, logits)) = self.recent.iter().rev().find(|(s, ..)| s == seq) {
            return Ok(logits.get(token as usize).map_or(f32::NEG_INFINITY, |l| l - lse));
        }
        let common = self.cached.iter().zip(seq).take_while(|(a, b)| a == b).count();
        let start = common.min(seq.len() - 1);
        // whisper-rs reads the first row of the logits, and whisper.cpp fills only the
        // last row of a batch: the batch stops one short, and the last token goes alone.
        if seq.len() - 1 > start {
            self.state.decode(&seq[start..seq.len() - 1], start, self.threads)?;
            self.steps += 1;
        }
        self.state.decode(&seq[seq.len() - 1..], seq.len() - 1, self.threads)?;
        self.steps += 1;
        self.tokens += seq.len() - start;
        self.cached = seq.to_vec();
        let logits = self.state.get_logits()?;
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let lse = max + logits.iter().map(|&l| (l - max).exp()).sum::<f32>().ln();
        let lp = logits.get(token as usize).map_or(f32::NEG_INFINITY, |l| l - lse);
        if self.recent.len() == RECENT_KEPT {
            self.recent.remove(0);
        }
        self.recent.push((seq.to_vec(), lse, logits.to_vec()));
        Ok(lp)
    }

    /// The log-probability of each of `tokens` following `prefix` and the ones before it.
    fn each(&mut self, prefix: &[c_int], tokens: &[c_int]) -> Result<Vec<f32>, whisper_rs::WhisperError> {
        let mut seq = prefix.to_vec();
        let mut out = Vec::with_capacity(tokens.len());
        for &t in tokens {
            out.push(self.logprob(&seq, t)?);
            seq.push(t);
        }
        Ok(out)
    }

    /// The summed log-probability of `tokens` following `prefix`, or `None` as soon as it
    /// falls under `floor` (log-probabilities only add up downwards, so it cannot recover).
    fn sequence_above(
        &mut self,
        prefix: &[c_int],
        tokens: &[c_int],
        floor: f32,
    ) -> Result<Option<f32>, whisper_rs::WhisperError> {
        let mut seq = prefix.to_vec();
        let mut sum = 0.0;
        for &t in tokens {
            sum += self.logprob(&seq, t)?;
            if sum < floor {
                return Ok(None);
            }
            seq.push(t);
        }
        Ok(Some(sum))
    }
}

/// What a window's rescoring needs beyond its segments.
pub struct Window<'a> {
    /// The start-of-transcript sequence the window was decoded after.
    pub sot: Vec<c_int>,
    /// The start-of-previous-text token, which opens a prompt.
    pub prev: c_int,
    /// The decoded token ids, text and timestamps, in order (whisper's own sequence).
    pub ids: &'a mut Vec<c_int>,
    pub eot: c_int,
    pub beg: c_int,
}

/// The position in `ids` of each text token of `segments`, in order.
fn positions(segments: &[RawSegment], ids: &[c_int], beg: c_int) -> Option<Vec<Vec<usize>>> {
    let mut j = 0;
    let mut out = Vec::with_capacity(segments.len());
    for seg in segments {
        let mut pos = Vec::with_capacity(seg.tokens.len());
        for tok in &seg.tokens {
            while j < ids.len() && (ids[j] >= beg || ids[j] != tok.id) {
                j += 1;
            }
            if j == ids.len() {
                return None;
            }
            pos.push(j);
            j += 1;
        }
        out.push(pos);
    }
    Some(out)
}

/// The term as it would be written in place of `first` (a capital kept at a sentence start).
fn written(term: &str, first: &str) -> String {
    let capital = first.chars().next().is_some_and(char::is_uppercase);
    let mut chars = term.chars();
    match chars.next() {
        Some(c) if capital && c.is_lowercase() => c.to_uppercase().chain(chars).collect(),
        _ => term.to_string(),
    }
}

/// An uncertain span: its first word, its length in words, and the terms that sound like
/// it with their dissimilarity, nearest first.
type Span<'i> = (usize, usize, Vec<(&'i str, f32)>);

/// The uncertain spans of a segment (word ranges) and the terms that sound like each.
fn spans<'i>(words: &[SpanWord], index: &'i TermIndex, cfg: &RescoreConfig) -> Vec<Span<'i>> {
    let mut out = Vec::new();
    for w in 0..words.len() {
        for n in 1..=cfg.max_span_words.min(words.len() - w) {
            let span = &words[w..w + n];
            // A span starts or ends on an uncertain word: a doubt in its middle is the
            // doubt of a shorter span already tried.
            let unsure = |x: &SpanWord| x.confidence < cfg.confidence;
            // Several words that are all good English ("in only your") are a phrase Whisper
            // heard, not a garbled term: on the corpus every such replacement was wrong.
            if n > 1 && span.iter().all(|x| index.is_word(&x.text)) {
                continue;
            }
            if span.iter().any(|x| x.has_digit || x.name_like)
                || span[..n - 1].iter().any(|x| x.closes)
                || !(unsure(&span[0]) || unsure(&span[n - 1]))
            {
                continue;
            }
            let heard = bare(span);
            if index.contains(&heard) {
                continue;
            }
            // A term that sounds at least as much like a shorter part of the span is that
            // part's candidate, not the span's (it would drop the other words).
            let parts: Vec<Vec<u8>> = (0..n)
                .flat_map(|a| (a + 1..=n).map(move |b| (a, b)))
                .filter(|&(a, b)| b - a < n)
                .map(|(a, b)| key(&bare(&span[a..b])))
                .collect();
            let found: Vec<(&str, f32)> = index
                .sounding_like(&heard, cfg.max_dissimilarity, cfg.candidates)
                .into_iter()
                .filter(|(t, d)| parts.iter().all(|p| dissimilarity(p, &t.key) > *d))
                .map(|(t, d)| (t.text.as_str(), d))
                .collect();
            if !found.is_empty() {
                out.push((w, n, found));
            }
        }
    }
    out
}

/// A span's words as heard, without punctuation.
fn bare(span: &[SpanWord]) -> String {
    let heard = span.iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
    heard.chars().filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '\'').collect()
}

/// The decoder's prompt for a window's rescoring: the terms its uncertain spans sound
/// like (nearest first, at most `cfg.prompt_terms`), as a vocabulary prompt would list them.
fn primed_prompt(ctx: &WhisperContext, found: &[Vec<Span>], win: &Window, cfg: &RescoreConfig) -> Option<Vec<c_int>> {
    let mut near: Vec<(&str, f32)> = found.iter().flatten().flat_map(|(_, _, terms)| terms.iter().copied()).collect();
    if near.is_empty() {
        return None;
    }
    near.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut terms: Vec<&str> = Vec::new();
    for (t, _) in near {
        if terms.len() < cfg.prompt_terms && !terms.contains(&t) {
            terms.push(t);
        }
    }
    let mut prompt = vec![win.prev];
    if cfg.prompt_terms > 0 {
        prompt.extend(ctx.tokenize(&format!(" {}.", terms.join(", ")), 256).ok()?);
    }
    prompt.extend_from_slice(&win.sot);
    Some(prompt)
}

/// Rescores the uncertain spans of one window (segments and ids on the window's own
/// timeline, before they are shifted), replacing those the decoder prefers a term for.
pub fn window(
    ctx: &WhisperContext,
    state: &mut WhisperState,
    threads: usize,
    segments: &mut [RawSegment],
    win: Window,
    index: &TermIndex,
    cfg: &RescoreConfig,
) -> Outcome {
    let mut outcome = Outcome::default();
    // Each segment's words and uncertain spans, found once for the prompt and the
    // search, and again for a segment only after a replacement in it.
    let mut words: Vec<Vec<SpanWord>> = segments.iter().map(words_in).collect();
    let mut found: Vec<Vec<Span>> = words.iter().map(|w| spans(w, index, cfg)).collect();
    let Some(prompt) = primed_prompt(ctx, &found, &win, cfg) else {
        return outcome;
    };
    let mut dec = Decoder::new(state, threads);
    'segments: for s in 0..segments.len() {
        let mut w = 0;
        while w < words[s].len() {
            let here: Vec<Span> = found[s].iter().filter(|(start, ..)| *start == w).cloned().collect();
            if here.is_empty() {
                w += 1;
                continue;
            }
            match best_at(ctx, &mut dec, &prompt, segments, s, &words[s], w, here, &win, index, cfg, &mut outcome) {
                Ok(Some((n_words, term, tokens))) => {
                    replace(segments, s, &words[s][w..w + n_words], &term, &tokens, win.ids, win.beg);
                    outcome.replaced += 1;
                    words[s] = words_in(&segments[s]);
                    found[s] = spans(&words[s], index, cfg);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "rescoring stopped: the decoder refused a step");
                    break 'segments;
                }
            }
            w += 1;
        }
    }
    outcome.steps = dec.steps;
    outcome.tokens = dec.tokens;
    outcome
}

type Choice = (usize, String, Vec<c_int>);

/// Tokens of a segment's text before a span given to the decoder as its context.
const LOCAL_CONTEXT: usize = 8;

/// The best replacement among the spans starting at word `w` of segment `s` (`here`),
/// if the decoder prefers one by the margin.
#[allow(clippy::too_many_arguments)]
fn best_at(
    ctx: &WhisperContext,
    dec: &mut Decoder,
    prompt: &[c_int],
    segments: &[RawSegment],
    s: usize,
    words: &[SpanWord],
    w: usize,
    here: Vec<Span>,
    win: &Window,
    index: &TermIndex,
    cfg: &RescoreConfig,
    outcome: &mut Outcome,
) -> Result<Option<Choice>, whisper_rs::WhisperError> {
    let seg = &segments[s];
    let Some(longest) = here.iter().map(|(_, n, _)| *n).max() else {
        return Ok(None);
    };
    let Some(pos) = positions(segments, win.ids, win.beg) else {
        return Ok(None);
    };
    let first = pos[s][words[w].start];
    // The context of the span: the segment's opening time stamp and at most
    // `LOCAL_CONTEXT` tokens before the span. The time stamp places the decoder in the
    // audio; the window's earlier text would cost a decoder step per token.
    let opening = pos[s][0].checked_sub(1).filter(|&j| win.ids[j] >= win.beg);
    let mut prefix = prompt.to_vec();
    prefix.extend(opening.map(|j| win.ids[j]));
    let from = opening.map_or(pos[s][0], |j| j + 1).max(first.saturating_sub(LOCAL_CONTEXT));
    prefix.extend_from_slice(&win.ids[from..first]);
    // What Whisper wrote, through the longest span and one token past it, scored once:
    // every shorter span's score is a sum over its start.
    let end = pos[s][words[w + longest - 1].core_end - 1] + 1;
    let heard_ids: Vec<c_int> = (first..=end).map(|j| win.ids.get(j).copied().unwrap_or(win.eot)).collect();
    let heard_lps = dec.each(&prefix, &heard_ids)?;
    let lead = if seg.tokens[words[w].start].bytes.first() == Some(&b' ') { " " } else { "" };
    let mut best: Option<(f32, Choice)> = None;
    for (_, n, candidates) in here {
        outcome.spans += 1;
        let span = &words[w..w + n];
        // Words that are all good English need more of the decoder's preference than a
        // garble ("knockarsenoma") does: Whisper may well have heard them right.
        let margin = if span.iter().all(|x| index.is_word(&x.text)) { cfg.margin_words } else { cfg.margin };
        let k = pos[s][span[n - 1].core_end - 1] + 1 - first;
        let heard_lp: f32 = heard_lps[..=k].iter().sum();
        let next = heard_ids[k];
        for (term, d) in &candidates {
            if n == 1 && another_form(&span[0].text, term, index.is_word(&span[0].text)) {
                continue;
            }
            let text = written(term, &span[0].text);
            let Ok(mut tokens) = ctx.tokenize(&format!("{lead}{text}"), 64) else { continue };
            if tokens.is_empty() || tokens.iter().any(|&t| t >= win.eot) {
                continue;
            }
            tokens.push(next);
            outcome.candidates += 1;
            let floor = heard_lp + best.as_ref().map_or(margin, |(g, _)| g.max(margin));
            let scored = dec.sequence_above(&prefix, &tokens, floor)?;
            tokens.pop();
            tracing::debug!(heard = %bare(span), term = %text, d, gain = ?scored.map(|lp| lp - heard_lp), "lexicon candidate");
            if let Some(lp) = scored {
                best = Some((lp - heard_lp, (n, text, tokens)));
            }
        }
    }
    Ok(best.map(|(_, c)| c))
}

/// Whether `term` is another form of the word Whisper wrote, `heard`, rather than a
/// garble's correction: the heard word is the term with an ending more ("bronchial" for
/// "bronchi": the term would drop sounds Whisper heard), or, when the heard word is
/// English, at most two letters from the term ("ilium" for "ileum"). Whisper heard that
/// word; a decoder preferring its neighbour is preferring the lexicon's prompt, not the
/// audio, and in the benchmark such swaps were the harmful ones.
fn another_form(heard: &str, term: &str, heard_is_english: bool) -> bool {
    let (a, b): (Vec<char>, Vec<char>) =
        (heard.to_lowercase().chars().collect(), term.to_lowercase().chars().collect());
    (a.len() > b.len() && a.starts_with(&b))
        || (heard_is_english && crate::lexicon::words::distance_within(&a, &b, 2).is_some())
}

/// Puts `term` (its `tokens`) in place of the words `span` of segment `s`, in the
/// segment's tokens and in the window's ids.
fn replace(
    segments: &mut [RawSegment],
    s: usize,
    span: &[SpanWord],
    term: &str,
    tokens: &[c_int],
    ids: &mut Vec<c_int>,
    beg: c_int,
) {
    let Some(pos) = positions(segments, ids, beg) else { return };
    let (a, b) = (span[0].start, span[span.len() - 1].core_end);
    let (first, last) = (pos[s][a], pos[s][b - 1]);
    let seg = &mut segments[s];
    let old = &seg.tokens[a..b];
    let heard: String = span.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
    let (t0, t1) = (old[0].t0, old[old.len() - 1].t1);
    let p = old.iter().map(|t| t.p).fold(1.0f32, f32::min);
    let lead = if old[0].bytes.first() == Some(&b' ') { " " } else { "" };
    let n = tokens.len().max(1) as f64;
    let fresh: Vec<RawToken> = tokens
        .iter()
        .enumerate()
        .map(|(i, &id)| RawToken {
            bytes: if i == 0 { format!("{lead}{term}").into_bytes() } else { Vec::new() },
            p,
            t0: t0 + (t1 - t0) * i as f64 / n,
            t1: t0 + (t1 - t0) * (i + 1) as f64 / n,
            id,
            heard: (i == 0).then(|| heard.clone()),
        })
        .collect();
    seg.tokens.splice(a..b, fresh);
    ids.splice(first..=last, tokens.iter().copied());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &str, p: f32, id: i32) -> RawToken {
        RawToken { bytes: s.as_bytes().to_vec(), p, t0: 0.0, t1: 0.0, id, heard: None }
    }

    fn segment() -> RawSegment {
        RawSegment {
            t0: 0.0,
            t1: 4.0,
            tokens: vec![
                tok(" no", 0.9, 10),
                tok(" as", 0.3, 11),
                tok(" chem", 0.6, 12),
                tok("ic", 0.9, 13),
                tok(" changes", 0.9, 14),
                tok(".", 0.8, 15),
            ],
            ..Default::default()
        }
    }

    const BEG: c_int = 1000;

    #[test]
    fn words_keep_their_trailing_punctuation_out_of_the_core() {
        let words = words_in(&segment());
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["no", "as", "chemic", "changes"]);
        assert_eq!((words[3].start, words[3].core_end), (4, 5), "the full stop stays outside");
        assert_eq!(words[1].confidence, 0.3);
    }

    #[test]
    fn text_tokens_are_found_among_timestamps() {
        let ids = vec![BEG, 10, 11, 12, 13, 14, 15, BEG + 200];
        assert_eq!(positions(&[segment()], &ids, BEG), Some(vec![vec![1, 2, 3, 4, 5, 6]]));
        assert_eq!(positions(&[segment()], &ids[..4], BEG), None);
    }

    #[test]
    fn a_replacement_keeps_what_was_heard_and_the_ids_in_step() {
        let mut segs = vec![segment()];
        let mut ids = vec![BEG, 10, 11, 12, 13, 14, 15, BEG + 200];
        let words = words_in(&segs[0]);
        replace(&mut segs, 0, &words[1..3], "ischaemic", &[21, 22, 23], &mut ids, BEG);
        assert_eq!(ids, vec![BEG, 10, 21, 22, 23, 14, 15, BEG + 200]);
        let out = super::super::words::words_of(&segs[0], 0.5);
        let texts: Vec<&str> = out.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["no", "ischaemic", "changes."]);
        assert_eq!(out[1].heard.as_deref(), Some("as chemic"));
        assert!(out[1].low_confidence, "a replaced word keeps the doubt of what it replaced");
        assert_eq!(positions(&segs, &ids, BEG).map(|p| p[0].len()), Some(6));
    }

    #[test]
    fn an_english_word_is_not_swapped_for_a_neighbouring_form() {
        assert!(another_form("bronchial", "bronchi", false), "an ending more");
        assert!(another_form("Ileum", "ilium", true));
        assert!(!another_form("ilium", "ileum", false), "a garble may be two letters off");
        assert!(!another_form("ischaemi", "ischaemic", false), "a word cut short is completed");
        assert!(!another_form("bisoprolol", "bisoprolol fumarate", true));
        assert!(!another_form("vassar", "atorvastatin", false));
    }

    #[test]
    fn a_term_starts_with_a_capital_where_the_heard_word_did() {
        assert_eq!(written("atorvastatin", "At"), "Atorvastatin");
        assert_eq!(written("atorvastatin", "at"), "atorvastatin");
        assert_eq!(written("HbA1c", "h"), "HbA1c");
    }
}
