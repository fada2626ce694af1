-- A password link is an employee's or an admin's: exactly one of the two
-- owners, at most one link each, used once and expiring; only the token's
-- hash is stored.
ALTER TABLE password_resets ALTER COLUMN person_id DROP NOT NULL;
ALTER TABLE password_resets ADD COLUMN admin_id TEXT UNIQUE REFERENCES admins (id) ON DELETE CASCADE;
ALTER TABLE password_resets ADD CONSTRAINT password_resets_one_owner
    CHECK ((person_id IS NULL) <> (admin_id IS NULL));
