-- Limen schema, PostgreSQL dialect. Times are Unix seconds. No table holds an image.
CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    -- the organisation's data key, encrypted by the operator's master key
    wrapped_key BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE TABLE admin_tokens (
    token_hash BYTEA PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE TABLE people (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    first_name TEXT NOT NULL,
    last_name  TEXT NOT NULL,
    email      TEXT NOT NULL,
    acs_id     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    invited_at BIGINT,
    UNIQUE (org_id, email),
    UNIQUE (org_id, acs_id)
);
CREATE INDEX people_email ON people (email);
CREATE TABLE invitations (
    token_hash BYTEA PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX invitations_person ON invitations (person_id);
CREATE TABLE accounts (
    person_id     TEXT PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    registered_at BIGINT NOT NULL
);
CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_person ON sessions (person_id);
CREATE TABLE consents (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id         TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    statement_version TEXT NOT NULL,
    method            TEXT NOT NULL,
    given_at          BIGINT NOT NULL,
    withdrawn_at      BIGINT
);
CREATE INDEX consents_person ON consents (person_id);
CREATE TABLE face_vectors (
    person_id     TEXT PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    model_version TEXT NOT NULL,
    -- AES-256-GCM under the organisation's data key: nonce || ciphertext || tag
    sealed        BYTEA NOT NULL,
    enrolled_at   BIGINT NOT NULL
);
-- The non-biometric proof that someone cancelled their registration.
CREATE TABLE cancellations (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    person_id    TEXT NOT NULL,
    cancelled_at BIGINT NOT NULL
);
CREATE TABLE audit_entries (
    chain     TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL,
    PRIMARY KEY (chain, seq)
);
