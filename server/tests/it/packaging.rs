//! The server's .deb as `packaging/build` makes it (`.ci/test` builds it before the tests):
//! its metadata, files, modes and conffiles, lintian without errors, the systemd unit verified
//! and its exposure "OK" or better, and the packaged binary serving with the packaged
//! configuration.

use std::path::{Path, PathBuf};
use std::process::Command;

use patchman_testkit::{require_tool, run};

/// The built package whose file name starts with `prefix` and ends with `suffix`.
pub fn package(prefix: &str, suffix: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/packages");
    let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
        entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix) && n.to_string_lossy().ends_with(suffix))
        })
    });
    found.unwrap_or_else(|| panic!("no {prefix}*{suffix} in {}: run packaging/build (.ci/test does)", dir.display()))
}

/// The mode of `path` in `dpkg-deb --contents` output.
fn mode_in(contents: &str, path: &str) -> String {
    contents
        .lines()
        .find(|l| l.ends_with(&format!(" ./{path}")))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{path} is not in the package:\n{contents}"))
}

/// lintian finds no error in the package (warnings are allowed).
fn lints_clean(deb: &Path) {
    require_tool("lintian");
    let lint = Command::new("lintian").arg(deb).output().expect("lintian");
    let lint = String::from_utf8_lossy(&lint.stdout).into_owned();
    assert!(!lint.lines().any(|l| l.starts_with("E:")), "lintian errors:\n{lint}");
}

fn server_deb() -> PathBuf {
    package("patchman-server_", ".deb")
}

#[test]
fn the_server_rpm_holds_the_same_files_with_its_user_made_before_they_land() {
    require_tool("rpm");
    let rpm = package("patchman-server-", ".rpm");
    let info = text(Command::new("rpm").arg("-qip").arg(&rpm));
    assert!(info.contains("Name        : patchman-server") && info.contains("GPL-3.0-or-later"), "{info}");
    let files = text(Command::new("rpm").arg("-qlvp").arg(&rpm));
    let line = |path: &str| {
        files
            .lines()
            .find(|l| l.ends_with(&format!(" {path}")))
            .unwrap_or_else(|| panic!("{path} is not in the rpm:\n{files}"))
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("/usr/bin/patchman"), "-rwxr-xr-x 1 root root");
    assert_eq!(line("/etc/patchman/server.toml"), "-rw-r----- 1 root patchman");
    assert_eq!(line("/usr/lib/systemd/system/patchman.service"), "-rw-r--r-- 1 root root");
    assert!(files.contains("/usr/share/man/man1/patchman.1.gz") && files.contains("/usr/lib/sysusers.d/patchman.conf"));
    let config = text(Command::new("rpm").args(["-qp", "--configfiles"]).arg(&rpm));
    assert_eq!(config.trim(), "/etc/patchman/server.toml");
    let requires = text(Command::new("rpm").args(["-qp", "--requires"]).arg(&rpm));
    assert!(requires.contains("libc.so.6()(64bit)") && requires.contains("systemd"), "{requires}");
    let scripts = text(Command::new("rpm").args(["-qp", "--scripts"]).arg(&rpm));
    assert!(scripts.contains("preinstall scriptlet") && scripts.contains("useradd -r"), "{scripts}");
}

fn text(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&run(cmd).stdout).into_owned()
}

#[test]
fn the_server_deb_holds_a_hardened_service_and_lints_clean() {
    let deb = server_deb();
    let info = text(Command::new("dpkg-deb").arg("--info").arg(&deb));
    assert!(info.contains("Package: patchman-server") && info.contains("Section: admin"), "{info}");
    assert!(info.contains("Depends: libc6 (>= "), "dependencies computed from the binary: {info}");
    let package = text(Command::new("dpkg-deb").arg("--field").arg(&deb).arg("Package"));
    assert_eq!(package.trim(), "patchman-server");
    let control = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb").arg("--control").arg(&deb).arg(control.path()));
    let listed = std::fs::read_to_string(control.path().join("conffiles")).unwrap();
    assert_eq!(listed.trim(), "/etc/patchman/server.toml", "the configuration is kept on upgrade");
    for script in ["postinst", "prerm", "postrm"] {
        let body = std::fs::read_to_string(control.path().join(script)).unwrap();
        assert!(body.starts_with("#!/bin/sh") && body.contains("set -e"), "{script}: {body}");
    }

    let contents = text(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    let mode_of = |path: &str| mode_in(&contents, path);
    assert_eq!(mode_of("usr/bin/patchman"), "-rwxr-xr-x");
    assert_eq!(mode_of("etc/patchman/server.toml"), "-rw-r-----", "it may hold secrets");
    for file in [
        "usr/lib/systemd/system/patchman.service",
        "usr/lib/sysusers.d/patchman.conf",
        "usr/share/man/man1/patchman.1.gz",
        "usr/share/man/man1/patchman-host.1.gz",
        "usr/share/bash-completion/completions/patchman",
        "usr/share/zsh/vendor-completions/_patchman",
        "usr/share/fish/vendor_completions.d/patchman.fish",
        "usr/share/doc/patchman-server/copyright",
        "usr/share/doc/patchman-server/changelog.Debian.gz",
    ] {
        assert_eq!(mode_of(file), "-rw-r--r--", "{file}");
    }
    assert!(contents.lines().all(|l| l.contains("root/root")), "owned by root:\n{contents}");

    lints_clean(&deb);

    // The unit as shipped (its binary path pointed at the unpacked one: verify checks it
    // exists) passes systemd's own checks; its exposure is "OK" or better.
    let root = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(root.path()));
    let unit = root.path().join("usr/lib/systemd/system/patchman.service");
    let shipped = std::fs::read_to_string(&unit).unwrap();
    for directive in ["User=patchman", "ProtectSystem=strict", "StateDirectory=patchman", "NoNewPrivileges=yes"] {
        assert!(shipped.contains(directive), "{directive}");
    }
    let bin = root.path().join("usr/bin/patchman");
    let check = root.path().join("patchman.service");
    std::fs::write(&check, shipped.replace("/usr/bin/patchman", bin.to_str().unwrap())).unwrap();
    let verify = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&check).output().unwrap();
    assert!(verify.status.success() && verify.stderr.is_empty(), "{}", String::from_utf8_lossy(&verify.stderr));
    let security = text(Command::new("systemd-analyze").args(["security", "--offline=yes"]).arg(&unit));
    let overall = security.lines().find(|l| l.contains("Overall exposure level")).expect("a score").to_owned();
    let score: f64 = overall.split(": ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    eprintln!("{overall}");
    assert!(score <= 2.0 && overall.contains("OK"), "{overall}");

    // The packaged binary serves with the packaged configuration, as ExecStart runs it (the
    // database moved to a temporary place: the unit's StateDirectory is not here).
    let state = tempfile::tempdir().unwrap();
    let config = root.path().join("etc/patchman/server.toml");
    let mut child = Command::new(&bin)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .current_dir(state.path())
        .env("PATCHMAN_DATABASE_URL", format!("sqlite://{}/patchman.db", state.path().display()))
        .env("PATCHMAN_LISTEN", "127.0.0.1:0")
        .env("PATCHMAN_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    while !line.starts_with("patchman listening on ") {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0, "the packaged server exited");
    }
    let addr = line.trim().trim_start_matches("patchman listening on ").to_owned();
    let answer = crate::package_install::http_get(&addr, "/healthz");
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn the_client_deb_holds_the_reporter_and_its_hooks_and_lints_clean() {
    let deb = package("patchman-client_", ".deb");
    let info = text(Command::new("dpkg-deb").arg("--info").arg(&deb));
    assert!(info.contains("Package: patchman-client") && info.contains("Depends: libc6 (>= "), "{info}");
    let control = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb").arg("--control").arg(&deb).arg(control.path()));
    let conffiles = std::fs::read_to_string(control.path().join("conffiles")).unwrap();
    assert_eq!(
        conffiles.lines().collect::<Vec<_>>(),
        ["/etc/patchman/client.toml", "/etc/apt/apt.conf.d/50patchman", "/etc/dpkg/dpkg.cfg.d/patchman"]
    );
    let contents = text(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    let mode_of = |path: &str| mode_in(&contents, path);
    assert_eq!(mode_of("usr/bin/patchman-client"), "-rwxr-xr-x");
    assert_eq!(mode_of("usr/libexec/patchman/patchman-apt-hook"), "-rwxr-xr-x");
    let triplet = contents
        .lines()
        .find_map(|l| l.split(" ./usr/lib/").nth(1).filter(|p| p.ends_with("/libpatchman_report.so")))
        .expect("the shared object")
        .to_owned();
    assert_eq!(mode_of(&format!("usr/lib/{triplet}")), "-rw-r--r--");
    for file in [
        "usr/include/patchman_report.h",
        "etc/patchman/client.toml",
        "etc/apt/apt.conf.d/50patchman",
        "etc/dpkg/dpkg.cfg.d/patchman",
        "usr/lib/systemd/system/patchman-client.timer",
        "usr/lib/systemd/system/patchman-flush.timer",
        "usr/share/doc/patchman-client/copyright",
    ] {
        assert_eq!(mode_of(file), "-rw-r--r--", "{file}");
    }
    lints_clean(&deb);

    // The hook program from the package runs against the package's shared object.
    let root = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(root.path()));
    let lib_dir = root.path().join(format!("usr/lib/{}", triplet.trim_end_matches("/libpatchman_report.so")));
    let ldd = text(
        Command::new("ldd")
            .arg(root.path().join("usr/libexec/patchman/patchman-apt-hook"))
            .env("LD_LIBRARY_PATH", &lib_dir),
    );
    assert!(ldd.contains(&format!("{}/libpatchman_report.so", lib_dir.display())), "{ldd}");
    let version = text(Command::new(root.path().join("usr/bin/patchman-client")).arg("--version"));
    assert!(version.starts_with("patchman-client "), "{version}");

    // systemd's own checks on the four units as shipped (the binary path pointed at the
    // unpacked one: verify checks it exists; each timer finds its service beside it).
    let units = tempfile::tempdir().unwrap();
    let client = root.path().join("usr/bin/patchman-client");
    let mut names = Vec::new();
    for unit in ["patchman-client.service", "patchman-client.timer", "patchman-flush.service", "patchman-flush.timer"] {
        let shipped = std::fs::read_to_string(root.path().join("usr/lib/systemd/system").join(unit)).unwrap();
        std::fs::write(units.path().join(unit), shipped.replace("/usr/bin/patchman-client", client.to_str().unwrap()))
            .unwrap();
        names.push(unit);
    }
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&names)
        .current_dir(units.path())
        .output()
        .unwrap();
    assert!(verify.status.success() && verify.stderr.is_empty(), "{}", String::from_utf8_lossy(&verify.stderr));
}

#[test]
fn the_client_rpm_holds_the_dnf_plugin_beside_its_module_and_links_it_for_dnf() {
    require_tool("rpm");
    let rpm = package("patchman-client-", ".rpm");
    let info = text(Command::new("rpm").arg("-qip").arg(&rpm));
    assert!(info.contains("Name        : patchman-client"), "{info}");
    let files = text(Command::new("rpm").arg("-qlvp").arg(&rpm));
    let mode = |path: &str| {
        files
            .lines()
            .find(|l| l.ends_with(&format!(" {path}")))
            .unwrap_or_else(|| panic!("{path} is not in the rpm:\n{files}"))
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(mode("/usr/bin/patchman-client"), "-rwxr-xr-x");
    assert_eq!(mode("/usr/lib64/patchman/dnf/patchman.py"), "-rw-r--r--");
    assert_eq!(mode("/usr/lib64/patchman/dnf/patchman_libreport.abi3.so"), "-rwxr-xr-x");
    assert_eq!(mode("/usr/lib/systemd/system/patchman-flush.timer"), "-rw-r--r--");
    assert!(!files.contains("apt") && !files.contains("libpatchman_report"), "no apt parts in the rpm:\n{files}");
    let config = text(Command::new("rpm").args(["-qp", "--configfiles"]).arg(&rpm));
    let mut config: Vec<&str> = config.lines().collect();
    config.sort_unstable();
    assert_eq!(
        config,
        [
            "/etc/dnf/libdnf5-plugins/actions.d/patchman.actions",
            "/etc/dnf/plugins/patchman.conf",
            "/etc/patchman/client.toml"
        ]
    );
    // The shipped plugin and actions file, byte for byte.
    let root = tempfile::tempdir().unwrap();
    unpack_rpm(&rpm, root.path());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (packaged, source) in [
        ("usr/lib64/patchman/dnf/patchman.py", "plugins/dnf/patchman.py"),
        ("etc/dnf/libdnf5-plugins/actions.d/patchman.actions", "packaging/dnf5/patchman.actions"),
        ("etc/dnf/plugins/patchman.conf", "packaging/dnf/patchman.conf"),
    ] {
        assert_eq!(std::fs::read(root.path().join(packaged)).unwrap(), std::fs::read(workspace.join(source)).unwrap());
    }
    // dnf 4 finds the plugin through a relative link made after every transaction, removed
    // with the package.
    let scripts = text(Command::new("rpm").args(["-qp", "--scripts"]).arg(&rpm));
    assert!(scripts.contains("posttrans scriptlet") && scripts.contains("site-packages/dnf-plugins"), "{scripts}");
    assert!(scripts.contains("ln -sfn ../../../../lib64/patchman/dnf/patchman.py"), "{scripts}");
    let requires = text(Command::new("rpm").args(["-qp", "--requires"]).arg(&rpm));
    assert!(requires.contains("libc.so.6(GLIBC_2.28)(64bit)"), "{requires}");
}

/// The newest glibc symbol version an ELF file needs ("2.28"), from its dynamic symbols.
fn glibc_needed(file: &Path) -> Vec<u32> {
    let symbols = text(Command::new("objdump").arg("-T").arg(file));
    symbols
        .split("GLIBC_")
        .skip(1)
        .filter_map(|rest| {
            let v: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            let parts: Vec<u32> = v.split('.').filter_map(|p| p.parse().ok()).collect();
            (!parts.is_empty()).then_some(parts)
        })
        .max()
        .unwrap_or_default()
}

#[test]
fn every_packaged_program_and_library_runs_on_glibc_2_28() {
    require_tool("objdump");
    let root = tempfile::tempdir().unwrap();
    for deb in [package("patchman-client_", ".deb"), package("patchman-server_", ".deb")] {
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(root.path()));
    }
    let rpm_root = root.path().join("rpm");
    unpack_rpm(&package("patchman-client-", ".rpm"), &rpm_root);
    let mut elf = vec![
        root.path().join("usr/bin/patchman"),
        root.path().join("usr/bin/patchman-client"),
        root.path().join("usr/libexec/patchman/patchman-apt-hook"),
        rpm_root.join("usr/bin/patchman-client"),
        rpm_root.join("usr/lib64/patchman/dnf/patchman_libreport.abi3.so"),
    ];
    elf.extend(
        glob_shared_object(&root.path().join("usr/lib")).into_iter().filter(|p| p.ends_with("libpatchman_report.so")),
    );
    assert_eq!(elf.len(), 6, "{elf:?}");
    for file in elf {
        let need = glibc_needed(&file);
        eprintln!("{}: GLIBC_{}", file.display(), need.iter().map(u32::to_string).collect::<Vec<_>>().join("."));
        assert!(!need.is_empty() && need <= vec![2, 28], "{} needs glibc {need:?}", file.display());
    }
}

/// Files under `dir` (one level of subdirectories: usr/lib/<triplet>/).
fn glob_shared_object(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten().map(|e| e.path()))
        .collect()
}

/// Unpacks an rpm's files into `dir` (rpm2cpio | cpio).
fn unpack_rpm(rpm: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let cpio = Command::new("sh")
        .arg("-c")
        .arg("rpm2cpio \"$1\" | cpio -idm --quiet")
        .arg("sh")
        .arg(rpm)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(cpio.success(), "cannot unpack {}", rpm.display());
}
