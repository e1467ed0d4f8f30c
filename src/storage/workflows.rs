//! Stored workflow and routing versions: every edit is a new row with who and when.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Tx};
use crate::clock::Millis;

/// One stored version of a workflow file (or of the routing table, `name` = `routing`).
#[derive(Debug, Clone)]
pub struct StoredVersion {
    pub name: String,
    pub version: i64,
    pub yaml: String,
    pub created_at: Millis,
    pub created_by: Option<String>,
}

const WORKFLOW_SELECT: &str = "SELECT w.name, w.version, w.yaml, w.created_at, u.username AS created_by \
     FROM workflow_versions w LEFT JOIN users u ON u.id = w.created_by";
const ROUTING_SELECT: &str = "SELECT 'routing' AS name, r.version, r.yaml, r.created_at, u.username AS created_by \
     FROM routing_versions r LEFT JOIN users u ON u.id = r.created_by";

fn version_of(row: &AnyRow) -> Result<StoredVersion, sqlx::Error> {
    Ok(StoredVersion {
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        yaml: row.try_get("yaml")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
    })
}

/// Inserts version 1 of a workflow unless any version exists (safe to race).
pub async fn seed_workflow(db: &Db, name: &str, yaml: &str, now: Millis) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO workflow_versions (name, version, yaml, created_at, created_by) VALUES ($1, 1, $2, $3, NULL) \
         ON CONFLICT (name, version) DO NOTHING",
    )
    .bind(name)
    .bind(yaml)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Inserts routing version 1 unless it exists.
pub async fn seed_routing(db: &Db, yaml: &str, now: Millis) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO routing_versions (version, yaml, created_at, created_by) VALUES (1, $1, $2, NULL) \
         ON CONFLICT (version) DO NOTHING",
    )
    .bind(yaml)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The latest version of every workflow, by name.
pub async fn latest_workflows(db: &Db) -> Result<Vec<StoredVersion>, sqlx::Error> {
    let sql = format!(
        "{WORKFLOW_SELECT} WHERE w.version = (SELECT MAX(w2.version) FROM workflow_versions w2 WHERE w2.name = w.name) \
         ORDER BY w.name"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&db.pool).await?;
    rows.iter().map(version_of).collect()
}

/// A workflow version (`None`: the latest).
pub async fn workflow(db: &Db, name: &str, version: Option<i64>) -> Result<Option<StoredVersion>, sqlx::Error> {
    let sql =
        format!("{WORKFLOW_SELECT} WHERE w.name = $1 AND ($2 < 0 OR w.version = $2) ORDER BY w.version DESC LIMIT 1");
    let row =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name).bind(version.unwrap_or(-1)).fetch_optional(&db.pool).await?;
    row.as_ref().map(version_of).transpose()
}

/// The latest version of a workflow inside a transaction.
pub async fn workflow_in(tx: &mut Tx, name: &str) -> Result<Option<StoredVersion>, sqlx::Error> {
    let sql = format!("{WORKFLOW_SELECT} WHERE w.name = $1 ORDER BY w.version DESC LIMIT 1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(&mut **tx).await?;
    row.as_ref().map(version_of).transpose()
}

/// Every version of a workflow, newest first, without the text.
pub async fn workflow_versions(db: &Db, name: &str) -> Result<Vec<StoredVersion>, sqlx::Error> {
    let sql = format!("{WORKFLOW_SELECT} WHERE w.name = $1 ORDER BY w.version DESC");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name).fetch_all(&db.pool).await?;
    rows.iter().map(version_of).collect()
}

/// Stores the next version of a workflow; returns its number.
pub async fn insert_workflow(tx: &mut Tx, name: &str, yaml: &str, by: &str, now: Millis) -> Result<i64, sqlx::Error> {
    let next: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 AS next FROM workflow_versions WHERE name = $1")
        .bind(name)
        .fetch_one(&mut **tx)
        .await?
        .try_get("next")?;
    sqlx::query(
        "INSERT INTO workflow_versions (name, version, yaml, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(name)
    .bind(next)
    .bind(yaml)
    .bind(now)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(next)
}

/// The latest routing table (`tx` form so routing and the dictation commit together).
pub async fn routing_in(tx: &mut Tx) -> Result<Option<StoredVersion>, sqlx::Error> {
    let sql = format!("{ROUTING_SELECT} ORDER BY r.version DESC LIMIT 1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(&mut **tx).await?;
    row.as_ref().map(version_of).transpose()
}

pub async fn routing(db: &Db) -> Result<Option<StoredVersion>, sqlx::Error> {
    let sql = format!("{ROUTING_SELECT} ORDER BY r.version DESC LIMIT 1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(&db.pool).await?;
    row.as_ref().map(version_of).transpose()
}

pub async fn insert_routing(tx: &mut Tx, yaml: &str, by: &str, now: Millis) -> Result<i64, sqlx::Error> {
    let next: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 AS next FROM routing_versions")
        .fetch_one(&mut **tx)
        .await?
        .try_get("next")?;
    sqlx::query("INSERT INTO routing_versions (version, yaml, created_at, created_by) VALUES ($1, $2, $3, $4)")
        .bind(next)
        .bind(yaml)
        .bind(now)
        .bind(by)
        .execute(&mut **tx)
        .await?;
    Ok(next)
}

/// Names the validation of a new file checks against: teams, usernames, workflows.
pub async fn known_names(db: &Db) -> Result<(Vec<String>, Vec<String>, Vec<String>), sqlx::Error> {
    let col = |rows: Vec<AnyRow>| rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>();
    let teams = col(sqlx::query("SELECT name FROM teams").fetch_all(&db.pool).await?)?;
    let users = col(sqlx::query("SELECT username FROM users WHERE active = 1").fetch_all(&db.pool).await?)?;
    let flows = col(sqlx::query("SELECT DISTINCT name FROM workflow_versions").fetch_all(&db.pool).await?)?;
    Ok((teams, users, flows))
}
