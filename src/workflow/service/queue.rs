//! A user's work queue: letters they hold, and unheld letters open to them in a pool
//! stage (team leads: everything their teams hold too), most at risk first (breached,
//! then warning, then on track), then by due time.

use std::collections::HashMap;

use sqlx::Row;

use super::defs::load_version;
use super::state::actor_of;
use crate::clock::Millis;
use crate::domain::Role;
use crate::storage::Db;
use crate::storage::users::User;
use crate::workflow::{DictationState, WorkflowDef, is_in_queue_of};

/// Candidates read before the pool filter.
const SCAN: i64 = 2000;

/// Ids of the letters in `user`'s queue, in order, at most `limit`.
pub async fn queue_of(db: &Db, user: &User, now: Millis, limit: usize) -> anyhow::Result<Vec<String>> {
    let lead = i64::from(user.role == Role::TeamLead);
    let all = i64::from(user.role == Role::Superuser);
    let rows = sqlx::query(
        "SELECT d.id, d.stage, d.workflow_name, d.workflow_version, d.pool, d.assignee_id, c.username AS clinician \
         FROM dictations d JOIN users c ON c.id = d.clinician_id \
         WHERE d.finished_at IS NULL AND d.workflow_name IS NOT NULL AND ( \
           d.assignee_id = $1 \
           OR ($2 = 1 AND d.assignee_id IN (SELECT m2.user_id FROM team_members m1 \
               JOIN team_members m2 ON m1.team_id = m2.team_id WHERE m1.user_id = $1)) \
           OR (d.assignee_id IS NULL AND ($3 = 1 \
               OR d.clinician_id IN (SELECT m2.user_id FROM team_members m1 \
                   JOIN team_members m2 ON m1.team_id = m2.team_id WHERE m1.user_id = $1) \
               OR d.pool IN (SELECT t.name FROM teams t JOIN team_members m ON m.team_id = t.id WHERE m.user_id = $1)))) \
         ORDER BY CASE WHEN d.due_at <= $4 THEN 0 WHEN d.warn_at <= $4 THEN 1 ELSE 2 END, d.due_at, d.id LIMIT $5",
    )
    .bind(&user.id)
    .bind(lead)
    .bind(all)
    .bind(now)
    .bind(SCAN)
    .fetch_all(&db.pool)
    .await?;
    let actor = actor_of(user);
    let mut defs: HashMap<(String, i64), WorkflowDef> = HashMap::new();
    let mut out = Vec::new();
    for r in rows {
        let id: String = r.try_get("id")?;
        let holder: Option<String> = r.try_get("assignee_id")?;
        if holder.is_some() {
            out.push(id);
        } else {
            let key = (r.try_get("workflow_name")?, r.try_get("workflow_version")?);
            if !defs.contains_key(&key) {
                let mut tx = db.pool.begin().await?;
                let def = load_version(&mut tx, &key.0, key.1).await?;
                defs.insert(key.clone(), def);
            }
            let state = DictationState {
                stage: r.try_get("stage")?,
                clinician: r.try_get("clinician")?,
                assignee: None,
                pool: r.try_get("pool")?,
                previous_assignees: Default::default(),
            };
            if defs.get(&key).is_some_and(|def| is_in_queue_of(def, &state, &actor)) {
                out.push(id);
            }
        }
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}
