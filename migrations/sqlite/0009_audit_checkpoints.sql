-- Security hardening (issue 19).
--
-- Approvals pin the text they approved: the history step of an `approve` (and of a
-- `reopen`, when an approved letter is edited and goes back for approval) records the
-- draft version and the SHA-256 of its text.
ALTER TABLE events ADD COLUMN draft_version INTEGER;
ALTER TABLE events ADD COLUMN text_sha256 TEXT;

-- Signed checkpoints of the audit chain (see src/audit/anchor.rs): the chain's last seq,
-- its hash and the row count at a time, signed with the server's Ed25519 key (kept in a
-- file, not here). Also appended to an export file outside the database.
CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      TEXT NOT NULL,
    rows      INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    key_id    TEXT NOT NULL,
    signature TEXT NOT NULL
);
