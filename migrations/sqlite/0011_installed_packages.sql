-- A package row is flagged `installed` once a host has it (ingest sets it; it is never unset).
-- A repository's set difference probes each host only for the rows of its names so flagged:
-- rows a refresh stored that no host ever had cannot be installed on any host.
ALTER TABLE packages ADD COLUMN installed INTEGER NOT NULL DEFAULT 0;

UPDATE packages SET installed = 1 WHERE id IN (SELECT package_id FROM host_packages);
