//! The packages installed as a site installs them. The .debs go into a throwaway Debian
//! bookworm root (`packaging/debian-root` builds it once with mmdebstrap and keeps it under
//! target/): the client with a real `apt-get install` whose hook reports to a server, kept
//! across an upgrade with its configuration, token and spool, and removed without breaking
//! apt; the server run under its own user as its unit says, upgraded with its data. The
//! client .rpm goes into a dnf installroot, where a real dnf loads the plugin it installed.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use patchman_testkit::dnf::{Dnf, plugin_lines};
use patchman_testkit::rpm::RpmSpec;
use patchman_testkit::server::ENROLLMENT_KEY;
use patchman_testkit::{require_tool, run, wait_until, workspace_root, write};

use crate::packaging::package;
use crate::support::start_server;

/// A Debian bookworm root extracted from the cached tarball; commands run in it with chroot
/// and a clean environment.
struct DebianRoot {
    dir: tempfile::TempDir,
}

impl DebianRoot {
    fn new() -> Self {
        require_tool("mmdebstrap");
        let script = workspace_root().join("packaging/debian-root");
        let tar = String::from_utf8(run(&mut Command::new(&script)).stdout).unwrap();
        let dir = tempfile::tempdir().unwrap();
        run(Command::new("tar").arg("-xf").arg(tar.trim()).arg("-C").arg(dir.path()));
        Self { dir }
    }

    fn path(&self, inside: &str) -> PathBuf {
        self.dir.path().join(inside.trim_start_matches('/'))
    }

    /// `chroot ROOT ARGS…` as root, or as `user` (numeric ids from the root's own files).
    fn command(&self, user: Option<&str>, args: &[&str]) -> Command {
        let mut cmd = Command::new("chroot");
        if let Some(user) = user {
            cmd.arg(format!("--userspec={}", self.ids(user)));
        }
        cmd.arg(self.dir.path()).args(args).env_clear().envs([
            ("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            ("LC_ALL", "C.UTF-8"),
            ("HOME", "/root"),
            ("DEBIAN_FRONTEND", "noninteractive"),
        ]);
        cmd
    }

    /// Runs a shell line in the root as root; asserts success.
    #[track_caller]
    fn sh(&self, line: &str) -> Output {
        run(&mut self.command(None, &["sh", "-c", line]))
    }

    /// "uid:gid" of `user` in the root's /etc/passwd.
    fn ids(&self, user: &str) -> String {
        let passwd = std::fs::read_to_string(self.path("/etc/passwd")).unwrap();
        let fields: Vec<&str> = passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f[0] == user)
            .unwrap_or_else(|| panic!("no user {user} in the root"));
        format!("{}:{}", fields[2], fields[3])
    }

    /// Copies a built package into the root's /tmp; its path inside the root.
    fn copy_in(&self, package: &Path) -> String {
        let name = package.file_name().unwrap().to_str().unwrap();
        std::fs::copy(package, self.path("/tmp").join(name)).unwrap();
        format!("/tmp/{name}")
    }
}

/// The same package as a newer revision (`-1` → `-2`): what an upgrade installs.
fn next_revision(deb: &Path, out: &Path) -> PathBuf {
    let tree = out.join("tree");
    run(Command::new("dpkg-deb").arg("-R").arg(deb).arg(&tree));
    let control = tree.join("DEBIAN/control");
    let text = std::fs::read_to_string(&control).unwrap();
    let version = text.lines().find_map(|l| l.strip_prefix("Version: ")).unwrap().to_owned();
    let newer = version.replace("-1", "-2");
    assert_ne!(newer, version);
    write(&control, text.replace(&format!("Version: {version}"), &format!("Version: {newer}")));
    let name = deb.file_name().unwrap().to_str().unwrap().replace(&version, &newer);
    let file = out.join(name);
    run(Command::new("dpkg-deb").args(["--root-owner-group", "-Zxz", "--build"]).arg(&tree).arg(&file));
    std::fs::remove_dir_all(&tree).unwrap();
    file
}

/// A tiny .deb built into the root's /tmp for apt to install; its path inside the root.
fn test_deb(root: &DebianRoot, name: &str) -> String {
    patchman_testkit::apt::build_debs(&root.path("/tmp/repo"), &[(name, "1.0", "all")]);
    format!("/tmp/repo/pool/{name}_1.0_all.deb")
}

/// The transaction reports waiting in the client's spool: file name → contents.
fn spooled(root: &DebianRoot) -> std::collections::BTreeMap<String, Vec<u8>> {
    let dir = root.path("/var/lib/patchman-client/spool");
    std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                .filter(|(name, _)| name.starts_with("tx-"))
                .map(|(name, path)| (name, std::fs::read(path).unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_client_deb_reports_apt_transactions_survives_an_upgrade_and_leaves_apt_working_when_removed() {
    let server = start_server(&[]);
    let root = DebianRoot::new();
    let deb = root.copy_in(&package("patchman-client_", ".deb"));
    root.sh(&format!("apt-get install -y -q {deb}"));
    assert!(root.path("/usr/libexec/patchman/patchman-apt-hook").is_file());
    assert!(root.path("/var/lib/patchman-client").is_dir(), "postinst makes the state directory");

    // The site's settings, then enrollment: what the README's install section says.
    let conf = root.path("/etc/patchman/client.toml");
    let shipped = std::fs::read_to_string(&conf).unwrap();
    let configured = shipped
        .replace("https://patchman.example.org:8080", &server.url())
        .replace("#hostname = \"web1.example.org\"", "hostname = \"deb-root\"");
    assert_ne!(configured, shipped);
    write(&conf, &configured);
    root.sh(&format!("patchman-client --enroll {ENROLLMENT_KEY}"));
    let token = std::fs::read(root.path("/var/lib/patchman-client/token")).expect("the host token");

    // A real apt-get install fires the hook; the server receives the transaction.
    let hello = test_deb(&root, "hello-patchman");
    root.sh(&format!("apt-get install -y -q {hello}"));
    let transactions = || {
        let out = server.admin_output(&["host", "show", "deb-root", "--json"]);
        let host: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        patchman_testkit::host::transactions(&host, patchman_testkit::host::Changes::AsSent)
    };
    wait_until(Duration::from_secs(60), "the apt transaction on the server", || {
        transactions().iter().any(|t| t.contains("installed hello-patchman"))
    });

    // The server away: the next transaction waits in the spool.
    write(&conf, configured.replace(&server.url(), "http://127.0.0.1:9"));
    let later = test_deb(&root, "later-patchman");
    root.sh(&format!("apt-get install -y -q {later}"));
    wait_until(Duration::from_secs(30), "a spooled report", || !spooled(&root).is_empty());
    let waiting = spooled(&root);

    // An upgrade keeps the configuration (changed here), the token and the spool.
    let out = tempfile::tempdir().unwrap();
    let newer = root.copy_in(&next_revision(&package("patchman-client_", ".deb"), out.path()));
    let upgrade = root.sh(&format!("apt-get install -y -q {newer}"));
    let said = String::from_utf8_lossy(&upgrade.stdout);
    assert!(said.contains("Unpacking patchman-client") && said.contains("over (0.1.0-1)"), "{said}");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), configured.replace(&server.url(), "http://127.0.0.1:9"));
    assert_eq!(std::fs::read(root.path("/var/lib/patchman-client/token")).unwrap(), token);
    // (The upgrade is itself an apt transaction: its own report joins the spool.)
    let after = spooled(&root);
    for (name, body) in &waiting {
        assert!(after.get(name) == Some(body), "{name} left the spool: {:?}", after.keys());
    }

    // The server back: the spool is delivered.
    write(&conf, &configured);
    root.sh("patchman-client --flush");
    wait_until(Duration::from_secs(60), "the spooled transaction on the server", || {
        transactions().iter().any(|t| t.contains("installed later-patchman"))
    });

    // Removed (its apt and dpkg entries stay as conffiles), then purged: apt goes on working.
    root.sh("apt-get remove -y -q patchman-client");
    assert!(root.path("/etc/apt/apt.conf.d/50patchman").is_file() && !root.path("/usr/bin/patchman-client").exists());
    let third = test_deb(&root, "third-patchman");
    // (`sh` asserts that apt-get and dpkg succeed.)
    root.sh(&format!("apt-get install -y -q {third} && dpkg -r third-patchman"));
    root.sh("apt-get purge -y -q patchman-client");
    assert!(!root.path("/etc/apt/apt.conf.d/50patchman").exists() && !root.path("/var/lib/patchman-client").exists());
    root.sh(&format!("apt-get install -y -q {third}"));
}

/// The unit's `Key=` values, in order.
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    unit.lines().filter_map(|l| l.strip_prefix(&format!("{key}="))).map(str::to_owned).collect()
}

/// The packaged server as its unit runs it: ExecStartPre then ExecStart, under the unit's
/// user, in its working directory, with the environment systemd gives it; the address it
/// listens on.
fn start_packaged_server(root: &DebianRoot) -> (Running, String) {
    let unit = std::fs::read_to_string(root.path("/usr/lib/systemd/system/patchman.service")).unwrap();
    let user = unit_values(&unit, "User").remove(0);
    let dir = unit_values(&unit, "WorkingDirectory").remove(0);
    let state = format!("/var/lib/{}", unit_values(&unit, "StateDirectory").remove(0));
    let umask = unit_values(&unit, "UMask").remove(0);
    let shell = |line: &str| {
        let mut cmd = root.command(Some(&user), &["sh", "-c", &format!("umask {umask} && cd {dir} && exec {line}")]);
        cmd.env("STATE_DIRECTORY", &state).env("PATCHMAN_LISTEN", "127.0.0.1:0").env("PATCHMAN_LOG", "warn");
        cmd.env("PATCHMAN_REFRESH_INTERVAL_SECONDS", "0");
        cmd
    };
    for pre in unit_values(&unit, "ExecStartPre") {
        run(&mut shell(&pre));
    }
    let start = unit_values(&unit, "ExecStart").remove(0);
    let mut child = shell(&start).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("patchman listening on ") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the packaged server exited");
    }
    std::thread::spawn(move || for _ in out.lines() {});
    (Running(child), line.trim().trim_start_matches("patchman listening on ").to_owned())
}

/// The packaged server's process; killed if the test ends without stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SIGTERM, as `systemctl stop` sends: the server ends cleanly.
fn stop(mut server: Running) {
    run(Command::new("kill").arg("-TERM").arg(server.0.id().to_string()));
    let status = server.0.wait().unwrap();
    assert!(status.success(), "the server ends cleanly on SIGTERM: {status}");
}

/// `GET path` on `addr` over plain HTTP/1.1: the whole response.
pub(crate) fn http_get(addr: &str, path: &str) -> String {
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(
        &mut tcp,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut tcp, &mut answer).unwrap();
    answer
}

#[test]
fn the_server_deb_runs_under_its_own_user_and_keeps_its_data_across_an_upgrade() {
    let root = DebianRoot::new();
    let deb = root.copy_in(&package("patchman-server_", ".deb"));
    root.sh(&format!("apt-get install -y -q {deb}"));
    let owner = |p: &str| {
        let out = root.sh(&format!("stat -c '%U:%G %a' {p}"));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(owner("/var/lib/patchman"), "patchman:patchman 750");
    assert_eq!(owner("/etc/patchman/server.toml"), "root:patchman 640");

    let (server, addr) = start_packaged_server(&root);
    assert!(http_get(&addr, "/healthz").starts_with("HTTP/1.1 200"));
    assert!(http_get(&addr, "/readyz").starts_with("HTTP/1.1 200"));
    // The database and the first administrator's password, owned by the service's user.
    assert_eq!(owner("/var/lib/patchman/patchman.db"), "patchman:patchman 640");
    let password = "/var/lib/patchman/patchman-admin-password";
    assert_eq!(owner(password), "patchman:patchman 600");
    let password_text = std::fs::read(root.path(password)).unwrap();

    // A host enrolls with the site's key and reports (the packaged CLI, as the service's user).
    let cli = |args: &[&str]| {
        let mut all = vec!["patchman", "--config", "/etc/patchman/server.toml"];
        all.extend_from_slice(args);
        String::from_utf8(run(&mut root.command(Some("patchman"), &all)).stdout).unwrap()
    };
    let key = cli(&["enrollment-key"]).trim().to_owned();
    let state = tempfile::tempdir().unwrap();
    run(Command::new(patchman_testkit::artifact("patchman-client"))
        .args(["--server", &format!("http://{addr}"), "--hostname", "site-host", "--enroll", &key])
        .arg("--state-dir")
        .arg(state.path()));
    let hosts = cli(&["host", "list", "--json"]);
    assert!(hosts.contains("\"site-host\""), "{hosts}");
    stop(server);

    // The upgrade: configuration, database, password file and host all still there.
    let conf = root.path("/etc/patchman/server.toml");
    let site_conf = std::fs::read_to_string(&conf).unwrap() + "\n# edited by the site\n";
    write(&conf, &site_conf);
    let out = tempfile::tempdir().unwrap();
    let newer = root.copy_in(&next_revision(&package("patchman-server_", ".deb"), out.path()));
    root.sh(&format!("apt-get install -y -q {newer}"));
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), site_conf);
    assert_eq!(owner("/etc/patchman/server.toml"), "root:patchman 640");
    let (server, addr) = start_packaged_server(&root);
    assert!(http_get(&addr, "/readyz").starts_with("HTTP/1.1 200"));
    assert!(cli(&["host", "list", "--json"]).contains("\"site-host\""));
    assert_eq!(std::fs::read(root.path(password)).unwrap(), password_text);
    assert!(cli(&["user", "list", "--json"]).contains("\"admin\""));
    stop(server);
}

#[test]
fn the_client_rpm_installs_a_plugin_that_a_real_dnf_loads_and_that_reports_the_transaction() {
    let server = start_server(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let dnf = Dnf::installed(tmp.path(), "usr/lib64/patchman/dnf");
    dnf.install_rpm(&package("patchman-client-", ".rpm"));
    assert!(dnf.root.join("usr/lib64/patchman/dnf/patchman_libreport.abi3.so").is_file());
    dnf.configure_plugin(&server.url(), "rpm-root");
    // The plugin as installed finds its native module beside it (not the fallback client).
    let plugin_dir = dnf.root.join("usr/lib64/patchman/dnf");
    let check = "import sys; sys.path.insert(0, sys.argv[1]); import patchman; \
                 print(patchman.patchman_libreport.__file__)";
    let out = run(Command::new("/usr/bin/python3").args(["-c", check]).arg(&plugin_dir).env_remove("PYTHONPATH"));
    let loaded = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(Path::new(&loaded), plugin_dir.join("patchman_libreport.abi3.so"));
    dnf.enroll(&server, "rpm-root");

    dnf.publish(&[RpmSpec::new("hello-patchman", "1.0-1", "noarch")]);
    let out = dnf.dnf(&["install", "hello-patchman"]);
    assert!(plugin_lines(&out).is_empty(), "the plugin said: {:?}", plugin_lines(&out));
    wait_until(Duration::from_secs(60), "the dnf transaction on the server", || {
        let out = server.admin_output(&["host", "show", "rpm-root", "--json"]);
        let host: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        patchman_testkit::host::transactions(&host, patchman_testkit::host::Changes::AsSent)
            .iter()
            .any(|t| t.starts_with("dnf: ") && t.contains("installed hello-patchman"))
    });
    patchman_testkit::wait_for_processes_naming(&dnf.state);

    // The package erased: its plugin directory is gone, and dnf goes on working.
    run(Command::new("rpm").env("HOME", &dnf.home).arg("--root").arg(&dnf.root).args([
        "-e",
        "--nodeps",
        "--noscripts",
        "patchman-client",
    ]));
    assert!(!plugin_dir.exists());
    dnf.publish(&[RpmSpec::new("after-patchman", "1.0-1", "noarch")]);
    let out = dnf.dnf(&["install", "after-patchman"]);
    assert!(plugin_lines(&out).is_empty(), "{:?}", plugin_lines(&out));
    assert!(dnf.installed_packages().iter().any(|p| p.starts_with("after-patchman ")));
}

#[test]
fn the_client_rpm_scriptlets_link_the_plugin_for_dnf_and_unlink_it_on_erase() {
    require_tool("rpm");
    // A root with a shell for the scriptlets, and the plugin directory python3-dnf makes.
    let root = DebianRoot::new();
    let plugins = root.path("/usr/lib/python3.9/site-packages/dnf-plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let home = tempfile::tempdir().unwrap();
    write(&home.path().join(".rpmmacros"), "%_dbpath /var/lib/rpm\n");
    let rpm = |args: &[&str]| {
        let mut cmd = Command::new("rpm");
        cmd.env("HOME", home.path()).arg("--root").arg(root.path("/")).args(args);
        run(&mut cmd)
    };
    rpm(&["--initdb"]);
    let package = package("patchman-client-", ".rpm");
    rpm(&["-i", "--nodeps", package.to_str().unwrap()]);
    let link = plugins.join("patchman.py");
    let target = std::fs::read_link(&link).expect("%posttrans links the plugin");
    assert!(target.is_relative(), "{target:?}: relative, so it also holds inside an installroot");
    assert_eq!(std::fs::canonicalize(&link).unwrap(), root.path("/usr/lib64/patchman/dnf/patchman.py"));
    assert!(root.path("/var/lib/patchman-client").is_dir());

    rpm(&["-e", "--nodeps", "patchman-client"]);
    assert!(std::fs::symlink_metadata(&link).is_err(), "erasing removes the link");
    assert!(!root.path("/usr/lib64/patchman/dnf/patchman.py").exists());
}
