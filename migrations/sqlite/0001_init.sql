-- The foundation schema: hosts, their packages, repositories and reports.
-- Times are milliseconds since the Unix epoch; booleans are 0/1.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE os_groups (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE os_variants (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    os_group_id INTEGER NOT NULL REFERENCES os_groups(id)
);

CREATE TABLE domains (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE hosts (
    id                INTEGER PRIMARY KEY,
    hostname          TEXT NOT NULL UNIQUE,
    machine_id        TEXT NOT NULL DEFAULT '',
    domain_id         INTEGER REFERENCES domains(id),
    os_variant_id     INTEGER REFERENCES os_variants(id),
    os_id             TEXT NOT NULL DEFAULT '',
    os_pretty_name    TEXT NOT NULL DEFAULT '',
    os_cpe_name       TEXT NOT NULL DEFAULT '',
    os_codename       TEXT NOT NULL DEFAULT '',
    arch              TEXT NOT NULL DEFAULT '',
    kernel            TEXT NOT NULL DEFAULT '',
    reboot_required   INTEGER NOT NULL DEFAULT 0,
    reboot_reason     TEXT NOT NULL DEFAULT '',
    reboot_packages   TEXT NOT NULL DEFAULT '',
    use_host_repos    INTEGER NOT NULL DEFAULT 1,
    client_version    TEXT NOT NULL DEFAULT '',
    package_count     INTEGER NOT NULL DEFAULT 0,
    enrolled_at       INTEGER NOT NULL,
    last_seen_at      INTEGER,
    last_generated_at INTEGER,
    last_changed_at   INTEGER,
    packages_digest   BLOB,
    repos_digest      BLOB,
    modules_digest    BLOB,
    meta_digest       BLOB,
    -- Digest of the last applied report's state fields as encoded on the wire: a report
    -- with the same digest is unchanged without being decoded.
    wire_digest       BLOB
);
CREATE INDEX hosts_by_os_variant ON hosts(os_variant_id);

CREATE TABLE host_tokens (
    token_hash BLOB PRIMARY KEY,
    host_id    INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX host_tokens_by_host ON host_tokens(host_id);

CREATE TABLE tags (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE host_tags (
    host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    tag_id  INTEGER NOT NULL REFERENCES tags(id),
    PRIMARY KEY (host_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX host_tags_by_tag ON host_tags(tag_id);

-- Every distinct package, shared by hosts, repositories and errata. The id is a hash of
-- (kind, name, epoch, version, release, arch), the same in every database.
CREATE TABLE packages (
    id             INTEGER PRIMARY KEY,
    kind           INTEGER NOT NULL,
    name           TEXT NOT NULL,
    epoch          INTEGER NOT NULL,
    version        TEXT NOT NULL,
    release        TEXT NOT NULL,
    arch           TEXT NOT NULL,
    source_name    TEXT NOT NULL DEFAULT '',
    source_version TEXT NOT NULL DEFAULT ''
);
CREATE INDEX packages_by_name ON packages(name, kind, arch);

-- package_id has no foreign key on purpose: checking it costs a random lookup per row, and
-- ingest writes the package rows first in the same transaction (packages are never deleted).
CREATE TABLE host_packages (
    host_id    INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    package_id INTEGER NOT NULL,
    PRIMARY KEY (host_id, package_id)
) WITHOUT ROWID;
-- No (package_id, host_id) index: every new host would dirty one index page per package it
-- has (random ids), multiplying write volume by ~30. Reverse lookups scan this table.

CREATE TABLE repos (
    id              INTEGER PRIMARY KEY,
    kind            INTEGER NOT NULL,
    repo_key        TEXT NOT NULL,
    name            TEXT NOT NULL,
    suite           TEXT NOT NULL DEFAULT '',
    component       TEXT NOT NULL DEFAULT '',
    arch            TEXT NOT NULL DEFAULT '',
    security        INTEGER NOT NULL DEFAULT 0,
    -- 1 once an administrator set `security` by hand: reports no longer change it.
    security_manual INTEGER NOT NULL DEFAULT 0,
    enabled         INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL
);

CREATE TABLE mirrors (
    id         INTEGER PRIMARY KEY,
    repo_id    INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    url        TEXT NOT NULL UNIQUE,
    url_kind   INTEGER NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
CREATE INDEX mirrors_by_repo ON mirrors(repo_id);

CREATE TABLE host_repos (
    host_id  INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    repo_id  INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    priority INTEGER NOT NULL,
    -- Set by administrators only; reports never change it.
    enabled  INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (host_id, repo_id)
) WITHOUT ROWID;
CREATE INDEX host_repos_by_repo ON host_repos(repo_id, host_id);

CREATE TABLE os_group_repos (
    os_group_id INTEGER NOT NULL REFERENCES os_groups(id) ON DELETE CASCADE,
    repo_id     INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    PRIMARY KEY (os_group_id, repo_id)
) WITHOUT ROWID;

CREATE TABLE host_modules (
    host_id  INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    stream   TEXT NOT NULL,
    profiles TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (host_id, name, stream)
) WITHOUT ROWID;

-- One row per report that was applied (outcome 1) or arrived after a newer one (outcome 4);
-- unchanged reports only refresh hosts.last_seen_at.
CREATE TABLE reports (
    id             INTEGER PRIMARY KEY,
    host_id        INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    report_id      TEXT NOT NULL,
    generated_at   INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    trigger        INTEGER NOT NULL,
    outcome        INTEGER NOT NULL,
    client_version TEXT NOT NULL DEFAULT '',
    package_count  INTEGER NOT NULL,
    added          INTEGER NOT NULL,
    removed        INTEGER NOT NULL,
    UNIQUE (host_id, report_id)
);

CREATE TABLE transactions (
    id             INTEGER PRIMARY KEY,
    host_id        INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    transaction_id TEXT NOT NULL,
    finished_at    INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    tool           TEXT NOT NULL DEFAULT '',
    UNIQUE (host_id, transaction_id)
);
CREATE INDEX transactions_by_host_time ON transactions(host_id, finished_at);

CREATE TABLE transaction_changes (
    transaction_id INTEGER NOT NULL REFERENCES transactions(id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    action         INTEGER NOT NULL,
    name           TEXT NOT NULL,
    arch           TEXT NOT NULL DEFAULT '',
    old_version    TEXT NOT NULL DEFAULT '',
    new_version    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (transaction_id, seq)
) WITHOUT ROWID;

-- Background jobs, claimed through the database so that of several servers exactly one runs
-- each due job; a lease that is not renewed (a killed server) lets another take over.
CREATE TABLE jobs (
    name        TEXT PRIMARY KEY,
    interval_ms INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    runs        INTEGER NOT NULL DEFAULT 0
);

-- One row per due run of a job: (name, due_at) is claimed once.
CREATE TABLE job_runs (
    name        TEXT NOT NULL,
    due_at      INTEGER NOT NULL,
    owner       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 1,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    PRIMARY KEY (name, due_at)
) WITHOUT ROWID;
