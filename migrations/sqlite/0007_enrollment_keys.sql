-- Enrollment keys, a list: each with a name, an optional expiry and number of uses, and tags
-- the hosts enrolled with it get (as an administrator's tags). The key configured or
-- generated before this list existed is the entry named `default`. Only the SHA-256 of a key
-- is kept.
CREATE TABLE enrollment_keys (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    key_hash     BLOB NOT NULL UNIQUE,
    tags         TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    max_uses     INTEGER,
    uses         INTEGER NOT NULL DEFAULT 0,
    last_used_at INTEGER
);

-- The enrollment key a host last enrolled with (its name), shown on the host.
ALTER TABLE hosts ADD COLUMN enrolled_with TEXT NOT NULL DEFAULT '';

-- Whose signature the mirror's metadata carried when it last changed: the fingerprints of the
-- keys that verified it, comma-separated; '' not verified (no keyring for it); NULL not known
-- yet (never refreshed since).
ALTER TABLE mirrors ADD COLUMN verified_by TEXT;
