//! The turnaround report: for dictations received in a period, grouped by clinician,
//! secretary, specialty, priority or the clinician's team (a letter counts in each team
//! of its clinician): % finished within target, median and 90th
//! percentile turnaround (elapsed and working hours), backlog and breaches.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use super::working_time::{Span, working_times};
use crate::clock::Millis;
use crate::storage::Db;
use crate::storage::dictations::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Clinician,
    Secretary,
    Specialty,
    Priority,
    Team,
}

impl std::str::FromStr for GroupBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "clinician" => Ok(GroupBy::Clinician),
            "secretary" => Ok(GroupBy::Secretary),
            "specialty" => Ok(GroupBy::Specialty),
            "priority" => Ok(GroupBy::Priority),
            "team" => Ok(GroupBy::Team),
            _ => Err(format!("group_by must be clinician, secretary, specialty, priority or team; got {s:?}")),
        }
    }
}

impl GroupBy {
    fn column(self) -> &'static str {
        match self {
            GroupBy::Clinician => "c.username",
            GroupBy::Secretary => "s.username",
            GroupBy::Specialty => "d.specialty",
            GroupBy::Priority => "d.priority",
            GroupBy::Team => "t.name",
        }
    }

    /// The join a grouping needs besides the clinician's and secretary's users.
    fn join(self) -> &'static str {
        match self {
            GroupBy::Team => {
                " LEFT JOIN team_members tm ON tm.user_id = d.clinician_id LEFT JOIN teams t ON t.id = tm.team_id"
            }
            _ => "",
        }
    }
}

/// One group's figures.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct GroupRow {
    pub group: String,
    pub received: u64,
    pub completed: u64,
    pub within_target: u64,
    pub percent_within_target: Option<f64>,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    pub median_working_hours: Option<f64>,
    pub p90_working_hours: Option<f64>,
    /// Working time to completion in working days, each letter's counted in its own
    /// calendar's working day (the hours above cannot be turned into days by one day
    /// length when the group's letters follow calendars with different working hours).
    pub median_working_days: Option<f64>,
    pub p90_working_days: Option<f64>,
    /// Every open letter of the group now, whatever its received date.
    pub backlog: u64,
    /// Of the backlog, the letters past their due time now.
    pub backlog_breached: u64,
    pub breaches: u64,
    pub cancelled: u64,
}

/// Computes the report for dictations received in `[from, to)`, as seen by `scope`.
pub async fn report(
    db: &Db,
    scope: &Scope,
    from: Millis,
    to: Millis,
    by: GroupBy,
    now: Millis,
) -> anyhow::Result<Vec<GroupRow>> {
    let (clause, who) = match scope {
        Scope::All => ("", String::new()),
        Scope::OwnDictations(u) => ("AND d.clinician_id = $3", u.clone()),
        Scope::Teams(u) => (
            "AND d.clinician_id IN (SELECT m2.user_id FROM team_members m1 JOIN team_members m2 \
             ON m1.team_id = m2.team_id WHERE m1.user_id = $3)",
            u.clone(),
        ),
    };
    let sql = format!(
        "SELECT {} AS grp, d.created_at, d.finished_at, d.due_at, d.status, d.workflow_name, d.workflow_version \
         FROM dictations d JOIN users c ON c.id = d.clinician_id LEFT JOIN users s ON s.id = d.secretary_id{} \
         WHERE d.created_at >= $1 AND d.created_at < $2 {clause}",
        by.column(),
        by.join()
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from).bind(to);
    if !who.is_empty() {
        q = q.bind(who);
    }
    let rows = q.fetch_all(&db.pool).await?;
    // (group, received, finished, due, status, workflow, version)
    type Letter = (String, Millis, Option<Millis>, Option<Millis>, String, Option<String>, Option<i64>);
    let letters: Vec<Letter> = rows
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<Option<String>, _>("grp")?.unwrap_or_else(|| "(none)".into()),
                r.try_get("created_at")?,
                r.try_get("finished_at")?,
                r.try_get("due_at")?,
                r.try_get("status")?,
                r.try_get("workflow_name")?,
                r.try_get("workflow_version")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    drop(rows);
    // Working time to completion, on each letter's own calendar.
    let done = |l: &Letter| l.2.filter(|_| l.4 != "cancelled");
    let spans: Vec<Span> = letters
        .iter()
        .filter_map(|l| Some(Span { workflow: l.5.as_deref(), version: l.6, from: l.1, to: done(l)? }))
        .collect();
    let mut working = working_times(db, &spans).await?.into_iter();
    let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
    for l in &letters {
        let (group, created, finished, due, status) = (&l.0, l.1, l.2, l.3, &l.4);
        let entry = groups.entry(group.clone()).or_insert_with(|| Figures::new(group.clone()));
        let row = &mut entry.row;
        row.received += 1;
        match finished {
            _ if status == "cancelled" => row.cancelled += 1,
            None => row.breaches += u64::from(due.is_some_and(|d| d <= now)),
            Some(done) => {
                row.completed += 1;
                let on_time = due.is_none_or(|d| done <= d);
                row.within_target += u64::from(on_time);
                row.breaches += u64::from(!on_time);
                entry.hours.push((done - created) as f64 / 3_600_000.0);
                let (w, day) = working.next().map_or((0, 0), |w| (w.seconds(), w.day_seconds()));
                entry.working_hours.push(w as f64 / 3600.0);
                entry.working_days.push(if day > 0 { w as f64 / day as f64 } else { 0.0 });
            }
        }
    }
    for (group, backlog, breached) in backlog(db, scope, by, now).await? {
        let entry = groups.entry(group.clone()).or_insert_with(|| Figures::new(group));
        (entry.row.backlog, entry.row.backlog_breached) = (backlog, breached);
    }
    Ok(groups.into_values().map(Figures::finish).collect())
}

/// Per group: every open letter in scope now, whatever its received date, and how many
/// of them are past their due time.
async fn backlog(db: &Db, scope: &Scope, by: GroupBy, now: Millis) -> anyhow::Result<Vec<(String, u64, u64)>> {
    let (clause, who) = match scope {
        Scope::All => ("", None),
        Scope::OwnDictations(u) => ("AND d.clinician_id = $2", Some(u)),
        Scope::Teams(u) => (
            "AND d.clinician_id IN (SELECT m2.user_id FROM team_members m1 JOIN team_members m2 \
             ON m1.team_id = m2.team_id WHERE m1.user_id = $2)",
            Some(u),
        ),
    };
    let (column, join) = (by.column(), by.join());
    let sql = format!(
        "SELECT {column} AS grp, COUNT(*) AS n, COALESCE(SUM(CASE WHEN d.due_at <= $1 THEN 1 ELSE 0 END), 0) AS late \
         FROM dictations d JOIN users c ON c.id = d.clinician_id LEFT JOIN users s ON s.id = d.secretary_id{join} \
         WHERE d.finished_at IS NULL AND d.status <> 'cancelled' {clause} GROUP BY {column}"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
    if let Some(who) = who {
        q = q.bind(who.clone());
    }
    let mut out = Vec::new();
    for r in q.fetch_all(&db.pool).await? {
        let group = r.try_get::<Option<String>, _>("grp")?.unwrap_or_else(|| "(none)".into());
        out.push((group, r.try_get::<i64, _>("n")? as u64, r.try_get::<i64, _>("late")? as u64));
    }
    Ok(out)
}

/// A group's counts and its completed letters' turnaround, before the percentiles.
struct Figures {
    row: GroupRow,
    hours: Vec<f64>,
    working_hours: Vec<f64>,
    working_days: Vec<f64>,
}

impl Figures {
    fn new(group: String) -> Self {
        let row = GroupRow { group, ..Default::default() };
        Self { row, hours: vec![], working_hours: vec![], working_days: vec![] }
    }

    fn finish(mut self) -> GroupRow {
        let row = &mut self.row;
        if row.completed > 0 {
            row.percent_within_target = Some(round(100.0 * row.within_target as f64 / row.completed as f64));
        }
        row.median_hours = percentile(&mut self.hours, 50.0);
        row.p90_hours = percentile(&mut self.hours, 90.0);
        row.median_working_hours = percentile(&mut self.working_hours, 50.0);
        row.p90_working_hours = percentile(&mut self.working_hours, 90.0);
        row.median_working_days = percentile(&mut self.working_days, 50.0);
        row.p90_working_days = percentile(&mut self.working_days, 90.0);
        self.row
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Nearest-rank percentile: the smallest value with at least `p`% of the values at or
/// below it (rank `ceil(p * n / 100)`, computed so that whole ranks stay whole).
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = (p * values.len() as f64 / 100.0).ceil().max(1.0) as usize;
    Some(round(values[rank.min(values.len()) - 1]))
}

/// One text field of a CSV row: control characters (line breaks, tabs) become spaces,
/// so no reader, however naive, sees a new row start inside it; a leading `=`, `+`, `-`
/// or `@` (after any spaces) is neutralised by a `'` so a spreadsheet shows it as text and never runs it
/// as a formula; and the field is always quoted (a comma or quote stays inside it).
/// Numbers the report computes are written bare.
pub fn csv_text(value: &str) -> String {
    let flat: String = value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let guard = if flat.trim_start().starts_with(['=', '+', '-', '@']) { "'" } else { "" };
    format!("\"{guard}{}\"", flat.replace('"', "\"\""))
}

/// The report as CSV with a header line; every text field is quoted (see [`csv_text`]).
pub fn to_csv(rows: &[GroupRow]) -> String {
    let mut out = String::from(
        "group,received,completed,within_target,percent_within_target,median_hours,p90_hours,\
         median_working_hours,p90_working_hours,backlog,breaches,cancelled,backlog_breached,\
         median_working_days,p90_working_days\n",
    );
    let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for r in rows {
        let group = csv_text(&r.group);
        out.push_str(&format!(
            "{group},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            r.received,
            r.completed,
            r.within_target,
            num(r.percent_within_target),
            num(r.median_hours),
            num(r.p90_hours),
            num(r.median_working_hours),
            num(r.p90_working_hours),
            r.backlog,
            r.breaches,
            r.cancelled,
            r.backlog_breached,
            num(r.median_working_days),
            num(r.p90_working_days)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&mut v, 50.0), Some(3.0));
        assert_eq!(percentile(&mut v, 90.0), Some(5.0));
        assert_eq!(percentile(&mut [], 50.0), None);
        let mut ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&mut ten, 90.0), Some(9.0));
        // 0.9 * 70 is slightly over 63 in floating point; the rank must stay 63.
        let mut seventy: Vec<f64> = (1..=70).map(f64::from).collect();
        assert_eq!(percentile(&mut seventy, 90.0), Some(63.0));
    }

    #[test]
    fn csv_neutralises_formulas_and_quotes() {
        let rows = [GroupRow { group: "=cmd".into(), received: 1, ..Default::default() }];
        assert!(to_csv(&rows).lines().nth(1).unwrap().starts_with("\"'=cmd\",1,"));
        // (value, field): quoted always; a formula start is neutralised, also after a
        // line break that would otherwise start a new row.
        for (value, field) in [
            ("ENT", "\"ENT\""),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("+44", "\"'+44\""),
            ("-1", "\"'-1\""),
            ("@SUM(A1)", "\"'@SUM(A1)\""),
            ("\tx", "\" x\""),
            ("x\r=cmd|' /C calc'!A0", "\"x =cmd|' /C calc'!A0\""),
            ("a\n\n@b", "\"a  @b\""),
            ("\t=1+1", "\"' =1+1\""),
        ] {
            assert_eq!(csv_text(value), field, "{value:?}");
        }
        let rows = [GroupRow { group: "x\r\n=cmd|' /C calc'!A0".into(), received: 2, ..Default::default() }];
        let csv = to_csv(&rows);
        assert_eq!(csv.split(['\r', '\n']).filter(|l| !l.is_empty()).count(), 2, "a header and one row: {csv}");
    }
}
