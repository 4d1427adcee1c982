//! A mirror's snapshot, as the repository layer parsed it, to the contents the store keeps.

use crate::contents::{ErratumRecord, ModuleRecord, RepoContents};
use crate::repos::{ErratumKind, Snapshot};

pub(super) fn contents(s: &Snapshot) -> RepoContents {
    RepoContents {
        packages: s.packages.clone(),
        errata: s
            .errata
            .iter()
            .map(|e| ErratumRecord {
                name: e.id.clone(),
                kind: match &e.kind {
                    ErratumKind::Security => "security".to_owned(),
                    ErratumKind::Bugfix => "bugfix".to_owned(),
                    ErratumKind::Enhancement => "enhancement".to_owned(),
                    ErratumKind::Other(other) => other.clone(),
                },
                severity: e.severity.clone().unwrap_or_default(),
                issued_ms: e.issued_ms,
                title: e.title.clone(),
                cves: e.cves.clone(),
                packages: e.packages.clone(),
            })
            .collect(),
        modules: s
            .modules
            .iter()
            .map(|m| ModuleRecord {
                name: m.name.clone(),
                stream: m.stream.clone(),
                version: m.version.to_string(),
                context: m.context.clone(),
                arch: m.arch.clone(),
                artifacts: m.artifacts.clone(),
            })
            .collect(),
        module_defaults: s.module_defaults.clone(),
    }
}
