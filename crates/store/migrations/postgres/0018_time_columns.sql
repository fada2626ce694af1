-- Schema 7 gave these times PostgreSQL's 32-bit INTEGER, which ends in
-- January 2038; every other time column is BIGINT, as SQLite's INTEGER is.
ALTER TABLE model_rollout ALTER COLUMN activated_at TYPE BIGINT;
ALTER TABLE model_rollout ALTER COLUMN transition_ends TYPE BIGINT;
ALTER TABLE renewal_notices ALTER COLUMN sent_at TYPE BIGINT;
ALTER TABLE people ALTER COLUMN renewal_needed_since TYPE BIGINT;
ALTER TABLE statement_versions ALTER COLUMN shown_from TYPE BIGINT;
ALTER TABLE reconsent_requests ALTER COLUMN sent_at TYPE BIGINT;
