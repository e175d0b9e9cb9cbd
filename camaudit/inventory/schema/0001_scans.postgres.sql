-- Released block: never edit it; add a new numbered file instead.
-- The PostgreSQL spelling of 0001_scans.sqlite.sql: the same tables, columns and types.
CREATE TABLE scans (
    id          BIGSERIAL PRIMARY KEY,
    started_at  TEXT NOT NULL,           -- ISO 8601 UTC, as in the scan JSON
    finished_at TEXT NOT NULL,
    site        TEXT,
    policy      TEXT NOT NULL,
    interrupted INTEGER NOT NULL DEFAULT 0,
    json        TEXT NOT NULL            -- the whole scan, schema camaudit.scan/1
);
CREATE INDEX scans_started ON scans (started_at);
