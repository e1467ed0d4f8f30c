//! The weekly turnaround report: for the seven days before the report day, the turnaround
//! figures (`workflow::service::turnaround::report`) by team, clinician and specialty,
//! and the letters past their deadline with how late in working days; as CSV and a
//! readable HTML page, kept per reader's scope for download and emailed to its readers.
//!
//! Readers: whoever opted in, else by default the roles in [`WEEKLY_REPORT_ROLES`];
//! always only roles that may view reports.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;
use sqlx::Row;

use super::NotifyConfig;
use super::weekly_html;
use crate::auth::policy::{self, Permission};
use crate::clock::{Millis, from_ms};
use crate::domain::Role;
use crate::storage::dictations::Scope;
use crate::storage::email_outbox::{self, NewEmail};
use crate::storage::notify_settings::{self, Person};
use crate::storage::users::User;
use crate::storage::weekly_reports::{self, NewReport};
use crate::storage::{Db, Tx};
use crate::workflow::service::turnaround::{GroupBy, GroupRow, csv_text, report};
use crate::workflow::service::turnaround_detail::scope_clause;
use crate::workflow::service::working_time::{Span, working_times};

/// Roles that receive the weekly report unless they opt out (the recipient rule: a role
/// joins by being listed here).
pub const WEEKLY_REPORT_ROLES: &[Role] = &[Role::TeamLead, Role::Manager, Role::Superuser];

/// Whether someone with `role` and this setting reads the weekly report.
pub fn receives(role: Role, setting: Option<bool>) -> bool {
    policy::role_can(role, Permission::ViewReports) && setting.unwrap_or(WEEKLY_REPORT_ROLES.contains(&role))
}

/// The key `user`'s reports are kept under: `all` for those who see everything (one
/// report shared), else `user:<id>` (their own scope, whatever it is).
pub fn key_of(user: &User) -> String {
    match policy::dictation_scope(user) {
        Scope::All => "all".into(),
        _ => format!("user:{}", user.id),
    }
}

/// A reporting week: seven local days from `start`, as `[from, to)` in Unix ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Week {
    pub start: NaiveDate,
    pub from: Millis,
    pub to: Millis,
}

/// The latest week whose report is due at `now`: the seven days before the most recent
/// report day whose report hour has passed.
pub fn due_week(cfg: &NotifyConfig, now: Millis) -> Week {
    let tz = cfg.tz();
    let local = from_ms(now).with_timezone(&tz).naive_local();
    let weekday = cfg.weekday().unwrap_or(chrono::Weekday::Mon);
    let back = (7 + local.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
    let mut day = local.date() - Days::new(u64::from(back));
    if back == 0 && local.time() < hour(cfg.weekly_report_hour) {
        day = day - Days::new(7);
    }
    let start = day - Days::new(7);
    let at = |d: NaiveDate| crate::timers::Calendar::new("").with_timezone(tz).at_local(d, hour(0)).timestamp_millis();
    Week { start, from: at(start), to: at(day) }
}

fn hour(h: u32) -> chrono::NaiveTime {
    chrono::NaiveTime::from_hms_opt(h.min(23), 0, 0).unwrap_or_default()
}

/// A letter past its deadline.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Late {
    pub dictation_id: String,
    pub priority: String,
    pub clinician: String,
    pub specialty: Option<String>,
    pub holder: Option<String>,
    pub due_at: Millis,
    pub finished_at: Option<Millis>,
    /// Working days between the deadline and completion (or the report), one decimal.
    pub working_days_late: f64,
}

/// The figures of one report.
#[derive(Debug, Clone)]
pub struct Figures {
    pub week: Week,
    pub made_at: Millis,
    pub teams: Vec<GroupRow>,
    pub clinicians: Vec<GroupRow>,
    pub specialties: Vec<GroupRow>,
    pub late: Vec<Late>,
}

/// The most late letters a report lists (the group rows carry the counts).
pub const MAX_LATE: i64 = 500;

/// Computes a scope's figures for a week, at `now`.
pub async fn figures(db: &Db, scope: &Scope, week: Week, now: Millis) -> anyhow::Result<Figures> {
    let (teams, clinicians, specialties, late) = tokio::try_join!(
        report(db, scope, week.from, week.to, GroupBy::Team, now),
        report(db, scope, week.from, week.to, GroupBy::Clinician, now),
        report(db, scope, week.from, week.to, GroupBy::Specialty, now),
        late_letters(db, scope, week, now),
    )?;
    Ok(Figures { week, made_at: now, teams, clinicians, specialties, late })
}

/// Letters past their deadline during the week: still open, or finished late since the
/// week began; the latest first.
async fn late_letters(db: &Db, scope: &Scope, week: Week, now: Millis) -> anyhow::Result<Vec<Late>> {
    let (clause, who) = scope_clause(scope);
    let sql = format!(
        "SELECT d.id, d.priority, d.specialty, d.due_at, d.finished_at, d.workflow_name, d.workflow_version, \
         c.username AS clinician, \
         a.username AS holder FROM dictations d JOIN users c ON c.id = d.clinician_id \
         LEFT JOIN users a ON a.id = d.assignee_id \
         WHERE d.status <> 'cancelled' AND d.due_at IS NOT NULL AND d.due_at < $1 \
         AND (d.finished_at IS NULL OR (d.finished_at >= $2 AND d.finished_at > d.due_at)) {clause} \
         ORDER BY d.due_at, d.id LIMIT {MAX_LATE}"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(week.to).bind(week.from);
    if let Some(w) = who {
        q = q.bind(w);
    }
    let rows = q.fetch_all(&db.pool).await?;
    let mut flows: Vec<(Option<String>, Option<i64>, Millis, Millis)> = Vec::with_capacity(rows.len());
    for r in &rows {
        let finished_at: Option<Millis> = r.try_get("finished_at")?;
        let (workflow, version) = (r.try_get("workflow_name")?, r.try_get("workflow_version")?);
        flows.push((workflow, version, r.try_get("due_at")?, finished_at.unwrap_or(now)));
    }
    let spans: Vec<Span> = flows
        .iter()
        .map(|(workflow, version, from, to)| Span {
            workflow: workflow.as_deref(),
            version: *version,
            from: *from,
            to: *to,
        })
        .collect();
    let late = working_times(db, &spans).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (r, late) in rows.iter().zip(late) {
        let day_ms = late.day_ms.max(1) as f64;
        out.push(Late {
            dictation_id: r.try_get("id")?,
            priority: r.try_get("priority")?,
            clinician: r.try_get("clinician")?,
            specialty: r.try_get("specialty")?,
            holder: r.try_get("holder")?,
            due_at: r.try_get("due_at")?,
            finished_at: r.try_get("finished_at")?,
            working_days_late: (late.ms as f64 / day_ms * 10.0).round() / 10.0,
        });
    }
    out.sort_by(|a, b| b.working_days_late.total_cmp(&a.working_days_late).then(a.due_at.cmp(&b.due_at)));
    Ok(out)
}

/// The report as CSV: one row per group (`section` team, clinician or specialty) and
/// one per late letter (`section` late); every text field quoted and formula-safe.
pub fn to_csv(f: &Figures) -> String {
    let mut out = String::from(
        "section,name,received,completed,within_target,percent_within_target,backlog,breaches,\
         dictation,priority,due_at,finished_at,working_days_late\n",
    );
    for (section, rows) in [("team", &f.teams), ("clinician", &f.clinicians), ("specialty", &f.specialties)] {
        for r in rows.iter() {
            let pct = r.percent_within_target.map(|p| p.to_string()).unwrap_or_default();
            out.push_str(&format!(
                "{section},{},{},{},{},{pct},{},{},,,,,\n",
                csv_text(&r.group),
                r.received,
                r.completed,
                r.within_target,
                r.backlog,
                r.breaches
            ));
        }
    }
    for l in &f.late {
        let finished = l.finished_at.map(crate::clock::rfc3339).unwrap_or_default();
        out.push_str(&format!(
            "late,{},,,,,,,{},{},{},{finished},{}\n",
            csv_text(&l.clinician),
            csv_text(&l.dictation_id),
            csv_text(&l.priority),
            crate::clock::rfc3339(l.due_at),
            l.working_days_late
        ));
    }
    out
}

/// What one weekly run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub reports_made: usize,
    pub emails_queued: usize,
}

/// Makes the due week's reports for every reader's scope (once per week and scope, also
/// across processes) and queues each reader's email (once per week and reader).
pub async fn run_due(db: &Db, cfg: &NotifyConfig, now: Millis) -> anyhow::Result<Outcome> {
    let week = due_week(cfg, now);
    let mut outcome = Outcome::default();
    let mut made: HashMap<String, String> = HashMap::new();
    for person in notify_settings::people(db).await? {
        if !receives(person.role, person.settings.weekly_report) {
            continue;
        }
        let user = person.as_user();
        let key = key_of(&user);
        let report_id = match made.get(&key) {
            Some(id) => id.clone(),
            None => {
                let (id, new) = ensure_report(db, cfg, &policy::dictation_scope(&user), &key, week, now).await?;
                outcome.reports_made += usize::from(new);
                made.insert(key, id.clone());
                id
            }
        };
        if person.settings.email.is_empty() {
            continue;
        }
        let mut tx = db.begin_write().await?;
        if queue_email(&mut tx, cfg, &person, &report_id, week, now).await? {
            outcome.emails_queued += 1;
        }
        tx.commit().await?;
    }
    if outcome.emails_queued > 0 {
        super::outbox::wake();
    }
    Ok(outcome)
}

/// The week's report for `key`, made now if missing; `(id, made now)`.
async fn ensure_report(
    db: &Db,
    cfg: &NotifyConfig,
    scope: &Scope,
    key: &str,
    week: Week,
    now: Millis,
) -> anyhow::Result<(String, bool)> {
    let label = week.start.format("%Y-%m-%d").to_string();
    if let Some(id) = weekly_reports::find(db, &label, key).await? {
        return Ok((id, false));
    }
    let f = figures(db, scope, week, now).await?;
    let (csv, html) = (to_csv(&f), weekly_html::render(cfg, &f));
    let mut tx = db.begin_write().await?;
    let new = NewReport {
        week_start: &label,
        scope_key: key,
        period_from: week.from,
        period_to: week.to,
        csv: &csv,
        html: &html,
    };
    let id = weekly_reports::insert(&mut tx, &new, now).await?;
    if let Some(id) = &id {
        let entry = crate::audit::NewEntry::new(crate::audit::action::REPORT_WEEKLY)
            .target("weekly_report", id)
            .details(serde_json::json!({"week_start": label, "scope": key, "late_letters": f.late.len()}));
        crate::audit::store::append(&mut tx, db.backend, &entry, now).await?;
    }
    tx.commit().await?;
    match id {
        Some(id) => Ok((id, true)),
        // Another process made it first.
        None => Ok((weekly_reports::find(db, &label, key).await?.unwrap_or_default(), false)),
    }
}

async fn queue_email(
    tx: &mut Tx,
    cfg: &NotifyConfig,
    person: &Person,
    report_id: &str,
    week: Week,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let when = weekly_html::day(week.start);
    let subject = format!("dictaflow: weekly turnaround report, week of {when}");
    let text = format!(
        "The turnaround report for the week of {when} is attached (CSV) and shown below.\n\
         It is kept for download: {}\n",
        cfg.link(&format!("/api/v1/reports/weekly/{report_id}"))
    );
    let key = format!("weekly:{}:{}", week.start, person.user_id);
    let email = NewEmail {
        kind: "weekly_report",
        dedupe_key: &key,
        user_id: Some(&person.user_id),
        to: &person.settings.email,
        notification_id: None,
        report_id: Some(report_id),
        subject: Some(&subject),
        body_text: Some(&text),
    };
    email_outbox::enqueue(tx, &email, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Millis {
        crate::clock::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn the_week_due_is_the_seven_days_before_the_latest_report_day() {
        let cfg = NotifyConfig::default();
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // (now, week start): Mondays at 07:00 London time, GMT in March, BST in June.
        for (now, start) in [
            ("2026-03-16T07:00:00Z", d(2026, 3, 9)),
            ("2026-03-16T06:59:59Z", d(2026, 3, 2)),
            ("2026-03-18T12:00:00Z", d(2026, 3, 9)),
            ("2026-03-22T23:59:00Z", d(2026, 3, 9)),
            ("2026-06-15T06:00:00Z", d(2026, 6, 8)),
            ("2026-06-15T05:59:00Z", d(2026, 6, 1)),
        ] {
            assert_eq!(due_week(&cfg, at(now)).start, start, "{now}");
        }
        let week = due_week(&cfg, at("2026-06-15T06:00:00Z"));
        assert_eq!((week.from, week.to), (at("2026-06-07T23:00:00Z"), at("2026-06-14T23:00:00Z")), "BST midnights");
        let friday = NotifyConfig { weekly_report_day: "friday".into(), weekly_report_hour: 16, ..cfg };
        assert_eq!(due_week(&friday, at("2026-03-20T16:00:00Z")).start, d(2026, 3, 13));
        assert_eq!(due_week(&friday, at("2026-03-20T15:00:00Z")).start, d(2026, 3, 6));
    }

    #[test]
    fn readers_are_those_who_opted_in_else_the_default_roles() {
        #[rustfmt::skip]
        let table = [
            (Role::TeamLead, None, true), (Role::TeamLead, Some(false), false),
            (Role::Superuser, None, true), (Role::Superuser, Some(true), true),
            (Role::Manager, None, true), (Role::Manager, Some(false), false),
            (Role::Secretary, None, false), (Role::Secretary, Some(true), false),
            (Role::Clinician, Some(true), false),
        ];
        for (role, setting, reads) in table {
            assert_eq!(receives(role, setting), reads, "{role} {setting:?}");
        }
    }

    #[test]
    fn csv_rows_are_quoted_and_formula_safe() {
        let week = Week { start: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(), from: 0, to: 1 };
        let row = GroupRow { group: "=ENT".into(), received: 2, completed: 1, within_target: 1, ..Default::default() };
        let late = Late {
            dictation_id: "d1".into(),
            priority: "urgent".into(),
            clinician: "+dr".into(),
            specialty: None,
            holder: None,
            due_at: 0,
            finished_at: None,
            working_days_late: 1.5,
        };
        let f =
            Figures { week, made_at: 1, teams: vec![row], clinicians: vec![], specialties: vec![], late: vec![late] };
        let csv = to_csv(&f);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[1], "team,\"'=ENT\",2,1,1,,0,0,,,,,");
        assert_eq!(lines[2], "late,\"'+dr\",,,,,,,\"d1\",\"urgent\",1970-01-01T00:00:00.000Z,,1.5");
    }
}
