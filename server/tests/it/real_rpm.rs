//! The rpm test with real tools: packages built with rpmbuild in several versions and arches,
//! repositories made with createrepo_c (priorities, a security erratum, module streams), an
//! installroot whose older versions real dnf installed. After a refresh over loopback HTTP,
//! patchman's updates must be exactly what `dnf check-update` lists, and its security
//! updates exactly what `dnf check-update --security` lists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use patchman_testkit::http::FileServer;
use patchman_testkit::rpm::{RpmSpec, build};
use patchman_testkit::{require_tool, run, write};

use crate::support::{host_json, start_server};

fn spec(name: &str, evr: &str, arch: &str) -> RpmSpec {
    let mut s = RpmSpec::new(name, evr, arch);
    if name.starts_with("kernel") {
        // What makes dnf keep several versions side by side, as real kernel packages do.
        s.provides.push("installonlypkg(kernel)".to_owned());
    }
    s
}

/// A createrepo_c repository of these packages under `www/<name>`.
fn repo(www: &Path, rpmbuild: &Path, name: &str, specs: &[RpmSpec]) -> PathBuf {
    let dir = www.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for rpm in build(rpmbuild, specs) {
        std::fs::copy(&rpm, dir.join(rpm.file_name().unwrap())).unwrap();
    }
    run(Command::new("createrepo_c").args(["-q", "--general-compress-type=gz"]).arg(&dir));
    dir
}

const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="security@example.org" status="final" type="security" version="2">
    <id>RLSA-2024:0001</id>
    <title>Important: openssl security update</title>
    <issued date="2024-05-01 10:00:00"/>
    <severity>Important</severity>
    <references><reference href="https://www.cve.org/CVERecord?id=CVE-2024-0001" id="CVE-2024-0001" type="cve"/></references>
    <pkglist><collection short="baseos"><name>baseos</name>
      <package name="openssl-libs" epoch="1" version="3.0.7" release="27.el9" arch="x86_64" src="openssl-3.0.7-27.el9.src.rpm">
        <filename>openssl-libs-3.0.7-27.el9.x86_64.rpm</filename></package>
    </collection></pkglist>
  </update>
</updates>
"#;

const MODULES: &str = r#"---
document: modulemd
version: 2
data:
  name: nginx
  stream: "1.20"
  version: 9010020220629
  context: 9edba152
  arch: x86_64
  summary: nginx 1.20
  description: nginx web server, stream 1.20
  license:
    module: [MIT]
  profiles:
    common:
      rpms: [nginx]
  artifacts:
    rpms:
    - nginx-1:1.20.1-2.module+el9.1.0+11+aaaa.x86_64
...
---
document: modulemd
version: 2
data:
  name: nginx
  stream: "1.22"
  version: 9020020230101
  context: 9edba152
  arch: x86_64
  summary: nginx 1.22
  description: nginx web server, stream 1.22
  license:
    module: [MIT]
  profiles:
    common:
      rpms: [nginx]
  artifacts:
    rpms:
    - nginx-1:1.22.1-1.module+el9.2.0+12+bbbb.x86_64
...
---
document: modulemd
version: 2
data:
  name: perl
  stream: "5.32"
  version: 9010020220701
  context: 1234abcd
  arch: x86_64
  summary: perl 5.32
  description: perl, stream 5.32
  license:
    module: [MIT]
  profiles:
    common:
      rpms: [perl]
  artifacts:
    rpms:
    - perl-4:5.32.1-480.module+el9.1.0+13+cccc.x86_64
...
---
document: modulemd-defaults
version: 1
data:
  module: nginx
  stream: "1.20"
  profiles:
    "1.20": [common]
...
"#;

/// dnf against the installroot with the given repository files.
fn dnf(conf: &Path, root: &Path) -> Command {
    let mut cmd = Command::new("dnf");
    cmd.arg("-c").arg(conf).arg("--installroot").arg(root).args(["--releasever=9", "-y", "-q"]);
    cmd
}

/// "name.arch evr" lines of `dnf check-update` (exit code 100 when there are updates).
fn check_update(conf: &Path, root: &Path, extra: &[&str]) -> BTreeSet<(String, String, String)> {
    let out = dnf(conf, root).args(["check-update", "--refresh"]).args(extra).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 100)), "dnf check-update: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (name_arch, evr, _repo) = (f.next()?, f.next()?, f.next()?);
            let (name, arch) = name_arch.rsplit_once('.')?;
            Some((name.to_owned(), arch.to_owned(), evr.to_owned()))
        })
        .collect()
}

#[test]
fn updates_match_dnf_check_update_in_an_installroot() {
    for tool in ["dnf", "rpmbuild", "createrepo_c", "modifyrepo_c"] {
        require_tool(tool);
    }
    let tmp = tempfile::tempdir().unwrap();
    let (www, rpmbuild, root) = (tmp.path().join("www"), tmp.path().join("rpmbuild"), tmp.path().join("root"));
    let files = FileServer::start(&www);

    // What the host has installed, from a repository of old versions.
    let old = repo(
        &www,
        &rpmbuild,
        "old",
        &[
            spec("bash", "5.1.8-6.el9", "x86_64"),
            spec("glibc", "2.34-60.el9", "x86_64"),
            spec("glibc", "2.34-60.el9", "i686"),
            spec("openssl-libs", "1:3.0.7-25.el9", "x86_64"),
            spec("curl", "7.76.1-26.el9", "x86_64"),
            spec("foo", "1.0-1.el9", "noarch"),
            spec("bar", "1.0-1.el9", "noarch"),
            spec("kernel-core", "5.14.0-362.8.1.el9_3", "x86_64"),
            spec("kernel-core", "5.14.0-427.13.1.el9_4", "x86_64"),
            spec("nginx", "1:1.20.1-1.el9", "x86_64"),
            spec("perl", "4:5.32.1-479.el9", "x86_64"),
            spec("tzdata", "2024a-1.el9", "noarch"),
        ],
    );
    // Newer versions, spread over repositories with priorities and module streams.
    repo(
        &www,
        &rpmbuild,
        "baseos",
        &[
            spec("bash", "5.1.8-9.el9", "x86_64"),
            spec("glibc", "2.34-100.el9", "x86_64"),
            spec("glibc", "2.34-100.el9", "i686"),
            spec("openssl-libs", "1:3.0.7-27.el9", "x86_64"),
            spec("curl", "7.76.1-26.el9", "x86_64"),
            spec("kernel-core", "5.14.0-427.13.1.el9_4", "x86_64"),
            spec("kernel-core", "5.14.0-503.11.1.el9_5", "x86_64"),
            spec("tzdata", "2024a-1.el9", "noarch"),
        ],
    );
    let appstream = repo(
        &www,
        &rpmbuild,
        "appstream",
        &[
            spec("nginx", "1:1.20.1-2.module+el9.1.0+11+aaaa", "x86_64"),
            spec("nginx", "1:1.22.1-1.module+el9.2.0+12+bbbb", "x86_64"),
            spec("perl", "4:5.32.1-480.module+el9.1.0+13+cccc", "x86_64"),
        ],
    );
    repo(&www, &rpmbuild, "local", &[spec("foo", "1.0-1.el9", "noarch")]);
    repo(&www, &rpmbuild, "epel", &[spec("foo", "2.0-1.el9", "noarch"), spec("bar", "2.0-1.el9", "noarch")]);
    let baseos = www.join("baseos");
    write(&tmp.path().join("updateinfo.xml"), UPDATEINFO);
    run(Command::new("modifyrepo_c")
        .args(["--mdtype=updateinfo"])
        .arg(tmp.path().join("updateinfo.xml"))
        .arg(baseos.join("repodata")));
    write(&tmp.path().join("modules.yaml"), MODULES);
    run(Command::new("modifyrepo_c")
        .args(["--mdtype=modules"])
        .arg(tmp.path().join("modules.yaml"))
        .arg(appstream.join("repodata")));

    let conf = tmp.path().join("dnf.conf");
    write(
        &conf,
        format!(
            "[main]\ngpgcheck=0\ninstall_weak_deps=0\nreposdir={}\ncachedir={}\nplugins=0\n",
            root.join("etc/yum.repos.d").display(),
            tmp.path().join("cache").display()
        ),
    );
    write(&root.join("etc/yum.repos.d/old.repo"), format!("[old]\nname=old\nbaseurl=file://{}\n", old.display()));
    let installed =
        ["bash", "glibc.x86_64", "glibc.i686", "openssl-libs", "curl", "foo", "bar", "nginx", "perl", "tzdata"];
    run(dnf(&conf, &root).arg("install").args(installed));
    run(dnf(&conf, &root).args(["install", "kernel-core-5.14.0-362.8.1.el9_3", "kernel-core-5.14.0-427.13.1.el9_4"]));
    std::fs::remove_file(root.join("etc/yum.repos.d/old.repo")).unwrap();

    // The host's real repositories: loopback HTTP, with priorities.
    let url = files.url();
    write(
        &root.join("etc/yum.repos.d/rocky.repo"),
        format!(
            "[baseos]\nname=BaseOS\nbaseurl={url}/baseos\n\n[appstream]\nname=AppStream\nbaseurl={url}/appstream\n\n\
             [local]\nname=Local\nbaseurl={url}/local\npriority=10\n\n[epel]\nname=EPEL\nbaseurl={url}/epel\n"
        ),
    );
    run(dnf(&conf, &root).args(["module", "enable", "nginx:1.20"]));
    assert!(root.join("etc/dnf/modules.d/nginx.module").is_file());
    write(
        &root.join("etc/os-release"),
        std::fs::read(patchman_testkit::workspace_root().join("libreport/testdata/os-release/rocky-9.4")).unwrap(),
    );
    let want = check_update(&conf, &root, &[]);
    let want_security = check_update(&conf, &root, &["--security"]);
    assert!(want.len() >= 5 && !want_security.is_empty(), "the scenario must give dnf something to say: {want:?}");

    let server = start_server(&[]);
    let client = crate::e2e::client_bin();
    run(Command::new(client)
        .args([
            "--server",
            &server.url(),
            "--root",
            root.to_str().unwrap(),
            "--state-dir",
            tmp.path().join("state").to_str().unwrap(),
        ])
        .args(["--enroll", patchman_testkit::server::ENROLLMENT_KEY, "--hostname", "rocky.example.org"])
        .args(["--kernel", "5.14.0-427.13.1.el9_4.x86_64", "--arch", "x86_64"]));
    let refreshed = server.admin(&["refresh-repos"]);
    assert!(refreshed.starts_with("4 repositories: 4 changed"), "{refreshed}");

    let host = host_json(&server, "rocky.example.org");
    let updates = host["updates"].as_array().unwrap();
    let ours: BTreeSet<(String, String, String)> = updates
        .iter()
        .map(|u| {
            let s = |k: &str| u[k].as_str().unwrap().to_owned();
            (s("available_name"), s("available_arch"), s("available"))
        })
        .collect();
    assert_eq!(ours, want, "patchman's updates differ from `dnf check-update`");
    let ours_security: BTreeSet<(String, String, String)> = updates
        .iter()
        .filter(|u| u["security"] == true)
        .map(|u| {
            let s = |k: &str| u[k].as_str().unwrap().to_owned();
            (s("available_name"), s("available_arch"), s("available"))
        })
        .collect();
    assert_eq!(ours_security, want_security, "security updates differ from `dnf check-update --security`");
    let openssl = updates.iter().find(|u| u["name"] == "openssl-libs").unwrap();
    assert_eq!(openssl["erratum"], "RLSA-2024:0001");
    assert!(host["packages_not_in_repos"].as_array().unwrap().is_empty(), "{}", host["packages_not_in_repos"]);
}
