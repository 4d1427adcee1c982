//! Abuse, bounded in count and time, loopback only: one client (from 127.0.0.2) opens more
//! connections than it may and sends reports as fast as it can, another (127.0.0.3) trickles an
//! HTTP/1 request head (slowloris), while 50 well-behaved hosts (127.0.0.1) report. Every
//! well-behaved report is acknowledged, and the flood gets the documented refusals.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use patchman_proto as pb;
use pb::report_service_client::ReportServiceClient;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::transport::{Channel, Endpoint};

use crate::support::{enroll, good_report, start_server, submit};

async fn channel_from(url: &str, source: &str) -> Channel {
    let local: IpAddr = source.parse().unwrap();
    Endpoint::from_shared(url.to_owned()).unwrap().local_address(Some(local)).connect().await.expect("connect")
}

async fn connect_from(addr: SocketAddr, source: &str) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source.parse().unwrap(), 0))?;
    socket.connect(addr).await
}

/// Whether the server closed the connection (a read ends) within `within`.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline.into(), stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_client_leaves_every_other_hosts_reports_acknowledged() {
    let server = start_server(&[
        ("PATCHMAN_LIMITS__MAX_CONNECTIONS_PER_SOURCE", "32"),
        ("PATCHMAN_LIMITS__REPORTS_PER_MINUTE_PER_HOST", "30"),
        ("PATCHMAN_LIMITS__HEADER_READ_TIMEOUT_SECONDS", "1"),
    ]);
    let url = server.url();
    let mut c = ReportServiceClient::new(channel_from(&url, "127.0.0.1").await).max_encoding_message_size(usize::MAX);
    let mut good = Vec::new();
    for i in 0..50 {
        let host = format!("good{i:02}.example.org");
        let token = enroll(&mut c, &host, "").await;
        good.push((host, token));
    }
    let mut flood_client = ReportServiceClient::new(channel_from(&url, "127.0.0.2").await);
    let flood_token = enroll(&mut flood_client, "flood.example.org", "").await;

    // The baseline: each good host reports once, alone.
    let mut baseline = Vec::new();
    for (host, token) in &good {
        let t = Instant::now();
        submit(&mut c, Some(token), good_report(host, &format!("{host}-1"))).await.expect("acknowledged");
        baseline.push(t.elapsed());
    }

    // The flood: 100 connections held open, 16 senders of one host's reports for 3 s.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..100 {
        let mut s = connect_from(server.addr, "127.0.0.2").await.expect("TCP connects; the server decides");
        if closed_within(&mut s, Duration::from_millis(50)).await {
            refused += 1;
        } else {
            held.push(s);
        }
    }
    let (acked, exhausted, other) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let flood_until = Instant::now() + Duration::from_secs(3);
    let mut senders = Vec::new();
    for w in 0..16 {
        let (mut fc, token) = (flood_client.clone(), flood_token.clone());
        let (acked, exhausted, other) = (acked.clone(), exhausted.clone(), other.clone());
        senders.push(tokio::spawn(async move {
            let mut n = 0;
            while Instant::now() < flood_until {
                n += 1;
                match submit(&mut fc, Some(&token), good_report("flood.example.org", &format!("f{w}-{n}"))).await {
                    Ok(_) => acked.fetch_add(1, Ordering::Relaxed),
                    Err(s) if s.code() == tonic::Code::ResourceExhausted => exhausted.fetch_add(1, Ordering::Relaxed),
                    Err(_) => other.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    // Slowloris: a request head that never ends.
    let mut slow = connect_from(server.addr, "127.0.0.3").await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let slow_closed = tokio::spawn(async move { closed_within(&mut slow, Duration::from_secs(3)).await });

    // Meanwhile every good host reports again (a changed state), on its own connection.
    let mut during = Vec::new();
    for (i, (host, token)) in good.iter().enumerate() {
        let mut own = ReportServiceClient::new(channel_from(&url, "127.0.0.1").await);
        let mut report = good_report(host, &format!("{host}-2"));
        report.kernel = format!("6.1.0-{i}");
        let t = Instant::now();
        submit(&mut own, Some(token), report).await.unwrap_or_else(|s| panic!("{host} during the flood: {s:?}"));
        during.push(t.elapsed());
    }
    for s in senders {
        s.await.unwrap();
    }
    assert!(slow_closed.await.unwrap(), "a request head that never ends is closed after header_read_timeout");
    drop(held);

    let (acked, exhausted, other) =
        (acked.load(Ordering::Relaxed), exhausted.load(Ordering::Relaxed), other.load(Ordering::Relaxed));
    baseline.sort();
    during.sort();
    eprintln!(
        "flood: {refused} of 100 connections refused, {acked} reports acknowledged, {exhausted} RESOURCE_EXHAUSTED, \
         {other} other; good hosts' ack p50/max before {:?}/{:?}, during {:?}/{:?}",
        baseline[25], baseline[49], during[25], during[49]
    );
    assert!(refused >= 68, "connections over the per-source limit (32) are refused: {refused}");
    assert!(acked <= 32, "the host's burst and rate (30 a minute), no more: {acked}");
    assert!(exhausted > 100 && other == 0, "the flood is refused with RESOURCE_EXHAUSTED: {exhausted}, {other}");
    assert!(during[49] < Duration::from_secs(2), "good hosts within their normal latency: {during:?}");
}
