-- Users, teams, credentials, audio blobs, dictations, jobs, drafts and events.
-- Times are unix milliseconds (INTEGER); ids are opaque text (UUID v7).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('clinician','secretary','team_lead','superuser')),
    password_hash TEXT,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL CHECK (kind IN ('session','api')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE blobs (
    sha256     TEXT PRIMARY KEY,
    bytes      INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE dictations (
    id                TEXT PRIMARY KEY,
    status            TEXT NOT NULL,
    stage             TEXT NOT NULL,
    workflow_name     TEXT,
    workflow_version  INTEGER,
    priority          TEXT NOT NULL CHECK (priority IN ('routine','urgent','two_week_wait')),
    specialty         TEXT,
    letter_type       TEXT,
    clinician_id      TEXT NOT NULL REFERENCES users(id),
    assignee_id       TEXT REFERENCES users(id),
    created_by        TEXT NOT NULL REFERENCES users(id),
    patient_nhs_number TEXT,
    patient_name      TEXT,
    patient_dob       TEXT,
    hospital_number   TEXT,
    notes             TEXT,
    audio_sha256      TEXT NOT NULL REFERENCES blobs(sha256),
    audio_bytes       INTEGER NOT NULL,
    audio_container   TEXT NOT NULL,
    audio_codec       TEXT NOT NULL,
    audio_sample_rate INTEGER NOT NULL,
    audio_channels    INTEGER NOT NULL,
    audio_bits        INTEGER,
    audio_duration    REAL NOT NULL,
    audio_peak_dbfs   REAL NOT NULL,
    audio_rms_dbfs    REAL NOT NULL,
    audio_silent      INTEGER NOT NULL,
    audio_warnings    TEXT NOT NULL DEFAULT '[]',
    original_filename TEXT,
    idempotency_key   TEXT,
    failure_reason    TEXT,
    due_at            INTEGER,
    version           INTEGER NOT NULL DEFAULT 1,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX dictations_idempotency ON dictations(created_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX dictations_created ON dictations(created_at DESC, id DESC);
CREATE INDEX dictations_clinician ON dictations(clinician_id, created_at DESC);
CREATE INDEX dictations_assignee ON dictations(assignee_id, created_at DESC);
CREATE INDEX dictations_status ON dictations(status, created_at DESC);

CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    dictation_id     TEXT REFERENCES dictations(id) ON DELETE CASCADE,
    priority_rank    INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    progress         REAL NOT NULL DEFAULT 0,
    last_error       TEXT,
    run_after        INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER
);
CREATE INDEX jobs_ready ON jobs(status, priority_rank, created_at);
CREATE INDEX jobs_dictation ON jobs(dictation_id);

CREATE TABLE transcripts (
    dictation_id       TEXT PRIMARY KEY REFERENCES dictations(id) ON DELETE CASCADE,
    model              TEXT NOT NULL,
    language           TEXT,
    raw_text           TEXT NOT NULL,
    text               TEXT NOT NULL,
    segments           TEXT NOT NULL,
    processing_seconds REAL NOT NULL,
    created_at         INTEGER NOT NULL
);

CREATE TABLE drafts (
    dictation_id TEXT PRIMARY KEY REFERENCES dictations(id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    text         TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    updated_by   TEXT REFERENCES users(id)
);

CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    dictation_id TEXT NOT NULL REFERENCES dictations(id) ON DELETE CASCADE,
    at           INTEGER NOT NULL,
    actor_id     TEXT REFERENCES users(id),
    action       TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT,
    comment      TEXT
);
CREATE INDEX events_dictation ON events(dictation_id, at);
