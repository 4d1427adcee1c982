//! The life of enrollment keys and host tokens through the real `patchman-client`, on both
//! backends: create (uses, expiry, tags), use, exhaust, expire, revoke; a host token revoked
//! and issued again; failed enrollments rate limited per source, logged with the source and
//! never with the key.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use patchman_proto as pb;
use patchman_testkit::server::{ENROLLMENT_KEY, Server};
use serde_json::Value;
use tempfile::TempDir;

use crate::e2e::client_bin;

fn root(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("root");
    if !root.exists() {
        for f in ["/var/lib/dpkg/status", "/etc/os-release", "/etc/debian_version"] {
            let dest = root.join(f.trim_start_matches('/'));
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(f, &dest).unwrap();
        }
    }
    root
}

/// `patchman-client` for `host` (state under dir/host), enrolling with `key` when given.
fn report(server: &Server, dir: &Path, host: &str, key: Option<&str>) -> Output {
    let mut cmd = Command::new(client_bin());
    cmd.args(["--server", &server.url(), "--root", root(dir).to_str().unwrap()]).args([
        "--state-dir",
        dir.join(host).to_str().unwrap(),
        "--hostname",
        host,
        "--trigger",
        "manual",
    ]);
    if let Some(key) = key {
        cmd.args(["--enroll", key]);
    }
    cmd.output().expect("run patchman-client")
}

fn err(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(server: &Server, args: &[&str]) -> Value {
    serde_json::from_str(&server.admin(args)).expect("JSON")
}

fn key_row(server: &Server, name: &str) -> Value {
    let list = json(server, &["enrollment-key", "list", "--json"]);
    list.as_array().unwrap().iter().find(|k| k["name"] == name).cloned().unwrap_or(Value::Null)
}

async fn lifecycle(server: Server) {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    assert_eq!(key_row(&server, "default")["uses"], 0, "the configured key is the entry `default`");

    let lab =
        json(&server, &["enrollment-key", "create", "--name", "lab", "--uses", "2", "--tags", "web,lab", "--json"]);
    let lab = lab["key"].as_str().unwrap().to_owned();
    for host in ["a.example.org", "b.example.org"] {
        let out = report(&server, dir, host, Some(&lab));
        assert!(out.status.success() && err(&out).contains("stored"), "{}", err(&out));
    }
    let a = json(&server, &["host", "show", "a.example.org", "--json"]);
    assert_eq!(a["admin_tags"], serde_json::json!(["lab", "web"]), "the key's tags, as an administrator's: {a}");
    assert_eq!(a["token"]["enrolled_with"], "lab");
    assert!(a["token"]["last_used_at"].is_string(), "the token's last use: {}", a["token"]);
    let out = report(&server, dir, "c.example.org", Some(&lab));
    assert!(!out.status.success() && err(&out).contains("enrollment key lab is used up"), "{}", err(&out));
    let row = key_row(&server, "lab");
    assert_eq!((row["uses"].as_i64(), row["max_uses"].as_i64()), (Some(2), Some(2)), "{row}");
    assert!(server.admin(&["enrollment-key", "list"]).contains("2/2"));

    let short = json(&server, &["enrollment-key", "create", "--name", "short", "--expires", "1s", "--json"]);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let out = report(&server, dir, "d.example.org", short["key"].as_str());
    assert!(!out.status.success() && err(&out).contains("enrollment key short has expired"), "{}", err(&out));

    let other = json(&server, &["enrollment-key", "create", "--name", "other", "--json"]);
    assert_eq!(server.admin(&["enrollment-key", "revoke", "other"]).trim(), "other revoked");
    let out = report(&server, dir, "e.example.org", other["key"].as_str());
    assert!(!out.status.success() && err(&out).contains("unknown enrollment key"), "{}", err(&out));
    // The site's original key is an entry like any other (a key set in the configuration
    // comes back at the next start).
    assert_eq!(server.admin(&["enrollment-key", "revoke", "default"]).trim(), "default revoked");
    let out = report(&server, dir, "f.example.org", Some(ENROLLMENT_KEY));
    assert!(!out.status.success() && err(&out).contains("unknown enrollment key"), "{}", err(&out));
    let again = json(&server, &["enrollment-key", "create", "--name", "again", "--json"]);
    let again = again["key"].as_str().unwrap().to_owned();

    // A revoked host token is refused at once; enrolling again issues a new one.
    let token_file = dir.join("a.example.org").join("token");
    let old = std::fs::read_to_string(&token_file).unwrap();
    assert!(server.admin(&["host", "revoke", "a.example.org"]).contains("revoked"));
    let out = report(&server, dir, "a.example.org", None);
    assert!(!out.status.success() && err(&out).contains("unknown host token"), "{}", err(&out));
    assert!(server.admin(&["host", "show", "a.example.org"]).contains("token:       none"));
    let out = report(&server, dir, "a.example.org", Some(&again));
    assert!(out.status.success() && err(&out).contains("enrolled a.example.org"), "{}", err(&out));
    let new = std::fs::read_to_string(&token_file).unwrap();
    assert_ne!(old, new, "a new token");
    let channel = tonic::transport::Endpoint::from_shared(server.url()).unwrap().connect().await.unwrap();
    let mut client = pb::report_service_client::ReportServiceClient::new(channel.clone());
    let mut req = tonic::Request::new(crate::support::good_report("a.example.org", "after-revoke-1"));
    req.metadata_mut().insert("authorization", format!("Bearer {}", old.trim()).parse().unwrap());
    let status = client.submit(req).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "the old token stays dead: {status:?}");
    assert!(server.admin(&["audit", "--json"]).contains("host.revoke"));

    // Guessing keys: ten failures from one address a minute (four above already), then
    // refused without looking.
    let guess = "pme_this-is-not-a-key-at-all";
    let mut guesses = 0;
    loop {
        let status = enroll(&mut client, guess, "g.example.org").await.unwrap_err();
        if status.code() == tonic::Code::ResourceExhausted {
            break;
        }
        assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
        guesses += 1;
        assert!(guesses <= 10, "never limited");
    }
    assert_eq!(guesses, 6, "ten failures in all");
    let status = enroll(&mut client, &again, "g.example.org").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("too many failed enrollments"), "{status:?}");
    let log = server.log();
    assert!(log.contains("enrollment refused") && log.contains("127.0.0.1"), "logged with the source: {log}");
    assert!(!log.contains(guess) && !log.contains(&lab), "never with the key: {log}");
}

async fn enroll(
    client: &mut pb::report_service_client::ReportServiceClient<tonic::transport::Channel>,
    key: &str,
    host: &str,
) -> Result<String, tonic::Status> {
    let req = pb::EnrollRequest {
        enrollment_key: key.to_owned(),
        host: Some(pb::Host { hostname: host.to_owned(), machine_id: String::new() }),
    };
    client.enroll(req).await.map(|r| r.into_inner().host_token)
}

#[tokio::test]
async fn keys_and_tokens_are_created_used_exhausted_expired_and_revoked_on_sqlite() {
    lifecycle(Server::start_logged(Path::new(env!("CARGO_BIN_EXE_patchman")), &[])).await;
}

#[tokio::test]
async fn keys_and_tokens_are_created_used_exhausted_expired_and_revoked_on_postgres() {
    let url = patchman_testkit::pg::fresh_database("credentials");
    let dir = TempDir::new().unwrap();
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    lifecycle(Server::start_with_log(Path::new(env!("CARGO_BIN_EXE_patchman")), dir, url, &[], log)).await;
}
