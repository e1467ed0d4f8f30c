//! The weekly turnaround report: made once per week for each reader's scope (team leads
//! their teams, super-users all), by team, clinician and specialty with the letters past
//! their deadline and how late; emailed (HTML with the CSV attached) to readers with an
//! address; kept for download by its readers only.

use dictaflow::domain::Role;
use dictaflow::notify::weekly;
use serde_json::{Value, json};

use super::smtp;
use crate::helpers::Backend;
use crate::workflow::support::{DAY, HOUR, team_with};

crate::both_backends!(the_weekly_report_is_made_emailed_and_kept);

async fn the_weekly_report_is_made_emailed_and_kept(backend: Backend) {
    let Some(server) = smtp::start() else { return };
    let mut config = dictaflow::config::Config::default();
    server.configure(&mut config);
    let Some(t) = team_with(backend, |c| c.notify = config.notify.clone()).await else { return };
    let cardio_lead = t.app.user("lead.cardio", Role::TeamLead, &["cardio"]).await;
    for (token, email) in [(&t.lead, "lead@trust.example"), (&t.admin, "admin@trust.example")] {
        let body = json!({"email": email, "email_each": false, "daily_digest": false, "weekly_report": null});
        assert_eq!(t.notify_settings(token, body).await.0, 200);
    }

    // Monday 2 March 10:00: letter A (due Monday 9 March 10:00) is never finished.
    let a = t.drafted(&t.patel, "routine").await;
    // Monday 9 March 11:00: B stays open, C is corrected, approved and dispatched at once.
    t.advance(7 * DAY + HOUR);
    let _b = t.drafted(&t.patel, "routine").await;
    let c = t.drafted(&t.okafor, "urgent").await;
    t.ok(&t.jones, &c, "claim", json!({})).await;
    t.ok(&t.jones, &c, "submit", json!({})).await;
    t.ok(&t.okafor, &c, "approve", json!({})).await;
    t.ok(&t.brown, &c, "dispatch", json!({})).await;

    // Monday 16 March 08:00 (after the 07:00 report hour): the week of 9 March is due.
    t.advance(7 * DAY - 3 * HOUR);
    let (db, cfg) = (&t.app.state.db, &t.app.state.config.notify);
    let now = t.app.state.clock.now_ms();
    let outcome = weekly::run_due(db, cfg, now).await.unwrap();
    assert_eq!((outcome.reports_made, outcome.emails_queued), (3, 2), "lead, cardio lead and all; two addresses");
    assert_eq!(weekly::run_due(db, cfg, now).await.unwrap(), Default::default(), "once a week");

    let (status, list) = t.app.get_json(&t.lead, "/api/v1/reports/weekly").await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["week_start"], "2026-03-09");
    let id = items[0]["id"].as_str().unwrap();
    let csv = download(&t, &t.lead, id, "csv", 200).await;
    // Received that week: B and C; backlog: every open letter now (A of the week before, and B).
    for row in [
        "team,\"ent\",2,1,1,100,2,0,,,,,",
        "clinician,\"dr.okafor\",1,1,1,100,0,0,,,,,",
        "clinician,\"dr.patel\",1,0,0,,2,0,,,,,",
        "specialty,\"ENT\",2,1,1,100,2,0,,,,,",
    ] {
        assert!(csv.lines().any(|l| l == row), "{row} in\n{csv}");
    }
    // A was due on 9 March 10:00: by 16 March 08:00, 7 h + 4 days of 8 h = 4.9 working days late.
    let late: Vec<&str> = csv.lines().filter(|l| l.starts_with("late,")).collect();
    assert_eq!(late.len(), 1, "{csv}");
    assert!(late[0].contains(&format!("\"{a}\"")) && late[0].ends_with(",4.9"), "{}", late[0]);
    let html = download(&t, &t.lead, id, "html", 200).await;
    assert!(html.contains("Weekly turnaround report, week of 9 Mar 2026"), "{html}");
    assert!(html.contains("1 of 1 (100%)") && html.contains("Routine") && html.contains("4.9"), "{html}");

    // Readers see their own scope only.
    download(&t, &cardio_lead, id, "csv", 404).await;
    let (_, theirs) = t.app.get_json(&cardio_lead, "/api/v1/reports/weekly").await;
    let theirs = theirs["items"][0]["id"].as_str().unwrap().to_string();
    let cardio_csv = download(&t, &cardio_lead, &theirs, "csv", 200).await;
    assert!(!cardio_csv.contains("dr.patel") && !cardio_csv.contains("late,"), "{cardio_csv}");
    assert_eq!(t.app.get_json(&t.jones, "/api/v1/reports/weekly").await.0, 403);
    download(&t, &t.lead, id, "pdf", 422).await;

    super::send(&t, &config.smtp).await;
    let messages = server.wait_for(2).await;
    let to_lead = messages.iter().find(|m| m["rcpt_tos"] == json!(["lead@trust.example"])).expect("the lead's email");
    assert_eq!(to_lead["subject"], "dictaflow: weekly turnaround report, week of 9 Mar 2026");
    assert!(to_lead["html"].as_str().unwrap().contains("4.9"), "{to_lead}");
    let attached: &Value = &to_lead["attachments"][0];
    assert_eq!(attached["name"], "turnaround-week-2026-03-09.csv");
    assert_eq!(attached["content"].as_str().unwrap().replace("\r\n", "\n"), csv);
    let to_admin =
        messages.iter().find(|m| m["rcpt_tos"] == json!(["admin@trust.example"])).expect("the admin's email");
    assert!(to_admin["attachments"][0]["content"].as_str().unwrap().contains("clinician,\"dr.patel\""));
    assert_eq!(messages.len(), 2, "the cardio lead gave no address");
}

async fn download(t: &crate::workflow::support::Team, token: &str, id: &str, format: &str, want: u16) -> String {
    let url = t.app.url(&format!("/api/v1/reports/weekly/{id}?format={format}"));
    let resp = t.app.client.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), want);
    resp.text().await.unwrap()
}
