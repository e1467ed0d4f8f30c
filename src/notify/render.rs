//! The text of the emails about notifications: what happened to which letter (by id),
//! with a link to it; never patient details or the letter's text.

use super::NotifyConfig;
use super::mailer::Email;
use crate::storage::notifications::Notification;

/// What a notification kind is called in an email subject.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "warning" => "Turnaround warning",
        "breach" => "Turnaround breach",
        "returned" => "Letter returned to you",
        "reassigned" => "Letter assigned to you",
        _ => "Notification",
    }
}

/// The last characters of an id (the random part of a UUID v7), enough to tell letters
/// apart in a subject line.
fn short(id: &str) -> &str {
    id.get(id.len().saturating_sub(8)..).unwrap_or(id)
}

fn footer(cfg: &NotifyConfig) -> String {
    format!(
        "\n--\nYou receive these emails because you asked for them. Change that on your notifications page:\n{}\n",
        cfg.link("/app/notifications")
    )
}

/// The link to a notification's letter, or to the notifications page.
fn link_of(cfg: &NotifyConfig, n: &Notification) -> String {
    match &n.dictation_id {
        Some(id) => cfg.link(&format!("/app/dictations/{id}")),
        None => cfg.link("/app/notifications"),
    }
}

/// One notification as an email to `to`.
pub fn notification_email(cfg: &NotifyConfig, n: &Notification, to: &str) -> Email {
    let subject = match &n.dictation_id {
        Some(id) => format!("dictaflow: {} (letter ending {})", kind_label(&n.kind), short(id)),
        None => format!("dictaflow: {}", kind_label(&n.kind)),
    };
    let text = format!("{}\n\nOpen the letter: {}\n{}", n.message, link_of(cfg, n), footer(cfg));
    Email { to: to.to_string(), subject, text, ..Email::default() }
}

/// A day's unread notifications as one email (the caller skips empty digests).
pub fn digest_email(cfg: &NotifyConfig, items: &[Notification], more: bool, to: &str) -> Email {
    let n = items.len();
    let subject = format!("dictaflow: {n}{} unread notification{}", if more { "+" } else { "" }, plural(n));
    let mut text = String::from("Your unread notifications since the last digest:\n\n");
    for item in items {
        text.push_str(&format!("- {}: {}\n  {}\n", kind_label(&item.kind), item.message, link_of(cfg, item)));
    }
    if more {
        text.push_str(&format!("\nMore are waiting: {}\n", cfg.link("/app/notifications")));
    }
    text.push_str(&footer(cfg));
    Email { to: to.to_string(), subject, text, ..Email::default() }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
