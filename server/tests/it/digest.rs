//! `SubmitDigest`: a report offered as its header and state digest. Unchanged, the host is
//! recorded as seen and nothing else; changed, nothing is stored and the host is asked for
//! the report; another host's token touches nothing; the real client uses it for a timer's
//! report and still stores a changed one. Both backends.

use std::path::Path;

use patchman_proto as pb;
use patchman_testkit::server::Server;
use tempfile::TempDir;

use crate::support::{client, enroll, good_report, host_json, package, start_server, submit};

async fn offer(
    c: &mut pb::report_service_client::ReportServiceClient<tonic::transport::Channel>,
    token: &str,
    digest: pb::ReportDigest,
) -> Result<pb::SubmitResponse, tonic::Status> {
    let mut req = tonic::Request::new(digest);
    req.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    c.submit_digest(req).await.map(|r| r.into_inner())
}

/// Last-seen is shown to the second.
async fn next_second() {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
}

async fn the_digest_exchange(server: &Server) {
    let mut c = client(server).await;
    let machine_id = good_report("x", "x").host.unwrap().machine_id;
    let a = enroll(&mut c, "a.example.org", &machine_id).await;
    let b = enroll(&mut c, "b.example.org", &machine_id).await;

    // Before any report the server has no state to compare: it asks for the report.
    let first = good_report("a.example.org", "a-1");
    let answer = offer(&mut c, &a, first.to_digest()).await.expect("answered");
    assert_eq!(answer.outcome, pb::SubmitOutcome::SendReport as i32);
    assert_eq!(host_json(server, "a.example.org")["last_seen_at"], serde_json::Value::Null);
    submit(&mut c, Some(&a), first.clone()).await.expect("stored");
    submit(&mut c, Some(&b), good_report("b.example.org", "b-1")).await.expect("stored");
    let seen = host_json(server, "a.example.org")["last_seen_at"].clone();

    // The same state later: unchanged, seen again, no report stored.
    let mut again = good_report("a.example.org", "a-2");
    again.generated_at_ms += 60_000;
    next_second().await;
    let answer = offer(&mut c, &a, again.to_digest()).await.expect("answered");
    assert_eq!(
        (answer.outcome, answer.package_count, answer.report_id.as_str()),
        (pb::SubmitOutcome::Unchanged as i32, 3, "a-2")
    );
    let host = host_json(server, "a.example.org");
    assert_ne!(host["last_seen_at"], seen, "last-seen refreshed");
    assert_eq!(host["reports"].as_array().unwrap().len(), 1);

    // A changed state: nothing stored, the report is asked for; sent, it is stored.
    let mut changed = good_report("a.example.org", "a-3");
    changed.generated_at_ms += 120_000;
    changed.packages.push(package("curl", "7.88.1", "10+deb12u8"));
    let seen = host_json(server, "a.example.org")["last_seen_at"].clone();
    let answer = offer(&mut c, &a, changed.to_digest()).await.expect("answered");
    assert_eq!(answer.outcome, pb::SubmitOutcome::SendReport as i32);
    let host = host_json(server, "a.example.org");
    assert_eq!((host["package_count"].as_u64(), &host["last_seen_at"]), (Some(3), &seen), "nothing stored");
    let stored = submit(&mut c, Some(&a), changed).await.expect("stored");
    assert_eq!((stored.outcome, stored.package_count), (pb::SubmitOutcome::Stored as i32, 4));

    // b's token cannot make a look seen, even with a's exact digest.
    let mut forged = good_report("a.example.org", "a-4");
    forged.generated_at_ms += 180_000;
    forged.packages.push(package("curl", "7.88.1", "10+deb12u8"));
    let seen = host_json(server, "a.example.org")["last_seen_at"].clone();
    next_second().await;
    let answer = offer(&mut c, &b, forged.to_digest()).await.expect("answered");
    assert_eq!(answer.outcome, pb::SubmitOutcome::SendReport as i32);
    assert_eq!(host_json(server, "a.example.org")["last_seen_at"], seen);
    assert_eq!(offer(&mut c, &a, forged.to_digest()).await.unwrap().outcome, pb::SubmitOutcome::Unchanged as i32);

    // Deleted and enrolled again, the host has no state: the digest it was last found
    // unchanged with (which SQLite remembers) must not make the new host look seen.
    assert!(server.admin(&["host", "delete", "a.example.org"]).contains("deleted"));
    let a = enroll(&mut c, "a.example.org", &machine_id).await;
    let answer = offer(&mut c, &a, forged.to_digest()).await.expect("answered");
    assert_eq!(answer.outcome, pb::SubmitOutcome::SendReport as i32);
    assert_eq!(host_json(server, "a.example.org")["last_seen_at"], serde_json::Value::Null);

    // Bad input names its field; no token is refused as for Submit.
    let mut short = again.to_digest();
    short.state_digest.pop();
    let err = offer(&mut c, &a, short).await.expect_err("refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("state_digest"), "{}", err.message());
    let mut nameless = again.to_digest();
    nameless.host = None;
    let err = offer(&mut c, &a, nameless).await.expect_err("refused");
    assert!(err.message().starts_with("host"), "{}", err.message());
    let err = c.submit_digest(again.to_digest()).await.expect_err("no token");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_answers_unchanged_or_asks_for_the_report_sqlite() {
    the_digest_exchange(&start_server(&[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_answers_unchanged_or_asks_for_the_report_postgres() {
    let url = patchman_testkit::pg::fresh_database("digest");
    let env = [("PATCHMAN_ENROLLMENT_KEY", patchman_testkit::server::ENROLLMENT_KEY)];
    let server = Server::start_with(Path::new(env!("CARGO_BIN_EXE_patchman")), TempDir::new().unwrap(), url, &env);
    the_digest_exchange(&server).await;
}
