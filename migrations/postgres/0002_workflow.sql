-- Workflow engine and turnaround timers: versioned workflow and routing files, the
-- workflow state of each dictation, draft history, timers, notifications, absences.
-- Times are unix milliseconds (BIGINT); ids are opaque text (UUID v7).

CREATE TABLE workflow_versions (
    name       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    yaml       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT REFERENCES users(id),
    PRIMARY KEY (name, version)
);

CREATE TABLE routing_versions (
    version    BIGINT PRIMARY KEY,
    yaml       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT REFERENCES users(id)
);

ALTER TABLE dictations ADD COLUMN pool TEXT;
ALTER TABLE dictations ADD COLUMN routing_rule TEXT;
ALTER TABLE dictations ADD COLUMN assign_strategy TEXT;
ALTER TABLE dictations ADD COLUMN stage_entered_at BIGINT;
ALTER TABLE dictations ADD COLUMN warn_at BIGINT;
ALTER TABLE dictations ADD COLUMN sla_state TEXT;
ALTER TABLE dictations ADD COLUMN finished_at BIGINT;
ALTER TABLE dictations ADD COLUMN secretary_id TEXT REFERENCES users(id);
CREATE INDEX dictations_open ON dictations(finished_at, due_at);

ALTER TABLE events ADD COLUMN from_stage TEXT;
ALTER TABLE events ADD COLUMN to_stage TEXT;
ALTER TABLE events ADD COLUMN assignee_id TEXT REFERENCES users(id);

CREATE TABLE draft_versions (
    dictation_id TEXT NOT NULL REFERENCES dictations(id) ON DELETE CASCADE,
    version      BIGINT NOT NULL,
    text         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT REFERENCES users(id),
    PRIMARY KEY (dictation_id, version)
);

-- One row per (dictation, kind, scope): scope '' is the whole letter, else a stage name,
-- so each escalation fires at most once per stage. Absence starts use absence_id.
CREATE TABLE timers (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('warning','breach','absence_start')),
    dictation_id TEXT REFERENCES dictations(id) ON DELETE CASCADE,
    absence_id   TEXT,
    scope        TEXT NOT NULL DEFAULT '',
    due_at       BIGINT NOT NULL,
    fired_at     BIGINT,
    late         BIGINT NOT NULL DEFAULT 0,
    cancelled_at BIGINT,
    created_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX timers_once ON timers(dictation_id, kind, scope);
CREATE INDEX timers_pending ON timers(due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;

CREATE TABLE notifications (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    dictation_id TEXT REFERENCES dictations(id) ON DELETE CASCADE,
    timer_id     TEXT REFERENCES timers(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    stage        TEXT,
    message      TEXT NOT NULL,
    late         BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    read_at      BIGINT
);
CREATE UNIQUE INDEX notifications_once ON notifications(timer_id, user_id);
CREATE INDEX notifications_user ON notifications(user_id, created_at DESC);

CREATE TABLE absences (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    from_at    BIGINT NOT NULL,
    to_at      BIGINT NOT NULL,
    cover_id   TEXT REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX absences_user ON absences(user_id, to_at);

-- Round-robin position per pool.
CREATE TABLE pool_cursors (
    pool         TEXT PRIMARY KEY,
    last_username TEXT
);
