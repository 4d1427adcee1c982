//! Real `dnf install/upgrade/remove` in an installroot with the plugin on the plugin path:
//! the server has each resulting installed set and each transaction record.

use std::time::Duration;

use patchman_testkit::rpm::RpmSpec;
use patchman_testkit::server::Server;

use crate::support::{
    Dnf, artifact, host_json, plugin_lines, server_packages, server_transactions, wait_for_processes_naming, wait_until,
};

#[track_caller]
fn wait_for_server(server: &Server, dnf: &Dnf, host: &str, transactions: usize) {
    let want = dnf.installed_packages();
    wait_until(Duration::from_secs(20), "the server to have the new state", || {
        let h = host_json(server, host);
        server_packages(&h) == want && server_transactions(&h).len() == transactions
    });
}

#[test]
fn dnf_install_upgrade_and_remove_reach_the_server() {
    let server = Server::start(&artifact("patchman"), &[]);
    let tmp = tempfile::tempdir().unwrap();
    let dnf = Dnf::new(tmp.path(), true);
    dnf.configure_plugin(&server.url(), "rocky1.example.org");
    dnf.enroll(&server, "rocky1.example.org");
    dnf.publish(&[
        RpmSpec::new("hello-patchman", "1.0-1", "noarch"),
        RpmSpec::new("other-patchman", "2:2.0-1", "noarch"),
    ]);

    let out = dnf.dnf(&["install", "hello-patchman", "other-patchman"]);
    assert_eq!(plugin_lines(&out), Vec::<String>::new(), "the plugin is silent when all is well");
    wait_for_server(&server, &dnf, "rocky1.example.org", 1);
    assert_eq!(dnf.installed_packages(), ["hello-patchman 0 1.0 1 noarch", "other-patchman 2 2.0 1 noarch"]);

    dnf.publish(&[RpmSpec::new("hello-patchman", "1.1-1", "noarch")]);
    dnf.dnf(&["upgrade"]);
    wait_for_server(&server, &dnf, "rocky1.example.org", 2);
    dnf.dnf(&["remove", "other-patchman"]);
    wait_for_server(&server, &dnf, "rocky1.example.org", 3);
    // Only dnf's own transaction knows this one (the package set does not change): proof that
    // the plugin went through the native module.
    dnf.dnf(&["reinstall", "hello-patchman"]);
    wait_for_server(&server, &dnf, "rocky1.example.org", 4);

    let host = host_json(&server, "rocky1.example.org");
    assert_eq!(server_packages(&host), ["hello-patchman 0 1.1 1 noarch"]);
    assert_eq!(
        server_transactions(&host),
        [
            "dnf: installed hello-patchman >1.0-1; installed other-patchman >2:2.0-1",
            "dnf: upgraded hello-patchman 1.0-1>1.1-1",
            "dnf: removed other-patchman 2:2.0-1>",
            "dnf: reinstalled hello-patchman 1.1-1>1.1-1",
        ]
    );
    assert_eq!(host["os_variant"], "Rocky Linux 9.4");
}

/// Where the native module cannot load (RHEL 8's Python 3.6), the plugin runs
/// `patchman-client --detach`, which finds the changes by comparing rpm databases.
#[test]
fn without_the_native_module_the_plugin_runs_patchman_client() {
    let server = Server::start(&artifact("patchman"), &[]);
    let tmp = tempfile::tempdir().unwrap();
    let dnf = Dnf::new(tmp.path(), false);
    dnf.configure_plugin(&server.url(), "rocky8.example.org");
    dnf.enroll(&server, "rocky8.example.org");
    dnf.publish(&[RpmSpec::new("hello-patchman", "1.0-1", "noarch")]);
    let out = dnf.dnf(&["install", "hello-patchman"]);
    assert_eq!(plugin_lines(&out), Vec::<String>::new());
    wait_for_server(&server, &dnf, "rocky8.example.org", 1);
    dnf.publish(&[RpmSpec::new("hello-patchman", "1.1-1", "noarch")]);
    dnf.dnf(&["upgrade"]);
    wait_for_server(&server, &dnf, "rocky8.example.org", 2);
    dnf.dnf(&["remove", "hello-patchman"]);
    wait_for_server(&server, &dnf, "rocky8.example.org", 3);
    assert_eq!(
        server_transactions(&host_json(&server, "rocky8.example.org")),
        [
            "dnf: installed hello-patchman >1.0-1",
            "dnf: upgraded hello-patchman 1.0-1>1.1-1",
            "dnf: removed hello-patchman 1.1-1>",
        ]
    );
}

/// The "server down" story with dnf: 20 transactions while the server is stopped all
/// succeed; once it is back one `patchman-client --flush` delivers the final state and all 20
/// records, in order.
#[test]
fn twenty_dnf_transactions_while_the_server_is_down_then_one_flush() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let server = Server::start(&artifact("patchman"), &[("PATCHMAN_LISTEN", &listen)]);
    let tmp = tempfile::tempdir().unwrap();
    let dnf = Dnf::new(tmp.path(), true);
    dnf.configure_plugin(&server.url(), "rocky20.example.org");
    dnf.enroll(&server, "rocky20.example.org");
    dnf.publish(&[
        RpmSpec::new("hello-patchman", "1.0-1", "noarch"),
        RpmSpec::new("hello-patchman", "1.1-1", "noarch"),
        RpmSpec::new("other-patchman", "2.0-1", "noarch"),
    ]);
    let database_url = server.database_url.clone();
    let dir = server.stop();

    let mut want = Vec::new();
    for i in 0..20 {
        let (args, change): (&[&str], &str) = match (i % 4, i) {
            (_, 19) => (&["install", "other-patchman"], "installed other-patchman >2.0-1"),
            (0, _) => (&["install", "hello-patchman-1.0-1"], "installed hello-patchman >1.0-1"),
            (1, _) => (&["upgrade", "hello-patchman"], "upgraded hello-patchman 1.0-1>1.1-1"),
            (2, _) => (&["downgrade", "hello-patchman-1.0-1"], "downgraded hello-patchman 1.1-1>1.0-1"),
            _ => (&["remove", "hello-patchman"], "removed hello-patchman 1.0-1>"),
        };
        let out = dnf.dnf(args);
        assert_eq!(plugin_lines(&out), Vec::<String>::new(), "transaction {i}");
        want.push(format!("dnf: {change}"));
    }
    // The background deliveries all failed (connection refused) and left everything spooled.
    wait_for_processes_naming(&dnf.state);
    let spooled = std::fs::read_dir(dnf.state.join("spool")).unwrap();
    assert_eq!(spooled.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("tx-")).count(), 20);

    let server = Server::start_with(&artifact("patchman"), dir, database_url, &[("PATCHMAN_LISTEN", &listen)]);
    let out = patchman_testkit::run(
        std::process::Command::new(artifact("patchman-client"))
            .args(["--flush", "--server", &server.url()])
            .arg("--state-dir")
            .arg(&dnf.state),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("delivered 20 transaction records"), "{stderr}");
    let host = host_json(&server, "rocky20.example.org");
    assert_eq!(server_packages(&host), dnf.installed_packages());
    assert_eq!(server_packages(&host), ["hello-patchman 0 1.0 1 noarch", "other-patchman 0 2.0 1 noarch"]);
    assert_eq!(server_transactions(&host), want);
}
