//! Emails through a real SMTP server (STARTTLS, AUTH): one per notification for those who
//! asked, naming the letter by id with a link and never its text or a return's comment;
//! the daily digest; retries with backoff, giving up, and a dead sender's email taken over.

use dictaflow::notify::{SmtpConfig, digest};
use dictaflow::storage::email_outbox;
use serde_json::{Value, json};

use super::smtp::{self, SmtpServer};
use super::{audited, send};
use crate::helpers::Backend;
use crate::workflow::support::{DAY, HOUR, Team, team_with};

crate::both_backends!(notifications_reach_people_by_email, a_daily_digest_of_the_unread, failures_retry_then_give_up);

/// An SMTP server and a team whose server sends email through it in the background
/// (`background`), or does not (the test's own sender passes then run alone). Returns the
/// `[smtp]` settings the test's sender uses, with `password`.
async fn setup(backend: Backend, background: bool, password: &str) -> Option<(SmtpServer, Team, SmtpConfig)> {
    let server = smtp::start()?;
    let mut config = dictaflow::config::Config::default();
    server.configure_as(&mut config, password);
    config.smtp.max_attempts = 3;
    config.smtp.first_backoff_seconds = 60;
    let smtp = config.smtp.clone();
    let t = team_with(backend, |c| {
        c.notify = config.notify.clone();
        if background {
            c.smtp = config.smtp.clone();
        }
    })
    .await?;
    Some((server, t, smtp))
}

async fn opt_in(t: &Team, token: &str, email: &str, each: bool, digest: bool) {
    let body = json!({"email": email, "email_each": each, "daily_digest": digest, "weekly_report": null});
    let (status, s) = t.notify_settings(token, body).await;
    assert_eq!(status, 200, "{s}");
}

/// Uploads a routine letter, recognises it, and has Jones correct it and send it for review.
async fn to_review(t: &Team) -> String {
    let id = t.drafted(&t.patel, "routine").await;
    t.ok(&t.jones, &id, "claim", json!({})).await;
    t.ok(&t.jones, &id, "submit", json!({})).await;
    id
}

fn find<'a>(messages: &'a [Value], to: &str) -> Vec<&'a Value> {
    messages.iter().filter(|m| m["rcpt_tos"] == json!([to])).collect()
}

async fn notifications_reach_people_by_email(backend: Backend) {
    // The server's own sender runs too: the test counts messages, not passes.
    let Some((server, t, smtp)) = setup(backend, true, smtp::PASSWORD).await else { return };
    opt_in(&t, &t.lead, "lead@trust.example", true, false).await;
    opt_in(&t, &t.jones, "jones@trust.example", true, false).await;
    // Brown asked for no email: his notifications stay in the app.
    let id = to_review(&t).await;
    t.ok(&t.patel, &id, "return", json!({"comment": "The dose is 5 mg, not 50 mg."})).await;
    let kinds: Vec<Value> = t.notifications(&t.jones).await.iter().map(|n| n["kind"].clone()).collect();
    assert_eq!(kinds, [json!("returned")], "a return tells the secretary it went back to");
    // By Friday 10:00 the letter reached its warning point (80% of 5 working days), and
    // its stage `correct` (1 working day) its warning and breach: the team lead is told.
    t.advance(4 * DAY);
    t.fire().await;
    let kinds: Vec<Value> = t.notifications(&t.lead).await.iter().map(|n| n["kind"].clone()).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    let sent = 1 + kinds.len();

    send(&t, &smtp).await;
    let messages = server.wait_for(sent).await;
    assert_eq!(messages.len(), sent, "{messages:#?}");
    let returned = find(&messages, "jones@trust.example");
    let escalated = find(&messages, "lead@trust.example");
    assert_eq!((returned.len(), escalated.len()), (1, 3), "{messages:#?}");
    let subjects = |ms: &[&Value]| ms.iter().map(|m| m["subject"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let lead_subjects = subjects(&escalated);
    assert!(
        lead_subjects.iter().any(|s| s.starts_with("dictaflow: Turnaround breach (letter ending ")),
        "{lead_subjects:?}"
    );
    let link = format!("https://dictaflow.trust.example/app/dictations/{id}");
    let mut all = vec![(returned[0], "Letter returned to you")];
    all.extend(escalated.iter().map(|m| (*m, "Turnaround ")));
    for (m, subject) in all {
        assert!(m["subject"].as_str().unwrap().starts_with(&format!("dictaflow: {subject}")), "{m}");
        assert!(m["subject"].as_str().unwrap().contains(" (letter ending "), "{m}");
        let text = m["text"].as_str().unwrap();
        assert!(text.contains(&link) && text.contains(&id), "{text}");
        assert!(!text.contains("Dear Dr Smith"), "never the letter's text: {text}");
        assert!(!text.contains("5 mg"), "never a return's comment: {text}");
        assert_eq!(m["from"], "dictaflow <dictaflow@trust.example>");
    }
    // Each sent once, audited, and listed as sent for the super-user (the background
    // sender may still be recording its outcome).
    let mut states = Vec::new();
    for _ in 0..50 {
        send(&t, &smtp).await;
        let (status, outbox) = t.app.get_json(&t.admin, "/api/v1/admin/email-outbox").await;
        assert_eq!(status, 200, "{outbox}");
        states =
            outbox["items"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap().to_string()).collect();
        if states.iter().all(|s| s == "sent") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(states, vec!["sent"; sent]);
    assert_eq!(server.messages().len(), sent);
    let audit = audited(&t, "email.sent").await;
    assert_eq!(audit.len(), sent, "{audit:#?}");
    assert!(audit.iter().all(|e| e["target_type"] == "email" && e["details"]["attempt"] == 1), "{audit:#?}");
    assert_eq!(t.app.get_json(&t.lead, "/api/v1/admin/email-outbox").await.0, 403);
}

async fn a_daily_digest_of_the_unread(backend: Backend) {
    let Some((server, t, smtp)) = setup(backend, false, smtp::PASSWORD).await else { return };
    opt_in(&t, &t.jones, "jones@trust.example", false, true).await;
    // Two letters reassigned to Jones by the team lead, one she reads at once.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = t.drafted(&t.patel, "routine").await;
        t.ok(&t.brown, &id, "claim", json!({})).await;
        t.ok(&t.lead, &id, "reassign", json!({"assignee": "sec.jones"})).await;
        ids.push(id);
    }
    let unread = t.notifications(&t.jones).await;
    assert_eq!(unread.len(), 3);
    assert!(unread.iter().all(|n| n["kind"] == "reassigned"), "{unread:?}");
    let read = unread.iter().find(|n| n["dictation_id"] == ids[0].as_str()).unwrap();
    let url = t.app.url(&format!("/api/v1/notifications/{}/read", read["id"].as_str().unwrap()));
    assert_eq!(t.app.client.post(url).bearer_auth(&t.jones).send().await.unwrap().status(), 204);
    assert_eq!(t.app.get_json(&t.jones, "/api/v1/notifications/unread-count").await.1["unread"], 2);
    send(&t, &smtp).await;
    assert!(server.messages().is_empty(), "no email per notification when only the digest was asked for");

    // Monday 10:00 is past today's digest hour (07:00): one digest, then none until tomorrow.
    let cfg = t.app.state.config.notify.clone();
    let db = &t.app.state.db;
    assert_eq!(digest::run_due(db, &cfg, t.app.state.clock.now_ms()).await.unwrap(), 1);
    assert_eq!(digest::run_due(db, &cfg, t.app.state.clock.now_ms()).await.unwrap(), 0);
    send(&t, &smtp).await;
    let m = &server.wait_for(1).await[0];
    assert_eq!(m["subject"], "dictaflow: 2 unread notifications");
    let text = m["text"].as_str().unwrap();
    assert!(text.contains(&ids[1]) && text.contains(&ids[2]) && !text.contains(&ids[0]), "{text}");
    // Tomorrow at 06:00 nothing is due; at 07:00 only what is new since (nothing).
    t.advance(20 * HOUR);
    assert_eq!(digest::run_due(db, &cfg, t.app.state.clock.now_ms()).await.unwrap(), 0);
    t.advance(HOUR);
    assert_eq!(digest::run_due(db, &cfg, t.app.state.clock.now_ms()).await.unwrap(), 0);
    assert_eq!(server.messages().len(), 1);
}

async fn failures_retry_then_give_up(backend: Backend) {
    let Some((server, t, smtp)) = setup(backend, false, "a wrong password").await else { return };
    opt_in(&t, &t.jones, "jones@trust.example", true, false).await;
    let id = to_review(&t).await;
    t.ok(&t.patel, &id, "return", json!({"comment": "Please check."})).await;

    // A sender that died after taking the email (its lease held, nothing recorded): the
    // email waits for the lease to run out, then another sender takes it.
    let s = &t.app.state;
    let taken = email_outbox::claim(&s.db, "a-killed-process", s.clock.now_ms(), 60_000, 8).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(send(&t, &smtp).await, Default::default(), "leased to the dead process");
    t.advance(61_000);
    let pass = send(&t, &smtp).await;
    assert_eq!((pass.sent, pass.retried, pass.failed), (0, 1, 0), "refused (wrong password): retried later");
    let (_, outbox) = t.app.get_json(&t.admin, "/api/v1/admin/email-outbox").await;
    let row = &outbox["items"][0];
    assert_eq!((row["status"].as_str(), row["attempts"].as_i64()), (Some("pending"), Some(2)), "{row}");
    assert!(row["last_error"].as_str().unwrap().contains("refused"), "{row}");
    // Not before its backoff (60 s doubled for the second attempt); then the last fails for good.
    t.advance(119_000);
    assert_eq!(send(&t, &smtp).await, Default::default());
    t.advance(1_000);
    let pass = send(&t, &smtp).await;
    assert_eq!((pass.sent, pass.failed), (0, 1));
    let (_, outbox) = t.app.get_json(&t.admin, "/api/v1/admin/email-outbox").await;
    assert_eq!(outbox["items"][0]["status"], "failed");
    let failed = audited(&t, "email.failed").await;
    let retry: Vec<&Value> = failed.iter().map(|e| &e["details"]["will_retry"]).collect();
    assert_eq!(retry, [&json!(true), &json!(false)], "{failed:#?}");
    assert!(server.messages().is_empty());
}
