-- The oversight views count open letters under the caller's visibility rule, which reads
-- the letter's holder, clinician and pool.
--
-- The load per person counts each holder's open letters, and the open letters nobody
-- holds: with the clinician and pool in the holder index the counts are read from it
-- alone (without them the planner preferred the covering open-letters index and walked
-- every open letter).
DROP INDEX dictations_held;
CREATE INDEX dictations_held ON dictations(assignee_id, finished_at, due_at, warn_at, clinician_id, pool);

-- The at-risk view's totals for a team lead or a clinician are sums over the ways a letter
-- is visible (its clinician shares a team with the caller, it is in one of their teams'
-- pools, they hold it): one index per way, each by due and warning time, so each count is
-- a range of the letters the caller may see.
CREATE INDEX dictations_open_clinician ON dictations(clinician_id, finished_at, due_at, warn_at, assignee_id, pool);
CREATE INDEX dictations_open_pool ON dictations(pool, finished_at, due_at, warn_at, clinician_id, assignee_id);
