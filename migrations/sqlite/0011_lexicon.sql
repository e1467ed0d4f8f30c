-- The clinical lexicon. The release entries ship inside the binary (lexicon/ in the
-- source tree); these tables hold what the department changed and learned.

-- Entries added by a super-user, imported from a word list, or learned from corrections.
-- scope is 'global', 'specialty:<name>' or 'clinician:<username>' (as vocabularies);
-- term_key is the term lower-cased with its spaces collapsed (one entry per scope and key).
CREATE TABLE lexicon_entries (
    id         TEXT PRIMARY KEY,
    term       TEXT NOT NULL,
    term_key   TEXT NOT NULL,
    category   TEXT NOT NULL,
    scope      TEXT NOT NULL,
    source     TEXT NOT NULL,   -- added | imported | learned
    created_at BIGINT NOT NULL,
    created_by TEXT REFERENCES users(id),
    UNIQUE (scope, term_key)
);

-- Release entries a super-user removed (restorable): the release entry's id.
CREATE TABLE lexicon_suppressed (
    id         TEXT PRIMARY KEY,
    removed_at BIGINT NOT NULL,
    removed_by TEXT REFERENCES users(id)
);

-- Terms secretaries typed where recognition missed them, counted per scope
-- ('clinician:<username>' and 'specialty:<name>'). dismissed: a super-user removed the
-- learned entry, so it is not learned again.
CREATE TABLE lexicon_learned_terms (
    scope      TEXT NOT NULL,
    term_key   TEXT NOT NULL,
    term       TEXT NOT NULL,
    hits       BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    dismissed  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, term_key)
);

-- What recognition heard (1-4 lower-case words) where the letter has a term: proposed to
-- a super-user; approved ones are applied to new drafts of that scope.
CREATE TABLE lexicon_substitutions (
    id            TEXT PRIMARY KEY,
    scope         TEXT NOT NULL,
    heard         TEXT NOT NULL,
    corrected     TEXT NOT NULL,
    corrected_key TEXT NOT NULL,
    hits          BIGINT NOT NULL,
    examples      TEXT NOT NULL,   -- JSON array of up to 3 dictation ids
    status        TEXT NOT NULL,   -- proposed | approved | rejected
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    decided_at    BIGINT,
    decided_by    TEXT REFERENCES users(id),
    UNIQUE (scope, heard, corrected_key)
);
CREATE INDEX lexicon_substitutions_status ON lexicon_substitutions (status, scope);

-- Letters to learn from, queued in the transaction that approved or dispatched them (one
-- row per letter: a letter approved twice is learned from once).
CREATE TABLE lexicon_learning (
    dictation_id TEXT PRIMARY KEY REFERENCES dictations(id),
    queued_at    BIGINT NOT NULL,
    done_at      BIGINT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX lexicon_learning_pending ON lexicon_learning (done_at, queued_at);
