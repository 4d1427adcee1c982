//! Where the server's verdict and the host's own package manager disagree (Patchman's
//! `sec_updates`/`bug_updates`), as SQL both dialects run: the count kept in
//! `hosts.view_disagreements` when verdicts are saved, and the rows a host's page lists, from
//! the same two conditions so that they always agree.
//!
//! A package disagrees when the host offers a version the server does not (or classifies it
//! otherwise, when the host says which updates are security updates at all), or when the
//! server finds an update of a package the host offers nothing for. Kernel updates under a new
//! package name (Debian's `linux-image-ABI-FLAVOUR`) are the server's own rule and are left out.

/// `host_offered_updates o`: the server's verdict has the same version, and the same
/// classification when the host gave one.
pub(crate) const OFFERED_MATCHED: &str = "EXISTS (SELECT 1 FROM host_updates u JOIN packages c ON c.id = u.candidate_id \
     WHERE u.host_id = o.host_id AND u.kind = 1 AND c.name = o.name AND (o.arch = '' OR c.arch = o.arch) \
     AND c.epoch = o.epoch AND c.version = o.version AND c.release = o.release \
     AND (u.security = o.security OR NOT EXISTS (SELECT 1 FROM host_offered_updates s \
          WHERE s.host_id = o.host_id AND s.security = TRUE)))";

/// `host_updates u JOIN packages c` (the candidate): the host offers something for the package.
pub(crate) const FOUND_OFFERED: &str = "EXISTS (SELECT 1 FROM host_offered_updates o \
     WHERE o.host_id = u.host_id AND o.name = c.name AND (o.arch = '' OR o.arch = c.arch))";

/// The host's offered updates the verdict does not match, for host `$1`.
pub(crate) fn offered_unmatched() -> String {
    format!(
        "SELECT o.name, o.arch, o.epoch, o.version, o.release, o.security FROM host_offered_updates o \
         WHERE o.host_id = $1 AND NOT {OFFERED_MATCHED} ORDER BY o.name, o.arch"
    )
}

/// The server's updates the host offers nothing for, for host `$1`.
pub(crate) fn found_unoffered() -> String {
    format!(
        "SELECT DISTINCT c.name, c.arch, c.epoch, c.version, c.release, u.security FROM host_updates u \
         JOIN packages c ON c.id = u.candidate_id WHERE u.host_id = $1 AND u.kind = 1 AND NOT {FOUND_OFFERED} \
         ORDER BY c.name, c.arch"
    )
}

/// The number of disagreements of the host row `host` (the updated table's name or alias),
/// from its saved verdict rows: `view_disagreements` of a host that says what it is offered.
pub(crate) fn disagreements(host: &str) -> String {
    format!(
        "CASE WHEN {host}.offered_known THEN \
         (SELECT count(*) FROM host_offered_updates o WHERE o.host_id = {host}.id AND NOT {OFFERED_MATCHED}) + \
         (SELECT count(DISTINCT c.name || '.' || c.arch) FROM host_updates u JOIN packages c ON c.id = u.candidate_id \
          WHERE u.host_id = {host}.id AND u.kind = 1 AND NOT {FOUND_OFFERED}) \
         ELSE {host}.view_disagreements END"
    )
}
