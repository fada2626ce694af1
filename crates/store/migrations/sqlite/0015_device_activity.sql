-- When each camera device last reached the server (a frame or a
-- heartbeat), and the frames it sent counted per minute, for the last
-- hour's total. Instances add their own counts (an upsert that sums), so
-- several instances on one database count every frame once.
ALTER TABLE devices ADD COLUMN last_seen_at INTEGER;
CREATE TABLE device_frames (
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    -- Unix time divided by 60.
    minute    INTEGER NOT NULL,
    frames    INTEGER NOT NULL,
    PRIMARY KEY (device_id, minute)
);
CREATE INDEX device_frames_minute ON device_frames (minute);
