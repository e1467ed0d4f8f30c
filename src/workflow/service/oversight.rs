//! Oversight for team leads, managers and super-users: the open letters at risk or
//! breached now, and the load per person. Exact at any size: totals, counts and pages
//! come from SQL over every open letter the caller may see (the one visibility rule,
//! [`scope_clause`]), never from a slice of a list. Only the working-time lateness of the
//! letters on a page is computed here, each with its workflow's calendar.
//!
//! Order: by due time, which within one calendar is the order of lateness in working
//! time (working time between a due time and now shrinks as the due time moves later).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::working_time::{Span, working_times};
use crate::auth::policy::dictation_scope;
use crate::clock::{Millis, rfc3339};
use crate::domain::Role;
use crate::storage::Db;
use crate::storage::dictations::{Arg, bind_all, scope_clause, scope_clause_and_parts};
use crate::storage::users::User;

/// Which letters past or near their due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Risk {
    /// Breached or at risk.
    #[default]
    All,
    /// Past the due time.
    Breached,
    /// Past the warning time, not yet due.
    AtRisk,
    /// Every open letter with a due time, near it or not (the board's full list).
    Open,
}

impl std::str::FromStr for Risk {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(Risk::All),
            "breached" => Ok(Risk::Breached),
            "at_risk" => Ok(Risk::AtRisk),
            "open" => Ok(Risk::Open),
            _ => Err(format!("state must be all, breached, at_risk or open; got {s:?}")),
        }
    }
}

/// Filters of the at-risk view (names as users see them).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub team: Option<String>,
    pub clinician: Option<String>,
    pub specialty: Option<String>,
    pub holder: Option<String>,
    pub risk: Risk,
}

/// One letter past or near its due time.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RiskItem {
    pub id: String,
    pub state: &'static str,
    pub status: String,
    pub stage: String,
    pub priority: String,
    pub specialty: Option<String>,
    pub letter_type: Option<String>,
    pub clinician: String,
    pub holder: Option<String>,
    pub pool: Option<String>,
    pub patient_name: Option<String>,
    pub patient_nhs_number: Option<String>,
    pub received_at: String,
    pub warn_at: Option<String>,
    pub due_at: String,
    /// Working time past the due time (negative: left before it), in seconds.
    pub working_seconds_late: i64,
    /// The length of a working day of the letter's calendar, in seconds.
    pub working_day_seconds: i64,
}

/// A page of the at-risk view with the totals of every matching letter.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RiskPage {
    pub total: u64,
    pub breached: u64,
    pub at_risk: u64,
    pub items: Vec<RiskItem>,
}

/// The conditions on `d` of the filter, whatever the letter's due time (`$1` is `now`,
/// pushed first), and the caller's visibility rule whole and in parts ([`visible_parts`];
/// `None` for callers who see every letter). [`risk_sql`] adds a risk state's condition.
///
/// [`visible_parts`]: crate::storage::dictations::visible_parts
fn conditions(
    user: &User,
    f: &Filter,
    now: Millis,
    args: &mut Vec<Arg>,
) -> (Vec<String>, Option<(String, Vec<String>)>) {
    args.push(Arg::Int(now));
    let scope = scope_clause_and_parts(&dictation_scope(user), args);
    let mut c = vec!["d.finished_at IS NULL".to_string()];
    c.extend(common_filters(f.team.as_deref(), args));
    let mut by_name = |column: &str, value: &Option<String>, args: &mut Vec<Arg>| {
        if let Some(v) = value {
            args.push(Arg::Text(v.clone()));
            c.push(format!("{column} = (SELECT id FROM users WHERE username = ${})", args.len()));
        }
    };
    by_name("d.clinician_id", &f.clinician, args);
    by_name("d.assignee_id", &f.holder, args);
    if let Some(s) = &f.specialty {
        args.push(Arg::Text(s.clone()));
        c.push(format!("d.specialty = ${}", args.len()));
    }
    (c, scope)
}

/// The condition on `d` of the letters of a risk state at `now` (`$1`). The warning time
/// is written `+d.warn_at`, which no index serves: the index of open letters by warning
/// time is for the all-letters at-risk total alone ([`WARNED_NOT_DUE`]); without statistics
/// SQLite would otherwise take it for the parts' own indexes and walk every warned letter.
fn risk_sql(risk: Risk) -> &'static str {
    match risk {
        Risk::All => "d.due_at IS NOT NULL AND (d.due_at <= $1 OR +d.warn_at <= $1)",
        Risk::Breached => "d.due_at <= $1",
        Risk::AtRisk => "d.due_at > $1 AND +d.warn_at <= $1",
        Risk::Open => "d.due_at IS NOT NULL",
    }
}

/// The letters on track at `now` (`$1`): open with a due time, neither breached nor at risk.
const ON_TRACK: &str = "d.due_at > $1 AND (+d.warn_at > $1 OR d.warn_at IS NULL)";

/// At risk, for the total over every letter: a range of the open letters by warning time
/// (those warned already, fewer than those due later).
const WARNED_NOT_DUE: &str = "d.warn_at <= $1 AND d.due_at > $1";

/// The totals of the letters matching `base` and visible through one of `parts` (all
/// letters when `None`) in `risk`, as one statement of one count per state and part.
/// Each state is a range of an index of open letters by due time (at risk: the letters
/// due later whose warning time has passed), led by the part's clinician, pool or holder
/// when there are parts, so no count walks the letters on track unless the board asked
/// for them, nor the letters the caller may not see. Over every letter, at risk is the
/// range of the letters warned already, in the index by warning time ([`WARNED_NOT_DUE`]).
fn counts_sql(base: &str, parts: Option<&[String]>, risk: Risk) -> String {
    let count = |state: &str| match parts {
        None => format!("(SELECT COUNT(*) FROM dictations d WHERE {base} AND {state})"),
        Some(parts) => parts
            .iter()
            .map(|part| format!("(SELECT COUNT(*) FROM dictations d WHERE {base} AND {part} AND {state})"))
            .collect::<Vec<_>>()
            .join(" + "),
    };
    let part = |wanted: bool, state: &str| if wanted { count(state) } else { "CAST(0 AS BIGINT)".to_string() };
    format!(
        "SELECT {} AS breached, {} AS at_risk, {} AS on_track",
        part(matches!(risk, Risk::All | Risk::Breached | Risk::Open), risk_sql(Risk::Breached)),
        part(
            matches!(risk, Risk::All | Risk::AtRisk | Risk::Open),
            if parts.is_none() { WARNED_NOT_DUE } else { risk_sql(Risk::AtRisk) }
        ),
        part(risk == Risk::Open, ON_TRACK),
    )
}

/// A team's letters: its clinicians', its pool's, and those its members hold.
fn common_filters(team: Option<&str>, args: &mut Vec<Arg>) -> Option<String> {
    let team = team?;
    args.push(Arg::Text(team.to_string()));
    let t = format!("${}", args.len());
    let members = format!("SELECT m.user_id FROM team_members m JOIN teams t ON t.id = m.team_id WHERE t.name = {t}");
    Some(format!("(d.pool = {t} OR d.clinician_id IN ({members}) OR d.assignee_id IN ({members}))"))
}

/// The letters at risk or breached now that `user` may see, most late first, and the
/// totals of all of them.
pub async fn at_risk(
    db: &Db,
    user: &User,
    f: &Filter,
    now: Millis,
    limit: i64,
    offset: i64,
) -> anyhow::Result<RiskPage> {
    let mut args = Vec::new();
    let (filters, scope) = conditions(user, f, now, &mut args);
    let base = filters.join(" AND ");
    let counts_sql = counts_sql(&base, scope.as_ref().map(|(_, parts)| parts.as_slice()), f.risk);
    // The totals and the page from one snapshot, on one connection taken once.
    let mut tx = db.begin_read().await?;
    let counts = bind_all(sqlx::query(sqlx::AssertSqlSafe(counts_sql)), clone_args(&args)).fetch_one(&mut *tx).await?;
    let (breached, at_risk, on_track) = (
        counts.try_get::<i64, _>("breached")? as u64,
        counts.try_get::<i64, _>("at_risk")? as u64,
        counts.try_get::<i64, _>("on_track")? as u64,
    );
    let visible = scope.map(|(whole, _)| format!(" AND {whole}")).unwrap_or_default();
    let cond = format!("{base}{visible} AND {}", risk_sql(f.risk));
    args.push(Arg::Int(limit));
    args.push(Arg::Int(offset));
    let page_sql = format!(
        "SELECT d.id, d.status, d.stage, d.priority, d.specialty, d.letter_type, d.workflow_name, \
           d.workflow_version, d.pool, d.due_at, d.warn_at, d.created_at, d.patient_name, d.patient_nhs_number, \
           c.username AS clinician, a.username AS holder \
         FROM dictations d JOIN users c ON c.id = d.clinician_id LEFT JOIN users a ON a.id = d.assignee_id \
         WHERE {cond} ORDER BY d.due_at, d.id LIMIT ${} OFFSET ${}",
        args.len() - 1,
        args.len()
    );
    let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(page_sql)), args).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let mut items = Vec::with_capacity(rows.len());
    let mut flows = Vec::with_capacity(rows.len());
    for r in &rows {
        let due: Millis = r.try_get("due_at")?;
        flows.push((
            r.try_get::<Option<String>, _>("workflow_name")?,
            r.try_get::<Option<i64>, _>("workflow_version")?,
            due,
        ));
        items.push(RiskItem {
            id: r.try_get("id")?,
            state: state_of(due, r.try_get("warn_at")?, now),
            status: r.try_get("status")?,
            stage: r.try_get("stage")?,
            priority: r.try_get("priority")?,
            specialty: r.try_get("specialty")?,
            letter_type: r.try_get("letter_type")?,
            clinician: r.try_get("clinician")?,
            holder: r.try_get("holder")?,
            pool: r.try_get("pool")?,
            patient_name: r.try_get("patient_name")?,
            patient_nhs_number: r.try_get("patient_nhs_number")?,
            received_at: rfc3339(r.try_get("created_at")?),
            warn_at: r.try_get::<Option<Millis>, _>("warn_at")?.map(rfc3339),
            due_at: rfc3339(due),
            working_seconds_late: 0,
            working_day_seconds: 0,
        });
    }
    let spans: Vec<Span> = flows
        .iter()
        .map(|(workflow, version, due)| Span { workflow: workflow.as_deref(), version: *version, from: *due, to: now })
        .collect();
    for (item, late) in items.iter_mut().zip(working_times(db, &spans).await?) {
        item.working_seconds_late = late.seconds();
        item.working_day_seconds = late.day_seconds();
    }
    Ok(RiskPage { total: breached + at_risk + on_track, breached, at_risk, items })
}

fn state_of(due: Millis, warn: Option<Millis>, now: Millis) -> &'static str {
    if due <= now {
        "breached"
    } else if warn.is_some_and(|w| w <= now) {
        "at_risk"
    } else {
        "on_track"
    }
}

fn clone_args(args: &[Arg]) -> Vec<Arg> {
    args.iter()
        .map(|a| match a {
            Arg::Text(s) => Arg::Text(s.clone()),
            Arg::Int(i) => Arg::Int(*i),
        })
        .collect()
}

/// An absence of a person on the load view (current or ahead).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AbsenceBrief {
    pub id: String,
    pub from: String,
    pub to: String,
    pub cover: Option<String>,
    /// It has begun (the person is away now).
    pub started: bool,
}

/// One person's load.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonLoad {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub teams: Vec<String>,
    pub open: u64,
    pub breached: u64,
    pub at_risk: u64,
    pub absent_now: bool,
    pub absences: Vec<AbsenceBrief>,
}

/// Open letters nobody holds (in a pool).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Counts {
    pub open: u64,
    pub breached: u64,
    pub at_risk: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadView {
    pub people: Vec<PersonLoad>,
    pub unheld: Counts,
}

/// The members of the caller's teams (super-users: of every team), `team` only when
/// given, as an SQL list of user ids; managers are not in it (they hold no letters).
fn members_sql(user: &User, team: Option<&str>, args: &mut Vec<Arg>) -> String {
    let mut sql = "SELECT m.user_id FROM team_members m JOIN teams t ON t.id = m.team_id WHERE 1 = 1".to_string();
    if user.role != Role::Superuser {
        args.push(Arg::Text(user.id.clone()));
        sql.push_str(&format!(" AND m.team_id IN (SELECT team_id FROM team_members WHERE user_id = ${})", args.len()));
    }
    if let Some(team) = team {
        args.push(Arg::Text(team.to_string()));
        sql.push_str(&format!(" AND t.name = ${}", args.len()));
    }
    sql
}

const COUNTS: &str = "COUNT(*) AS open, COALESCE(SUM(CASE WHEN d.due_at <= $1 THEN 1 ELSE 0 END), 0) AS breached, \
     COALESCE(SUM(CASE WHEN d.due_at > $1 AND d.warn_at <= $1 THEN 1 ELSE 0 END), 0) AS at_risk";

fn counts_of(r: &sqlx::any::AnyRow) -> Result<Counts, sqlx::Error> {
    Ok(Counts {
        open: r.try_get::<i64, _>("open")? as u64,
        breached: r.try_get::<i64, _>("breached")? as u64,
        at_risk: r.try_get::<i64, _>("at_risk")? as u64,
    })
}

/// Every member of the caller's teams, holding letters or not, with their open, breached
/// and at-risk letters (those the caller may see) and their absences now or ahead.
///
/// One read transaction: the counts and the people are of one moment, and the request
/// takes a connection from the pool once, not once per query (under load each take is a
/// wait in the pool's queue, and four waits in a row made the view's slowest answers).
pub async fn load(db: &Db, user: &User, team: Option<&str>, now: Millis) -> anyhow::Result<LoadView> {
    let mut tx = db.begin_read().await?;
    let (mut people, ids) = members(&mut tx, user, team).await?;
    let mut counts = held_counts(&mut tx, user, &ids, now).await?;
    let mut absences = absences_of(&mut tx, &ids, now).await?;
    let unheld = unheld(&mut tx, user, team, now).await?;
    tx.commit().await?;
    for (person, id) in people.iter_mut().zip(&ids) {
        let c = counts.remove(id).unwrap_or_default();
        (person.open, person.breached, person.at_risk) = (c.open, c.breached, c.at_risk);
        person.absences = absences.remove(id).unwrap_or_default();
        person.absent_now = person.absences.iter().any(|a| a.started);
    }
    Ok(LoadView { people, unheld })
}

/// `$k, $k+1, ...` for `ids`, pushed onto `args`.
fn id_list(ids: &[String], args: &mut Vec<Arg>) -> String {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        args.push(Arg::Text(id.clone()));
        out.push(format!("${}", args.len()));
    }
    out.join(", ")
}

/// Open, breached and at-risk letters held by each of `ids` (those `user` may see).
pub async fn held_counts(
    conn: &mut AnyConnection,
    user: &User,
    ids: &[String],
    now: Millis,
) -> anyhow::Result<HashMap<String, Counts>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut args = vec![Arg::Int(now)];
    let list = id_list(ids, &mut args);
    let visible = scope_clause(&dictation_scope(user), &mut args).map(|v| format!("AND {v}")).unwrap_or_default();
    let sql = format!(
        "SELECT d.assignee_id, {COUNTS} FROM dictations d WHERE d.assignee_id IN ({list}) \
         AND d.finished_at IS NULL {visible} GROUP BY d.assignee_id"
    );
    let mut out = HashMap::new();
    for r in bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), args).fetch_all(&mut *conn).await? {
        out.insert(r.try_get::<String, _>("assignee_id")?, counts_of(&r)?);
    }
    Ok(out)
}

/// The absences of each of `ids` that have not ended at `now`, soonest first.
pub async fn absences_of(
    conn: &mut AnyConnection,
    ids: &[String],
    now: Millis,
) -> anyhow::Result<HashMap<String, Vec<AbsenceBrief>>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut args = vec![Arg::Int(now)];
    let list = id_list(ids, &mut args);
    let sql = format!(
        "SELECT a.id, a.user_id, a.from_at, a.to_at, c.username AS cover FROM absences a \
         LEFT JOIN users c ON c.id = a.cover_id WHERE a.to_at > $1 AND a.user_id IN ({list}) ORDER BY a.from_at, a.id"
    );
    let mut out: HashMap<String, Vec<AbsenceBrief>> = HashMap::new();
    for r in bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), args).fetch_all(&mut *conn).await? {
        let from: Millis = r.try_get("from_at")?;
        out.entry(r.try_get("user_id")?).or_default().push(AbsenceBrief {
            id: r.try_get("id")?,
            from: rfc3339(from),
            to: rfc3339(r.try_get("to_at")?),
            cover: r.try_get("cover")?,
            started: from <= now,
        });
    }
    Ok(out)
}

/// The people of the load view with no counts yet, by username, and their ids.
async fn members(
    conn: &mut AnyConnection,
    user: &User,
    team: Option<&str>,
) -> anyhow::Result<(Vec<PersonLoad>, Vec<String>)> {
    let mut args = Vec::new();
    let members = members_sql(user, team, &mut args);
    let sql = format!(
        "SELECT u.id, u.username, u.display_name, u.role, t.name AS team FROM users u \
         JOIN team_members m ON m.user_id = u.id JOIN teams t ON t.id = m.team_id \
         WHERE u.active = 1 AND u.role <> 'manager' AND u.id IN ({members}) ORDER BY u.username, t.name"
    );
    let mut people: Vec<PersonLoad> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for r in bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), args).fetch_all(&mut *conn).await? {
        let id: String = r.try_get("id")?;
        let team: String = r.try_get("team")?;
        if let (Some(last), Some(person)) = (ids.last(), people.last_mut())
            && *last == id
        {
            person.teams.push(team);
            continue;
        }
        ids.push(id);
        people.push(PersonLoad {
            username: r.try_get("username")?,
            display_name: r.try_get("display_name")?,
            role: r.try_get("role")?,
            teams: vec![team],
            open: 0,
            breached: 0,
            at_risk: 0,
            absent_now: false,
            absences: Vec::new(),
        });
    }
    Ok((people, ids))
}

/// Open letters the caller may see that nobody holds (of `team` when given). For a caller
/// who sees some letters only, the count is a sum over the visibility rule's parts, each
/// led by its own index (the team's clinicians', its pools'), so it walks the letters of
/// the caller's teams, not every unheld letter of the trust.
async fn unheld(conn: &mut AnyConnection, user: &User, team: Option<&str>, now: Millis) -> anyhow::Result<Counts> {
    let mut args = vec![Arg::Int(now)];
    let mut c = vec!["d.finished_at IS NULL".to_string()];
    c.extend(common_filters(team, &mut args));
    let sql = match scope_clause_and_parts(&dictation_scope(user), &mut args) {
        None => {
            c.push("d.assignee_id IS NULL".into());
            format!("SELECT {COUNTS} FROM dictations d WHERE {}", c.join(" AND "))
        }
        Some((_, parts)) => {
            // Not `d.assignee_id IS NULL`: without statistics SQLite would take it for the
            // holders' index and walk every unheld letter instead of the part's range.
            c.push("COALESCE(d.assignee_id, '') = ''".into());
            let base = c.join(" AND ");
            let arms: Vec<String> = parts
                .iter()
                .map(|part| format!("SELECT d.due_at, d.warn_at FROM dictations d WHERE {base} AND {part}"))
                .collect();
            format!("SELECT {COUNTS} FROM ({}) d", arms.join(" UNION ALL "))
        }
    };
    Ok(counts_of(&bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), args).fetch_one(&mut *conn).await?)?)
}
