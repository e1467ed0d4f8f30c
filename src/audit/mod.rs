//! The audit trail: an append-only, hash-chained log of logins, views and downloads of
//! dictations, draft edits, transitions, exports and administrative changes, with who,
//! what, when and from where. [`chain`] is the pure hash chain; [`store`] its table.

pub mod anchor;
pub mod chain;
pub mod store;
pub mod writer;

use serde_json::Value;

pub use chain::{Break, Record};

/// Actions written to the log (the `action` column). Families share a prefix.
pub mod action {
    pub const LOGIN: &str = "auth.login";
    pub const LOGIN_FAILED: &str = "auth.login_failed";
    pub const LOGIN_THROTTLED: &str = "auth.login_throttled";
    pub const LOGOUT: &str = "auth.logout";
    pub const OIDC_BIND: &str = "auth.oidc_bind";
    pub const TOKEN_CREATE: &str = "auth.token_create";
    pub const TOKEN_REVOKE: &str = "auth.token_revoke";
    pub const DICTATION_CREATE: &str = "dictation.create";
    pub const DICTATION_VIEW: &str = "dictation.view";
    pub const DICTATION_LIST: &str = "dictation.list";
    pub const QUEUE_VIEW: &str = "dictation.queue";
    pub const AUDIO_DOWNLOAD: &str = "dictation.audio";
    pub const HISTORY_VIEW: &str = "dictation.history";
    pub const DRAFT_EDIT: &str = "dictation.draft_edit";
    pub const TRANSITION: &str = "dictation.transition";
    pub const AUDIO_PURGE: &str = "dictation.audio_purge";
    pub const TRANSCRIBE_DIRECT: &str = "transcription.direct";
    pub const REPORT_EXPORT: &str = "report.export";
    pub const REPORT_WEEKLY: &str = "report.weekly_made";
    pub const REPORT_WEEKLY_DOWNLOAD: &str = "report.weekly_download";
    pub const NOTIFY_SETTINGS_PUT: &str = "account.notification_settings";
    pub const LETTER_EXPORT: &str = "letter.export";
    pub const LETTER_DETAILS_EDIT: &str = "dictation.letter_details";
    pub const LETTER_TEMPLATE_PUT: &str = "admin.letter_template_put";
    pub const LETTERHEAD_PUT: &str = "admin.letterhead_put";
    pub const LETTER_DELIVERY: &str = "letter.delivery";
    pub const OVERSIGHT_VIEW: &str = "dictation.oversight";
    pub const ABSENCE_CREATE: &str = "admin.absence_create";
    pub const ABSENCE_UPDATE: &str = "admin.absence_update";
    pub const ABSENCE_CANCEL: &str = "admin.absence_cancel";
    pub const USER_CREATE: &str = "admin.user_create";
    pub const USER_UPDATE: &str = "admin.user_update";
    pub const USER_PASSWORD: &str = "admin.user_password";
    pub const USER_OIDC_UNBIND: &str = "admin.user_oidc_unbind";
    pub const TEAM_CREATE: &str = "admin.team_create";
    pub const TEAM_MEMBER_ADD: &str = "admin.team_member_add";
    pub const TEAM_MEMBER_REMOVE: &str = "admin.team_member_remove";
    pub const WORKFLOW_PUT: &str = "admin.workflow_put";
    pub const ROUTING_PUT: &str = "admin.routing_put";
    pub const VOCABULARY_PUT: &str = "admin.vocabulary_put";
    pub const VOCABULARY_DELETE: &str = "admin.vocabulary_delete";
    pub const WEBHOOK_CREATE: &str = "admin.webhook_create";
    pub const WEBHOOK_DELETE: &str = "admin.webhook_delete";
    pub const CLOSURE_ADD: &str = "admin.calendar_closure_add";
    pub const CLOSURE_REMOVE: &str = "admin.calendar_closure_remove";
    pub const RECOGNITION_SETTINGS_PUT: &str = "admin.recognition_settings_put";
    pub const LEXICON_ADD: &str = "admin.lexicon_add";
    pub const LEXICON_REMOVE: &str = "admin.lexicon_remove";
    pub const LEXICON_RESTORE: &str = "admin.lexicon_restore";
    pub const LEXICON_IMPORT: &str = "admin.lexicon_import";
    pub const LEXICON_SUBSTITUTION_DECIDE: &str = "admin.lexicon_substitution_decide";
}

/// Who is acting, and from where: the common part of the entries one request writes.
#[derive(Debug, Clone, Default)]
pub struct Who {
    pub actor_id: Option<String>,
    pub actor: Option<String>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

impl Who {
    /// The command line on this machine (no user session, no address).
    pub fn command_line() -> Self {
        Self { actor: Some("cli".into()), ..Default::default() }
    }

    pub fn entry(&self, action: &'static str) -> NewEntry {
        NewEntry {
            actor_id: self.actor_id.clone(),
            actor: self.actor.clone(),
            client_addr: self.client_addr.clone(),
            user_agent: self.user_agent.clone(),
            ..NewEntry::new(action)
        }
    }
}

/// An entry to append. `actor` is the username (kept as written at the time).
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    pub actor_id: Option<String>,
    pub actor: Option<String>,
    pub action: &'static str,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    pub details: Value,
}

impl NewEntry {
    pub fn new(action: &'static str) -> Self {
        Self { action, details: Value::Object(Default::default()), ..Default::default() }
    }
    pub fn by(mut self, user_id: &str, username: &str) -> Self {
        self.actor_id = Some(user_id.to_string());
        self.actor = Some(username.to_string());
        self
    }
    pub fn target(mut self, kind: &str, id: &str) -> Self {
        self.target_type = Some(kind.to_string());
        self.target_id = Some(id.to_string());
        self
    }
    pub fn from_client(mut self, addr: Option<&str>, user_agent: Option<&str>) -> Self {
        self.client_addr = addr.map(str::to_string);
        // Bounded: a user agent is the caller's text.
        self.user_agent = user_agent.map(|u| u.chars().take(512).collect());
        self
    }
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}
