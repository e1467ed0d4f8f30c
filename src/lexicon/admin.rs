//! Super-user changes to the lexicon: add, remove (a release entry is suppressed, so it
//! can be restored), restore and import. Each change and its audit entry commit together.

use serde_json::json;

use super::store::{self, NewEntry};
use super::{Category, Source, key, release, validate_term};
use crate::audit::{Who, action, store as audit};
use crate::auth::accounts::{AdminError, AdminResult};
use crate::clock::Millis;
use crate::storage::Db;
use crate::vocabulary::Scope;

/// The largest file `import` reads, and the most lines.
pub const MAX_IMPORT_BYTES: usize = 1024 * 1024;
pub const MAX_IMPORT_LINES: usize = 20_000;
/// Invalid lines reported one by one (the rest are only counted).
const MAX_REPORTED: usize = 100;

/// A scope given by a client, as its key.
pub fn scope_key(raw: Option<&str>) -> AdminResult<String> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Scope::Global.key()),
        Some(s) => Scope::parse(s).map(|s| s.key()).map_err(|e| AdminError::Invalid("scope", e)),
    }
}

/// A category given by a client (`other` when absent).
pub fn category(raw: Option<&str>) -> AdminResult<Category> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Category::Other),
        Some(c) => Category::parse(c).ok_or_else(|| {
            let all: Vec<_> = Category::ALL.iter().map(|c| c.as_str()).collect();
            AdminError::Invalid("category", format!("category must be one of {}", all.join(", ")))
        }),
    }
}

/// Whether the release list has this key (and a super-user has not removed it).
async fn in_release(db: &Db, k: &str) -> AdminResult<bool> {
    let suppressed = store::suppressed_ids(db).await?;
    Ok(release::entries().iter().any(|e| e.key == k && !suppressed.contains(&e.id)))
}

/// Adds a term; 409 when the scope already has it (globally: also when it came with the release).
pub async fn add(db: &Db, who: &Who, term: &str, category: Category, scope: &str, now: Millis) -> AdminResult<String> {
    let term = validate_term(term).map_err(|e| AdminError::Invalid("term", e))?;
    if scope == "global" && in_release(db, &key(&term)).await? {
        return Err(AdminError::Conflict(format!("{term:?} came with the release")));
    }
    let mut tx = db.begin_write().await?;
    let new = NewEntry { term: &term, category, scope, source: Source::Added, by: who.actor_id.as_deref() };
    let id = store::insert(&mut tx, &new, now)
        .await?
        .ok_or_else(|| AdminError::Conflict(format!("{scope} already has {term:?}")))?;
    let details = json!({"term": term, "category": category.as_str(), "scope": scope});
    audit::append(&mut tx, db.backend, &who.entry(action::LEXICON_ADD).target("lexicon", &id).details(details), now)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Removes an entry: a release entry is suppressed (restorable), another is deleted (a
/// learned one is not learned again).
pub async fn remove(db: &Db, who: &Who, id: &str, now: Millis) -> AdminResult<()> {
    let mut tx = db.begin_write().await?;
    let details = if let Some(e) = release::by_id(id) {
        if !store::suppress(&mut tx, id, who.actor_id.as_deref(), now).await? {
            return Err(AdminError::Conflict(format!("{:?} is already removed", e.term)));
        }
        json!({"term": e.term, "category": e.category.as_str(), "scope": "global", "source": "release"})
    } else {
        let e = store::find(&mut tx, id).await?.ok_or(AdminError::NotFound("lexicon entry"))?;
        store::delete(&mut tx, id).await?;
        if e.source == Source::Learned {
            super::learn_store::dismiss(&mut tx, &e.scope, &key(&e.term)).await?;
        }
        json!({"term": e.term, "category": e.category.as_str(), "scope": e.scope, "source": e.source.as_str()})
    };
    audit::append(&mut tx, db.backend, &who.entry(action::LEXICON_REMOVE).target("lexicon", id).details(details), now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Brings back a removed release entry.
pub async fn restore(db: &Db, who: &Who, id: &str, now: Millis) -> AdminResult<()> {
    let e = release::by_id(id).ok_or(AdminError::NotFound("removed release entry"))?;
    let mut tx = db.begin_write().await?;
    if !store::unsuppress(&mut tx, id).await? {
        return Err(AdminError::Conflict(format!("{:?} is not removed", e.term)));
    }
    let details = json!({"term": e.term, "category": e.category.as_str()});
    audit::append(&mut tx, db.backend, &who.entry(action::LEXICON_RESTORE).target("lexicon", id).details(details), now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A line an import skipped.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InvalidLine {
    pub line: usize,
    pub text: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    pub added: usize,
    pub already_present: usize,
    /// Invalid lines (at most the first hundred; `invalid_count` counts them all).
    pub invalid: Vec<InvalidLine>,
    pub invalid_count: usize,
}

/// Imports a word list (one term per line; blank lines and `#` comments skipped).
pub async fn import(
    db: &Db,
    who: &Who,
    text: &str,
    category: Category,
    scope: &str,
    now: Millis,
) -> AdminResult<ImportReport> {
    if text.len() > MAX_IMPORT_BYTES {
        return Err(AdminError::Invalid("file", format!("a word list has at most {MAX_IMPORT_BYTES} bytes")));
    }
    let lines: Vec<(usize, &str)> = release::content_lines(text).collect();
    if lines.len() > MAX_IMPORT_LINES {
        return Err(AdminError::Invalid("file", format!("a word list has at most {MAX_IMPORT_LINES} terms")));
    }
    let suppressed = store::suppressed_ids(db).await?;
    let released: std::collections::HashSet<&str> = release::entries()
        .iter()
        .filter(|e| scope == "global" && !suppressed.contains(&e.id))
        .map(|e| e.key.as_str())
        .collect();
    let mut report = ImportReport::default();
    let mut tx = db.begin_write().await?;
    for (line, raw) in lines {
        let term = match validate_term(raw) {
            Ok(t) => t,
            Err(reason) => {
                report.invalid_count += 1;
                if report.invalid.len() < MAX_REPORTED {
                    report.invalid.push(InvalidLine { line, text: raw.chars().take(100).collect(), reason });
                }
                continue;
            }
        };
        let new = NewEntry { term: &term, category, scope, source: Source::Imported, by: who.actor_id.as_deref() };
        if released.contains(key(&term).as_str()) || store::insert(&mut tx, &new, now).await?.is_none() {
            report.already_present += 1;
        } else {
            report.added += 1;
        }
    }
    let details = json!({
        "scope": scope, "category": category.as_str(), "added": report.added,
        "already_present": report.already_present, "invalid": report.invalid_count,
    });
    audit::append(
        &mut tx,
        db.backend,
        &who.entry(action::LEXICON_IMPORT).target("lexicon", scope).details(details),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}
