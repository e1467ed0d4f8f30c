-- Resumable uploads: a long recording sent in chunks over an unreliable network. The
-- bytes received so far are in `<data_dir>/uploads/<id>.part` (fsynced before each
-- chunk is acknowledged); `received` is the acknowledged length. Every session has an
-- idempotency key (the client's, or one made up by the server), unique per user, that the
-- finished dictation carries. A session not touched before `expires_at` is removed with
-- its file; a finished one keeps `dictation_id` until then so a retry gets the answer.
CREATE TABLE upload_sessions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id),
    idempotency_key TEXT NOT NULL,
    length          INTEGER NOT NULL,
    received        INTEGER NOT NULL DEFAULT 0,
    filename        TEXT,
    fields          TEXT NOT NULL DEFAULT '{}',  -- the form's text fields (JSON object)
    dictation_id    TEXT REFERENCES dictations(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX upload_sessions_key ON upload_sessions(user_id, idempotency_key);
CREATE INDEX upload_sessions_expiry ON upload_sessions(expires_at);

-- Personal settings kept on the server (the foot pedal set-up, ...): one JSON document
-- per user and name.
CREATE TABLE user_settings (
    user_id    TEXT NOT NULL REFERENCES users(id),
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, name)
);
