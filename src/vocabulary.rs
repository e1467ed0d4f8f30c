//! Recognition vocabularies: global, per-specialty and per-clinician term lists,
//! combined into the prompt Whisper decodes with.

use sqlx::Row;

use crate::clock::Millis;
use crate::storage::{Db, Tx};

/// Longest prompt handed to the decoder (Whisper keeps at most ~224 prompt tokens).
const MAX_PROMPT_CHARS: usize = 600;
const MAX_TERMS: usize = 500;
const MAX_TERM_CHARS: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Global,
    Specialty(String),
    Clinician(String),
}

impl Scope {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            None if s == "global" => Ok(Scope::Global),
            Some(("specialty", v)) if !v.trim().is_empty() => Ok(Scope::Specialty(v.trim().to_string())),
            Some(("clinician", v)) if !v.trim().is_empty() => Ok(Scope::Clinician(v.trim().to_string())),
            _ => Err(format!("vocabulary scope {s:?} must be global, specialty:NAME or clinician:USERNAME")),
        }
    }
    pub fn key(&self) -> String {
        match self {
            Scope::Global => "global".into(),
            Scope::Specialty(s) => format!("specialty:{}", s.to_lowercase()),
            Scope::Clinician(u) => format!("clinician:{u}"),
        }
    }
}

/// Cleans a term list: trimmed, no empties or duplicates, bounded sizes.
pub fn clean_terms(terms: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for t in terms {
        let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
        if t.is_empty() {
            continue;
        }
        if t.chars().count() > MAX_TERM_CHARS {
            return Err(format!("term {t:?} is longer than {MAX_TERM_CHARS} characters"));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&t)) {
            out.push(t);
        }
    }
    if out.len() > MAX_TERMS {
        return Err(format!("at most {MAX_TERMS} terms per vocabulary"));
    }
    Ok(out)
}

/// Builds the decoder prompt from term lists, most specific first, within the size bound.
pub fn build_prompt(lists: &[Vec<String>]) -> Option<String> {
    let mut seen: Vec<&str> = Vec::new();
    let mut prompt = String::from("Clinic letter. Terms:");
    for term in lists.iter().flatten() {
        if seen.iter().any(|s| s.eq_ignore_ascii_case(term)) {
            continue;
        }
        if prompt.len() + term.len() + 2 > MAX_PROMPT_CHARS {
            break;
        }
        prompt.push_str(if seen.is_empty() { " " } else { ", " });
        prompt.push_str(term);
        seen.push(term);
    }
    if seen.is_empty() {
        return None;
    }
    prompt.push('.');
    Some(prompt)
}

pub async fn get(db: &Db, scope: &Scope) -> Result<Option<(Vec<String>, Millis)>, sqlx::Error> {
    let row = sqlx::query("SELECT terms, updated_at FROM vocabularies WHERE scope = $1")
        .bind(scope.key())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| {
        let terms: String = r.try_get("terms").unwrap_or_default();
        (serde_json::from_str(&terms).unwrap_or_default(), r.try_get("updated_at").unwrap_or_default())
    }))
}

pub async fn list(db: &Db) -> Result<Vec<(String, Vec<String>, Millis)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT scope, terms, updated_at FROM vocabularies ORDER BY scope").fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| {
            let terms: String = r.try_get("terms")?;
            Ok((r.try_get("scope")?, serde_json::from_str(&terms).unwrap_or_default(), r.try_get("updated_at")?))
        })
        .collect()
}

/// Stores `terms` for `scope` in `tx` (the caller commits it with the audit entry).
pub async fn put(tx: &mut Tx, scope: &Scope, terms: &[String], by: &str, now: Millis) -> Result<(), sqlx::Error> {
    let json = serde_json::to_string(terms).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO vocabularies (scope, terms, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (scope) DO UPDATE SET terms = excluded.terms, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(scope.key())
    .bind(json)
    .bind(now)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes `scope`'s list in `tx`; `false` when there was none.
pub async fn delete(tx: &mut Tx, scope: &Scope) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM vocabularies WHERE scope = $1").bind(scope.key()).execute(&mut **tx).await?;
    Ok(done.rows_affected() > 0)
}

/// The prompt for one dictation: its clinician's terms, its specialty's, then the global list.
pub async fn prompt_for(db: &Db, dictation_id: &str) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT d.specialty, u.username FROM dictations d JOIN users u ON u.id = d.clinician_id WHERE d.id = $1",
    )
    .bind(dictation_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let specialty: Option<String> = row.try_get("specialty")?;
    let username: String = row.try_get("username")?;
    prompt_for_scopes(db, &username, specialty.as_deref()).await
}

/// The prompt for a clinician (and optionally a specialty): the terms learned from their
/// letters, their list, the specialty's, then the global list.
pub async fn prompt_for_scopes(
    db: &Db,
    username: &str,
    specialty: Option<&str>,
) -> Result<Option<String>, sqlx::Error> {
    let mut scopes = vec![Scope::Clinician(username.to_string())];
    if let Some(s) = specialty {
        scopes.push(Scope::Specialty(s.to_string()));
    }
    scopes.push(Scope::Global);
    // Terms learned from this clinician's corrected letters come first, most frequent first.
    let mut lists = vec![crate::lexicon::learn_store::learned_for(db, username).await?];
    for scope in &scopes {
        if let Some((terms, _)) = get(db, scope).await? {
            lists.push(terms);
        }
    }
    Ok(build_prompt(&lists))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse() {
        assert_eq!(Scope::parse("global"), Ok(Scope::Global));
        assert_eq!(Scope::parse("specialty:ENT").unwrap().key(), "specialty:ent");
        assert_eq!(Scope::parse("clinician:dr.patel").unwrap().key(), "clinician:dr.patel");
        assert!(Scope::parse("team:x").is_err());
        assert!(Scope::parse("specialty:").is_err());
    }

    #[test]
    fn terms_are_cleaned_and_prompts_bounded() {
        let terms: Vec<String> = ["  apixaban ", "Apixaban", "", "septoplasty"].map(String::from).to_vec();
        assert_eq!(clean_terms(&terms).unwrap(), vec!["apixaban", "septoplasty"]);
        assert!(clean_terms(&["x".repeat(81)]).is_err());
        let prompt = build_prompt(&[vec!["apixaban".into()], vec!["APIXABAN".into(), "tinnitus".into()]]).unwrap();
        assert_eq!(prompt, "Clinic letter. Terms: apixaban, tinnitus.");
        assert_eq!(build_prompt(&[vec![]]), None);
        let many: Vec<String> = (0..400).map(|i| format!("term{i}")).collect();
        assert!(build_prompt(&[many]).unwrap().len() <= MAX_PROMPT_CHARS + 1);
    }
}
