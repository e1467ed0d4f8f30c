//! Auto-assignment: when a letter enters a pool stage with nobody holding it and its
//! pool hands work out (`round_robin`, `least_loaded`), the server claims it for the
//! chosen member; absent members are skipped. `pull` pools wait for a member to claim.

use sqlx::Row;

use super::persist::{self, Cause};
use super::state::Loaded;
use super::{ServiceError, ServiceResult};
use crate::clock::Millis;
use crate::storage::Tx;
use crate::workflow::{ActionRequest, Actor, Assign, Builtin, StageKind, TeamRef, Who, apply_action};

/// The pool members who may hold a letter in the loaded stage, present at `now`, by username.
pub async fn candidates(tx: &mut Tx, loaded: &Loaded, now: Millis) -> Result<Vec<(String, Actor)>, sqlx::Error> {
    let Some(stage) = loaded.def.stage(&loaded.state.stage) else { return Ok(Vec::new()) };
    let Some(Who::Pool { role, team }) = &stage.who else { return Ok(Vec::new()) };
    let team = match team {
        Some(TeamRef::Named(t)) => Some(t.clone()),
        Some(TeamRef::Routed) => loaded.state.pool.clone(),
        None => None,
    };
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.role FROM users u WHERE u.active = 1 AND ($1 = '' OR u.role = $1) \
         AND ($2 = '' OR EXISTS (SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id \
              WHERE m.user_id = u.id AND t.name = $2)) \
         AND NOT EXISTS (SELECT 1 FROM absences a WHERE a.user_id = u.id AND a.from_at <= $3 AND a.to_at > $3) \
         ORDER BY u.username",
    )
    .bind(role.clone().unwrap_or_default())
    .bind(team.clone().unwrap_or_default())
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let actor =
            Actor { username: r.try_get("username")?, role: r.try_get("role")?, teams: team.iter().cloned().collect() };
        out.push((r.try_get("id")?, actor));
    }
    Ok(out)
}

fn pool_key(loaded: &Loaded) -> String {
    format!("{}:{}", loaded.def.name, loaded.state.pool.as_deref().unwrap_or("*"))
}

async fn pick(
    tx: &mut Tx,
    loaded: &Loaded,
    now: Millis,
    skip: Option<&str>,
) -> Result<Option<(String, Actor)>, sqlx::Error> {
    let mut people = candidates(tx, loaded, now).await?;
    people.retain(|(_, a)| Some(a.username.as_str()) != skip);
    if people.is_empty() {
        return Ok(None);
    }
    match loaded.assign {
        Assign::Pull => Ok(None),
        Assign::RoundRobin => {
            let key = pool_key(loaded);
            let last: Option<String> = sqlx::query("SELECT last_username FROM pool_cursors WHERE pool = $1")
                .bind(&key)
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| r.try_get("last_username"))
                .transpose()?
                .flatten();
            let i = last.map_or(0, |l| people.iter().position(|(_, a)| a.username > l).unwrap_or(0));
            let chosen = people.swap_remove(i);
            sqlx::query(
                "INSERT INTO pool_cursors (pool, last_username) VALUES ($1, $2) \
                 ON CONFLICT (pool) DO UPDATE SET last_username = excluded.last_username",
            )
            .bind(&key)
            .bind(&chosen.1.username)
            .execute(&mut **tx)
            .await?;
            Ok(Some(chosen))
        }
        Assign::LeastLoaded => {
            let mut best: Option<(i64, (String, Actor))> = None;
            for person in people {
                let n: i64 =
                    sqlx::query("SELECT COUNT(*) AS n FROM dictations WHERE assignee_id = $1 AND finished_at IS NULL")
                        .bind(&person.0)
                        .fetch_one(&mut **tx)
                        .await?
                        .try_get("n")?;
                if best.as_ref().is_none_or(|(b, _)| n < *b) {
                    best = Some((n, person));
                }
            }
            Ok(best.map(|(_, p)| p))
        }
    }
}

/// Gives the letter to a pool member if its pool hands work out and nobody holds it.
/// `loaded` describes the letter after its last transition. `skip` is a user not to
/// choose (the one who just released it). Returns the new row version when assigned.
pub async fn auto_assign(tx: &mut Tx, loaded: &Loaded, now: Millis, skip: Option<&str>) -> ServiceResult<Option<i64>> {
    let Some(stage) = loaded.def.stage(&loaded.state.stage) else { return Ok(None) };
    if loaded.assign == Assign::Pull || loaded.state.assignee.is_some() || stage.kind != StageKind::Human {
        return Ok(None);
    }
    let Some((_, actor)) = pick(tx, loaded, now, skip).await? else { return Ok(None) };
    let claim = loaded.def.action(stage, Builtin::Claim.as_str()).is_some();
    let transition = if claim {
        let request = ActionRequest { action: Builtin::Claim.as_str().into(), ..Default::default() };
        apply_action(&loaded.def, &loaded.state, &actor, &request).map_err(ServiceError::from)?
    } else {
        hold_in_place(loaded, &actor.username)
    };
    let comment = format!("assigned automatically ({})", loaded.assign.as_str());
    let cause = Cause { actor_id: None, comment: Some(&comment) };
    let mut t = transition;
    for step in &mut t.steps {
        step.automatic = true;
        step.action = "auto_assign".into();
    }
    persist::apply(tx, loaded, &t, &cause, now).await.map(Some)
}

/// A transition that only gives the letter to `username`, staying in the stage.
fn hold_in_place(loaded: &Loaded, username: &str) -> crate::workflow::Transition {
    let stage = &loaded.state.stage;
    crate::workflow::Transition {
        from_stage: stage.clone(),
        to_stage: stage.clone(),
        new_status: loaded.def.status_of(stage).unwrap_or(crate::workflow::Status::Drafted),
        assignee: Some(username.to_string()),
        assignee_changed: true,
        stage_changed: false,
        finished: false,
        steps: vec![crate::workflow::Step {
            action: "auto_assign".into(),
            from: stage.clone(),
            to: stage.clone(),
            automatic: true,
        }],
    }
}

/// The letter after `t` as a `Loaded` (for chaining auto-assignment).
pub fn after(loaded: &Loaded, t: &crate::workflow::Transition, version: i64, now: Millis) -> Loaded {
    let mut next = loaded.clone();
    next.state.stage = t.to_stage.clone();
    next.state.assignee = t.assignee.clone();
    next.version = version;
    if let Some(step) = t.steps.last() {
        next.stage_mark = Some((now, step.to.clone()));
    }
    next
}
