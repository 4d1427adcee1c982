-- A tag an administrator gave a host (web UI or CLI): reports neither remove nor change it.
-- Tags a host reports (0) are replaced by its next report with other tags.
ALTER TABLE host_tags ADD COLUMN by_admin INTEGER NOT NULL DEFAULT 0;
