-- Webhooks configured by a super-user, their durable delivery outbox, and local
-- closures added to the shipped working calendars.

CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    events     TEXT NOT NULL,           -- JSON list of event names
    enabled    BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    created_by TEXT REFERENCES users(id)
);

-- One row per (webhook, event): written in the transaction that produced the event,
-- then claimed under a lease by a deliverer and retried with backoff.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    event_key        TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','delivering','delivered','failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    last_status      BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries(webhook_id, event_key);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status IN ('pending','delivering');
CREATE INDEX webhook_deliveries_list ON webhook_deliveries(webhook_id, created_at DESC);

CREATE TABLE calendar_closures (
    calendar   TEXT NOT NULL,
    day        TEXT NOT NULL,           -- YYYY-MM-DD, local to the calendar
    reason     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT REFERENCES users(id),
    PRIMARY KEY (calendar, day)
);

-- The work queue reads only open letters' routing columns: a covering index (with the
-- leading columns of the one it replaces) keeps the query off the wide table rows.
DROP INDEX dictations_open;
CREATE INDEX dictations_open ON dictations(finished_at, due_at, warn_at, id, assignee_id, pool, clinician_id, stage,
    workflow_name, workflow_version);

-- The report's time per stage and breach lookups read each letter's history from the
-- index alone (same leading columns as the index it replaces).
DROP INDEX events_dictation;
CREATE INDEX events_dictation ON events(dictation_id, at, id, to_stage, assignee_id);

-- The turnaround report reads a month of letters from this index alone.
CREATE INDEX dictations_report ON dictations(created_at, id, clinician_id, secretary_id, finished_at, due_at, status,
    specialty, priority, workflow_name);
