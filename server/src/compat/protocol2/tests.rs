use super::*;
use crate::report::{PackageKind, Trigger, UrlKind};

const LIMITS: Limits = Limits { max_packages: 1_000 };

/// `patchman-client -p 2 -u` of a Rocky Linux 9 host (composed, see the fixture's README).
const ROCKY: &[u8] = include_bytes!("../../../tests/fixtures/patchman-client/rocky9-protocol2.json");

fn parsed(body: &[u8]) -> Report {
    parse(body, LIMITS, "r2".into(), 1_000).unwrap()
}

fn errors(body: serde_json::Value) -> Vec<String> {
    parse(body.to_string().as_bytes(), LIMITS, "r2".into(), 1_000)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn minimal() -> serde_json::Value {
    serde_json::json!({
        "protocol": 2, "hostname": "web01.example.org", "arch": "x86_64", "kernel": "6.1.0-18-amd64",
        "os": "Debian 12.5", "tags": ["web"], "reboot_required": true,
        "packages": [{"name": "bash", "epoch": "", "version": "5.2.15", "release": "3", "arch": "amd64", "type": "deb"}],
        "repos": [{"type": "deb", "name": "x", "id": "", "priority": 500,
                   "urls": ["http://deb.debian.org/debian/dists/bookworm/main/binary-amd64"]}],
        "modules": [], "sec_updates": [], "bug_updates": []
    })
}

#[test]
fn the_rocky_body_reads_as_its_protocol_1_twin_does() {
    let r = parsed(ROCKY);
    assert_eq!(r.hostname, "rocky9.example.org");
    assert_eq!(r.kernel, "5.14.0-427.13.1.el9_4.x86_64+debug");
    assert_eq!(crate::ingest::os_names(&r.os), ("Rocky Linux 9".to_owned(), "Rocky Linux 9.4".to_owned()));
    assert_eq!(r.tags, ["prod", "web"]);
    assert_eq!(r.packages.len(), 17);
    assert!(r.packages.iter().any(|p| p.package.name == "libstdc++"), "%2b is a plus in protocol 2 too");
    let openssl = r.packages.iter().find(|p| p.package.name == "openssl").unwrap();
    assert_eq!((openssl.package.kind, openssl.package.epoch), (PackageKind::Rpm, 1));
    let appstream = &r.repos[0];
    assert_eq!((appstream.repo_id.as_str(), appstream.name.as_str()), ("appstream", "Rocky Linux 9 - AppStream"));
    assert_eq!(appstream.urls.iter().map(|u| u.kind).collect::<Vec<_>>(), [UrlKind::Mirrorlist, UrlKind::Baseurl]);
    let internal = r.repos.iter().find(|r| r.repo_id == "internal-tools").unwrap();
    assert_eq!((internal.priority, internal.urls.len()), (10, 2));
    let streams: Vec<(&str, &str)> = r.modules.iter().map(|m| (m.name.as_str(), m.stream.as_str())).collect();
    assert_eq!(streams, [("nginx", "1.22"), ("php", "8.1")]);
    let security: Vec<&str> = r.offered_updates.iter().filter(|u| u.security).map(|u| u.name.as_str()).collect();
    assert_eq!(security, ["nginx-core", "kernel-core", "openssl", "openssl-libs"]);
    assert_eq!(r.offered_updates.len(), 4 + 7);
    assert_eq!(r.trigger, Trigger::Timer);
    assert_eq!(r.client_version, "patchman-client (protocol 2)");
}

#[test]
fn a_minimal_body_and_its_defaults() {
    let r = parsed(minimal().to_string().as_bytes());
    assert!(r.reboot.required);
    assert_eq!(r.repos[0].repo_id, "deb.debian.org/debian bookworm/main amd64");
    let mut hook = minimal();
    hook["repos"] = serde_json::json!([]);
    hook.as_object_mut().unwrap().remove("tags");
    let r = parsed(hook.to_string().as_bytes());
    assert_eq!((r.trigger, r.repos.len(), r.tags.len()), (Trigger::Transaction, 0, 0), "a hook's report");
}

#[test]
fn every_bad_field_is_named_at_once() {
    let mut body = minimal();
    body["os"] = "Debian".into();
    body["kernel"] = "".into();
    body["packages"][0]["epoch"] = "x".into();
    body["repos"][0]["urls"] = serde_json::json!(["http://h/debian/pool/main"]);
    body["sec_updates"] = serde_json::json!([{"name": "openssl", "version": "", "arch": "amd64"}]);
    body["reboot_required"] = "maybe".into();
    assert_eq!(
        errors(body),
        [
            "os: \"Debian\" names no version (expected e.g. \"Debian 12.7\")",
            "kernel: must not be empty",
            "reboot_required: \"maybe\" is not true or false",
            "packages[0].epoch: \"x\" is not a number",
            "sec_updates[0].version: must not be empty",
        ],
        "the repository is read only with a good os"
    );
    let mut body = minimal();
    body["repos"][0]["urls"] = serde_json::json!(["http://h/debian/pool/main"]);
    body["packages"] = serde_json::json!([{"name": "bash", "version": "1", "arch": "amd64", "type": "apk"}, 7]);
    body["protocol"] = 1.into();
    body["tags"] = serde_json::json!(["a b"]);
    assert_eq!(
        errors(body),
        [
            "protocol: 1 is not 2 (protocol 1 posts a form to /reports/upload/)",
            "tags: contains ' '; only letters, digits, '-', '_', '.', ':' and '/' are allowed",
            "packages[0]: type \"apk\" is not deb, rpm, arch or gentoo",
            "repos[0].url: \"http://h/debian/pool/main\" does not end in /dists/SUITE/COMPONENT/binary-ARCH",
        ]
    );
    let mut body = minimal();
    body["packages"] = serde_json::json!([minimal()["packages"][0], minimal()["packages"][0]]);
    body["modules"] = "nginx".into();
    assert_eq!(errors(body), ["packages[1]: repeats packages[0] (bash 5.2.15-3)", "modules: must be a list"]);
    assert_eq!(errors(serde_json::json!([1, 2])), ["body: must be a JSON object"]);
    let not_json = parse(b"hostname=x", LIMITS, "r".into(), 1).unwrap_err();
    assert!(not_json[0].to_string().starts_with("body: is not JSON"), "{not_json:?}");
    let missing = errors(serde_json::json!({"protocol": 2}));
    assert_eq!(
        missing,
        ["hostname: must not be empty", "os: is required", "kernel: must not be empty", "arch: must not be empty"]
    );
}
