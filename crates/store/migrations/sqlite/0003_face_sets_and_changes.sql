-- A person holds a small set of vectors (slot 0, 1, …), each sealed on its
-- own. An existing single vector becomes slot 0 of a one-element set.
CREATE TABLE face_vectors_sets (
    person_id     TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    slot          INTEGER NOT NULL,
    model_version TEXT NOT NULL,
    -- AES-256-GCM under the organisation's data key: nonce || ciphertext || tag
    sealed        BLOB NOT NULL,
    enrolled_at   INTEGER NOT NULL,
    PRIMARY KEY (person_id, slot)
);
INSERT INTO face_vectors_sets (person_id, slot, model_version, sealed, enrolled_at)
    SELECT person_id, 0, model_version, sealed, enrolled_at FROM face_vectors;
DROP TABLE face_vectors;
ALTER TABLE face_vectors_sets RENAME TO face_vectors;
CREATE INDEX face_vectors_model ON face_vectors (model_version);
-- Every change to what a gallery must hold, numbered without gaps in
-- commit order: written in the transaction of the change itself, so an
-- instance that applied every change up to the head holds what the store
-- holds. Ids only, never a vector.
CREATE TABLE face_change_head (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO face_change_head (id, seq) VALUES (1, 0);
CREATE TABLE face_changes (
    seq       INTEGER PRIMARY KEY,
    org_id    TEXT NOT NULL,
    -- NULL: the whole organisation was deleted
    person_id TEXT,
    at        INTEGER NOT NULL
);
