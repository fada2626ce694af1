-- Which model version enrolment uses and, during a transition, the older
-- version the entrances still match until `transition_ends`. One row,
-- written by the first instance that starts on this database.
CREATE TABLE model_rollout (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    active          TEXT NOT NULL,
    activated_at    INTEGER NOT NULL,
    retiring        TEXT,
    transition_ends INTEGER,
    -- seconds before the end at which people who have not renewed are
    -- reminded, comma-separated, largest first
    reminders       TEXT NOT NULL DEFAULT ''
);
-- Renewal requests sent to a person for a version: claimed before the
-- e-mail goes, so that several instances send each notice once.
CREATE TABLE renewal_notices (
    person_id     TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    model_version TEXT NOT NULL,
    notice        INTEGER NOT NULL,
    sent_at       INTEGER NOT NULL,
    PRIMARY KEY (person_id, model_version, notice)
);
-- Set when a transition's end deleted the person's vectors; cleared when
-- they enrol again.
ALTER TABLE people ADD COLUMN renewal_needed_since INTEGER;
-- The privacy statement versions each organisation has shown, and since
-- when: a consent to an older version stays valid for the re-consent
-- period after its successor was first shown, then lapses.
CREATE TABLE statement_versions (
    org_id     TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    version    TEXT NOT NULL,
    shown_from INTEGER NOT NULL,
    PRIMARY KEY (org_id, version)
);
-- Requests to consent again to a new statement, claimed before the
-- e-mail goes.
CREATE TABLE reconsent_requests (
    person_id         TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    statement_version TEXT NOT NULL,
    sent_at           INTEGER NOT NULL,
    PRIMARY KEY (person_id, statement_version)
);
-- Whether an entrance judges liveness: 'off', 'monitor' (recorded only)
-- or 'enforce' (a pass judged not live is refused).
ALTER TABLE entrances ADD COLUMN liveness TEXT NOT NULL DEFAULT 'monitor';
