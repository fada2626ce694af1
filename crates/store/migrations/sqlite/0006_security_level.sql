-- An organisation's security level at its entrances: the false-positive
-- identification rate its thresholds aim at ('standard' 1%, 'high' 0.1%,
-- 'very_high' 0.01%).
ALTER TABLE organisations ADD COLUMN security_level TEXT NOT NULL DEFAULT 'high';
