-- Links to choose a new password: at most one per person, used once and
-- expiring; only the token's hash is stored.
CREATE TABLE password_resets (
    token_hash BYTEA PRIMARY KEY,
    person_id  TEXT NOT NULL UNIQUE REFERENCES people (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
