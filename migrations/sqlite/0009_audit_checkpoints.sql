-- Security hardening (issue 19).
--
-- Approvals pin the text they approved: the history step of an `approve` (and of a
-- `reopen`, when an approved letter is edited and goes back for approval) records the
-- draft version and the SHA-256 of its text.
ALTER TABLE events ADD COLUMN draft_version INTEGER;
ALTER TABLE events ADD COLUMN text_sha256 TEXT;
