-- A host's package links and update rows keep no foreign key to hosts: SQLite looked the host
-- up for every row written, a third of the cost of the ~1,200 links of a host's first report
-- and of the 12 M update rows of a full recomputation at 100,000 hosts. Ingest and the updater
-- write them only for a host row they have just read in the same transaction. A host's
-- deletion still takes them along, by the trigger below (PostgreSQL does the same since 0011).
CREATE TABLE host_packages_new (
    host_id    INTEGER NOT NULL,
    package_id INTEGER NOT NULL,
    PRIMARY KEY (host_id, package_id)
) WITHOUT ROWID;
INSERT INTO host_packages_new (host_id, package_id)
SELECT host_id, package_id FROM host_packages ORDER BY host_id, package_id;
DROP TABLE host_packages;
ALTER TABLE host_packages_new RENAME TO host_packages;

CREATE TABLE host_updates_new (
    host_id      INTEGER NOT NULL,
    installed_id INTEGER NOT NULL,
    candidate_id INTEGER NOT NULL,
    repo_id      INTEGER NOT NULL,
    security     INTEGER NOT NULL,
    kind         INTEGER NOT NULL,
    erratum      TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL,
    PRIMARY KEY (host_id, installed_id, candidate_id)
) WITHOUT ROWID;
INSERT INTO host_updates_new (host_id, installed_id, candidate_id, repo_id, security, kind, erratum, reason)
SELECT host_id, installed_id, candidate_id, repo_id, security, kind, erratum, reason FROM host_updates
ORDER BY host_id, installed_id, candidate_id;
DROP TABLE host_updates;
ALTER TABLE host_updates_new RENAME TO host_updates;

CREATE TRIGGER hosts_take_their_rows AFTER DELETE ON hosts
BEGIN
    DELETE FROM host_packages WHERE host_id = OLD.id;
    DELETE FROM host_updates WHERE host_id = OLD.id;
END;
