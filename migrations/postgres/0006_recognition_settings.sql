-- Recognition settings chosen by a super-user (at most one row). When present they
-- override the configuration file's stt.* defaults for transcriptions that start from
-- then on, in every process sharing the database. `version` grows with each change, so a
-- worker notices a change with one cheap read before each job.
CREATE TABLE recognition_settings (
    id                       BIGINT PRIMARY KEY CHECK (id = 1),
    model                    TEXT NOT NULL,
    beam_size                BIGINT NOT NULL,      -- 1 = greedy, 2..8 = beam search
    language                 TEXT NOT NULL,        -- '' = the model's default
    vad                      BIGINT NOT NULL,      -- 0/1
    low_confidence_threshold DOUBLE PRECISION NOT NULL,
    version                  BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    updated_by               TEXT REFERENCES users(id)
);
