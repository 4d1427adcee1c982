//! A C program compiled against `include/patchman_report.h` and linked to the built
//! `libpatchman_report.so` reports a transaction; the server gets it.

use std::process::Command;
use std::time::Duration;

use patchman_testkit::{run, write};

use crate::support::{
    compile_c, enroll, host_json, server_packages, server_transactions, start_server, wait_until, write_client_config,
};

#[test]
fn a_c_program_reports_through_the_header() {
    let server = start_server(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    write(
        &root.join("var/lib/dpkg/status"),
        "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b8\n\n\
         Package: openssl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.15-1~deb12u1\n",
    );
    write(&root.join("etc/os-release"), std::fs::read("/etc/os-release").unwrap());
    let config = tmp.path().join("client.toml");
    write_client_config(&config, &server.url(), &tmp.path().join("state"), "c.example.org", "tags = [\"c\"]\n");
    enroll(&config, &root);

    let exe = tmp.path().join("abi_test");
    compile_c(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/abi_test.c"), &exe);
    let out = run(Command::new(&exe).arg(&config).arg(&root));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("abi_test: ok"), "{stdout}");
    assert!(out.stderr.is_empty(), "the library never prints: {}", String::from_utf8_lossy(&out.stderr));

    wait_until(Duration::from_secs(20), "the C program's report", || {
        server_transactions(&host_json(&server, "c.example.org")).len() == 1
    });
    let host = host_json(&server, "c.example.org");
    assert_eq!(server_packages(&host), ["bash 5.2.15-2+b8 amd64", "openssl 3.0.15-1~deb12u1 amd64"]);
    assert_eq!(
        server_transactions(&host),
        ["c-test: upgraded openssl 3.0.15-1~deb12u0>3.0.15-1~deb12u1; installed bash >5.2.15-2+b8"]
    );
    assert_eq!(host["tags"], serde_json::json!(["c", "from-c"]));
}
