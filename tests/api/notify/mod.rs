//! Notifications that reach people: settings, emails through a real SMTP server (each
//! notification, the daily digest, retries and lease recovery) and the weekly report.

mod email;
mod settings;
pub mod smtp;
mod weekly;

use dictaflow::notify::SmtpConfig;
use dictaflow::notify::outbox::{PassReport, Sender, policy, send_due};

use crate::workflow::support::Team;

/// Runs one pass of an email sender on `smtp` as the server's own would (with another owner).
pub async fn send(t: &Team, smtp: &SmtpConfig) -> PassReport {
    let s = &t.app.state;
    let mailer = dictaflow::notify::mailer::Mailer::new(smtp).unwrap().expect("smtp is configured");
    let policy = policy(smtp);
    let notify = &s.config.notify;
    let sender = Sender { db: &s.db, mailer: &mailer, clock: &s.clock, policy: &policy, notify, owner: "test-sender" };
    send_due(&sender).await.expect("a sending pass")
}

/// The audit entries with `action`, oldest first, as the super-user's search shows them.
pub async fn audited(t: &Team, action: &str) -> Vec<serde_json::Value> {
    let (status, v) = t.app.get_json(&t.admin, &format!("/api/v1/audit?action={action}&limit=100")).await;
    assert_eq!(status, 200, "{v}");
    let mut items = v["items"].as_array().unwrap().clone();
    items.reverse();
    items
}
