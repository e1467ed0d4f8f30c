-- The audit trail: append-only and hash-chained. Each row carries the hash of the row
-- before it (`prev_hash`) and its own `hash` over a canonical encoding of its fields
-- and `prev_hash`; `audit_head` holds the last seq and hash; appends lock it
-- (`SELECT ... FOR UPDATE`) so the chain stays linear with several writers.
-- Retention: when a dictation's audio was purged.

CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor_id    TEXT,
    actor       TEXT,
    action      TEXT NOT NULL,
    target_type TEXT,
    target_id   TEXT,
    client_addr TEXT,
    user_agent  TEXT,
    details     TEXT NOT NULL DEFAULT '{}',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor, seq);
CREATE INDEX audit_log_action ON audit_log(action, seq);
CREATE INDEX audit_log_target ON audit_log(target_id, seq);
CREATE INDEX audit_log_login ON audit_log(action, target_id, at);
CREATE INDEX audit_log_client ON audit_log(action, client_addr, at);

CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

ALTER TABLE dictations ADD COLUMN audio_purged_at BIGINT;

-- Personal API tokens carry a name chosen by their owner.
ALTER TABLE tokens ADD COLUMN name TEXT;

-- Single sign-on: a login in progress (state, nonce and PKCE verifier), consumed once.
CREATE TABLE oidc_logins (
    state      TEXT PRIMARY KEY,
    nonce      TEXT NOT NULL,
    verifier   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
