-- Notifications that reach people: each user's email settings, the email outbox (a row
-- per message, retried with backoff under a lease), and the weekly reports kept for
-- download. Times are unix milliseconds (INTEGER); ids are opaque text (UUID v7).

CREATE TABLE notification_settings (
    user_id        TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    email          TEXT NOT NULL DEFAULT '',
    email_each     INTEGER NOT NULL DEFAULT 0,  -- an email for each new notification
    daily_digest   INTEGER NOT NULL DEFAULT 0,  -- one email a day with the unread ones
    weekly_report  INTEGER,                     -- 0/1; NULL = the role's default
    last_digest_at INTEGER,                     -- notifications up to here were in a digest
    updated_at     INTEGER NOT NULL
);

CREATE TABLE email_outbox (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('notification','digest','weekly_report')),
    dedupe_key       TEXT NOT NULL UNIQUE,
    user_id          TEXT REFERENCES users(id) ON DELETE CASCADE,
    to_address       TEXT NOT NULL,
    notification_id  TEXT REFERENCES notifications(id) ON DELETE CASCADE,
    report_id        TEXT,
    subject          TEXT,
    body_text        TEXT,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','sending','sent','failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER
);
CREATE INDEX email_outbox_due ON email_outbox(next_attempt_at) WHERE status IN ('pending','sending');
CREATE INDEX email_outbox_list ON email_outbox(created_at DESC);

-- One per week and reader's scope ('all', or 'user:<id>' for a reader who sees part).
CREATE TABLE weekly_reports (
    id          TEXT PRIMARY KEY,
    week_start  TEXT NOT NULL,                  -- YYYY-MM-DD, the Monday the week began
    scope_key   TEXT NOT NULL,
    period_from INTEGER NOT NULL,
    period_to   INTEGER NOT NULL,
    csv         TEXT NOT NULL,
    html        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (week_start, scope_key)
);
