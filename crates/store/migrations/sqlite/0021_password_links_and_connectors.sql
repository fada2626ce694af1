-- A password link is an employee's or an admin's: exactly one of the two
-- owners, at most one link each, used once and expiring; only the token's
-- hash is stored. (SQLite cannot relax a column's NOT NULL in place.)
CREATE TABLE password_resets_both (
    token_hash BLOB PRIMARY KEY,
    person_id  TEXT UNIQUE REFERENCES people (id) ON DELETE CASCADE,
    admin_id   TEXT UNIQUE REFERENCES admins (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    CHECK ((person_id IS NULL) <> (admin_id IS NULL))
);
INSERT INTO password_resets_both (token_hash, person_id, expires_at)
    SELECT token_hash, person_id, expires_at FROM password_resets;
DROP TABLE password_resets;
ALTER TABLE password_resets_both RENAME TO password_resets;
-- An HTTP connector's URL and secret can change: each change counts up,
-- so that every instance sees that a connector it built is out of date.
ALTER TABLE entrances ADD COLUMN connector_version INTEGER NOT NULL DEFAULT 0;
