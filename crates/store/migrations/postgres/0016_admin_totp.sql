-- An admin's optional second factor: the shared secret of their
-- authenticator app, sealed under the organisation's data key like a
-- facial vector; while being set up it waits in totp_pending until a code
-- proves the app holds it. A code is taken once: totp_last_step is the
-- last 30-second step whose code signed in.
ALTER TABLE admins ADD COLUMN totp_secret BYTEA;
ALTER TABLE admins ADD COLUMN totp_pending BYTEA;
ALTER TABLE admins ADD COLUMN totp_last_step BIGINT;
