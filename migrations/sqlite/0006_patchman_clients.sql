-- Patchman's clients: API keys for their uploads, how each host last proved who it is, and
-- the updates its own package manager offers (its view, kept beside the server's verdict).

-- API keys and tokens, by role: `upload` lets Patchman's clients upload for any host that
-- has no token of its own; `read` may ask the query API, `admin` also change. Only the
-- SHA-256 of the secret is kept.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER
);

-- How the host's last report was authenticated: 0 not yet (imported), 1 its host token,
-- 2 an API key (auth_detail: the key's name), 3 none, from a network an administrator
-- listed (auth_detail: the address).
ALTER TABLE hosts ADD COLUMN auth_kind INTEGER NOT NULL DEFAULT 1;
ALTER TABLE hosts ADD COLUMN auth_detail TEXT NOT NULL DEFAULT '';

-- The repository needs credentials to be read (Patchman's auth_required, brought over by
-- import-patchman): give them in [[repos.source]].
ALTER TABLE repos ADD COLUMN auth_required INTEGER NOT NULL DEFAULT 0;

-- The updates the host's package manager offers, as its last report said (Patchman's
-- sec_updates and bug_updates).
CREATE TABLE host_offered_updates (
    host_id  INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    arch     TEXT NOT NULL,
    epoch    INTEGER NOT NULL,
    version  TEXT NOT NULL,
    release  TEXT NOT NULL,
    repo     TEXT NOT NULL,
    security INTEGER NOT NULL,
    PRIMARY KEY (host_id, name, arch, epoch, version, release)
) WITHOUT ROWID;
-- Whether the host says what its package manager offers (offered_updates rows exist), and
-- in how many packages the server's verdict and that view disagree, kept when verdicts are
-- saved.
ALTER TABLE hosts ADD COLUMN offered_known INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN view_disagreements INTEGER NOT NULL DEFAULT 0;

-- Packages installed in two versions where only one can be (an interrupted transaction),
-- counted by name when verdicts are saved: only the newest version is evaluated.
ALTER TABLE hosts ADD COLUMN duplicate_package_count INTEGER NOT NULL DEFAULT 0;

-- Changes of hosts' status, in order, for the query API's watch stream: one row per stored or
-- unchanged report, saved verdict, administrator's change, deletion, and silence. A watcher
-- resumes after the last `seq` it received; old rows are pruned.
CREATE TABLE host_events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    hostname TEXT NOT NULL,
    at       INTEGER NOT NULL,
    deleted  INTEGER NOT NULL DEFAULT 0
);
