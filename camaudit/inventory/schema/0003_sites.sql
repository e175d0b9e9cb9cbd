-- One spelling for both engines.
-- uid: the id a run gives its scan before saving, so a spooled scan sent twice is stored once.
-- scans_site: history, diffs and the roll-up ask for one site's scans in time order.
ALTER TABLE scans ADD COLUMN uid TEXT;
CREATE UNIQUE INDEX scans_uid ON scans (uid);
CREATE INDEX scans_site ON scans (site, started_at);
