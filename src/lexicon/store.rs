//! The lexicon's tables: local entries (added, imported, learned) and removed release
//! entries. Functions that write take the caller's transaction.

use std::collections::HashSet;

use sqlx::Row;

use super::{Category, Source};
use crate::clock::Millis;
use crate::storage::{Db, Tx, new_id};

/// A local (non-release) entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub term: String,
    pub category: Category,
    pub scope: String,
    pub source: Source,
    pub created_at: Millis,
    pub created_by: Option<String>,
}

/// What a listing selects (all optional).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Part of the term, any case.
    pub q: Option<String>,
    pub category: Option<Category>,
    pub source: Option<Source>,
    pub scope: Option<String>,
}

const ENTRY_COLUMNS: &str = "e.id, e.term, e.category, e.scope, e.source, e.created_at, u.username AS created_by";

fn entry_of(r: &sqlx::any::AnyRow) -> Result<Entry, sqlx::Error> {
    let category: String = r.try_get("category")?;
    let source: String = r.try_get("source")?;
    Ok(Entry {
        id: r.try_get("id")?,
        term: r.try_get("term")?,
        category: Category::parse(&category).unwrap_or(Category::Other),
        scope: r.try_get("scope")?,
        source: Source::parse(&source).unwrap_or(Source::Added),
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
    })
}

/// A dictation's clinician (username) and specialty.
pub async fn dictation_owner(db: &Db, dictation_id: &str) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.username, d.specialty FROM dictations d JOIN users u ON u.id = d.clinician_id WHERE d.id = $1",
    )
    .bind(dictation_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| Ok((r.try_get("username")?, r.try_get("specialty")?))).transpose()
}

/// Ids of the release entries a super-user removed.
pub async fn suppressed_ids(db: &Db) -> Result<HashSet<String>, sqlx::Error> {
    let rows = sqlx::query("SELECT id FROM lexicon_suppressed").fetch_all(&db.pool).await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// The local terms of these scopes (at most three keys are used).
pub async fn terms_in_scopes(db: &Db, scopes: &[String]) -> Result<Vec<String>, sqlx::Error> {
    let pick = |i: usize| scopes.get(i).or(scopes.last()).cloned().unwrap_or_default();
    let rows = sqlx::query("SELECT term FROM lexicon_entries WHERE scope IN ($1, $2, $3) ORDER BY scope, term_key")
        .bind(pick(0))
        .bind(pick(1))
        .bind(pick(2))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|r| r.try_get("term")).collect()
}

/// The local entries matching `filter` (release entries are listed by the caller).
pub async fn list(db: &Db, filter: &Filter) -> Result<Vec<Entry>, sqlx::Error> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM lexicon_entries e LEFT JOIN users u ON u.id = e.created_by \
         WHERE ($1 = '' OR e.term_key LIKE $2) AND ($3 = '' OR e.category = $3) \
         AND ($4 = '' OR e.source = $4) AND ($5 = '' OR e.scope = $5) ORDER BY e.term_key, e.id"
    );
    let q = filter.q.as_deref().map(super::key).unwrap_or_default();
    let like = format!("%{}%", q.replace(['\\', '%', '_'], ""));
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(q.clone())
        .bind(like)
        .bind(filter.category.map_or("", Category::as_str))
        .bind(filter.source.map_or("", Source::as_str))
        .bind(filter.scope.clone().unwrap_or_default())
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(entry_of).collect()
}

pub async fn find(tx: &mut Tx, id: &str) -> Result<Option<Entry>, sqlx::Error> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM lexicon_entries e LEFT JOIN users u ON u.id = e.created_by WHERE e.id = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(entry_of).transpose()
}

/// Whether the scope already has an entry with this key.
pub async fn exists(tx: &mut Tx, scope: &str, term_key: &str) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT 1 AS one FROM lexicon_entries WHERE scope = $1 AND term_key = $2")
        .bind(scope)
        .bind(term_key)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

/// A new local entry; `None` when the scope already has the term.
pub struct NewEntry<'a> {
    pub term: &'a str,
    pub category: Category,
    pub scope: &'a str,
    pub source: Source,
    pub by: Option<&'a str>,
}

pub async fn insert(tx: &mut Tx, e: &NewEntry<'_>, now: Millis) -> Result<Option<String>, sqlx::Error> {
    let id = new_id();
    let done = sqlx::query(
        "INSERT INTO lexicon_entries (id, term, term_key, category, scope, source, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (scope, term_key) DO NOTHING",
    )
    .bind(&id)
    .bind(e.term)
    .bind(super::key(e.term))
    .bind(e.category.as_str())
    .bind(e.scope)
    .bind(e.source.as_str())
    .bind(now)
    .bind(e.by)
    .execute(&mut **tx)
    .await?;
    Ok((done.rows_affected() > 0).then_some(id))
}

pub async fn delete(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM lexicon_entries WHERE id = $1").bind(id).execute(&mut **tx).await?;
    Ok(done.rows_affected() > 0)
}

/// Marks a release entry removed; false when it already was.
pub async fn suppress(tx: &mut Tx, id: &str, by: Option<&str>, now: Millis) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO lexicon_suppressed (id, removed_at, removed_by) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(now)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Brings a removed release entry back; false when it was not removed.
pub async fn unsuppress(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM lexicon_suppressed WHERE id = $1").bind(id).execute(&mut **tx).await?;
    Ok(done.rows_affected() > 0)
}

/// Local entries counted by (category, source).
pub async fn counts(db: &Db) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT category, source, COUNT(*) AS n FROM lexicon_entries GROUP BY category, source")
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("category")?, r.try_get("source")?, r.try_get("n")?))).collect()
}
