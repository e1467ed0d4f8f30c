//! Loading where a dictation stands (stage, holder, pool, previous holders) and who a
//! user is, in the engine's terms, inside a transaction.

use std::collections::BTreeMap;

use sqlx::Row;

use super::defs::load_version;
use crate::clock::Millis;
use crate::storage::Tx;
use crate::storage::users::User;
use crate::workflow::{Actor, Assign, DictationState, Priority, WorkflowDef};

/// A dictation as the engine needs it, plus the row fields the service writes back.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub id: String,
    pub def: WorkflowDef,
    pub state: DictationState,
    /// The optimistic-concurrency version of the row.
    pub version: i64,
    pub priority: Priority,
    pub assign: Assign,
    pub created_at: Millis,
    pub due_at: Option<Millis>,
    pub clinician_id: String,
    /// The latest history step into a stage (when, which stage): the visit the next
    /// transition closes, for the stage times.
    pub stage_mark: Option<(Millis, String)>,
}

/// Loads a dictation that has a workflow; `None` when there is no such dictation.
pub async fn load(tx: &mut Tx, id: &str) -> anyhow::Result<Option<Loaded>> {
    let row = sqlx::query(
        "SELECT d.id, d.stage, d.workflow_name, d.workflow_version, d.version, d.priority, d.pool, \
         d.assign_strategy, d.created_at, d.due_at, d.clinician_id, c.username AS clinician, a.username AS assignee \
         FROM dictations d JOIN users c ON c.id = d.clinician_id LEFT JOIN users a ON a.id = d.assignee_id \
         WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let name: Option<String> = row.try_get("workflow_name")?;
    let version: Option<i64> = row.try_get("workflow_version")?;
    let (Some(name), Some(wf_version)) = (name, version) else {
        anyhow::bail!("dictation {id} has no workflow");
    };
    let def = load_version(tx, &name, wf_version).await?;
    let priority: String = row.try_get("priority")?;
    let assign: Option<String> = row.try_get("assign_strategy")?;
    let state = DictationState {
        stage: row.try_get("stage")?,
        clinician: row.try_get("clinician")?,
        assignee: row.try_get("assignee")?,
        pool: row.try_get("pool")?,
        previous_assignees: BTreeMap::new(),
    };
    let (previous_assignees, stage_mark) = history_marks(tx, id).await?;
    let state = DictationState { previous_assignees, ..state };
    Ok(Some(Loaded {
        id: id.to_string(),
        def,
        state,
        version: row.try_get("version")?,
        priority: priority.parse().map_err(anyhow::Error::msg)?,
        assign: assign.as_deref().unwrap_or("pull").parse().unwrap_or_default(),
        created_at: row.try_get("created_at")?,
        due_at: row.try_get("due_at")?,
        clinician_id: row.try_get("clinician_id")?,
        stage_mark,
    }))
}

/// From the history: who last held each stage (so a returned letter goes back to its
/// typist), and the latest step into a stage.
async fn history_marks(
    tx: &mut Tx,
    id: &str,
) -> Result<(BTreeMap<String, String>, Option<(Millis, String)>), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT e.at, e.to_stage, u.username FROM events e LEFT JOIN users u ON u.id = e.assignee_id \
         WHERE e.dictation_id = $1 AND e.to_stage IS NOT NULL ORDER BY e.at, e.id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let mut holders = BTreeMap::new();
    let mut mark = None;
    for r in rows {
        let stage: String = r.try_get("to_stage")?;
        if let Some(user) = r.try_get::<Option<String>, _>("username")? {
            holders.insert(stage.clone(), user);
        }
        mark = Some((r.try_get("at")?, stage));
    }
    Ok((holders, mark))
}

pub fn actor_of(user: &User) -> Actor {
    Actor { username: user.username.clone(), role: user.role.as_str().to_string(), teams: user.teams.clone() }
}

/// An active user as an engine actor, with their id, by username.
pub async fn actor_by_username(tx: &mut Tx, username: &str) -> Result<Option<(String, Actor)>, sqlx::Error> {
    let row = sqlx::query("SELECT id, role FROM users WHERE username = $1 AND active = 1")
        .bind(username)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let id: String = row.try_get("id")?;
    let teams = sqlx::query(
        "SELECT t.name FROM teams t JOIN team_members m ON m.team_id = t.id WHERE m.user_id = $1 ORDER BY t.name",
    )
    .bind(&id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| r.try_get::<String, _>("name"))
    .collect::<Result<Vec<_>, _>>()?;
    let actor = Actor { username: username.to_string(), role: row.try_get("role")?, teams };
    Ok(Some((id, actor)))
}

/// Whether `user_id` is absent at `now`.
pub async fn is_absent(tx: &mut Tx, user_id: &str, now: Millis) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM absences WHERE user_id = $1 AND from_at <= $2 AND to_at > $2")
        .bind(user_id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}
