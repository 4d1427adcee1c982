//! End to end: the real `patchman-client` collects a fixture root (this Debian machine's own
//! files; a Rocky Linux 9 root whose rpm database is built by rpm itself) and reports it to a
//! real server; `patchman host show --json` must show exactly what the host has.

use std::path::{Path, PathBuf};
use std::process::Command;

use patchman_testkit::rpm::{RpmSpec, build, install_justdb, query_installed};
use patchman_testkit::server::{ENROLLMENT_KEY, Server};
use patchman_testkit::{run, workspace_root, write};
use serde_json::Value;

use crate::support::{host_json, start_server};

/// `patchman-client`, built next to this test binary by `cargo build --workspace`.
pub fn client_bin() -> PathBuf {
    patchman_testkit::artifact("patchman-client")
}

fn report(server: &Server, root: &Path, state: &Path, extra: &[&str]) -> String {
    let out = run(Command::new(client_bin())
        .args(["--server", &server.url(), "--root", root.to_str().unwrap(), "--state-dir", state.to_str().unwrap()])
        .args(["--enroll", ENROLLMENT_KEY, "--trigger", "manual"])
        .args(extra));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn copy_into(root: &Path, abs: &str) {
    let dest = root.join(abs.trim_start_matches('/'));
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(abs, &dest).unwrap_or_else(|e| panic!("copy {abs}: {e}"));
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array().unwrap().iter().map(|v| v[key].as_str().unwrap().to_owned()).collect()
}

#[test]
fn this_debian_machine_end_to_end() {
    let server = start_server(&[("PATCHMAN_API__METRICS_TOKEN", METRICS_TOKEN)]);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    for f in
        ["/var/lib/dpkg/status", "/etc/os-release", "/etc/debian_version", "/etc/apt/sources.list.d/debian.sources"]
    {
        copy_into(&root, f);
    }
    let out =
        report(&server, &root, &tmp.path().join("state"), &["--hostname", "deb12.example.org", "--tags", "web,prod"]);
    assert!(out.contains("stored"), "{out}");

    // What dpkg itself says is installed.
    let dpkg = run(Command::new("dpkg-query").args([
        "-W",
        "-f",
        "${db:Status-Abbrev}|${Package}|${Version}|${Architecture}\n",
    ]));
    let mut want: Vec<String> = String::from_utf8_lossy(&dpkg.stdout)
        .lines()
        .filter(|l| l.starts_with("ii") || l.starts_with("hi"))
        .map(|l| l.split('|').skip(1).collect::<Vec<_>>().join(" "))
        .collect();
    want.sort();
    let host = host_json(&server, "deb12.example.org");
    let mut got: Vec<String> = host["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!("{} {} {}", p["name"].as_str().unwrap(), p["evr"].as_str().unwrap(), p["arch"].as_str().unwrap())
        })
        .collect();
    got.sort();
    assert_eq!(got, want, "stored packages differ from dpkg-query");
    assert_eq!(host["package_count"].as_u64().unwrap() as usize, want.len());

    let debian_version = std::fs::read_to_string("/etc/debian_version").unwrap();
    assert_eq!(host["os_variant"], format!("Debian {}", debian_version.trim()));
    assert_eq!(host["os_group"], "Debian 12");
    assert_eq!(host["domain"], "example.org");
    assert_eq!(host["tags"], serde_json::json!(["prod", "web"]));
    let repos = host["repos"].as_array().unwrap();
    let urls: Vec<&str> =
        repos.iter().flat_map(|r| r["urls"].as_array().unwrap()).map(|u| u.as_str().unwrap()).collect();
    assert!(urls.contains(&"http://deb.debian.org/debian/dists/bookworm/main/binary-amd64"), "{urls:?}");
    let security: Vec<&str> =
        repos.iter().filter(|r| r["security"] == true).map(|r| r["repo_key"].as_str().unwrap()).collect();
    assert_eq!(security, ["deb.debian.org/debian-security bookworm-security/main amd64"], "{repos:?}");

    // The same state again only refreshes last-seen.
    let out =
        report(&server, &root, &tmp.path().join("state"), &["--hostname", "deb12.example.org", "--tags", "web,prod"]);
    assert!(out.contains("unchanged"), "{out}");
    assert_eq!(host_json(&server, "deb12.example.org")["reports"].as_array().unwrap().len(), 1);
    // Both reports were offered as a digest first; only the first was then sent whole.
    let metrics = metrics(&server);
    for (door, result, n) in [("grpc_digest", "send_report", 1), ("grpc", "stored", 1), ("grpc_digest", "unchanged", 1)]
    {
        let line = format!("patchman_reports_total{{door=\"{door}\",result=\"{result}\"}} {n}\n");
        assert!(metrics.contains(&line), "no {line} in {metrics}");
    }
    assert!(!metrics.contains("door=\"grpc\",result=\"unchanged\""), "{metrics}");
}

const METRICS_TOKEN: &str = "e2e-metrics-token";

fn metrics(server: &Server) -> String {
    let out = run(Command::new("curl")
        .args(["-sf", "-H", &format!("Authorization: Bearer {METRICS_TOKEN}")])
        .arg(format!("{}/metrics", server.url())));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_rocky_linux_host_with_a_real_rpm_database_end_to_end() {
    let server = start_server(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let specs = [
        RpmSpec::new("bash", "5.1.8-9.el9", "x86_64"),
        RpmSpec::new("openssl-libs", "1:3.0.7-27.el9", "x86_64"),
        RpmSpec::new("glibc", "2.34-100.el9_4.2", "i686"),
        RpmSpec::new("glibc", "2.34-100.el9_4.2", "x86_64"),
        RpmSpec::new("kernel-core", "5.14.0-362.8.1.el9_3", "x86_64"),
        RpmSpec::new("kernel-core", "5.14.0-427.13.1.el9_4", "x86_64"),
        RpmSpec::new("nginx", "1:1.22.1-4.module+el9.4.0+17782+d8adfaa0", "x86_64"),
        RpmSpec::new("tzdata", "2024a-1.el9", "noarch"),
    ];
    let rpms = build(&tmp.path().join("rpmbuild"), &specs);
    install_justdb(&root, &rpms);
    std::fs::copy(workspace_root().join("libreport/testdata/os-release/rocky-9.4"), {
        std::fs::create_dir_all(root.join("etc")).unwrap();
        root.join("etc/os-release")
    })
    .unwrap();
    write(
        &root.join("etc/yum.repos.d/rocky.repo"),
        "[baseos]\nname=Rocky Linux $releasever - BaseOS\n\
         mirrorlist=https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=BaseOS-$releasever$rltype\n\
         #baseurl=http://dl.rockylinux.org/$contentdir/$releasever/BaseOS/$basearch/os/\ngpgcheck=1\nenabled=1\n\n\
         [appstream]\nname=Rocky Linux $releasever - AppStream\n\
         baseurl=http://dl.rockylinux.org/$contentdir/$releasever/AppStream/$basearch/os/\npriority=10\n\n\
         [devel]\nname=Rocky Linux $releasever - Devel\nbaseurl=http://dl.rockylinux.org/x\nenabled=0\n",
    );
    write(&root.join("etc/dnf/vars/contentdir"), "pub/rocky\n");
    write(&root.join("etc/dnf/vars/rltype"), "\n");
    write(
        &root.join("etc/dnf/modules.d/nginx.module"),
        "[nginx]\nname=nginx\nstream=1.22\nprofiles=common\nstate=enabled\n",
    );
    write(&root.join("etc/dnf/modules.d/php.module"), "[php]\nname=php\nstream=8.1\nprofiles=\nstate=disabled\n");

    let out = report(
        &server,
        &root,
        &tmp.path().join("state"),
        &["--hostname", "rocky9.example.org", "--kernel", "5.14.0-362.8.1.el9_3.x86_64", "--arch", "x86_64"],
    );
    assert!(out.contains("stored"), "{out}");

    let host = host_json(&server, "rocky9.example.org");
    let mut got: Vec<String> = host["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_owned();
            format!("{} {} {} {} {}", s("name"), p["epoch"], s("version"), s("release"), s("arch"))
        })
        .collect();
    got.sort();
    assert_eq!(got, query_installed(&root), "stored packages differ from rpm -qa");
    assert!(host["packages"].as_array().unwrap().iter().all(|p| p["kind"] == "rpm"));

    assert_eq!(host["os_group"], "Rocky Linux 9");
    assert_eq!(host["os_variant"], "Rocky Linux 9.4");
    assert_eq!(host["kernel"], "5.14.0-362.8.1.el9_3.x86_64");
    assert_eq!(host["reboot_required"], true);
    assert!(host["reboot_reason"].as_str().unwrap().contains("5.14.0-427.13.1.el9_4"), "{}", host["reboot_reason"]);

    let repos = &host["repos"];
    assert_eq!(names(repos, "repo_key"), ["appstream", "baseos"]);
    assert_eq!(repos[0]["urls"], serde_json::json!(["http://dl.rockylinux.org/pub/rocky/9/AppStream/x86_64/os"]));
    assert_eq!(repos[0]["priority"], 10);
    assert_eq!(
        repos[1]["urls"],
        serde_json::json!(["https://mirrors.rockylinux.org/mirrorlist?arch=x86_64&repo=BaseOS-9"])
    );
    assert_eq!(repos[1]["priority"], 99);
    assert_eq!(host["modules"], serde_json::json!([{ "name": "nginx", "stream": "1.22", "profiles": "common" }]));
}

/// A client that could not resolve dnf's variables (an older one, or `patchman-client` on a
/// host without /etc/os-release at hand) still gets mirrors the server can fetch; credentials
/// in a URL are dropped, never stored.
#[tokio::test]
async fn reported_urls_get_variables_resolved_and_credentials_dropped() {
    use patchman_proto as pb;
    let server = start_server(&[]);
    let mut c = crate::support::client(&server).await;
    let token = crate::support::enroll(&mut c, "alma9.example.org", "").await;
    let mut report = crate::support::good_report("alma9.example.org", "r1");
    let os = report.os.as_mut().unwrap();
    (os.id, os.id_like, os.version_id) = ("almalinux".into(), vec!["rhel".into(), "centos".into()], "9.4".into());
    report.packages.iter_mut().for_each(|p| (p.kind, p.arch) = (pb::PackageKind::Rpm as i32, "x86_64".into()));
    report.repos = vec![pb::Repository {
        kind: pb::PackageKind::Rpm as i32,
        id: "baseos".into(),
        name: "AlmaLinux $releasever - BaseOS".into(),
        priority: 99,
        urls: vec![
            pb::RepoUrl {
                url: "https://alice:s3cret@repo.almalinux.org/almalinux/$releasever/BaseOS/$basearch/os/".into(),
                kind: pb::UrlKind::Baseurl as i32,
            },
            pb::RepoUrl {
                url: "https://mirrors.almalinux.org/mirrorlist/${releasever_major}/baseos".into(),
                kind: pb::UrlKind::Mirrorlist as i32,
            },
        ],
        ..Default::default()
    }];
    crate::support::submit(&mut c, Some(&token), report).await.unwrap();
    let host = host_json(&server, "alma9.example.org");
    assert_eq!(
        host["repos"][0]["urls"],
        serde_json::json!([
            "https://repo.almalinux.org/almalinux/9/BaseOS/x86_64/os",
            "https://mirrors.almalinux.org/mirrorlist/9/baseos"
        ])
    );
    assert!(!server.admin(&["repo", "list", "--json"]).contains("s3cret"));
}

/// `--dry-run` prints the report the client would send, as JSON, and sends nothing: no
/// enrollment, no report, nothing spooled.
#[test]
fn dry_run_prints_the_report_and_sends_nothing() {
    let server = start_server(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    for f in ["/var/lib/dpkg/status", "/etc/os-release", "/etc/apt/sources.list.d/debian.sources"] {
        copy_into(&root, f);
    }
    let state = tmp.path().join("state");
    let out = run(Command::new(client_bin())
        .args(["--server", &server.url(), "--root", root.to_str().unwrap(), "--state-dir", state.to_str().unwrap()])
        .args(["--enroll", ENROLLMENT_KEY, "--hostname", "dry.example.org", "--tags", "web", "--dry-run"]));
    let report: Value = serde_json::from_slice(&out.stdout).expect("--dry-run prints JSON");
    assert_eq!(report["state"]["hostname"], "dry.example.org");
    assert_eq!(report["state"]["os"]["id"], "debian");
    assert_eq!(report["tags"], serde_json::json!(["web"]));
    let dpkg = run(Command::new("dpkg-query").args(["-W", "-f", "${db:Status-Abbrev}\n"]));
    let installed =
        String::from_utf8_lossy(&dpkg.stdout).lines().filter(|l| l.starts_with("ii") || l.starts_with("hi")).count();
    assert_eq!(report["state"]["packages"].as_array().unwrap().len(), installed);
    assert!(
        report["state"]["repos"].as_array().unwrap().iter().any(|r| r["urls"].to_string().contains("deb.debian.org")),
        "{:#}",
        report["state"]["repos"]
    );
    assert_eq!(server.admin(&["host", "list", "--json"]).trim(), "[]", "--dry-run sent something");
    let spooled = std::fs::read_dir(state.join("spool")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(spooled, 0, "--dry-run spooled something");
    assert!(!state.join("token").exists(), "--dry-run enrolled");
}

/// One port: the web page that lists hosts is served on the address hosts report to.
#[tokio::test]
async fn the_web_ui_shares_the_grpc_port() {
    let server = start_server(&[]);
    let mut c = crate::support::client(&server).await;
    let token = crate::support::enroll(&mut c, "web01.example.org", "").await;
    crate::support::submit(&mut c, Some(&token), crate::support::good_report("web01.example.org", "r1")).await.unwrap();
    let page = crate::support::http_get(&server, "/hosts");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.to_ascii_lowercase().contains("content-type: text/html"), "{page}");
    assert!(page.contains("web01.example.org"), "{page}");
}

/// `patchman host list --filter` asks the web UI's host question, through the same query layer.
#[tokio::test]
async fn host_list_takes_the_web_uis_filters() {
    let server = start_server(&[]);
    let mut c = crate::support::client(&server).await;
    for (name, tag) in [("web01.example.org", "web"), ("db01.example.org", "db")] {
        let token = crate::support::enroll(&mut c, name, "").await;
        let mut report = crate::support::good_report(name, "r1");
        report.tags = vec![tag.into()];
        crate::support::submit(&mut c, Some(&token), report).await.unwrap();
    }
    let listed = server.admin(&["host", "list", "--filter", "tag=db"]);
    assert!(listed.contains("db01.example.org") && !listed.contains("web01"), "{listed}");
    let json = server.admin(&["host", "list", "--json", "--filter", "search=web", "--filter", "status=unknown"]);
    let hosts: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(hosts.as_array().map(Vec::len), Some(1), "{json}");
    let out = server.admin_output(&["host", "list", "--filter", "status=fine"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("status"), "{out:?}");
}
