-- Login throttling. Every password check is reserved here, counted as a failure, before
-- the password is hashed, in the same transaction as the count that admits it, so that
-- concurrent attempts cannot all pass the check; a success marks its row. Rows older
-- than the throttle window are pruned by the next login.
CREATE TABLE login_attempts (
    id          TEXT PRIMARY KEY,
    account     TEXT NOT NULL,
    client_addr TEXT NOT NULL,               -- '' when the address is unknown
    at          BIGINT NOT NULL,
    succeeded   INTEGER NOT NULL DEFAULT 0   -- 1 once the password matched
);
CREATE INDEX login_attempts_account ON login_attempts(account, at);
CREATE INDEX login_attempts_client ON login_attempts(client_addr, at);
CREATE INDEX login_attempts_at ON login_attempts(at);

-- Throttled (429) login attempts, counted per window and key instead of one audit row
-- each; a window that has ended is flushed into one `auth.login_throttled` audit row
-- carrying the count, and its row removed in the same transaction.
CREATE TABLE login_throttled (
    account      TEXT NOT NULL,   -- '' when the address limit throttled the attempts
    client_addr  TEXT NOT NULL,   -- '' when the address is unknown
    window_start BIGINT NOT NULL,
    window_end   BIGINT NOT NULL,
    attempts     BIGINT NOT NULL,
    first_at     BIGINT NOT NULL,
    last_at      BIGINT NOT NULL,
    PRIMARY KEY (account, client_addr, window_start)
);
CREATE INDEX login_throttled_end ON login_throttled(window_end);
