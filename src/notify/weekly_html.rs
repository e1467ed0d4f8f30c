//! The weekly report as a readable HTML page: dates as "7 Dec 2026", percentages with %,
//! priorities in words, lateness in working days; every text escaped.

use chrono::NaiveDate;

use super::NotifyConfig;
use super::weekly::{Figures, Late};
use crate::clock::{Millis, from_ms};
use crate::letters::xml_escape as esc;
use crate::workflow::service::turnaround::GroupRow;

/// A date as "7 Dec 2026".
pub fn day(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

fn local_day(cfg: &NotifyConfig, t: Millis) -> String {
    day(from_ms(t).with_timezone(&cfg.tz()).date_naive())
}

/// A priority as words.
pub fn priority_words(p: &str) -> String {
    match p {
        "two_week_wait" => "Two-week wait".into(),
        "urgent" => "Urgent".into(),
        "routine" => "Routine".into(),
        other => other.replace('_', " "),
    }
}

const STYLE: &str = "body{font-family:Arial,Helvetica,sans-serif;color:#212b32;max-width:60rem;margin:1rem auto;\
padding:0 1rem}table{border-collapse:collapse;margin:0 0 1.5rem}th,td{border-bottom:1px solid #d8dde0;\
padding:.3rem .6rem;text-align:left}td.n,th.n{text-align:right}caption{text-align:left;font-weight:bold;\
padding:.3rem 0}";

fn groups(title: &str, rows: &[GroupRow]) -> String {
    let mut out = format!(
        "<table><caption>{}</caption><thead><tr><th>{}</th><th class=n>Received</th><th class=n>Completed</th>\
         <th class=n>Within target</th><th class=n>Backlog</th><th class=n>Breaches</th></tr></thead><tbody>",
        esc(&format!("By {}", title.to_lowercase())),
        esc(title)
    );
    if rows.is_empty() {
        out.push_str("<tr><td colspan=6>No letters received this week.</td></tr>");
    }
    for r in rows {
        let within = match r.percent_within_target {
            Some(p) => format!("{} of {} ({p}%)", r.within_target, r.completed),
            None => "–".into(),
        };
        out.push_str(&format!(
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{within}</td><td class=n>{}</td>\
             <td class=n>{}</td></tr>",
            esc(&r.group),
            r.received,
            r.completed,
            r.backlog,
            r.breaches
        ));
    }
    out.push_str("</tbody></table>");
    out
}

fn late_row(cfg: &NotifyConfig, l: &Late) -> String {
    let link = cfg.link(&format!("/app/dictations/{}", l.dictation_id));
    let short = l.dictation_id.get(l.dictation_id.len().saturating_sub(8)..).unwrap_or(&l.dictation_id);
    let finished = l.finished_at.map(|t| local_day(cfg, t)).unwrap_or_else(|| "Open".into());
    format!(
        "<tr><td><a href=\"{}\">…{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td class=n>{:.1}</td></tr>",
        esc(&link),
        esc(short),
        esc(&priority_words(&l.priority)),
        esc(&l.clinician),
        esc(l.specialty.as_deref().unwrap_or("")),
        esc(l.holder.as_deref().unwrap_or("")),
        local_day(cfg, l.due_at),
        finished,
        l.working_days_late
    )
}

/// The whole page.
pub fn render(cfg: &NotifyConfig, f: &Figures) -> String {
    let last = f.week.start + chrono::Days::new(6);
    let title = format!("Weekly turnaround report, week of {}", day(f.week.start));
    let mut out = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>{}</title><style>{STYLE}</style></head><body>\
         <h1>{}</h1><p>Letters received from {} to {}; made {}. Within target counts completed letters.</p>",
        esc(&title),
        esc(&title),
        day(f.week.start),
        day(last),
        local_day(cfg, f.made_at)
    );
    out.push_str(&groups("Team", &f.teams));
    out.push_str(&groups("Clinician", &f.clinicians));
    out.push_str(&groups("Specialty", &f.specialties));
    out.push_str(
        "<table><caption>Letters past their deadline (open, or finished late this week), latest first</caption>\
         <thead><tr><th>Letter</th><th>Priority</th><th>Clinician</th><th>Specialty</th><th>Held by</th><th>Due</th>\
         <th>Finished</th><th class=n>Working days late</th></tr></thead><tbody>",
    );
    if f.late.is_empty() {
        out.push_str("<tr><td colspan=8>None.</td></tr>");
    }
    for l in &f.late {
        out.push_str(&late_row(cfg, l));
    }
    out.push_str("</tbody></table></body></html>\n");
    out
}
