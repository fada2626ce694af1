-- A person holds a small set of vectors (slot 0, 1, …), each sealed on its
-- own. An existing single vector becomes slot 0 of a one-element set.
ALTER TABLE face_vectors ADD COLUMN slot BIGINT NOT NULL DEFAULT 0;
ALTER TABLE face_vectors ALTER COLUMN slot DROP DEFAULT;
ALTER TABLE face_vectors DROP CONSTRAINT face_vectors_pkey;
ALTER TABLE face_vectors ADD PRIMARY KEY (person_id, slot);
CREATE INDEX face_vectors_model ON face_vectors (model_version);
-- Every change to what a gallery must hold, numbered without gaps in
-- commit order (the head row's lock orders the writers): written in the
-- transaction of the change itself and announced by NOTIFY at its commit,
-- so an instance that applied every change up to the head holds what the
-- store holds. Ids only, never a vector.
CREATE TABLE face_change_head (
    id  BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO face_change_head (id, seq) VALUES (1, 0);
CREATE TABLE face_changes (
    seq       BIGINT PRIMARY KEY,
    org_id    TEXT NOT NULL,
    -- NULL: the whole organisation was deleted
    person_id TEXT,
    at        BIGINT NOT NULL
);
