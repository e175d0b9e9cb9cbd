-- Released block: never edit it; add a new numbered file instead.
-- One row per device per scan, so first/last sightings need no JSON parsing. Existing scans
-- are back-filled from their stored JSON.
CREATE TABLE devices (
    scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
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
INSERT OR IGNORE INTO devices (scan_id, ip, mac, serial, maker, flagged)
SELECT scans.id,
       json_extract(d.value, '$.ip'),
       lower(json_extract(d.value, '$.mac')),
       json_extract(d.value, '$.serial'),
       json_extract(d.value, '$.maker'),
       coalesce(json_extract(d.value, '$.flagged'), 0)
FROM scans, json_each(scans.json, '$.devices') AS d;
