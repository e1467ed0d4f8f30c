-- Recognition vocabularies: term lists fed to the decoder as a prompt.
-- scope is 'global', 'specialty:<name>' or 'clinician:<username>'.
CREATE TABLE vocabularies (
    scope      TEXT PRIMARY KEY,
    terms      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT REFERENCES users(id)
);
