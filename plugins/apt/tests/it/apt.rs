//! Real `apt-get install/upgrade/remove` and raw `dpkg -i/-r` runs with the shipped hook
//! configuration: the server must see every installed set and every transaction, in order,
//! once; a stopped or hanging server must neither fail nor slow a transaction.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use patchman_testkit::server::Server;
use patchman_testkit::{run, workspace_root};

use crate::support::{
    Apt, SHIPPED_HOOK_PATH, artifact, enroll, hook_bin, hook_lines, host_json, server_packages, server_transactions,
    start_server, wait_for_processes_naming, wait_until, write_client_config,
};

const HOST: &str = "deb1.example.org";

/// The server has the installed set dpkg reports and `transactions` records.
#[track_caller]
fn wait_for_server(server: &Server, apt: &Apt, transactions: usize) {
    let want = apt.installed();
    wait_until(Duration::from_secs(20), "the server to have the new state", || {
        let host = host_json(server, HOST);
        server_packages(&host) == want && server_transactions(&host).len() == transactions
    });
}

#[test]
fn apt_get_install_upgrade_and_remove_reach_the_server() {
    let server = start_server(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("client.toml");
    // No root and no dpkg_status: the hook reads the status file apt names (Dir::State::status).
    write_client_config(&config, &server.url(), &tmp.path().join("state"), HOST, "");
    let apt = Apt::new(tmp.path(), &config, &[]);
    enroll(&config, &apt.root);
    apt.build_deb("hello-patchman", "1.0-1");
    apt.build_deb("other-patchman", "2:2.0-1");
    apt.publish();

    let out = apt.apt_get(&["install", "-y", "hello-patchman=1.0-1", "other-patchman"]);
    assert_eq!(hook_lines(&out), Vec::<String>::new(), "the hook is silent when all is well");
    wait_for_server(&server, &apt, 1);
    assert_eq!(apt.installed(), ["hello-patchman 1.0-1 all", "other-patchman 2:2.0-1 all"]);

    apt.build_deb("hello-patchman", "1.1-1");
    apt.publish();
    apt.apt_get(&["upgrade", "-y"]);
    wait_for_server(&server, &apt, 2);

    apt.apt_get(&["remove", "-y", "other-patchman"]);
    wait_for_server(&server, &apt, 3);

    let host = host_json(&server, HOST);
    assert_eq!(server_packages(&host), ["hello-patchman 1.1-1 all"]);
    assert_eq!(
        server_transactions(&host),
        [
            "apt: installed hello-patchman >1.0-1; installed other-patchman >2:2.0-1",
            "apt: upgraded hello-patchman 1.0-1>1.1-1",
            "apt: removed other-patchman 2:2.0-1>",
        ]
    );
    wait_for_processes_naming(&tmp.path().join("state"));
    let left = spool_records(&tmp.path().join("state"));
    assert!(left.is_empty(), "everything was delivered: {left:?}");
}

/// Raw dpkg runs are reported through dpkg's own post-invoke (the shipped dpkg.cfg.d line);
/// when apt runs dpkg, only apt's hook reports.
#[test]
fn raw_dpkg_runs_are_reported_and_apt_runs_only_once() {
    let server = start_server(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("client.toml");
    write_client_config(&config, &server.url(), &tmp.path().join("state"), HOST, "");
    let shipped = std::fs::read_to_string(workspace_root().join("packaging/dpkg/patchman")).unwrap();
    let post_invoke = shipped
        .lines()
        .find_map(|l| l.strip_prefix("post-invoke="))
        .expect("packaging/dpkg/patchman has a post-invoke line")
        .replace(SHIPPED_HOOK_PATH, hook_bin().to_str().unwrap());
    // As if /etc/dpkg/dpkg.cfg.d/patchman were installed: every dpkg run, apt's included.
    let dpkg_option = format!("--post-invoke={post_invoke}");
    let apt = Apt::new(tmp.path(), &config, std::slice::from_ref(&dpkg_option));
    enroll(&config, &apt.root);
    let deb = apt.build_deb("hello-patchman", "1.0-1");
    apt.build_deb("hello-patchman", "1.1-1");
    apt.publish();
    let dpkg = |args: &[&str]| {
        let r = apt.root.display();
        run(apt
            .command("dpkg")
            .arg(format!("--root={r}"))
            .arg(format!("--admindir={r}/var/lib/dpkg"))
            .args(["--force-not-root", "--force-script-chrootless", &dpkg_option])
            .args(args))
    };

    let out = dpkg(&["-i", deb.to_str().unwrap()]);
    assert_eq!(hook_lines(&out), Vec::<String>::new());
    wait_for_server(&server, &apt, 1);
    apt.apt_get(&["install", "-y", "hello-patchman=1.1-1"]);
    wait_for_server(&server, &apt, 2);
    dpkg(&["-r", "hello-patchman"]);
    wait_for_server(&server, &apt, 3);
    // Nothing more arrives: apt's dpkg runs did not report a second time.
    wait_for_processes_naming(&tmp.path().join("state"));
    assert_eq!(
        server_transactions(&host_json(&server, HOST)),
        [
            "dpkg: installed hello-patchman >1.0-1",
            "apt: upgraded hello-patchman 1.0-1>1.1-1",
            "dpkg: removed hello-patchman 1.1-1>",
        ]
    );
}

/// The issue's "server down" story: 20 transactions while the server is stopped all succeed
/// quickly; once it is back, one `patchman-client --flush` delivers the final state and all
/// 20 records, in order.
#[test]
fn twenty_transactions_while_the_server_is_down_then_one_flush() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let server = start_server(&[("PATCHMAN_LISTEN", &listen)]);
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let config = tmp.path().join("client.toml");
    write_client_config(&config, &server.url(), &state, HOST, "");
    let apt = Apt::new(tmp.path(), &config, &[]);
    enroll(&config, &apt.root);
    for (name, version) in [("hello-patchman", "1.0-1"), ("hello-patchman", "1.1-1"), ("other-patchman", "2.0-1")] {
        apt.build_deb(name, version);
    }
    apt.publish();
    let database_url = server.database_url.clone();
    let dir = server.stop();

    let mut want = Vec::new();
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let (args, change): (&[&str], &str) = match (i % 4, i) {
            (_, 19) => (&["install", "-y", "other-patchman"], "installed other-patchman >2.0-1"),
            (0, _) => (&["install", "-y", "hello-patchman=1.0-1"], "installed hello-patchman >1.0-1"),
            (1, _) => (&["install", "-y", "hello-patchman"], "upgraded hello-patchman 1.0-1>1.1-1"),
            (2, _) => (
                &["install", "-y", "--allow-downgrades", "hello-patchman=1.0-1"],
                "downgraded hello-patchman 1.1-1>1.0-1",
            ),
            _ => (&["remove", "-y", "hello-patchman"], "removed hello-patchman 1.0-1>"),
        };
        let t = Instant::now();
        let out = apt.apt_get(args);
        slowest = slowest.max(t.elapsed());
        // The delivery fails in the background, silently.
        assert_eq!(hook_lines(&out), Vec::<String>::new(), "transaction {i}");
        want.push(format!("apt: {change}"));
    }
    assert!(slowest < Duration::from_secs(5), "a transaction took {slowest:?} with the server down");
    wait_for_processes_naming(&state);
    assert_eq!(spool_records(&state).len(), 20, "every record waits in the spool");

    let server = Server::start_with(&artifact("patchman"), dir, database_url, &[("PATCHMAN_LISTEN", &listen)]);
    let out = run(Command::new(artifact("patchman-client")).arg("--config").arg(&config).arg("--flush"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("delivered 20 transaction records"), "{stderr}");
    let host = host_json(&server, HOST);
    assert_eq!(server_packages(&host), ["hello-patchman 1.0-1 all", "other-patchman 2.0-1 all"]);
    assert_eq!(server_transactions(&host), want);
    assert!(spool_records(&state).is_empty());
}

/// A server that accepts connections and never answers: apt-get must not wait for it.
#[test]
fn a_hanging_server_does_not_slow_a_transaction() {
    let hang = TcpListener::bind("127.0.0.1:0").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let config = tmp.path().join("client.toml");
    write_client_config(&config, &format!("http://{}", hang.local_addr().unwrap()), &state, HOST, "");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("token"), "pmh_token_for_a_server_that_hangs\n").unwrap();
    let apt = Apt::new(tmp.path(), &config, &[]);
    apt.build_deb("hello-patchman", "1.0-1");
    apt.publish();
    let t = Instant::now();
    let out = apt.apt_get(&["install", "-y", "hello-patchman"]);
    let took = t.elapsed();
    assert!(took < Duration::from_secs(3), "apt-get took {took:?} with a hanging server");
    assert_eq!(hook_lines(&out), Vec::<String>::new());
    assert_eq!(spool_records(&state).len(), 1, "the record waits in the spool");
}

/// A broken setup costs one line per hook run and never fails apt.
#[test]
fn a_broken_configuration_is_one_line_and_apt_still_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("client.toml");
    std::fs::write(&config, "sever = \"http://typo\"\n").unwrap();
    let apt = Apt::new(tmp.path(), &config, &[]);
    apt.build_deb("hello-patchman", "1.0-1");
    apt.publish();
    let out = apt.apt_get(&["install", "-y", "hello-patchman"]);
    let lines = hook_lines(&out);
    assert_eq!(lines.len(), 2, "one line each from pre-install-pkgs and post-invoke: {lines:?}");
    assert!(lines.iter().all(|l| l.starts_with("patchman-apt-hook: ") && l.contains("sever")), "{lines:?}");
    assert_eq!(apt.installed(), ["hello-patchman 1.0-1 all"]);
}

fn spool_records(state: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(state.join("spool")) else { return Vec::new() };
    let mut names: Vec<String> =
        entries.flatten().map(|e| e.file_name().into_string().unwrap()).filter(|n| n.starts_with("tx-")).collect();
    names.sort();
    names
}
