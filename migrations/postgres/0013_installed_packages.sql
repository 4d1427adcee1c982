-- A package row is flagged `installed` once a host has it (ingest sets it; it is never unset).
-- A repository's set difference probes each host only for the rows of its names so flagged:
-- rows a refresh stored that no host ever had cannot be installed on any host.
ALTER TABLE packages ADD COLUMN installed BOOLEAN NOT NULL DEFAULT false;

UPDATE packages p SET installed = true WHERE EXISTS (SELECT 1 FROM host_packages hp WHERE hp.package_id = p.id);
