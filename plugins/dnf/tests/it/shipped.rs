//! The commands shipped for dnf5 (`packaging/dnf5/patchman.actions`, run by
//! libdnf5-plugin-actions after each transaction) and for systemd
//! (`packaging/systemd/*.service`), run exactly as written after a real dnf transaction, with
//! the client's configuration in `PATCHMAN_CONFIG`: the server gets the transaction, the timer
//! report and the flush. (dnf5 itself is not packaged for Debian 12.)

use std::process::Command;
use std::time::Duration;

use patchman_testkit::rpm::RpmSpec;
use patchman_testkit::server::Server;
use patchman_testkit::{run, workspace_root, write};

use crate::support::{Dnf, artifact, host_json, server_packages, server_transactions, wait_until};

const SHIPPED_CLIENT: &str = "/usr/bin/patchman-client";

/// The shipped command line, with the built client in place of the installed one.
fn shipped(command: &str) -> String {
    assert!(command.starts_with(SHIPPED_CLIENT), "{command:?} does not run {SHIPPED_CLIENT}");
    command.replacen(SHIPPED_CLIENT, artifact("patchman-client").to_str().unwrap(), 1)
}

/// `Key=` of a systemd unit file.
fn unit_value(unit: &str, key: &str) -> String {
    let text = std::fs::read_to_string(workspace_root().join("packaging/systemd").join(unit)).unwrap();
    let line =
        text.lines().find_map(|l| l.strip_prefix(&format!("{key}="))).unwrap_or_else(|| panic!("{unit}: no {key}="));
    line.trim().to_owned()
}

fn sh(command: &str, config: &std::path::Path) -> std::process::Output {
    run(Command::new("sh").arg("-c").arg(command).env("PATCHMAN_CONFIG", config))
}

#[test]
fn the_dnf5_action_and_the_systemd_units_run_as_shipped() {
    let server = Server::start(&artifact("patchman"), &[]);
    let tmp = tempfile::tempdir().unwrap();
    let dnf = Dnf::new(tmp.path(), false);
    let host = "fedora41.example.org";
    let config = tmp.path().join("client.toml");
    write(
        &config,
        format!(
            "server = \"{}\"\nstate_dir = \"{}\"\nroot = \"{}\"\nhostname = \"{host}\"\nclient = \"{}\"\n",
            server.url(),
            dnf.state.display(),
            dnf.root.display(),
            artifact("patchman-client").display()
        ),
    );
    dnf.enroll(&server, host);

    // The dnf5 action: `callback_name:package_filter:direction:options:command`.
    let actions = std::fs::read_to_string(workspace_root().join("packaging/dnf5/patchman.actions")).unwrap();
    let line = actions.lines().find(|l| !l.starts_with('#') && !l.trim().is_empty()).expect("an action line");
    let fields: Vec<&str> = line.splitn(5, ':').collect();
    assert_eq!(fields[..4], ["post_transaction", "", "", ""], "{line}");
    dnf.publish(&[RpmSpec::new("hello-patchman", "1.0-1", "noarch")]);
    dnf.dnf(&["--noplugins", "install", "hello-patchman"]);
    let out = sh(&shipped(fields[4]), &config);
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "the action must be silent: {out:?}");
    wait_until(Duration::from_secs(20), "the dnf5 transaction", || {
        server_transactions(&host_json(&server, host)) == ["dnf5: installed hello-patchman >1.0-1"]
    });
    assert_eq!(server_packages(&host_json(&server, host)), dnf.installed_packages());

    // The daily report (trigger timer) and the hourly flush, as their units run them.
    assert_eq!(unit_value("patchman-client.service", "Type"), "oneshot");
    dnf.publish(&[RpmSpec::new("hello-patchman", "1.1-1", "noarch")]);
    dnf.dnf(&["--noplugins", "upgrade"]);
    sh(&shipped(&unit_value("patchman-client.service", "ExecStart")), &config);
    let h = host_json(&server, host);
    assert_eq!(server_packages(&h), dnf.installed_packages());
    assert!(h["reports"].as_array().unwrap().iter().any(|r| r["trigger"] == "timer"), "{:#}", h["reports"]);
    let out = sh(&shipped(&unit_value("patchman-flush.service", "ExecStart")), &config);
    assert!(out.status.success(), "{out:?}");
    // Each timer starts the service of its name (systemd's default) and says when.
    for timer in ["patchman-client.timer", "patchman-flush.timer"] {
        let unit = std::fs::read_to_string(workspace_root().join("packaging/systemd").join(timer)).unwrap();
        assert!(
            unit.contains("[Timer]") && (unit.contains("OnCalendar=") || unit.contains("OnUnitActiveSec=")),
            "{timer}"
        );
        assert!(!unit.contains("Unit="), "{timer} names another unit");
        assert!(workspace_root().join("packaging/systemd").join(timer.replace(".timer", ".service")).is_file());
    }
}
