//! Shared by the apt tests: the built artifacts, a server, an isolated apt (APT_CONFIG) with a
//! `file:` repository of packages built by dpkg-deb, and waiting for background deliveries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use patchman_testkit::server::{ENROLLMENT_KEY, Server};
pub use patchman_testkit::{artifact, target_dir};
use patchman_testkit::{require_tool, run, workspace_root, write};
use serde_json::Value;

/// `hook/patchman-apt-hook.c` built against the built `libpatchman_report.so`, as
/// packaging/README.md says, once per test process (into `target/<profile>`, by rename, so
/// concurrent test processes share it safely).
pub fn hook_bin() -> PathBuf {
    static HOOK: OnceLock<PathBuf> = OnceLock::new();
    HOOK.get_or_init(|| {
        let out = target_dir().join("patchman-apt-hook");
        let tmp = target_dir().join(format!("patchman-apt-hook.{}.tmp", std::process::id()));
        compile_c(&Path::new(env!("CARGO_MANIFEST_DIR")).join("hook/patchman-apt-hook.c"), &tmp);
        std::fs::rename(&tmp, &out).unwrap();
        out
    })
    .clone()
}

/// Compiles a C program against `include/patchman_report.h`, linked to the built
/// `libpatchman_report.so` (found at run time through its rpath), warnings as errors.
pub fn compile_c(source: &Path, exe: &Path) {
    require_tool("gcc");
    let so = artifact("libpatchman_report.so");
    let lib_dir = so.parent().unwrap().display().to_string();
    run(Command::new("gcc")
        .args(["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(exe)
        .arg(source)
        .arg(format!("-I{}/include", env!("CARGO_MANIFEST_DIR")))
        .arg(format!("-L{lib_dir}"))
        .arg(format!("-Wl,-rpath,{lib_dir}"))
        .arg("-lpatchman_report"));
}

pub fn start_server(env: &[(&str, &str)]) -> Server {
    Server::start(&artifact("patchman"), env)
}

pub use patchman_testkit::host::host_json;

/// The host's packages on the server as sorted lines.
pub fn server_packages(host: &Value) -> Vec<String> {
    patchman_testkit::host::packages(host, &["name", "evr", "arch"])
}

/// The host's transactions on the server, in order, as "tool: action name old>new; ...".
pub fn server_transactions(host: &Value) -> Vec<String> {
    patchman_testkit::host::transactions(host, patchman_testkit::host::Changes::AsSent)
}

pub use patchman_testkit::{wait_for_processes_naming, wait_until};

/// Where the package manager's hooks look for the reporter's configuration.
pub fn write_client_config(path: &Path, server: &str, state: &Path, hostname: &str, extra: &str) {
    write(
        path,
        format!(
            "server = {server:?}\nstate_dir = {state:?}\nhostname = {hostname:?}\nclient = {:?}\n{extra}",
            artifact("patchman-client")
        ),
    );
}

/// Enrolls the host reading the given root (its dpkg status becomes the first state).
pub fn enroll(config: &Path, root: &Path) {
    run(Command::new(artifact("patchman-client")).arg("--config").arg(config).arg("--root").arg(root).args([
        "--enroll",
        ENROLLMENT_KEY,
        "--trigger",
        "manual",
    ]));
}

/// apt isolated from this machine with APT_CONFIG: its own sources (a `file:` repository),
/// lists, cache and a dpkg database under `root`; the shipped apt.conf.d snippet registers
/// the hook (the path replaced by the built one).
pub struct Apt {
    pub dir: PathBuf,
    pub repo: PathBuf,
    /// dpkg's root (`--root`, `--admindir=<root>/var/lib/dpkg`).
    pub root: PathBuf,
    pub apt_config: PathBuf,
    pub client_config: PathBuf,
}

pub const SHIPPED_HOOK_PATH: &str = "/usr/libexec/patchman/patchman-apt-hook";

impl Apt {
    /// `dpkg_options` are added to apt's DPkg::Options (e.g. dpkg's own post-invoke).
    pub fn new(dir: &Path, client_config: &Path, dpkg_options: &[String]) -> Self {
        for tool in ["apt-get", "dpkg", "dpkg-deb", "dpkg-scanpackages", "dpkg-query"] {
            require_tool(tool);
        }
        let repo = dir.join("repo");
        let root = dir.join("root");
        for d in ["lists/partial", "cache/archives/partial", "empty.d", "repo"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        for d in
            ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "var/log/apt", "var/lib/apt", "etc"]
        {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        write(&root.join("var/lib/dpkg/status"), "");
        write(&root.join("var/lib/dpkg/available"), "");
        std::fs::copy("/etc/os-release", root.join("etc/os-release")).unwrap();
        write(&dir.join("sources.list"), format!("deb [trusted=yes] file:{} ./\n", repo.display()));
        let shipped = std::fs::read_to_string(workspace_root().join("packaging/apt/50patchman")).unwrap();
        assert!(shipped.contains(SHIPPED_HOOK_PATH), "packaging/apt/50patchman no longer names {SHIPPED_HOOK_PATH}");
        let hooks = shipped.replace(SHIPPED_HOOK_PATH, hook_bin().to_str().unwrap());
        let (d, r) = (dir.display(), root.display());
        let mut options: Vec<String> = vec![
            format!("--root={r}"),
            format!("--admindir={r}/var/lib/dpkg"),
            "--force-not-root".into(),
            "--force-script-chrootless".into(),
            format!("--log={r}/var/log/dpkg.log"),
        ];
        options.extend(dpkg_options.iter().cloned());
        let options: String = options.iter().map(|o| format!("{o:?}; ")).collect();
        let apt_config = dir.join("apt.conf");
        write(
            &apt_config,
            format!(
                "Dir::Etc::sourcelist \"{d}/sources.list\"; Dir::Etc::sourceparts \"-\"; Dir::Etc::parts \"{d}/empty.d\";\n\
                 Dir::State \"{r}/var/lib/apt\"; Dir::State::Lists \"{d}/lists\"; Dir::State::status \"{r}/var/lib/dpkg/status\";\n\
                 Dir::Cache \"{d}/cache\"; Dir::Log \"{r}/var/log/apt\"; APT::Get::List-Cleanup \"0\"; Debug::NoLocking \"1\";\n\
                 DPkg::Options {{ {options}}};\n{hooks}"
            ),
        );
        Self { dir: dir.to_owned(), repo, root, apt_config, client_config: client_config.to_owned() }
    }

    /// Builds `name_version_all.deb` into the repository.
    pub fn build_deb(&self, name: &str, version: &str) -> PathBuf {
        let pkg = self.dir.join("build").join(format!("{name}-{version}"));
        write(
            &pkg.join("DEBIAN/control"),
            format!(
                "Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: T <t@example.invalid>\nDescription: test package\n"
            ),
        );
        write(&pkg.join(format!("usr/share/doc/{name}/README")), format!("{name} {version}\n"));
        let deb = self.repo.join(format!("{name}_{}_all.deb", version.replace(':', "%3a")));
        run(Command::new("dpkg-deb").args(["--root-owner-group", "--build"]).arg(&pkg).arg(&deb));
        deb
    }

    /// Rebuilds the repository index and refreshes apt's lists.
    pub fn publish(&self) {
        let out =
            run(Command::new("dpkg-scanpackages").args(["--multiversion", ".", "/dev/null"]).current_dir(&self.repo));
        write(&self.repo.join("Packages"), out.stdout);
        self.apt_get(&["update", "-q"]);
    }

    /// Runs apt-get with the isolated configuration; asserts success.
    #[track_caller]
    pub fn apt_get(&self, args: &[&str]) -> Output {
        run(self.command("apt-get").args(args))
    }

    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("APT_CONFIG", &self.apt_config)
            .env("PATCHMAN_CONFIG", &self.client_config)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("LC_ALL", "C");
        cmd
    }

    /// What dpkg says is installed under the root, as sorted "name version arch".
    pub fn installed(&self) -> Vec<String> {
        let out = run(Command::new("dpkg-query")
            .arg(format!("--admindir={}/var/lib/dpkg", self.root.display()))
            .args(["-W", "-f", "${db:Status-Abbrev}|${Package} ${Version} ${Architecture}\n"]));
        let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("ii |"))
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    }
}

/// Lines the hooks wrote to the terminal (they prefix every line with their name).
pub fn hook_lines(out: &Output) -> Vec<String> {
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    text.lines().filter(|l| l.starts_with("patchman-")).map(str::to_owned).collect()
}
