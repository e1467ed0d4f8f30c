-- The oversight view's at-risk total over every letter (super-users, managers of every
-- team): the letters warned already and not yet due are a range of the open letters by
-- warning time, fewer than those due later (the only range the open-letters index gives).
-- Every other condition on the warning time is written `+warn_at`, which this index cannot
-- serve, so the queue's bands and the team views keep their own indexes.
CREATE INDEX dictations_open_warn ON dictations(finished_at, warn_at, due_at, assignee_id, pool, clinician_id);
