//! The history of a dictation: one `events` row per transition step (who, when, from,
//! to, comment, the stages and the holder after it), append-only.

use sqlx::Row;

use super::{Db, Tx, new_id};
use crate::clock::Millis;

/// One history row to write.
#[derive(Debug, Clone, Default)]
pub struct NewEvent<'a> {
    pub dictation_id: &'a str,
    pub at: Millis,
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    pub from_stage: Option<&'a str>,
    pub to_stage: Option<&'a str>,
    pub assignee_id: Option<&'a str>,
    pub comment: Option<&'a str>,
    /// The letter text this step concerns (approvals and re-openings): its draft version
    /// and the SHA-256 of its text.
    pub draft_version: Option<i64>,
    pub text_sha256: Option<&'a str>,
}

pub async fn insert(tx: &mut Tx, e: &NewEvent<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO events (id, dictation_id, at, actor_id, action, from_status, to_status, comment, from_stage, \
         to_stage, assignee_id, draft_version, text_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(new_id())
    .bind(e.dictation_id)
    .bind(e.at)
    .bind(e.actor_id)
    .bind(e.action)
    .bind(e.from_status)
    .bind(e.to_status)
    .bind(e.comment)
    .bind(e.from_stage)
    .bind(e.to_stage)
    .bind(e.assignee_id)
    .bind(e.draft_version)
    .bind(e.text_sha256)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A history entry as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub at: String,
    /// Username, or `system` for automatic steps.
    pub actor: String,
    pub action: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub comment: Option<String>,
    pub from_stage: Option<String>,
    pub to_stage: Option<String>,
    pub assignee: Option<String>,
    /// On approvals and re-openings: the draft version the step concerns, and the SHA-256
    /// (hex) of its text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft_version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_sha256: Option<String>,
    /// The text of that draft version, so the history shows what was approved and what
    /// replaced it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Every event of a dictation, oldest first.
pub async fn of_dictation(db: &Db, id: &str) -> Result<Vec<Entry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT e.at, u.username AS actor, e.action, e.from_status, e.to_status, e.comment, e.from_stage, e.to_stage, \
         a.username AS assignee, e.draft_version, e.text_sha256, dv.text AS draft_text FROM events e \
         LEFT JOIN users u ON u.id = e.actor_id LEFT JOIN users a ON a.id = e.assignee_id \
         LEFT JOIN draft_versions dv ON dv.dictation_id = e.dictation_id AND dv.version = e.draft_version WHERE e.dictation_id = $1 ORDER BY e.at, e.id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Entry {
                at: crate::clock::rfc3339(r.try_get("at")?),
                actor: r.try_get::<Option<String>, _>("actor")?.unwrap_or_else(|| "system".into()),
                action: r.try_get("action")?,
                from: r.try_get("from_status")?,
                to: r.try_get("to_status")?,
                comment: r.try_get("comment")?,
                from_stage: r.try_get("from_stage")?,
                to_stage: r.try_get("to_stage")?,
                assignee: r.try_get("assignee")?,
                draft_version: r.try_get("draft_version")?,
                text_sha256: r.try_get("text_sha256")?,
                text: r.try_get("draft_text")?,
            })
        })
        .collect()
}

/// Why a letter is back with its secretary: the return (who, when, the comment).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Returned {
    pub at: String,
    pub by: String,
    pub comment: Option<String>,
}

/// Statuses that mean a returned letter has moved on (sent for review again, or further).
const MOVED_ON: &[&str] = &["awaiting_review", "approved", "dispatched", "cancelled"];

/// For each of `ids` whose latest `return` has not been followed by a step that sent the
/// letter on (to review or further): that return.
pub async fn open_returns(db: &Db, ids: &[String]) -> Result<std::collections::HashMap<String, Returned>, sqlx::Error> {
    let mut out = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let moved: Vec<String> = MOVED_ON.iter().map(|s| format!("'{s}'")).collect();
    let sql = format!(
        "SELECT e.dictation_id, e.at, e.action, e.comment, u.username AS actor FROM events e \
         LEFT JOIN users u ON u.id = e.actor_id WHERE e.dictation_id IN ({}) \
         AND (e.action = 'return' OR e.to_status IN ({})) ORDER BY e.at, e.id",
        marks.join(", "),
        moved.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(id);
    }
    for r in q.fetch_all(&db.pool).await? {
        let id: String = r.try_get("dictation_id")?;
        if r.try_get::<String, _>("action")? == "return" {
            let returned = Returned {
                at: crate::clock::rfc3339(r.try_get("at")?),
                by: r.try_get::<Option<String>, _>("actor")?.unwrap_or_else(|| "system".into()),
                comment: r.try_get("comment")?,
            };
            out.insert(id, returned);
        } else {
            out.remove(&id);
        }
    }
    Ok(out)
}
