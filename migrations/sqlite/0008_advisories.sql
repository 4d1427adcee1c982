-- Security feeds (OSV, the Debian security tracker, CISA's KEV), the advisories they bring,
-- which hosts each exposes, and every host's exposure windows (first seen exposed → fixed).

-- One row per configured feed and what its last read found.
CREATE TABLE advisory_feeds (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    location        TEXT NOT NULL DEFAULT '',
    last_attempt_at INTEGER,
    last_success_at INTEGER,
    fail_count      INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    checksum        TEXT,
    etag            TEXT,
    last_modified   TEXT,
    record_count    INTEGER NOT NULL DEFAULT 0
);

-- An advisory (or, from the tracker, a CVE). One that leaves its feed, or that the feed
-- withdraws, keeps its row (and the history of windows) with `withdrawn_at` set.
CREATE TABLE advisories (
    id           INTEGER PRIMARY KEY,
    feed_id      INTEGER NOT NULL REFERENCES advisory_feeds(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    severity     TEXT NOT NULL DEFAULT '',
    summary      TEXT NOT NULL DEFAULT '',
    issued_at    INTEGER,
    updated_at   INTEGER,
    withdrawn_at INTEGER,
    -- References, one URL per line.
    refs         TEXT NOT NULL DEFAULT '',
    -- Of the advisory as the feed gave it: an equal digest is an unchanged advisory.
    digest       BLOB NOT NULL,
    UNIQUE (feed_id, name)
);
CREATE INDEX advisories_by_name ON advisories(name);

CREATE TABLE advisory_cves (
    advisory_id INTEGER NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
    cve         TEXT NOT NULL,
    severity    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (advisory_id, cve)
) WITHOUT ROWID;
CREATE INDEX advisory_cves_by_cve ON advisory_cves(cve);

-- A package an advisory names in an OS release ("Debian 12"): a source package for deb,
-- a package for rpm. status: 0 fixed in `fixed`, 1 no fix yet, 2 not affected.
CREATE TABLE advisory_packages (
    advisory_id INTEGER NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
    release     TEXT NOT NULL,
    kind        INTEGER NOT NULL,
    package     TEXT NOT NULL,
    status      INTEGER NOT NULL,
    fixed       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (advisory_id, release, kind, package)
) WITHOUT ROWID;
CREATE INDEX advisory_packages_by_release ON advisory_packages(release, package);

CREATE TABLE known_exploited (
    cve        TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    added_at   INTEGER,
    ransomware INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- The state_version the host's exposures were computed for (-1: to compute).
ALTER TABLE hosts ADD COLUMN exposures_version INTEGER NOT NULL DEFAULT -1;

-- What each host is exposed to now, through which installed package, and what fixes it
-- ('' no fix yet).
CREATE TABLE host_exposures (
    host_id     INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    advisory_id INTEGER NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
    package_id  INTEGER NOT NULL,
    fixed       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (host_id, advisory_id, package_id)
) WITHOUT ROWID;
CREATE INDEX host_exposures_by_advisory ON host_exposures(advisory_id, host_id);

-- Each time a host was exposed to an advisory: from when it was first seen exposed until it
-- was seen fixed (closed_by 'fixed') or the advisory was withdrawn ('withdrawn').
CREATE TABLE exposure_windows (
    id          INTEGER PRIMARY KEY,
    host_id     INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    advisory_id INTEGER NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
    opened_at   INTEGER NOT NULL,
    closed_at   INTEGER,
    closed_by   TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX exposure_windows_open ON exposure_windows(host_id, advisory_id) WHERE closed_at IS NULL;
CREATE INDEX exposure_windows_by_advisory ON exposure_windows(advisory_id, host_id);
