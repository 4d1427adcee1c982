//! The host's name without asking DNS (uname node name, completed from /etc/hosts) and its
//! machine id (/etc/machine-id).

use std::path::Path;

use crate::collect::{CollectResult, read_optional, under};

/// The host name to report, lower-cased: `override_name` when given, else `nodename`; a
/// short name is completed to the first FQDN that /etc/hosts lists next to it.
pub fn hostname(root: &Path, override_name: Option<&str>, nodename: &str) -> CollectResult<String> {
    if let Some(name) = override_name {
        return Ok(name.trim().to_lowercase());
    }
    let short = nodename.trim();
    if short.contains('.') || short.is_empty() {
        return Ok(short.to_lowercase());
    }
    let hosts = read_optional(&under(root, "/etc/hosts"))?.unwrap_or_default();
    Ok(fqdn_from_hosts(&hosts, short).unwrap_or_else(|| short.to_owned()).to_lowercase())
}

/// The first name on an /etc/hosts line that also lists `short` and starts with `short.`.
pub fn fqdn_from_hosts(hosts: &str, short: &str) -> Option<String> {
    let prefix_len = short.len() + 1;
    hosts.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let names: Vec<&str> = line.split_ascii_whitespace().skip(1).collect();
        if !names.iter().any(|n| n.eq_ignore_ascii_case(short)) {
            return None;
        }
        names
            .iter()
            .find(|n| {
                n.len() > prefix_len
                    && n.as_bytes()[short.len()] == b'.'
                    && n.get(..short.len()).is_some_and(|p| p.eq_ignore_ascii_case(short))
            })
            .map(|n| (*n).to_owned())
    })
}

/// The contents of /etc/machine-id, trimmed; empty when the file does not exist.
pub fn machine_id(root: &Path) -> CollectResult<String> {
    Ok(read_optional(&under(root, "/etc/machine-id"))?.map(|s| s.trim().to_owned()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &str = "\
127.0.0.1\tlocalhost
# 10.0.0.5 web1.wrong.example web1
127.0.1.1\tdb1.prod.example.com db1 # the host itself
10.0.0.9   Web1   WEB1.Example.ORG  web1-alias
::1     localhost ip6-localhost ip6-loopback
";

    #[track_caller]
    fn check(short: &str, want: Option<&str>) {
        assert_eq!(fqdn_from_hosts(HOSTS, short).as_deref(), want, "fqdn_from_hosts({short:?})");
    }

    #[test]
    fn short_names_are_completed_from_hosts_lines() {
        check("db1", Some("db1.prod.example.com"));
        check("web1", Some("WEB1.Example.ORG"));
        check("db", None);
        check("localhost", None);
        check("ip6", None);
        check("é", None);
    }

    #[test]
    fn hostname_prefers_the_override_then_the_node_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/hosts"), HOSTS).unwrap();
        let root = dir.path();
        assert_eq!(hostname(root, Some("Given.Example"), "db1").unwrap(), "given.example");
        assert_eq!(hostname(root, None, "web1").unwrap(), "web1.example.org");
        assert_eq!(hostname(root, None, "Mail.Example.com").unwrap(), "mail.example.com");
        assert_eq!(hostname(root, None, "other").unwrap(), "other");
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(hostname(empty.path(), None, "DB1").unwrap(), "db1");
    }

    #[test]
    fn machine_id_is_trimmed_or_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(machine_id(dir.path()).unwrap(), "");
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/machine-id"), "0123456789abcdef0123456789abcdef\n").unwrap();
        assert_eq!(machine_id(dir.path()).unwrap(), "0123456789abcdef0123456789abcdef");
    }
}
