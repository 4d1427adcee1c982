//! A dnf installroot for real dnf transactions: an rpm database where RHEL keeps it
//! (`HOME/.rpmmacros` sets `%_dbpath`; Debian's rpm would otherwise use `~/.rpmdb`), a local
//! repository of packages rpmbuild made, and dnf configured to use nothing of this machine's.
//! The patchman plugin comes from the source tree (`Dnf::new`) or from where the client rpm
//! installed it into the root (`Dnf::installed`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::rpm::{RpmSpec, build};
use crate::server::{ENROLLMENT_KEY, Server};
use crate::{artifact, require_tool, run, workspace_root, write};

/// A directory holding the extension module under the name Python imports
/// (`patchman_libreport.abi3.so`), linked to the built cdylib.
pub fn module_dir(parent: &Path) -> PathBuf {
    let dir = parent.join("pymodule");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(artifact("libpatchman_libreport.so"), dir.join("patchman_libreport.abi3.so")).unwrap();
    dir
}

pub struct Dnf {
    pub root: PathBuf,
    pub repo: PathBuf,
    pub home: PathBuf,
    pub state: PathBuf,
    pub conf_dir: PathBuf,
    /// The patchman-client the plugin falls back to and `enroll` runs.
    pub client: PathBuf,
    dnf_conf: PathBuf,
    rpms: PathBuf,
    pythonpath: Option<PathBuf>,
}

impl Dnf {
    /// The plugin from plugins/dnf, with the built module on PYTHONPATH when `with_module`.
    pub fn new(dir: &Path, with_module: bool) -> Self {
        let plugins = dir.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::copy(workspace_root().join("plugins/dnf/patchman.py"), plugins.join("patchman.py")).unwrap();
        let pythonpath = with_module.then(|| module_dir(dir));
        Self::setup(dir, plugins, dir.join("plugins.d"), artifact("patchman-client"), pythonpath)
    }

    /// An installroot set up for `install_rpm` to put the client rpm in; dnf loads the plugin
    /// from the root's `plugin_dir` and its configuration from the root's /etc/dnf/plugins.
    pub fn installed(dir: &Path, plugin_dir: &str) -> Self {
        let root = dir.join("root");
        let (plugins, conf_dir) = (root.join(plugin_dir), root.join("etc/dnf/plugins"));
        Self::setup(dir, plugins, conf_dir, root.join("usr/bin/patchman-client"), None)
    }

    fn setup(dir: &Path, plugins: PathBuf, conf_dir: PathBuf, client: PathBuf, pythonpath: Option<PathBuf>) -> Self {
        for tool in ["dnf", "rpm", "rpmbuild", "createrepo_c"] {
            require_tool(tool);
        }
        let (root, repo, home) = (dir.join("root"), dir.join("repo"), dir.join("home"));
        write(&home.join(".rpmmacros"), "%_dbpath /var/lib/rpm\n");
        write(
            &root.join("etc/os-release"),
            "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"\n",
        );
        run(Command::new("rpm").env("HOME", &home).arg("--root").arg(&root).arg("--initdb"));
        assert!(root.join("var/lib/rpm/rpmdb.sqlite").is_file(), "rpm did not honour %_dbpath");
        std::fs::create_dir_all(&repo).unwrap();
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
        let state = dir.join("state");
        Self { root, repo, home, state, conf_dir, client, dnf_conf, rpms: dir.join("rpmbuild"), pythonpath }
    }

    /// `rpm --root ROOT -i PACKAGE` without dependencies or scriptlets (the root has no
    /// shell to run them with).
    pub fn install_rpm(&self, package: &Path) {
        run(Command::new("rpm")
            .env("HOME", &self.home)
            .arg("--root")
            .arg(&self.root)
            .args(["-i", "--nodeps", "--noscripts"])
            .arg(package));
    }

    /// Writes /etc/dnf/plugins/patchman.conf as shipped (or as the rpm installed it), with
    /// this test's values filled in.
    pub fn configure_plugin(&self, server: &str, hostname: &str) {
        let installed = self.conf_dir.join("patchman.conf");
        let shipped = std::fs::read_to_string(&installed)
            .or_else(|_| std::fs::read_to_string(workspace_root().join("packaging/dnf/patchman.conf")))
            .unwrap();
        let conf: String = shipped
            .lines()
            .map(|l| match l.split_once('=') {
                Some(("server", _)) => format!("server={server}"),
                Some(("state_dir", _)) => format!("state_dir={}", self.state.display()),
                Some(("hostname", _)) => format!("hostname={hostname}"),
                Some(("client", _)) => format!("client={}", self.client.display()),
                _ => l.to_owned(),
            })
            .map(|l| l + "\n")
            .collect();
        write(&installed, conf);
    }

    /// Enrolls the host with the installroot's current state.
    pub fn enroll(&self, server: &Server, hostname: &str) {
        run(Command::new(&self.client)
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
    pub fn installed_packages(&self) -> Vec<String> {
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
