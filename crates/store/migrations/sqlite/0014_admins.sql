-- An organisation's admins who sign in with e-mail and password: invited
-- by the operator or another admin (the pending link kept as its hash),
-- registered when they choose a password; their sessions.
CREATE TABLE admins (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    email                 TEXT NOT NULL,
    name                  TEXT NOT NULL,
    invited_at            INTEGER NOT NULL,
    invitation_hash       BLOB UNIQUE,
    invitation_expires_at INTEGER,
    password_hash         TEXT,
    registered_at         INTEGER,
    UNIQUE (org_id, email)
);
CREATE INDEX admins_email ON admins (email);
CREATE TABLE admin_sessions (
    token_hash BLOB PRIMARY KEY,
    admin_id   TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);
