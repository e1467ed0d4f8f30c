-- no-transaction
-- The read-only `manager` role (directorate / business manager), and an index for the
-- load per person (open letters counted per holder, by due and warning time).
--
-- SQLite cannot change a CHECK constraint in place: the users table is rebuilt (the
-- documented 12-step procedure), with foreign key enforcement off while the old table is
-- dropped so that nothing referencing a user cascades (the rows keep their ids).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE users_new (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('clinician','secretary','team_lead','manager','superuser')),
    password_hash TEXT,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);
INSERT INTO users_new (id, username, display_name, role, password_hash, active, created_at)
    SELECT id, username, display_name, role, password_hash, active, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX dictations_held ON dictations(assignee_id, finished_at, due_at, warn_at);
COMMIT;
PRAGMA foreign_keys = ON;
