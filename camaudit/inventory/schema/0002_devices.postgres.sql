-- Released block: never edit it; add a new numbered file instead.
-- The PostgreSQL spelling of 0002_devices.sqlite.sql, back-fill included.
CREATE TABLE devices (
    scan_id BIGINT NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    ip      TEXT NOT NULL,
    mac     TEXT,                        -- lower-case aa:bb:cc:dd:ee:ff
    serial  TEXT,
    maker   TEXT,
    flagged INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scan_id, ip)
);
CREATE INDEX devices_mac ON devices (mac);
CREATE INDEX devices_serial ON devices (serial);
CREATE INDEX devices_ip ON devices (ip);
INSERT INTO devices (scan_id, ip, mac, serial, maker, flagged)
SELECT scans.id,
       d ->> 'ip',
       lower(d ->> 'mac'),
       d ->> 'serial',
       d ->> 'maker',
       CASE WHEN (d ->> 'flagged') = 'true' THEN 1 ELSE 0 END
FROM scans, jsonb_array_elements(scans.json::jsonb -> 'devices') AS d
ON CONFLICT DO NOTHING;
