-- Time each letter spent in each workflow stage, kept up to date by every transition
-- (one row per letter and stage; a stage visited twice, in a return loop, adds both
-- visits up). Only finished visits count: a letter still in a stage is in the backlog.
-- The turnaround report aggregates these rows instead of replaying the history.
CREATE TABLE stage_times (
    dictation_id TEXT NOT NULL REFERENCES dictations(id),
    stage        TEXT NOT NULL,
    visits       BIGINT NOT NULL,   -- times the letter left the stage
    elapsed_ms   BIGINT NOT NULL,   -- wall-clock time in the stage
    working_ms   BIGINT NOT NULL,   -- working time (the workflow's calendar) in the stage
    first_at     BIGINT NOT NULL,   -- when the letter first entered the stage (orders the stages)
    received_at  BIGINT NOT NULL,   -- the letter's dictations.created_at (the report's period)
    clinician_id TEXT NOT NULL,     -- the letter's dictations.clinician_id (the report's scope)
    PRIMARY KEY (dictation_id, stage)
);
-- The report reads a period's rows from this index alone.
CREATE INDEX stage_times_report ON stage_times (received_at, stage, clinician_id, elapsed_ms, working_ms, first_at);

-- One-off data fills that need the application (here: working time, which needs the
-- calendar), run by the first process that starts on the new schema, then removed.
CREATE TABLE pending_backfills (
    name TEXT PRIMARY KEY
);
INSERT INTO pending_backfills (name) VALUES ('stage_times');
