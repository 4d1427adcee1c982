//! SIGTERM while hosts report: the server stops accepting, finishes what is in flight, ends
//! the watch streams, and exits well within its grace period; every report it acknowledged is
//! in the database, and no host is half-written.

use std::time::Duration;

use patchman_proto as pb;
use sqlx::Row as _;

use crate::support::{client, enroll, good_report, package, start_server, submit};

const HOSTS: usize = 6;

/// Reports `hostname` until the server stops answering: the acknowledged report ids, with
/// how many packages each listed.
async fn report_until_refused(server_url: String, hostname: String, token: String) -> Vec<(String, i64)> {
    let channel = tonic::transport::Endpoint::from_shared(server_url).unwrap().connect().await.expect("connect");
    let mut c = pb::report_service_client::ReportServiceClient::new(channel);
    let mut acked = Vec::new();
    for seq in 0.. {
        let mut r = good_report(&hostname, &format!("{hostname}-{seq}"));
        r.generated_at_ms += seq;
        // A different package list each time: every report is stored, none unchanged.
        r.packages.extend((0..500 + seq).map(|i| package(&format!("p{i}"), "1.0", "1")));
        let count = r.packages.len() as i64;
        match submit(&mut c, Some(&token), r).await {
            Ok(answer) => {
                assert_eq!(answer.outcome, pb::SubmitOutcome::Stored as i32);
                acked.push((format!("{hostname}-{seq}"), count));
            }
            Err(_) => break,
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_reports_loses_no_acknowledged_report() {
    let mut server = start_server(&[("PATCHMAN_SHUTDOWN_GRACE_SECONDS", "20")]);
    let mut c = client(&server).await;
    let machine_id = good_report("x", "x").host.unwrap().machine_id;
    let mut senders = Vec::new();
    for i in 0..HOSTS {
        let hostname = format!("h{i}.example.org");
        let token = enroll(&mut c, &hostname, &machine_id).await;
        senders.push(tokio::spawn(report_until_refused(server.url(), hostname, token)));
    }
    // A watcher: its stream must end with the server, not hold the shutdown for the grace period.
    let read = {
        let out = server.admin_output(&["token", "create", "--name", "w", "--role", "read"]);
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let channel = tonic::transport::Endpoint::from_shared(server.url()).unwrap().connect().await.unwrap();
    let mut q = pb::query_service_client::QueryServiceClient::new(channel);
    let mut req = tonic::Request::new(pb::WatchHostStatusRequest::default());
    req.metadata_mut().insert("authorization", format!("Bearer {read}").parse().unwrap());
    let mut watch = q.watch_host_status(req).await.expect("watch").into_inner();

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (status, took) = tokio::task::block_in_place(|| server.terminate(Duration::from_secs(15)));
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(took < Duration::from_secs(10), "the shutdown took {took:?}");

    let mut acked = Vec::new();
    for s in senders {
        acked.extend(s.await.unwrap());
    }
    assert!(acked.len() >= HOSTS, "the load acknowledged only {} reports", acked.len());
    // The watcher was told, and the stream is over.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match watch.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => break None,
                Err(status) => break Some(status),
            }
        }
    })
    .await
    .expect("the watch stream ended");
    let ended = ended.expect("the watcher was told why its stream ended");
    assert_eq!(ended.code(), tonic::Code::Unavailable, "{ended:?}");
    assert!(ended.message().contains("shutting down"), "{ended:?}");

    let pool = sqlx::SqlitePool::connect(&server.database_url).await.unwrap();
    for (report_id, count) in &acked {
        let stored: Option<i64> = sqlx::query_scalar("SELECT package_count FROM reports WHERE report_id = ?")
            .bind(report_id)
            .fetch_optional(&pool)
            .await
            .unwrap();
        assert_eq!(stored, Some(*count), "acknowledged report {report_id}");
    }
    // Each host is whole: its package rows are the count of the report it last applied.
    let hosts = sqlx::query(
        "SELECT h.hostname, h.package_count, (SELECT count(*) FROM host_packages p WHERE p.host_id = h.id) AS rows, \
         (SELECT r.package_count FROM reports r WHERE r.host_id = h.id ORDER BY r.generated_at DESC LIMIT 1) AS last \
         FROM hosts h",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(hosts.len(), HOSTS);
    for h in hosts {
        let (name, count, rows, last): (String, i64, i64, i64) =
            (h.get("hostname"), h.get("package_count"), h.get("rows"), h.get("last"));
        assert_eq!((count, rows), (last, last), "host {name}");
    }
}
