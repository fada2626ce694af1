-- Keys the master key wraps besides the organisations' data keys, so that
-- `limen admin key rotate` can re-wrap them under a new master key:
-- 'audit', the key of the audit chains' links. Before this version it was
-- derived from the master key; it is stored with that same value (by the
-- store, after this script), so that every earlier link still verifies
-- under any later master key.
CREATE TABLE wrapped_keys (
    purpose TEXT PRIMARY KEY,
    wrapped BYTEA NOT NULL
);
