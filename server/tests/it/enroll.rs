//! Trust: hosts enroll with the site key, get their own token, and can only report as
//! themselves.

use tonic::Code;

use crate::support::{client, enroll, fingerprint, good_report, host_json, start_server, submit};
use patchman_proto as pb;

#[tokio::test]
async fn a_host_cannot_overwrite_another_hosts_inventory() {
    let server = start_server(&[]);
    let mut c = client(&server).await;
    let web = enroll(&mut c, "web01.example.org", "11111111111111111111111111111111").await;
    let db = enroll(&mut c, "db01.example.org", "22222222222222222222222222222222").await;
    assert_ne!(web, db);
    submit(&mut c, Some(&web), good_report("web01.example.org", "w1")).await.unwrap();
    crate::support::settled(&server, "web01.example.org").await;
    let before = fingerprint(&server).await;

    // db01's token, a report claiming to be web01 with other packages.
    let mut forged = good_report("web01.example.org", "forged");
    forged.packages.truncate(1);
    let status = submit(&mut c, Some(&db), forged).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(fingerprint(&server).await, before);
    assert_eq!(host_json(&server, "web01.example.org")["packages"].as_array().unwrap().len(), 3);

    // Enrolling web01's name from another machine is refused; web01's token still works.
    let req = pb::EnrollRequest {
        enrollment_key: patchman_testkit::server::ENROLLMENT_KEY.into(),
        host: Some(pb::Host {
            hostname: "WEB01.example.org".into(),
            machine_id: "33333333333333333333333333333333".into(),
        }),
    };
    let status = c.enroll(req).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    submit(&mut c, Some(&web), good_report("web01.example.org", "w2")).await.unwrap();

    // A wrong enrollment key gets nothing.
    let req = pb::EnrollRequest {
        enrollment_key: "not-the-key-at-all".into(),
        host: Some(pb::Host { hostname: "evil.example.org".into(), machine_id: String::new() }),
    };
    assert_eq!(c.enroll(req).await.unwrap_err().code(), Code::PermissionDenied);
    assert!(server.admin(&["host", "list"]).lines().all(|l| !l.contains("evil")));
}

#[tokio::test]
async fn re_enrolling_from_the_same_machine_replaces_the_token_and_tokens_are_stored_hashed() {
    let server = start_server(&[]);
    let mut c = client(&server).await;
    let machine = "44444444444444444444444444444444";
    let first = enroll(&mut c, "app01.example.org", machine).await;
    let second = enroll(&mut c, "app01.example.org", machine).await;
    let status = submit(&mut c, Some(&first), good_report("app01.example.org", "a1")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "the replaced token still works");
    submit(&mut c, Some(&second), good_report("app01.example.org", "a1")).await.unwrap();

    let tokens = fingerprint(&server).await["host_tokens"].clone();
    let hex_token: String = second.bytes().map(|b| format!("{b:02X}")).collect();
    assert!(!tokens.is_empty() && !tokens.contains(&hex_token), "the token is stored in clear");
}

#[tokio::test]
async fn deleting_a_host_lets_it_enroll_again() {
    let server = start_server(&[]);
    let mut c = client(&server).await;
    let token = enroll(&mut c, "old.example.org", "55555555555555555555555555555555").await;
    submit(&mut c, Some(&token), good_report("old.example.org", "o1")).await.unwrap();
    assert!(server.admin(&["host", "delete", "old.example.org"]).contains("deleted"));
    let status = submit(&mut c, Some(&token), good_report("old.example.org", "o2")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let token = enroll(&mut c, "old.example.org", "66666666666666666666666666666666").await;
    submit(&mut c, Some(&token), good_report("old.example.org", "o3")).await.unwrap();
}

#[tokio::test]
async fn enrollment_checks_the_machine_id_as_reports_do() {
    let server = start_server(&[]);
    let mut c = client(&server).await;
    let req = |machine_id: &str| pb::EnrollRequest {
        enrollment_key: patchman_testkit::server::ENROLLMENT_KEY.into(),
        host: Some(pb::Host { hostname: "mid.example.org".into(), machine_id: machine_id.into() }),
    };
    let status = c.enroll(req("not-a-machine-id")).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("host.machine_id"), "{status:?}");
    assert!(server.admin(&["host", "list"]).lines().all(|l| !l.contains("mid.example.org")));

    // Upper case and surrounding blanks normalise to the id a report of the host carries.
    let token = c.enroll(req(" 7777777777777777777777777777777A\n")).await.unwrap().into_inner().host_token;
    let mut report = good_report("mid.example.org", "m1");
    report.host.as_mut().unwrap().machine_id = "7777777777777777777777777777777a".into();
    submit(&mut c, Some(&token), report).await.unwrap();
    let again = c.enroll(req("7777777777777777777777777777777a")).await;
    assert!(again.is_ok(), "the same machine, normalised, may enroll again: {again:?}");
}
