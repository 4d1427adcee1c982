//! What saving a changed verdict writes: only the rows that differ from the stored ones.
//! A host's update rows are compared per installed package (its candidates with their
//! repository, flags and reason); a group that differs is deleted and written again, an equal
//! one is left alone. A recomputation that changes one update of a host rewrites one group,
//! not the host's hundred rows.

use std::collections::{BTreeMap, BTreeSet};

use patchman_engine::{Update, UpdateKind};

/// The stored code of an update's kind.
pub(crate) fn kind_code(u: &Update) -> i64 {
    if u.kind == UpdateKind::Kernel { 2 } else { 1 }
}

/// One stored `host_updates` row: host, installed, candidate, repository, security, kind,
/// erratum ('' for none), reason.
pub(crate) type StoredUpdate = (i64, i64, i64, i64, bool, i64, String, String);

/// The update rows to delete (by host and installed package) and to write, and how many
/// (host, installed, candidate) updates are new and gone.
#[derive(Debug, Default)]
pub(crate) struct UpdatesDiff<'a> {
    pub delete: Vec<(i64, i64)>,
    pub insert: Vec<(i64, &'a Update)>,
    pub added: usize,
    pub removed: usize,
}

/// A row's content under its (host, installed) key, comparable between stored and computed.
type Content<'a> = (i64, i64, bool, i64, &'a str, &'a str);

fn computed(u: &Update) -> Content<'_> {
    (u.candidate, u.repo, u.security, kind_code(u), u.erratum.as_deref().unwrap_or(""), &u.reason)
}

/// Compares the stored rows of some hosts with their computed updates (`wanted`: host,
/// update), group by group.
pub(crate) fn updates<'a>(stored: &[StoredUpdate], wanted: &[(i64, &'a Update)]) -> UpdatesDiff<'a> {
    let mut old: BTreeMap<(i64, i64), Vec<Content>> = BTreeMap::new();
    for (host, installed, candidate, repo, security, kind, erratum, reason) in stored {
        old.entry((*host, *installed)).or_default().push((*candidate, *repo, *security, *kind, erratum, reason));
    }
    let mut new: BTreeMap<(i64, i64), Vec<(Content, &'a Update)>> = BTreeMap::new();
    for (host, u) in wanted {
        new.entry((*host, u.installed)).or_default().push((computed(u), *u));
    }
    let mut diff = UpdatesDiff::default();
    for group in old.values_mut() {
        group.sort_unstable();
    }
    for (key, group) in &mut new {
        group.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let before = old.remove(key).unwrap_or_default();
        if before.iter().eq(group.iter().map(|(c, _)| c)) {
            continue;
        }
        let old_candidates: BTreeSet<i64> = before.iter().map(|c| c.0).collect();
        let new_candidates: BTreeSet<i64> = group.iter().map(|(c, _)| c.0).collect();
        diff.added += new_candidates.difference(&old_candidates).count();
        diff.removed += old_candidates.difference(&new_candidates).count();
        if !before.is_empty() {
            diff.delete.push(*key);
        }
        diff.insert.extend(group.iter().map(|(_, u)| (key.0, *u)));
    }
    // Groups no longer computed at all.
    for (key, before) in old {
        diff.removed += before.iter().map(|c| c.0).collect::<BTreeSet<_>>().len();
        diff.delete.push(key);
    }
    diff.delete.sort_unstable();
    diff
}

/// (host, package) pairs.
pub(crate) type Pairs = Vec<(i64, i64)>;

/// The (host, package) pairs to delete and to write so that `stored` becomes `wanted`.
pub(crate) fn pairs(stored: &[(i64, i64)], wanted: &[(i64, i64)]) -> (Pairs, Pairs) {
    let old: BTreeSet<(i64, i64)> = stored.iter().copied().collect();
    let new: BTreeSet<(i64, i64)> = wanted.iter().copied().collect();
    (old.difference(&new).copied().collect(), new.difference(&old).copied().collect())
}

/// What a names-only save changes: per host, how its counts move (deleted rows against
/// written ones), and how many updates are added and removed and on how many hosts.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct NameChanges {
    pub counts: Vec<crate::store::CountChange>,
    pub added: usize,
    pub removed: usize,
    pub hosts_changed: usize,
}

/// A names-only save of `hosts` (sorted): `deleted` are the (host, installed, candidate,
/// security) rows it deleted, `written` the updates it writes (a repeated (host, installed,
/// candidate) key is written once, the first), `unknown_deleted` the hosts of the "in no
/// repository" rows it deleted (one entry a row), `unknown_written` the pairs it writes.
/// Every host of `hosts` gets a count change, zero or not.
pub(crate) fn name_changes(
    hosts: &[i64],
    deleted: &[(i64, i64, i64, bool)],
    written: &[(i64, &Update)],
    unknown_deleted: &[i64],
    unknown_written: &[(i64, i64)],
) -> NameChanges {
    let mut counts: BTreeMap<i64, crate::store::CountChange> =
        hosts.iter().map(|&host_id| (host_id, crate::store::CountChange { host_id, ..Default::default() })).collect();
    let mut count = |host: i64, security: bool, by: i64| {
        let c = counts.entry(host).or_insert(crate::store::CountChange { host_id: host, ..Default::default() });
        if security {
            c.security += by;
        } else {
            c.bugfix += by;
        }
    };
    let before: BTreeSet<(i64, i64, i64)> = deleted.iter().map(|&(h, i, c, _)| (h, i, c)).collect();
    for &(host, _, _, security) in deleted {
        count(host, security, -1);
    }
    let mut after = BTreeSet::new();
    for (host, u) in written {
        if after.insert((*host, u.installed, u.candidate)) {
            count(*host, u.security, 1);
        }
    }
    for host in unknown_deleted {
        counts.entry(*host).or_insert(crate::store::CountChange { host_id: *host, ..Default::default() }).unknown -= 1;
    }
    let unknown: BTreeSet<(i64, i64)> = unknown_written.iter().copied().collect();
    for (host, _) in unknown {
        counts.entry(host).or_insert(crate::store::CountChange { host_id: host, ..Default::default() }).unknown += 1;
    }
    let changed: BTreeSet<i64> = before.symmetric_difference(&after).map(|(h, _, _)| *h).collect();
    NameChanges {
        counts: counts.into_values().collect(),
        added: after.difference(&before).count(),
        removed: before.difference(&after).count(),
        hosts_changed: changed.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(installed: i64, candidate: i64, reason: &str) -> Update {
        Update {
            installed,
            candidate,
            repo: 7,
            security: false,
            kind: UpdateKind::Package,
            erratum: None,
            reason: reason.into(),
        }
    }

    fn stored(host: i64, u: &Update) -> StoredUpdate {
        let erratum = u.erratum.as_deref().unwrap_or("").to_owned();
        (host, u.installed, u.candidate, u.repo, u.security, kind_code(u), erratum, u.reason.clone())
    }

    #[test]
    fn equal_groups_are_left_alone_and_changed_ones_rewritten_whole() {
        let (a, b, c) = (update(1, 10, "newer"), update(2, 20, "newer"), update(3, 30, "newer"));
        let db = [stored(5, &a), stored(5, &b), stored(5, &c)];
        // b gets another reason (same candidate), c is gone, d is new, a is the same.
        let b2 = update(2, 20, "newer in security");
        let d = update(4, 40, "newer");
        let wanted = [(5, &a), (5, &b2), (5, &d)];
        let diff = updates(&db, &wanted);
        assert_eq!(diff.delete, [(5, 2), (5, 3)]);
        let written: Vec<(i64, i64, &str)> =
            diff.insert.iter().map(|(h, u)| (*h, u.candidate, u.reason.as_str())).collect();
        assert_eq!(written, [(5, 20, "newer in security"), (5, 40, "newer")]);
        assert_eq!((diff.added, diff.removed), (1, 1), "d added, c removed; b's reason is not an update added");
    }

    #[test]
    fn a_first_verdict_writes_every_row_and_an_empty_one_deletes_every_group() {
        let (a, b) = (update(1, 10, "newer"), update(1, 11, "newest"));
        let diff = updates(&[], &[(5, &a), (5, &b)]);
        assert!(diff.delete.is_empty());
        assert_eq!((diff.insert.len(), diff.added, diff.removed), (2, 2, 0));
        let diff = updates(&[stored(5, &a), stored(5, &b), stored(6, &a)], &[]);
        assert_eq!(diff.delete, [(5, 1), (6, 1)]);
        assert_eq!((diff.insert.len(), diff.added, diff.removed), (0, 0, 3));
    }

    #[test]
    fn one_candidate_more_rewrites_that_group_only() {
        let (a, b, c) = (update(1, 10, "newer"), update(1, 11, "newest"), update(2, 20, "newer"));
        let diff = updates(&[stored(5, &a), stored(5, &c)], &[(5, &c), (5, &b), (5, &a)]);
        assert_eq!(diff.delete, [(5, 1)]);
        let written: Vec<i64> = diff.insert.iter().map(|(_, u)| u.candidate).collect();
        assert_eq!(written, [10, 11]);
        assert_eq!((diff.added, diff.removed), (1, 0));
    }

    #[test]
    fn a_names_save_moves_each_hosts_counts_by_what_it_deleted_and_wrote() {
        let mut fixed = update(1, 12, "newer in security");
        fixed.security = true;
        let other = update(3, 30, "newer");
        // Host 5 had a bugfix update of package 1 and gets a security one instead, written
        // twice (counted once); host 6 loses its only update of package 3 and an unknown
        // package; host 7 changes nothing but is saved.
        let changes = name_changes(
            &[5, 6, 7],
            &[(5, 1, 10, false), (6, 3, 30, false)],
            &[(5, &fixed), (5, &fixed), (6, &other)],
            &[6],
            &[(5, 8), (5, 8)],
        );
        let counts: Vec<(i64, i64, i64, i64)> =
            changes.counts.iter().map(|c| (c.host_id, c.security, c.bugfix, c.unknown)).collect();
        assert_eq!(counts, [(5, 1, -1, 1), (6, 0, 0, -1), (7, 0, 0, 0)]);
        assert_eq!((changes.added, changes.removed, changes.hosts_changed), (1, 1, 1));
    }

    #[test]
    fn pairs_keep_what_is_stored_and_wanted() {
        let (delete, insert) = pairs(&[(1, 2), (1, 3)], &[(1, 3), (1, 4)]);
        assert_eq!((delete, insert), (vec![(1, 2)], vec![(1, 4)]));
    }
}
