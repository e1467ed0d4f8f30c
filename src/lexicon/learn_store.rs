//! Learning from corrections, durably: a letter is queued in the transaction that approves
//! or dispatches it (once per letter), then learned from after that commit; a failure is
//! logged and retried later, never failing the approval. Counts are kept per clinician
//! and per specialty; a term counted `lexicon.learn_threshold` times becomes a `learned`
//! entry of that scope.

use std::collections::HashSet;

use sqlx::Row;

use super::learn::{Knows, Lesson, extract};
use super::store::{self, NewEntry};
use super::{Category, Source, key};
use crate::clock::{Clock, Millis};
use crate::storage::{Db, Tx};

/// Attempts at learning from one letter before it is left alone.
const MAX_ATTEMPTS: i64 = 5;
/// Queued letters learned from per call of [`learn_pending`].
const BATCH: i64 = 20;

/// Queues a letter (in the caller's transaction); a letter already queued stays as it is.
pub async fn enqueue(tx: &mut Tx, dictation_id: &str, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO lexicon_learning (dictation_id, queued_at) VALUES ($1, $2) ON CONFLICT (dictation_id) DO NOTHING",
    )
    .bind(dictation_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Learns from the queued letters (oldest first, a bounded batch). Errors are logged and
/// counted on the letter's row; this never fails.
pub async fn learn_pending(db: &Db, clock: &Clock, threshold: u32) {
    let rows = sqlx::query(
        "SELECT dictation_id FROM lexicon_learning WHERE done_at IS NULL AND attempts < $1 ORDER BY queued_at LIMIT $2",
    )
    .bind(MAX_ATTEMPTS)
    .bind(BATCH)
    .fetch_all(&db.pool)
    .await;
    let ids: Vec<String> = match rows {
        Ok(rows) => rows.iter().filter_map(|r| r.try_get("dictation_id").ok()).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the letters to learn from");
            return;
        }
    };
    for id in ids {
        if let Err(e) = learn_one(db, &id, threshold, clock.now_ms()).await {
            tracing::warn!(dictation = %id, error = %e, "learning from a corrected letter failed; it is retried later");
            let _ = sqlx::query(
                "UPDATE lexicon_learning SET attempts = attempts + 1, last_error = $2 WHERE dictation_id = $1",
            )
            .bind(&id)
            .bind(e.to_string().chars().take(500).collect::<String>())
            .execute(&db.pool)
            .await;
        }
    }
}

struct Letter {
    username: String,
    specialty: Option<String>,
    recognised: String,
    letter: String,
}

async fn letter(db: &Db, id: &str) -> Result<Option<Letter>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.username, d.specialty, v.text AS recognised, f.text AS letter FROM dictations d \
         JOIN users u ON u.id = d.clinician_id \
         JOIN draft_versions v ON v.dictation_id = d.id AND v.version = 1 \
         JOIN drafts f ON f.dictation_id = d.id WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(Letter {
            username: r.try_get("username")?,
            specialty: r.try_get("specialty")?,
            recognised: r.try_get("recognised")?,
            letter: r.try_get("letter")?,
        })
    })
    .transpose()
}

struct Known(HashSet<String>);

impl Knows for Known {
    fn in_lexicon(&self, k: &str) -> bool {
        self.0.contains(k)
    }
    fn is_english(&self, k: &str) -> bool {
        super::words::english().contains(k)
    }
}

async fn learn_one(db: &Db, id: &str, threshold: u32, now: Millis) -> anyhow::Result<()> {
    let lesson = match letter(db, id).await? {
        Some(l) => {
            let scopes = super::scopes_for(&l.username, l.specialty.as_deref());
            let known = Known(super::effective_terms(db, &scopes).await?.iter().map(|t| key(t)).collect());
            let lesson = extract(&l.recognised, &l.letter, &known);
            if lesson.is_none() {
                tracing::info!(dictation = %id, "letter too long to align; nothing learned from it");
            }
            lesson.map(|lesson| (lesson, scopes))
        }
        None => None,
    };
    let mut tx = db.begin_write().await?;
    let done = sqlx::query("UPDATE lexicon_learning SET done_at = $2 WHERE dictation_id = $1 AND done_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(()); // another process learned from it meanwhile
    }
    if let Some((lesson, scopes)) = lesson {
        // The clinician's and the specialty's scopes (not the global one).
        for scope in scopes.iter().filter(|s| *s != "global") {
            record(&mut tx, scope, id, &lesson, threshold, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn record(
    tx: &mut Tx,
    scope: &str,
    id: &str,
    lesson: &Lesson,
    threshold: u32,
    now: Millis,
) -> anyhow::Result<()> {
    for term in &lesson.missed {
        let row = sqlx::query(
            "INSERT INTO lexicon_learned_terms (scope, term_key, term, hits, updated_at) VALUES ($1, $2, $3, 1, $4) \
             ON CONFLICT (scope, term_key) DO UPDATE SET hits = lexicon_learned_terms.hits + 1, \
             term = excluded.term, updated_at = excluded.updated_at RETURNING hits, dismissed",
        )
        .bind(scope)
        .bind(key(term))
        .bind(term)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        let hits: i64 = row.try_get("hits")?;
        let dismissed: i64 = row.try_get("dismissed")?;
        if hits >= i64::from(threshold) && dismissed == 0 {
            let new = NewEntry { term, category: Category::Other, scope, source: Source::Learned, by: None };
            store::insert(tx, &new, now).await?;
        }
    }
    for (heard, corrected) in &lesson.substitutions {
        super::substitute::count(tx, scope, heard, corrected, id, now).await?;
    }
    Ok(())
}

/// A super-user removed a learned entry: it is not learned again.
pub async fn dismiss(tx: &mut Tx, scope: &str, term_key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE lexicon_learned_terms SET dismissed = 1 WHERE scope = $1 AND term_key = $2")
        .bind(scope)
        .bind(term_key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The learned entries of a clinician, most often corrected first (for the recognition prompt).
pub async fn learned_for(db: &Db, username: &str) -> Result<Vec<String>, sqlx::Error> {
    let scope = crate::vocabulary::Scope::Clinician(username.to_string()).key();
    let rows = sqlx::query(
        "SELECT e.term FROM lexicon_entries e JOIN lexicon_learned_terms l ON l.scope = e.scope AND l.term_key = e.term_key \
         WHERE e.scope = $1 AND e.source = 'learned' ORDER BY l.hits DESC, e.term_key",
    )
    .bind(scope)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| r.try_get("term")).collect()
}
