//! Shared by the dnf tests: built artifacts, a server, a dnf installroot with a repository
//! of packages rpmbuild made, and the plugin installed as the shipped files describe.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub use patchman_testkit::artifact;
use patchman_testkit::rpm::{RpmSpec, build};
use patchman_testkit::server::{ENROLLMENT_KEY, Server};
use patchman_testkit::{require_tool, run, workspace_root, write};
use serde_json::Value;

/// Debian's interpreter: it has the `dnf` and `rpm` modules (the pyenv one first on PATH has not).
pub const PYTHON: &str = "/usr/bin/python3";

/// A directory holding the extension module under the name Python imports
/// (`patchman_libreport.abi3.so`), linked to the built cdylib.
pub fn module_dir(parent: &Path) -> PathBuf {
    let dir = parent.join("pymodule");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(artifact("libpatchman_libreport.so"), dir.join("patchman_libreport.abi3.so")).unwrap();
    dir
}

pub use patchman_testkit::host::host_json;

/// The host's packages on the server as sorted lines.
pub fn server_packages(host: &Value) -> Vec<String> {
    patchman_testkit::host::packages(host, &["name", "epoch", "version", "release", "arch"])
}

/// The host's transactions on the server, in order, as "tool: action name old>new; ...".
pub fn server_transactions(host: &Value) -> Vec<String> {
    patchman_testkit::host::transactions(host, patchman_testkit::host::Changes::ByName)
}

#[track_caller]
pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An installroot whose rpm database lives where RHEL keeps it (`HOME/.rpmmacros` sets
/// `%_dbpath`; Debian's rpm would otherwise use `~/.rpmdb`), a repository, and dnf configured
/// to use nothing of this machine's.
pub struct Dnf {
    pub root: PathBuf,
    pub repo: PathBuf,
    pub home: PathBuf,
    pub state: PathBuf,
    pub conf_dir: PathBuf,
    dnf_conf: PathBuf,
    rpms: PathBuf,
    pythonpath: Option<PathBuf>,
}

impl Dnf {
    pub fn new(dir: &Path, with_module: bool) -> Self {
        for tool in ["dnf", "rpm", "rpmbuild", "createrepo_c"] {
            require_tool(tool);
        }
        let (root, repo, home) = (dir.join("root"), dir.join("repo"), dir.join("home"));
        let (plugins, conf_dir) = (dir.join("plugins"), dir.join("plugins.d"));
        write(&home.join(".rpmmacros"), "%_dbpath /var/lib/rpm\n");
        write(
            &root.join("etc/os-release"),
            "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"\n",
        );
        run(Command::new("rpm").env("HOME", &home).arg("--root").arg(&root).arg("--initdb"));
        assert!(root.join("var/lib/rpm/rpmdb.sqlite").is_file(), "rpm did not honour %_dbpath");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::copy(workspace_root().join("plugins/dnf/patchman.py"), plugins.join("patchman.py")).unwrap();
        let dnf_conf = dir.join("dnf.conf");
        write(
            &dnf_conf,
            format!(
                "[main]\ngpgcheck=0\nreposdir=/nonexistent\npluginpath={}\npluginconfpath={}\ncachedir={}\n\
                 install_weak_deps=0\n[local]\nname=local\nbaseurl=file://{}\ngpgcheck=0\n",
                plugins.display(),
                conf_dir.display(),
                dir.join("cache").display(),
                repo.display()
            ),
        );
        let pythonpath = with_module.then(|| module_dir(dir));
        Self { root, repo, home, state: dir.join("state"), conf_dir, dnf_conf, rpms: dir.join("rpmbuild"), pythonpath }
    }

    /// Writes /etc/dnf/plugins/patchman.conf as shipped, with this test's values filled in.
    pub fn configure_plugin(&self, server: &str, hostname: &str) {
        let shipped = std::fs::read_to_string(workspace_root().join("packaging/dnf/patchman.conf")).unwrap();
        let client = artifact("patchman-client");
        let conf: String = shipped
            .lines()
            .map(|l| match l.split_once('=') {
                Some(("server", _)) => format!("server={server}"),
                Some(("state_dir", _)) => format!("state_dir={}", self.state.display()),
                Some(("hostname", _)) => format!("hostname={hostname}"),
                Some(("client", _)) => format!("client={}", client.display()),
                _ => l.to_owned(),
            })
            .map(|l| l + "\n")
            .collect();
        write(&self.conf_dir.join("patchman.conf"), conf);
    }

    /// Enrolls the host with the installroot's current (empty) state.
    pub fn enroll(&self, server: &Server, hostname: &str) {
        run(Command::new(artifact("patchman-client"))
            .args([
                "--server",
                &server.url(),
                "--hostname",
                hostname,
                "--enroll",
                ENROLLMENT_KEY,
                "--trigger",
                "manual",
            ])
            .arg("--root")
            .arg(&self.root)
            .arg("--state-dir")
            .arg(&self.state));
    }

    /// Builds packages with rpmbuild into the repository and refreshes its metadata.
    pub fn publish(&self, specs: &[RpmSpec]) {
        for rpm in build(&self.rpms, specs) {
            std::fs::copy(&rpm, self.repo.join(rpm.file_name().unwrap())).unwrap();
        }
        run(Command::new("createrepo_c").args(["-q", "--update"]).arg(&self.repo));
    }

    /// Runs dnf on the installroot; asserts success.
    #[track_caller]
    pub fn dnf(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("dnf");
        cmd.args(["-y", "-c"]).arg(&self.dnf_conf).arg(format!("--installroot={}", self.root.display()));
        cmd.args(["--releasever=9", "--refresh"]).args(args).env("HOME", &self.home).env("LC_ALL", "C.UTF-8");
        match &self.pythonpath {
            Some(p) => cmd.env("PYTHONPATH", p),
            None => cmd.env_remove("PYTHONPATH"),
        };
        run(&mut cmd)
    }

    /// What rpm says is installed, as sorted "name epoch version release arch".
    pub fn installed(&self) -> Vec<String> {
        let out = run(Command::new("rpm").env("HOME", &self.home).arg("--root").arg(&self.root).args([
            "-qa",
            "--qf",
            "%{NAME} %{EPOCHNUM} %{VERSION} %{RELEASE} %{ARCH}\n",
        ]));
        let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
        v.sort();
        v
    }
}

/// Lines the plugin wrote (it prefixes them with "patchman").
pub fn plugin_lines(out: &Output) -> Vec<String> {
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    text.lines().filter(|l| l.starts_with("patchman")).map(str::to_owned).collect()
}

/// Waits until no process has `needle` on its command line (the detached senders of a test's
/// state directory have exited).
pub fn wait_for_processes_naming(needle: &Path) {
    let needle = needle.to_str().unwrap().as_bytes().to_vec();
    wait_until(Duration::from_secs(60), "the background senders to exit", || {
        let Ok(procs) = std::fs::read_dir("/proc") else { return true };
        !procs.flatten().any(|p| {
            std::fs::read(p.path().join("cmdline")).is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
        })
    });
}
