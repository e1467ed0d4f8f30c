//! Notifications that reach people: email through SMTP from a durable outbox (an email
//! per notification for those who ask, a daily digest), and the weekly turnaround report
//! (CSV and HTML, kept for download and emailed). In-app notifications themselves are
//! written by the workflow service (`storage::notifications`).
//!
//! Emails name letters by id with a link to them, never patient details (the letter's
//! text and the patient stay behind the login).

pub mod digest;
pub mod mailer;
pub mod outbox;
pub mod render;
pub mod schedule;
pub mod weekly;
mod weekly_html;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No encryption: only for a relay on this machine.
    None,
}

/// The `[smtp]` section: the mail server emails are handed to. Off while `host` is empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Login for SMTP AUTH; empty = no authentication.
    pub username: String,
    pub password: Secret,
    /// The sender, e.g. `dictaflow <dictaflow@trust.nhs.uk>`.
    pub from: String,
    /// A PEM file of a private certificate authority to trust besides the public ones.
    pub ca_file: Option<PathBuf>,
    /// Time bound of one delivery (connect, TLS, send).
    pub timeout_seconds: u64,
    /// Attempts before a message is marked failed.
    pub max_attempts: i64,
    /// Seconds before the second attempt; doubled for each further one (capped at an hour).
    pub first_backoff_seconds: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: String::new(),
            password: Secret::default(),
            from: "dictaflow <dictaflow@localhost>".into(),
            ca_file: None,
            timeout_seconds: 30,
            max_attempts: 8,
            first_backoff_seconds: 60,
        }
    }
}

impl SmtpConfig {
    pub fn enabled(&self) -> bool {
        !self.host.is_empty()
    }
}

/// The `[notify]` section: links in emails and when the digest and weekly report go out.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The address users open dictaflow at, for the links in emails.
    pub base_url: String,
    /// The time zone of the hours below (IANA name).
    pub timezone: String,
    /// Local hour (0-23) after which each day's digest is sent.
    pub digest_hour: u32,
    /// The day the weekly report is made for the seven days before it.
    pub weekly_report_day: String,
    /// Local hour (0-23) of that day after which the weekly report is made.
    pub weekly_report_hour: u32,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8080".into(),
            timezone: "Europe/London".into(),
            digest_hour: 7,
            weekly_report_day: "monday".into(),
            weekly_report_hour: 7,
        }
    }
}

impl NotifyConfig {
    /// Checks the section; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(format!("notify.timezone: {:?} is not an IANA time zone like Europe/London", self.timezone));
        }
        if self.digest_hour > 23 || self.weekly_report_hour > 23 {
            return Err("notify.digest_hour and notify.weekly_report_hour must be 0 to 23".into());
        }
        if self.weekday().is_none() {
            return Err(format!("notify.weekly_report_day: {:?} is not a day like monday", self.weekly_report_day));
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err("notify.base_url must start with http:// or https://".into());
        }
        Ok(())
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Europe::London)
    }

    pub fn weekday(&self) -> Option<chrono::Weekday> {
        self.weekly_report_day.parse().ok()
    }

    /// `base_url` joined with an absolute `path`.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }
}
