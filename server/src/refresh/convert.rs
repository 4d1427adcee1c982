//! A mirror's snapshot, as the repository layer parsed it, to the contents the store keeps.

use crate::contents::{ErratumRecord, ModuleRecord, RepoContents};
use crate::repos::{ErratumKind, Snapshot};

/// Moves the package lists out of the snapshot (a big repository's list is tens of MB).
pub(super) fn contents(s: &mut Snapshot) -> RepoContents {
    RepoContents {
        packages: std::mem::take(&mut s.packages),
        errata: std::mem::take(&mut s.errata)
            .into_iter()
            .map(|e| ErratumRecord {
                name: e.id,
                kind: match e.kind {
                    ErratumKind::Security => "security".to_owned(),
                    ErratumKind::Bugfix => "bugfix".to_owned(),
                    ErratumKind::Enhancement => "enhancement".to_owned(),
                    ErratumKind::Other(other) => other,
                },
                severity: e.severity.unwrap_or_default(),
                issued_ms: e.issued_ms,
                title: e.title,
                cves: e.cves,
                packages: e.packages,
            })
            .collect(),
        modules: std::mem::take(&mut s.modules)
            .into_iter()
            .map(|m| ModuleRecord {
                name: m.name,
                stream: m.stream,
                version: m.version.to_string(),
                context: m.context,
                arch: m.arch,
                artifacts: m.artifacts,
            })
            .collect(),
        module_defaults: std::mem::take(&mut s.module_defaults),
    }
}
