-- The read-only `manager` role (directorate / business manager), and an index for the
-- load per person (open letters counted per holder, by due and warning time).
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('clinician','secretary','team_lead','manager','superuser'));
CREATE INDEX dictations_held ON dictations(assignee_id, finished_at, due_at, warn_at);
