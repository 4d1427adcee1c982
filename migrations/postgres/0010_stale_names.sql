-- A repository's set difference makes only some names of a host stale: the host's verdict
-- is then recomputed for those names only (its other rows are kept). Rows go when that
-- recomputation is saved, or when the whole host is marked stale.
CREATE TABLE host_stale_names (
    host_id BIGINT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    PRIMARY KEY (host_id, name)
);
