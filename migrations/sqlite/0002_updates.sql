-- Repository contents (package lists, errata, module streams), mirror refresh state, and the
-- update engine's verdicts.

ALTER TABLE repos ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE repos ADD COLUMN refreshed_at INTEGER;
ALTER TABLE repos ADD COLUMN release_origin TEXT NOT NULL DEFAULT '';
ALTER TABLE repos ADD COLUMN release_label TEXT NOT NULL DEFAULT '';
ALTER TABLE repos ADD COLUMN release_codename TEXT NOT NULL DEFAULT '';
-- Digest of the errata, module streams and module defaults last stored.
ALTER TABLE repos ADD COLUMN extras_digest BLOB;

ALTER TABLE mirrors ADD COLUMN last_attempt_at INTEGER;
ALTER TABLE mirrors ADD COLUMN last_success_at INTEGER;
ALTER TABLE mirrors ADD COLUMN fail_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mirrors ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE mirrors ADD COLUMN checksum TEXT;
ALTER TABLE mirrors ADD COLUMN etag TEXT;
ALTER TABLE mirrors ADD COLUMN last_modified TEXT;
ALTER TABLE mirrors ADD COLUMN valid_until_passed INTEGER NOT NULL DEFAULT 0;

-- The packages a repository offers now (from its last good refresh).
CREATE TABLE repo_packages (
    repo_id    INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    package_id INTEGER NOT NULL,
    PRIMARY KEY (repo_id, package_id)
) WITHOUT ROWID;
CREATE INDEX repo_packages_by_package ON repo_packages(package_id);

CREATE TABLE errata (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    kind      TEXT NOT NULL,
    severity  TEXT NOT NULL DEFAULT '',
    issued_at INTEGER,
    title     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE erratum_packages (
    erratum_id INTEGER NOT NULL REFERENCES errata(id) ON DELETE CASCADE,
    package_id INTEGER NOT NULL,
    PRIMARY KEY (erratum_id, package_id)
) WITHOUT ROWID;

CREATE TABLE erratum_cves (
    erratum_id INTEGER NOT NULL REFERENCES errata(id) ON DELETE CASCADE,
    cve        TEXT NOT NULL,
    PRIMARY KEY (erratum_id, cve)
) WITHOUT ROWID;

CREATE TABLE repo_errata (
    repo_id    INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    erratum_id INTEGER NOT NULL REFERENCES errata(id) ON DELETE CASCADE,
    PRIMARY KEY (repo_id, erratum_id)
) WITHOUT ROWID;

CREATE TABLE repo_modules (
    id      INTEGER PRIMARY KEY,
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    stream  TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    context TEXT NOT NULL DEFAULT '',
    arch    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX repo_modules_by_repo ON repo_modules(repo_id);

CREATE TABLE module_packages (
    module_id  INTEGER NOT NULL REFERENCES repo_modules(id) ON DELETE CASCADE,
    package_id INTEGER NOT NULL,
    PRIMARY KEY (module_id, package_id)
) WITHOUT ROWID;

CREATE TABLE repo_module_defaults (
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    module  TEXT NOT NULL,
    stream  TEXT NOT NULL,
    PRIMARY KEY (repo_id, module)
) WITHOUT ROWID;

-- The engine's verdict for each host. state_version goes up whenever what the verdict
-- depends on changes (a stored report, a refreshed repository the host uses): a verdict
-- computed from an older version is not saved.
ALTER TABLE hosts ADD COLUMN state_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN updates_stale INTEGER NOT NULL DEFAULT 1;
ALTER TABLE hosts ADD COLUMN updates_computed_at INTEGER;
ALTER TABLE hosts ADD COLUMN updates_digest BLOB;
ALTER TABLE hosts ADD COLUMN security_update_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN bugfix_update_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN unknown_package_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN kernel_reboot_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX hosts_stale ON hosts(updates_stale);

CREATE TABLE host_updates (
    host_id      INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    installed_id INTEGER NOT NULL,
    candidate_id INTEGER NOT NULL,
    repo_id      INTEGER NOT NULL,
    security     INTEGER NOT NULL,
    kind         INTEGER NOT NULL,
    erratum      TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL,
    PRIMARY KEY (host_id, installed_id, candidate_id)
) WITHOUT ROWID;

-- Installed packages that no repository of the host offers.
CREATE TABLE host_unknown_packages (
    host_id    INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    package_id INTEGER NOT NULL,
    PRIMARY KEY (host_id, package_id)
) WITHOUT ROWID;
