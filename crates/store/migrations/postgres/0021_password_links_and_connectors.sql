-- A password link is an employee's or an admin's: exactly one of the two
-- owners, at most one link each, used once and expiring; only the token's
-- hash is stored.
ALTER TABLE password_resets ALTER COLUMN person_id DROP NOT NULL;
ALTER TABLE password_resets ADD COLUMN admin_id TEXT UNIQUE REFERENCES admins (id) ON DELETE CASCADE;
ALTER TABLE password_resets ADD CONSTRAINT password_resets_one_owner
    CHECK ((person_id IS NULL) <> (admin_id IS NULL));
-- An HTTP connector's URL and secret can change: each change counts up,
-- so that every instance sees that a connector it built is out of date.
ALTER TABLE entrances ADD COLUMN connector_version BIGINT NOT NULL DEFAULT 0;
