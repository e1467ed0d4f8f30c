-- Letters that leave the building (issue 23): the patient's and recipients' details of a
-- dictation, the signature fields of users, letter templates per letter type and
-- department, letterheads, and deliveries of dispatched letters.

-- Lines of an address are separated by newlines; addressee is 'gp' or 'patient';
-- cc_others holds one recipient a line.
CREATE TABLE letter_details (
    dictation_id     TEXT PRIMARY KEY REFERENCES dictations(id),
    patient_address  TEXT NOT NULL DEFAULT '',
    gp_practice_name TEXT NOT NULL DEFAULT '',
    gp_ods_code      TEXT NOT NULL DEFAULT '',
    gp_address       TEXT NOT NULL DEFAULT '',
    addressee        TEXT NOT NULL DEFAULT 'gp' CHECK (addressee IN ('gp','patient')),
    cc_patient       BIGINT NOT NULL DEFAULT 0,
    cc_others        TEXT NOT NULL DEFAULT '',
    updated_at       BIGINT NOT NULL,
    updated_by       TEXT REFERENCES users(id)
);

-- The signature block: "Dr Ann Patel / Consultant / Consultant ENT Surgeon".
ALTER TABLE users ADD COLUMN grade TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN job_title TEXT NOT NULL DEFAULT '';

-- A super-user's template; department '' applies to every department without its own.
-- Letter types without a row use the shipped template.
CREATE TABLE letter_templates (
    letter_type TEXT NOT NULL,
    department  TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT REFERENCES users(id),
    PRIMARY KEY (letter_type, department)
);

-- Letterheads; department '' is the trust's. The logo is a PNG, base64-encoded.
CREATE TABLE letterheads (
    department   TEXT PRIMARY KEY,
    organisation TEXT NOT NULL DEFAULT '',
    address      TEXT NOT NULL DEFAULT '',
    phone        TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    logo_png     TEXT,
    logo_width   BIGINT,
    logo_height  BIGINT,
    updated_at   BIGINT NOT NULL,
    updated_by   TEXT REFERENCES users(id)
);

-- A dispatched letter's delivery to the EPR inbox folder and the webhooks: queued in the
-- dispatch's transaction, attempted by the delivery worker (next_at doubles as the lease),
-- retried until done or failed.
CREATE TABLE letter_deliveries (
    id           TEXT PRIMARY KEY,
    dictation_id TEXT NOT NULL REFERENCES dictations(id),
    status       TEXT NOT NULL CHECK (status IN ('pending','done','failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    next_at      BIGINT NOT NULL,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    done_at      BIGINT
);
CREATE INDEX letter_deliveries_due ON letter_deliveries (status, next_at);
CREATE INDEX letter_deliveries_dictation ON letter_deliveries (dictation_id);
