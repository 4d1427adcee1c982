//! `patchman host show NAME` as text, in the order an administrator reads it: status,
//! reboot, security updates, bugfix updates, packages found in no repository, repositories,
//! then (with `--packages`) the installed packages.

use crate::query::Clock;
use crate::store::HostDetail;
use crate::store::views::{UpdateView, format_time};

pub fn print(host: &HostDetail, clock: &Clock, packages: bool) {
    let s = &host.summary;
    let status = s.status_at(clock);
    outln!("{}: {} ({} security, {} bugfix updates)", s.hostname, status.label(), s.security_updates, s.bugfix_updates);
    let reboot = if s.reboot_required {
        let why = if host.reboot_reason.is_empty() { "the host says so" } else { host.reboot_reason.as_str() };
        format!("required: {why}")
    } else {
        "not required".to_owned()
    };
    outln!("reboot:      {reboot}");
    if !s.updates_current || !s.updates_known {
        outln!("updates:     not known yet (not computed since the host changed, or a repository never refreshed)");
    }
    for d in host.duplicate_packages() {
        outln!("installed twice (only the newest counts): {d}");
    }
    outln!("os:          {} ({})", s.os_variant, host.os_pretty_name);
    outln!("kernel:      {} {}", s.kernel, s.arch);
    outln!("tags:        {}", s.tags.join(", "));
    outln!("last report: {}", s.last_seen_at.map(format_time).unwrap_or_else(|| "never".to_owned()));
    let with = &host.reported_with;
    let detail = if with.detail.is_empty() { String::new() } else { format!(" ({})", with.detail) };
    outln!("reports:     with {:?}{detail}", with.kind);
    outln!("token:       {}", crate::store::views::HostTokenView::describe(host.token.as_ref()));

    let (security, bugfix): (Vec<&UpdateView>, Vec<&UpdateView>) = host.updates.iter().partition(|u| u.security);
    updates("security updates", &security);
    updates("bugfix updates", &bugfix);
    if !host.packages_not_in_repos.is_empty() {
        outln!("\npackages found in no repository ({}):", host.packages_not_in_repos.len());
        for p in &host.packages_not_in_repos {
            outln!("  {p}");
        }
    }
    if !host.view_differences.is_empty() {
        outln!("\nits package manager sees other updates ({}):", host.view_differences.len());
        for d in &host.view_differences {
            let side = |v: &Option<String>| v.clone().unwrap_or_else(|| "nothing".to_owned());
            outln!("  {:<40} {:<8} host: {:<36} server: {}", d.name, d.arch, side(&d.host), side(&d.server));
        }
    }
    let group = if host.use_host_repos { "" } else { ", and those of its OS group" };
    outln!("\nrepositories ({}{group}):", host.repos.len());
    for r in &host.repos {
        outln!("  {:<60} priority {:>4}{}", r.name, r.priority, if r.security { "  security" } else { "" });
    }
    if packages {
        outln!("\ninstalled packages ({}):", host.packages.len());
        for p in &host.packages {
            outln!("  {:<48} {:<32} {}", p.name, p.evr, p.arch);
        }
    } else {
        outln!("\ninstalled packages: {} (--packages lists them)", host.packages.len());
    }
}

fn updates(title: &str, list: &[&UpdateView]) {
    if list.is_empty() {
        return;
    }
    outln!("\n{title} ({}):", list.len());
    for u in list {
        let target = if u.available_name != u.name {
            format!("{} {}", u.available_name, u.available)
        } else {
            u.available.clone()
        };
        let erratum = if u.erratum.is_empty() { String::new() } else { format!(" [{}]", u.erratum) };
        outln!("  {:<32} {:<7} {} → {}  from {}: {}{erratum}", u.name, u.arch, u.installed, target, u.repo, u.reason);
    }
}
