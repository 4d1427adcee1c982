-- Whether the host's last verdict was computed with every repository it uses refreshed at
-- least once. Until then its updates are unknown: never shown as up to date.
ALTER TABLE hosts ADD COLUMN updates_known INTEGER NOT NULL DEFAULT 0;
CREATE INDEX hosts_by_last_seen ON hosts(last_seen_at);
