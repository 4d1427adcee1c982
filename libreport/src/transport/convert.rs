//! Domain values to `patchman.v1` messages. The only place on the host side that knows the
//! protobuf types.

use patchman_proto as pb;

use crate::model::{ChangeAction, PackageKind, Report, Trigger, UrlKind};

fn kind(k: PackageKind) -> i32 {
    match k {
        PackageKind::Deb => pb::PackageKind::Deb as i32,
        PackageKind::Rpm => pb::PackageKind::Rpm as i32,
    }
}

pub fn report(r: &Report) -> pb::Report {
    let s = &r.state;
    pb::Report {
        report_id: r.report_id.clone(),
        generated_at_ms: r.generated_at_ms,
        host: Some(pb::Host { hostname: s.hostname.clone(), machine_id: s.machine_id.clone() }),
        os: Some(pb::OperatingSystem {
            id: s.os.id.clone(),
            id_like: s.os.id_like.clone(),
            name: s.os.name.clone(),
            version_id: s.os.version_id.clone(),
            pretty_name: s.os.pretty_name.clone(),
            cpe_name: s.os.cpe_name.clone(),
            codename: s.os.codename.clone(),
            version_detail: s.os.version_detail.clone(),
        }),
        kernel: s.kernel.clone(),
        arch: s.arch.clone(),
        packages: s
            .packages
            .iter()
            .map(|p| pb::Package {
                name: p.name.clone(),
                epoch: p.epoch,
                version: p.version.clone(),
                release: p.release.clone(),
                arch: p.arch.clone(),
                kind: kind(p.kind),
                source_name: p.source_name.clone(),
                source_version: p.source_version.clone(),
            })
            .collect(),
        repos: s
            .repos
            .iter()
            .map(|repo| pb::Repository {
                kind: kind(repo.kind),
                id: repo.id.clone(),
                name: repo.name.clone(),
                priority: repo.priority,
                urls: repo
                    .urls
                    .iter()
                    .map(|u| pb::RepoUrl {
                        url: u.url.clone(),
                        kind: match u.kind {
                            UrlKind::Baseurl => pb::UrlKind::Baseurl,
                            UrlKind::Mirrorlist => pb::UrlKind::Mirrorlist,
                            UrlKind::Metalink => pb::UrlKind::Metalink,
                            UrlKind::Apt => pb::UrlKind::Apt,
                        } as i32,
                    })
                    .collect(),
                suite: repo.suite.clone(),
                component: repo.component.clone(),
                architecture: repo.architecture.clone(),
            })
            .collect(),
        modules: s
            .modules
            .iter()
            .map(|m| pb::ModuleStream { name: m.name.clone(), stream: m.stream.clone(), profiles: m.profiles.clone() })
            .collect(),
        reboot: Some(pb::Reboot {
            required: s.reboot.required,
            reason: s.reboot.reason.clone(),
            packages: s.reboot.packages.clone(),
        }),
        tags: r.tags.clone(),
        trigger: match r.trigger {
            Trigger::Timer => pb::Trigger::Timer,
            Trigger::Transaction => pb::Trigger::Transaction,
            Trigger::Manual => pb::Trigger::Manual,
        } as i32,
        transactions: r
            .transactions
            .iter()
            .map(|t| pb::Transaction {
                transaction_id: t.transaction_id.clone(),
                finished_at_ms: t.finished_at_ms,
                tool: t.tool.clone(),
                changes: t
                    .changes
                    .iter()
                    .map(|c| pb::PackageChange {
                        action: match c.action {
                            ChangeAction::Installed => pb::ChangeAction::Installed,
                            ChangeAction::Upgraded => pb::ChangeAction::Upgraded,
                            ChangeAction::Downgraded => pb::ChangeAction::Downgraded,
                            ChangeAction::Removed => pb::ChangeAction::Removed,
                            ChangeAction::Reinstalled => pb::ChangeAction::Reinstalled,
                        } as i32,
                        name: c.name.clone(),
                        arch: c.arch.clone(),
                        old_version: c.old_version.clone(),
                        new_version: c.new_version.clone(),
                    })
                    .collect(),
            })
            .collect(),
        client_version: r.client_version.clone(),
    }
}
