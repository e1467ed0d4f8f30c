//! Learned substitutions: what recognition heard (1-4 words) where secretaries typed a
//! term, counted per scope and proposed to a super-user; approved ones are applied to a
//! new transcript's words (each replaced word keeps what Whisper heard in `Word.heard`).

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use crate::audit::{Who, action, store as audit};
use crate::auth::accounts::{AdminError, AdminResult};
use crate::clock::Millis;
use crate::storage::{Db, Tx, new_id};
use crate::stt::{Transcript, Word};

/// Example letters kept per substitution.
const MAX_EXAMPLES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Proposed,
    Approved,
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Proposed, Self::Approved, Self::Rejected].into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Substitution {
    pub id: String,
    pub scope: String,
    pub heard: String,
    pub corrected: String,
    pub count: i64,
    pub examples: Vec<String>,
    pub status: String,
}

/// Counts one letter's substitution in `scope` (in the learning transaction).
pub async fn count(
    tx: &mut Tx,
    scope: &str,
    heard: &str,
    corrected: &str,
    id: &str,
    now: Millis,
) -> anyhow::Result<()> {
    let row = sqlx::query(
        "INSERT INTO lexicon_substitutions (id, scope, heard, corrected, corrected_key, hits, examples, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, '[]', 'proposed', $6, $6) \
         ON CONFLICT (scope, heard, corrected_key) DO UPDATE SET hits = lexicon_substitutions.hits + 1, \
         updated_at = excluded.updated_at RETURNING id, examples",
    )
    .bind(new_id())
    .bind(scope)
    .bind(heard)
    .bind(corrected)
    .bind(super::key(corrected))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    let sub_id: String = row.try_get("id")?;
    let mut examples: Vec<String> = serde_json::from_str(&row.try_get::<String, _>("examples")?).unwrap_or_default();
    if examples.len() < MAX_EXAMPLES && !examples.iter().any(|e| e == id) {
        examples.push(id.to_string());
        sqlx::query("UPDATE lexicon_substitutions SET examples = $2 WHERE id = $1")
            .bind(sub_id)
            .bind(serde_json::to_string(&examples)?)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn of_row(r: &sqlx::any::AnyRow) -> Result<Substitution, sqlx::Error> {
    let examples: String = r.try_get("examples")?;
    Ok(Substitution {
        id: r.try_get("id")?,
        scope: r.try_get("scope")?,
        heard: r.try_get("heard")?,
        corrected: r.try_get("corrected")?,
        count: r.try_get("hits")?,
        examples: serde_json::from_str(&examples).unwrap_or_default(),
        status: r.try_get("status")?,
    })
}

/// Substitutions with this status, most often seen first.
pub async fn list(db: &Db, status: Status, limit: i64) -> Result<Vec<Substitution>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, scope, heard, corrected, hits, examples, status FROM lexicon_substitutions \
         WHERE status = $1 ORDER BY hits DESC, updated_at DESC, id LIMIT $2",
    )
    .bind(status.as_str())
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(of_row).collect()
}

/// Approves or rejects a substitution (audited with it).
pub async fn decide(db: &Db, who: &Who, id: &str, to: Status, now: Millis) -> AdminResult<Substitution> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "SELECT id, scope, heard, corrected, hits, examples, status FROM lexicon_substitutions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AdminError::NotFound("substitution"))?;
    let mut sub = of_row(&row)?;
    if sub.status == to.as_str() {
        return Err(AdminError::Conflict(format!("the substitution is already {}", to.as_str())));
    }
    sqlx::query("UPDATE lexicon_substitutions SET status = $2, decided_at = $3, decided_by = $4 WHERE id = $1")
        .bind(id)
        .bind(to.as_str())
        .bind(now)
        .bind(who.actor_id.as_deref())
        .execute(&mut *tx)
        .await?;
    let details = json!({"scope": sub.scope, "heard": sub.heard, "corrected": sub.corrected, "from": sub.status, "to": to.as_str()});
    let entry = who.entry(action::LEXICON_SUBSTITUTION_DECIDE).target("lexicon_substitution", id).details(details);
    audit::append(&mut tx, db.backend, &entry, now).await?;
    tx.commit().await?;
    sub.status = to.as_str().to_string();
    Ok(sub)
}

/// A substitution to apply: the heard words (lower case) and the term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub heard: Vec<String>,
    pub corrected: String,
}

/// The approved substitutions for a dictation's scopes (clinician, specialty, global).
pub async fn rules_for_dictation(db: &Db, dictation_id: &str) -> Result<Vec<Rule>, sqlx::Error> {
    let Some((username, specialty)) = super::store::dictation_owner(db, dictation_id).await? else {
        return Ok(Vec::new());
    };
    let scopes = super::scopes_for(&username, specialty.as_deref());
    let pick = |i: usize| scopes.get(i).or(scopes.last()).cloned().unwrap_or_default();
    let rows = sqlx::query(
        "SELECT heard, corrected FROM lexicon_substitutions WHERE status = 'approved' AND scope IN ($1, $2, $3) \
         ORDER BY hits DESC, id",
    )
    .bind(pick(0))
    .bind(pick(1))
    .bind(pick(2))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let heard: String = r.try_get("heard")?;
            Ok(Rule { heard: heard.split(' ').map(str::to_string).collect(), corrected: r.try_get("corrected")? })
        })
        .collect()
}

/// Applies the approved substitutions of the dictation's scopes to a new transcript. A
/// failure to read them is logged and leaves the transcript as recognised.
pub async fn apply_approved(db: &Db, dictation_id: &str, t: &mut Transcript) -> usize {
    match rules_for_dictation(db, dictation_id).await {
        Ok(rules) => apply(t, &rules),
        Err(e) => {
            tracing::warn!(dictation = %dictation_id, error = %e, "cannot read the approved substitutions");
            0
        }
    }
}

/// Applies `rules` to the transcript's words (whole words, any case, within a segment;
/// the longest heard span first), sets `heard` on each replacement, and rebuilds the
/// texts of the segments it changed and of the transcript. Returns the replacements made.
pub fn apply(t: &mut Transcript, rules: &[Rule]) -> usize {
    let mut rules: Vec<&Rule> = rules.iter().filter(|r| !r.heard.is_empty()).collect();
    rules.sort_by_key(|r| std::cmp::Reverse(r.heard.len()));
    let mut made = 0;
    for seg in &mut t.segments {
        let mut out: Vec<Word> = Vec::with_capacity(seg.words.len());
        let mut i = 0;
        let mut changed = false;
        while i < seg.words.len() {
            let hit = rules.iter().find(|r| matches_at(&seg.words[i..], &r.heard));
            match hit {
                Some(rule) => {
                    out.push(replaced(&seg.words[i..i + rule.heard.len()], &rule.corrected));
                    i += rule.heard.len();
                    changed = true;
                    made += 1;
                }
                None => {
                    out.push(seg.words[i].clone());
                    i += 1;
                }
            }
        }
        if changed {
            seg.words = out;
            seg.text = seg.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
        }
    }
    if made > 0 {
        t.text = t.segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
    }
    made
}

fn bare(w: &str) -> String {
    super::key(w.trim_matches(|c: char| !c.is_alphanumeric()))
}

fn matches_at(words: &[Word], heard: &[String]) -> bool {
    words.len() >= heard.len() && words.iter().zip(heard).all(|(w, h)| bare(&w.text) == *h)
}

/// One word for a span: the term with the span's outer punctuation, its times, its
/// lowest confidence, and what was heard.
fn replaced(span: &[Word], term: &str) -> Word {
    let (first, last) = (&span[0], &span[span.len() - 1]);
    let lead: String = first.text.chars().take_while(|c| !c.is_alphanumeric()).collect();
    let trail: String = {
        let rev: String = last.text.chars().rev().take_while(|c| !c.is_alphanumeric()).collect();
        rev.chars().rev().collect()
    };
    let confidence = span.iter().map(|w| w.confidence).fold(1.0_f32, f32::min);
    Word {
        start: first.start,
        end: last.end,
        text: format!("{lead}{term}{trail}"),
        confidence,
        low_confidence: span.iter().any(|w| w.low_confidence),
        heard: Some(span.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stt::Segment;

    fn word(text: &str, start: f64) -> Word {
        Word { start, end: start + 0.5, text: text.into(), confidence: 0.4, low_confidence: true, heard: None }
    }

    fn transcript(segments: &[&str]) -> Transcript {
        let segments: Vec<Segment> = segments
            .iter()
            .map(|s| {
                let words: Vec<Word> = s.split(' ').enumerate().map(|(i, w)| word(w, i as f64)).collect();
                Segment { start: 0.0, end: 9.0, text: s.to_string(), words, ..Default::default() }
            })
            .collect();
        Transcript {
            text: segments_text(segments.as_slice()),
            language: "en".into(),
            segments,
            model: "tiny.en".into(),
            processing_seconds: 0.0,
            audio_seconds: 9.0,
        }
    }

    fn segments_text(s: &[Segment]) -> String {
        s.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ")
    }

    fn rule(heard: &str, corrected: &str) -> Rule {
        Rule { heard: heard.split(' ').map(String::from).collect(), corrected: corrected.into() }
    }

    #[test]
    fn a_heard_span_becomes_the_term_and_remembers_what_was_heard() {
        let mut t = transcript(&["He takes At our vassa, daily.", "at our best"]);
        let made = apply(&mut t, &[rule("at our vassa", "atorvastatin")]);
        assert_eq!(made, 1);
        assert_eq!(t.segments[0].text, "He takes atorvastatin, daily.");
        assert_eq!(t.text, "He takes atorvastatin, daily. at our best");
        let w = &t.segments[0].words[2];
        assert_eq!(w.heard.as_deref(), Some("At our vassa,"));
        assert_eq!((w.start, w.end), (2.0, 4.5));
        assert_eq!(t.segments[1].words.len(), 3, "a partial match is left alone");
    }

    #[test]
    fn whole_words_only_and_longest_rule_first() {
        let mut t = transcript(&["the vassal and vassa"]);
        apply(&mut t, &[rule("vassa", "X")]);
        assert_eq!(t.text, "the vassal and X");
        let mut t = transcript(&["our vassa"]);
        apply(&mut t, &[rule("vassa", "short"), rule("our vassa", "long")]);
        assert_eq!(t.text, "long");
        let mut t = transcript(&["nothing here"]);
        assert_eq!(apply(&mut t, &[rule("vassa", "X")]), 0);
        assert_eq!(t.text, "nothing here");
    }
}
