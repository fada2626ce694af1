-- The time zone (an IANA name) an organisation's admins read times in on
-- their pages; Amsterdam's until an admin chooses another.
ALTER TABLE organisations ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Europe/Amsterdam';
