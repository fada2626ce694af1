-- Crypto-shredding per person: each person's set of vectors is sealed
-- under a key of its own, wrapped by the organisation's data key and bound
-- to the person. The key is deleted with the set (withdrawal, removal,
-- cancellation, erasure, organisation deletion) and replaced at every
-- re-enrolment. Existing sets are re-sealed under new keys by the store,
-- after this script.
CREATE TABLE vector_keys (
    person_id TEXT PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    wrapped   BLOB NOT NULL
);
