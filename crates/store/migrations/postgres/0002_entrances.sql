-- Entrances, their camera devices, and the decision events at them.
CREATE TABLE entrances (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    -- 'osdp' (the agent is a reader on the panel) or 'http' (Limen calls the ACS)
    connector     TEXT NOT NULL,
    http_url      TEXT,
    -- the HTTP connector's shared secret, sealed with the organisation's data key
    sealed_secret BYTEA,
    created_at    BIGINT NOT NULL
);
CREATE INDEX entrances_org ON entrances (org_id);
CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    entrance_id TEXT NOT NULL REFERENCES entrances (id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);
CREATE INDEX devices_entrance ON devices (entrance_id);
-- No image, no vector, no score: what was decided, where, when, for whom.
CREATE TABLE decision_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    entrance_id TEXT NOT NULL REFERENCES entrances (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    decision    TEXT NOT NULL,
    person_id   TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX decision_events_entrance ON decision_events (entrance_id, at);
CREATE INDEX decision_events_at ON decision_events (at);
