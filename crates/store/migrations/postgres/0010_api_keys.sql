-- Named, revocable API keys for an organisation's admins, stored as their
-- hashes, with who made each (an audit actor: "operator", "admin:ID",
-- "api-key:ID"), so that removing an admin revokes the keys they made.
-- The operator's admin token becomes the key named "admin token".
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL,
    last_used_at BIGINT,
    UNIQUE (org_id, name)
);
INSERT INTO api_keys (id, org_id, name, token_hash, created_at, created_by)
    SELECT replace(gen_random_uuid()::text, '-', ''), org_id, 'admin token', token_hash, created_at, 'operator'
    FROM admin_tokens;
DROP TABLE admin_tokens;
