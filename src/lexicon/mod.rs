//! The clinical lexicon: the release list shipped in the binary, what super-users add,
//! import and remove, terms and substitutions learned from corrected letters, and the
//! spell-check of the secretary's editor.

pub mod admin;
pub mod align;
pub mod hunspell;
pub mod learn;
pub mod learn_store;
pub mod release;
pub mod spell;
pub mod store;
pub mod substitute;
pub mod words;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::storage::Db;
use crate::vocabulary::Scope;

/// The longest term (characters).
pub const MAX_TERM_CHARS: usize = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Medicine,
    Condition,
    Procedure,
    Investigation,
    Anatomy,
    Abbreviation,
    Other,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Self::Medicine,
        Self::Condition,
        Self::Procedure,
        Self::Investigation,
        Self::Anatomy,
        Self::Abbreviation,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Medicine => "medicine",
            Self::Condition => "condition",
            Self::Procedure => "procedure",
            Self::Investigation => "investigation",
            Self::Anatomy => "anatomy",
            Self::Abbreviation => "abbreviation",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Where an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Shipped with this version.
    Release,
    /// Added by a super-user.
    Added,
    /// From a word list a super-user imported.
    Imported,
    /// Learned from corrected letters.
    Learned,
}

impl Source {
    pub const ALL: [Source; 4] = [Self::Release, Self::Added, Self::Imported, Self::Learned];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Added => "added",
            Self::Imported => "imported",
            Self::Learned => "learned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A term with its spaces collapsed, or why it is not one: 1-80 characters of letters,
/// digits, spaces, hyphens, apostrophes, periods, slashes, commas and ampersands
/// ("hand, foot and mouth disease", "A&E"), with a letter or digit.
pub fn validate_term(raw: &str) -> Result<String, String> {
    let term = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if term.is_empty() {
        return Err("the term is empty".into());
    }
    if term.chars().count() > MAX_TERM_CHARS {
        return Err(format!("a term has at most {MAX_TERM_CHARS} characters"));
    }
    if let Some(c) =
        term.chars().find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'' | '’' | '.' | '/' | ',' | '&')))
    {
        return Err(format!(
            "{c:?} is not allowed: use letters, digits, spaces, hyphens, apostrophes, periods, slashes, commas and ampersands"
        ));
    }
    if !term.chars().any(char::is_alphanumeric) {
        return Err("a term needs a letter or a digit".into());
    }
    Ok(term)
}

/// The comparison key of a term or word: lower case, typographic apostrophes plain,
/// spaces collapsed.
pub fn key(term: &str) -> String {
    term.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase().replace('’', "'")
}

/// The scope keys that apply to a clinician's letters of a specialty, most specific first.
pub fn scopes_for(username: &str, specialty: Option<&str>) -> Vec<String> {
    let mut scopes = vec![Scope::Clinician(username.to_string()).key()];
    if let Some(s) = specialty.map(str::trim).filter(|s| !s.is_empty()) {
        scopes.push(Scope::Specialty(s.to_string()).key());
    }
    scopes.push(Scope::Global.key());
    scopes
}

/// The effective lexicon of one dictation: the release entries a super-user has not
/// removed, plus the added, imported and learned entries of the global scope, the
/// dictation's specialty and its clinician (learned ones exist once they reached
/// `lexicon.learn_threshold`). Each term once (case-insensitive); empty for an unknown id.
pub async fn terms_for_dictation(db: &crate::storage::Db, dictation_id: &str) -> Result<Vec<String>, sqlx::Error> {
    let Some((username, specialty)) = store::dictation_owner(db, dictation_id).await? else {
        return Ok(Vec::new());
    };
    effective_terms(db, &scopes_for(&username, specialty.as_deref())).await
}

/// The effective lexicon of a dictation as recognition uses it: its terms by sound, and
/// the shipped British English word list to tell garbles from words.
pub async fn index_for_dictation(db: &Db, dictation_id: &str) -> Result<crate::stt::TermIndex, sqlx::Error> {
    Ok(index_of(terms_for_dictation(db, dictation_id).await?))
}

/// The release lexicon alone as recognition uses it (benchmarks and tests).
pub fn release_index() -> crate::stt::TermIndex {
    index_of(release::entries().iter().map(|e| e.term.clone()))
}

fn index_of(terms: impl IntoIterator<Item = String>) -> crate::stt::TermIndex {
    crate::stt::TermIndex::new(terms).with_english(|w| words::english().contains(w))
}

/// The effective lexicon for a set of scope keys (see [`terms_for_dictation`]).
pub async fn effective_terms(db: &Db, scopes: &[String]) -> Result<Vec<String>, sqlx::Error> {
    let suppressed = store::suppressed_ids(db).await?;
    let local = store::terms_in_scopes(db, scopes).await?;
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    let release = release::entries().iter().filter(|e| !suppressed.contains(&e.id)).map(|e| e.term.as_str());
    for term in release.chain(local.iter().map(String::as_str)) {
        if seen.insert(key(term)) {
            out.push(term.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_validated() {
        assert_eq!(validate_term("  atrial   fibrillation ").unwrap(), "atrial fibrillation");
        for ok in ["co-amoxiclav", "Crohn's", "i.v.", "HbA1c", "T2/T3", "Sjögren’s"] {
            assert!(validate_term(ok).is_ok(), "{ok}");
        }
        for bad in ["", "   ", "a\u{7}b", "x;drop", "<b>", "50%", "--", &"a".repeat(81)] {
            assert!(validate_term(bad).is_err(), "{bad:?}");
        }
        assert!(validate_term(&"é".repeat(80)).is_ok(), "characters, not bytes");
    }

    #[test]
    fn keys_and_scopes() {
        assert_eq!(key("Crohn’s  Disease"), "crohn's disease");
        assert_eq!(scopes_for("dr.a", Some("ENT")), ["clinician:dr.a", "specialty:ent", "global"]);
        assert_eq!(scopes_for("dr.a", Some(" ")), ["clinician:dr.a", "global"]);
    }
}
