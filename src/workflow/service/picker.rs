//! The reassign picker: the people who may take a letter in its current stage (the
//! stage's role and team, as the workflow says), each checked with the engine as the
//! caller's `reassign` to them, with their current load and absences.

use serde::Serialize;
use sqlx::Row;

use super::oversight::{AbsenceBrief, absences_of, held_counts};
use super::state::{actor_of, load};
use super::{ServiceError, ServiceResult};
use crate::clock::Millis;
use crate::storage::Db;
use crate::storage::users::User;
use crate::workflow::{ActionRequest, Actor, Builtin, TeamRef, Who, apply_action};

/// Someone the letter may go to.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Candidate {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub teams: Vec<String>,
    /// Holds the letter now.
    pub holder: bool,
    pub open: u64,
    pub breached: u64,
    pub at_risk: u64,
    pub absent_now: bool,
    pub absences: Vec<AbsenceBrief>,
}

/// Who the stage `who` names: (role, team, username), each empty for "any".
fn stage_people(who: &Who, pool: Option<&str>, clinician: &str) -> (String, String, String) {
    match who {
        Who::Pool { role, team } => {
            let team = match team {
                Some(TeamRef::Named(t)) => t.clone(),
                Some(TeamRef::Routed) => pool.unwrap_or_default().to_string(),
                None => String::new(),
            };
            (role.clone().unwrap_or_default(), team, String::new())
        }
        Who::Clinician => (String::new(), String::new(), clinician.to_string()),
        Who::User(name) => (String::new(), String::new(), name.clone()),
    }
}

/// The people `user` may hand letter `id` to, least loaded first (present before
/// absent). The caller has checked that they may see the letter.
pub async fn candidates(db: &Db, user: &User, id: &str, now: Millis) -> ServiceResult<Vec<Candidate>> {
    let mut tx = db.begin_read().await?;
    let loaded = load(&mut tx, id).await?.ok_or(ServiceError::NotFound)?;
    let stage = loaded.def.stage(&loaded.state.stage).and_then(|s| s.who.clone());
    let Some(who) = stage else {
        tx.commit().await?;
        return Ok(Vec::new());
    };
    let (role, team, username) = stage_people(&who, loaded.state.pool.as_deref(), &loaded.state.clinician);
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.display_name, u.role, t.name AS team FROM users u \
         LEFT JOIN team_members m ON m.user_id = u.id LEFT JOIN teams t ON t.id = m.team_id \
         WHERE u.active = 1 AND ($1 = '' OR u.role = $1) AND ($3 = '' OR u.username = $3) \
         AND ($2 = '' OR EXISTS (SELECT 1 FROM team_members m2 JOIN teams t2 ON t2.id = m2.team_id \
              WHERE m2.user_id = u.id AND t2.name = $2)) \
         ORDER BY u.username, t.name",
    )
    .bind(&role)
    .bind(&team)
    .bind(&username)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut people: Vec<(String, Candidate)> = Vec::new();
    for r in rows {
        let id: String = r.try_get("id")?;
        let team: Option<String> = r.try_get("team")?;
        if let Some((last, c)) = people.last_mut()
            && *last == id
        {
            c.teams.extend(team);
            continue;
        }
        let username: String = r.try_get("username")?;
        people.push((
            id,
            Candidate {
                holder: loaded.state.assignee.as_deref() == Some(username.as_str()),
                username,
                display_name: r.try_get("display_name")?,
                role: r.try_get("role")?,
                teams: team.into_iter().collect(),
                open: 0,
                breached: 0,
                at_risk: 0,
                absent_now: false,
                absences: Vec::new(),
            },
        ));
    }
    // Only those the engine would let the caller give the letter to.
    let caller = actor_of(user);
    people.retain(|(_, c)| {
        let actor = Actor { username: c.username.clone(), role: c.role.clone(), teams: c.teams.clone() };
        let request =
            ActionRequest { action: Builtin::Reassign.as_str().into(), assignee: Some(actor), ..Default::default() };
        c.holder || apply_action(&loaded.def, &loaded.state, &caller, &request).is_ok()
    });
    let ids: Vec<String> = people.iter().map(|(id, _)| id.clone()).collect();
    let mut tx = db.begin_read().await?;
    let mut counts = held_counts(&mut tx, user, &ids, now).await?;
    let mut absences = absences_of(&mut tx, &ids, now).await?;
    tx.commit().await?;
    let mut out: Vec<Candidate> = people
        .into_iter()
        .map(|(id, mut c)| {
            let n = counts.remove(&id).unwrap_or_default();
            (c.open, c.breached, c.at_risk) = (n.open, n.breached, n.at_risk);
            c.absences = absences.remove(&id).unwrap_or_default();
            c.absent_now = c.absences.iter().any(|a| a.started);
            c
        })
        .collect();
    out.sort_by(|a, b| (a.absent_now, a.open, &a.username).cmp(&(b.absent_now, b.open, &b.username)));
    Ok(out)
}
