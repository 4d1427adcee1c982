-- A repository's set difference marks the (host, installed package) pairs it found, not only
-- their names: the recomputation that follows reads those pairs (and checks they are still
-- installed) instead of probing every package row of each name again. Rows go when that
-- recomputation is saved, or when the whole host is marked stale.
CREATE TABLE host_stale_packages (
    host_id    BIGINT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    package_id BIGINT NOT NULL,
    PRIMARY KEY (host_id, package_id)
);

INSERT INTO host_stale_packages (host_id, package_id)
SELECT DISTINCT s.host_id, hp.package_id FROM host_stale_names s
JOIN packages p ON p.name = s.name
JOIN host_packages hp ON hp.host_id = s.host_id AND hp.package_id = p.id;

DROP TABLE host_stale_names;
