//! Who may upload through Patchman's doors, on both backends: a host token writes its own
//! host; an API key any host without a token of its own; no credentials only from a listed
//! network, and never a host that has a token or reports with a key. Every refusal says why
//! in one line and stores nothing; an unchanged upload's fast path checks the same rules.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use patchman_server::auth::{ApiRole, TokenHash};
use patchman_server::config::{CompatConfig, Config};
use patchman_server::query::{Clock, HostFilter, PageRequest};
use patchman_server::store::{AuthKind, EnrollOutcome, Enrollment, NewApiKey};
use patchman_server::tls::Peer;

use crate::web_support::*;
use patchman_testkit::multipart::content_type;

on_both_backends!(
    config = listed_network;
    tokens_keys_and_networks_decide_who_may_upload,
    no_credential_overwrites_a_host_with_a_stronger_one,
    the_unchanged_fast_path_checks_the_credential_too,
);

fn listed_network() -> Config {
    Config {
        compat: CompatConfig {
            unauthenticated_networks: vec!["10.9.0.0/16".into()],
            trusted_proxies: vec!["127.0.0.1/32".into()],
        },
        ..Config::default()
    }
}

fn fields(host: &str, packages: &str) -> Vec<(&'static str, String)> {
    vec![
        ("host", host.to_owned()),
        ("tags", "web".into()),
        ("kernel", "6.1.0-18-amd64".into()),
        ("arch", "x86_64".into()),
        ("protocol", "1".into()),
        ("os", "Debian 12.5".into()),
        ("report", "false".into()),
        ("packages", packages.to_owned()),
        ("repos", "'deb' 'x' '500' 'http://deb.debian.org/debian/dists/bookworm/main/binary-amd64'\n".into()),
        ("reboot", "ServerCheck".into()),
    ]
}

const BASH: &str = "'bash' '' '5.2.15' '2' 'amd64' 'deb'\n";

/// How an upload arrives: its Authorization header, the peer's address, X-Forwarded-For.
#[derive(Default, Clone, Copy)]
struct Via<'a> {
    authorization: Option<&'a str>,
    peer: Option<&'a str>,
    forwarded: Option<&'a str>,
}

fn with_auth(value: &str) -> Via<'_> {
    Via { authorization: Some(value), ..Via::default() }
}

fn from_peer(address: &str) -> Via<'_> {
    Via { peer: Some(address), ..Via::default() }
}

async fn p1(app: &App, from: Via<'_>, host: &str, packages: &str) -> Answer {
    let body = patchman_testkit::multipart::body(&fields(host, packages));
    let mut req = Request::post("/reports/upload/").header(header::CONTENT_TYPE, content_type());
    if let Some(a) = from.authorization {
        req = req.header(header::AUTHORIZATION, a);
    }
    if let Some(f) = from.forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let mut req = req.body(Body::from(body)).unwrap();
    if let Some(p) = from.peer {
        req.extensions_mut().insert(ConnectInfo(Peer { addr: SocketAddr::new(p.parse().unwrap(), 51000), cert: None }));
    }
    send(app, req).await
}

async fn p2(app: &App, from: Via<'_>, host: &str) -> Answer {
    let body = serde_json::json!({
        "protocol": 2, "hostname": host, "arch": "x86_64", "kernel": "6.1.0-18-amd64", "os": "Debian 12.5",
        "packages": [{"name": "bash", "epoch": "", "version": "5.2.15", "release": "2", "arch": "amd64", "type": "deb"}],
    });
    let mut req = Request::post("/api/report/").header(header::CONTENT_TYPE, "application/json");
    if let Some(a) = from.authorization {
        req = req.header(header::AUTHORIZATION, a);
    }
    let mut req = req.body(Body::from(body.to_string())).unwrap();
    if let Some(p) = from.peer {
        req.extensions_mut().insert(ConnectInfo(Peer { addr: SocketAddr::new(p.parse().unwrap(), 51000), cert: None }));
    }
    send(app, req).await
}

async fn api_key(app: &App, name: &str, expires_at: Option<i64>) -> String {
    let key = format!("pmk_test-{name}");
    let new = NewApiKey { name, role: ApiRole::Upload, key_hash: &TokenHash::of(&key), now: 1, expires_at };
    assert!(app.store.add_api_key(&new).await.unwrap());
    key
}

async fn host_token(app: &App, hostname: &str, machine_id: &str) -> String {
    let token = format!("pmh_test-{hostname}");
    let e = Enrollment { hostname, machine_id, token_hash: &TokenHash::of(&token), now_ms: 1 };
    assert_eq!(app.store.enroll(&e).await.unwrap(), EnrollOutcome::Enrolled);
    token
}

/// (how it last reported, the detail, its package count), or `None` when there is no such host.
async fn reported(app: &App, host: &str) -> Option<(AuthKind, String, usize)> {
    let h = app.store.host(host).await.unwrap()?;
    Some((h.reported_with.kind, h.reported_with.detail, h.packages.len()))
}

#[track_caller]
fn refused(answer: &Answer, status: StatusCode, says: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert!(answer.body.contains(says), "expected {says:?} in {}", answer.body);
}

async fn tokens_keys_and_networks_decide_who_may_upload(app: App) {
    // No credentials, from outside the listed network.
    let none = p1(&app, from_peer("192.0.2.1"), "a.example.org", BASH).await;
    refused(&none, StatusCode::UNAUTHORIZED, "an upload needs credentials");
    assert_eq!(none.body.lines().count(), 1);
    refused(&p2(&app, Via::default(), "a.example.org").await, StatusCode::UNAUTHORIZED, "\"detail\"");
    refused(&p1(&app, with_auth("Basic eDp5"), "a.example.org", BASH).await, StatusCode::UNAUTHORIZED, "\"Basic\"");

    // Host tokens: its own host only.
    let token = host_token(&app, "a.example.org", "").await;
    host_token(&app, "b.example.org", "").await;
    refused(
        &p1(&app, with_auth("Bearer pmh_nobody"), "a.example.org", BASH).await,
        StatusCode::UNAUTHORIZED,
        "unknown host token",
    );
    let bearer = format!("Bearer {token}");
    refused(
        &p1(&app, with_auth(&bearer), "b.example.org", BASH).await,
        StatusCode::FORBIDDEN,
        "does not belong to host b.example.org",
    );
    assert_eq!(p1(&app, with_auth(&bearer), "a.example.org", BASH).await.status, StatusCode::NO_CONTENT);
    assert_eq!(reported(&app, "a.example.org").await, Some((AuthKind::HostToken, String::new(), 1)));

    // API keys: any host without a token, created on first upload; both protocols, both headers.
    let key = api_key(&app, "site-a", None).await;
    let as_api_key = format!("Api-Key {key}");
    let as_bearer = format!("Bearer {key}");
    assert_eq!(p1(&app, with_auth(&as_api_key), "k1.example.org", BASH).await.status, StatusCode::NO_CONTENT);
    assert_eq!(p1(&app, with_auth(&as_bearer), "k2.example.org", BASH).await.status, StatusCode::NO_CONTENT);
    let json = p2(&app, with_auth(&as_api_key), "k3.example.org").await;
    assert_eq!(json.status, StatusCode::ACCEPTED, "{}", json.body);
    assert!(json.body.contains("\"status\":\"accepted\""), "{}", json.body);
    for host in ["k1.example.org", "k2.example.org", "k3.example.org"] {
        assert_eq!(reported(&app, host).await, Some((AuthKind::ApiKey, "site-a".into(), 1)), "{host}");
    }
    let keys = app.store.api_keys().await.unwrap();
    assert_eq!((keys[0].name.as_str(), keys[0].hosts), ("site-a", 3));
    assert!(keys[0].last_used_at.is_some(), "its use is recorded");
    let expired = api_key(&app, "old", Some(2)).await;
    refused(
        &p1(&app, with_auth(&format!("Api-Key {expired}")), "k4.example.org", BASH).await,
        StatusCode::UNAUTHORIZED,
        "unknown, revoked or expired API key",
    );
    assert!(app.store.delete_api_key("site-a").await.unwrap());
    refused(&p2(&app, with_auth(&as_api_key), "k4.example.org").await, StatusCode::UNAUTHORIZED, "revoked");
    assert_eq!(reported(&app, "k4.example.org").await, None, "a refused upload creates no host");

    // No credentials from a listed network: marked as such, on the host and on the dashboard.
    assert_eq!(p1(&app, from_peer("10.9.1.2"), "n1.example.org", BASH).await.status, StatusCode::NO_CONTENT);
    assert_eq!(reported(&app, "n1.example.org").await, Some((AuthKind::Network, "10.9.1.2".into(), 1)));
    assert_eq!(p2(&app, from_peer("10.9.1.3"), "n2.example.org").await.status, StatusCode::ACCEPTED);
    // Behind a trusted proxy the forwarded address counts; from anywhere else it does not.
    let proxied = Via { peer: Some("127.0.0.1"), forwarded: Some("10.9.7.7"), ..Via::default() };
    assert_eq!(p1(&app, proxied, "n3.example.org", BASH).await.status, StatusCode::NO_CONTENT);
    assert_eq!(reported(&app, "n3.example.org").await.unwrap().1, "10.9.7.7");
    let forged = Via { peer: Some("192.0.2.9"), forwarded: Some("10.9.7.7"), ..Via::default() };
    refused(&p1(&app, forged, "n4.example.org", BASH).await, StatusCode::UNAUTHORIZED, "needs credentials");

    let clock = Clock { now_ms: patchman_server::clock::now_ms(), silent_after_ms: 86_400_000 };
    assert_eq!(app.store.dashboard(&clock).await.unwrap().unauthenticated, 3);
    let (filter, sort, _) = HostFilter::from_pairs([("unauthenticated", "true")]).unwrap();
    let listed = app.store.host_list(&filter, &sort, PageRequest::default(), &clock).await.unwrap();
    let names: Vec<&str> = listed.rows.iter().map(|h| h.hostname.as_str()).collect();
    assert_eq!(names, ["n1.example.org", "n2.example.org", "n3.example.org"]);
    assert!(listed.rows.iter().all(|h| h.unauthenticated));
}

async fn no_credential_overwrites_a_host_with_a_stronger_one(app: App) {
    // Enrolled over gRPC from its machine: a legacy client can never write it.
    host_token(&app, "g.example.org", "0123456789abcdef0123456789abcdef").await;
    let key = api_key(&app, "site", None).await;
    let as_key = format!("Api-Key {key}");
    refused(
        &p1(&app, with_auth(&as_key), "g.example.org", BASH).await,
        StatusCode::FORBIDDEN,
        "has a token of its own",
    );
    refused(&p2(&app, with_auth(&as_key), "g.example.org").await, StatusCode::FORBIDDEN, "has a token of its own");
    refused(
        &p1(&app, from_peer("10.9.0.1"), "g.example.org", BASH).await,
        StatusCode::FORBIDDEN,
        "has a token of its own",
    );
    assert_eq!(reported(&app, "g.example.org").await, Some((AuthKind::HostToken, String::new(), 0)), "untouched");
    let legacy = Enrollment { hostname: "g.example.org", machine_id: "", token_hash: &TokenHash::of("x"), now_ms: 2 };
    assert_eq!(app.store.enroll(&legacy).await.unwrap(), EnrollOutcome::Conflict, "nor can it be given a token");

    // Reported with a key: an upload without one may not change it; a key may take over a
    // host first reported from a listed network.
    assert_eq!(p1(&app, with_auth(&as_key), "k.example.org", BASH).await.status, StatusCode::NO_CONTENT);
    let two = "'bash' '' '5.2.15' '2' 'amd64' 'deb'\n'zsh' '' '5.9' '2' 'amd64' 'deb'\n";
    refused(
        &p1(&app, from_peer("10.9.0.1"), "k.example.org", two).await,
        StatusCode::FORBIDDEN,
        "reports with an API key",
    );
    assert_eq!(reported(&app, "k.example.org").await.unwrap().2, 1, "nothing of the refused upload was stored");
    assert_eq!(p1(&app, from_peer("10.9.0.1"), "n.example.org", BASH).await.status, StatusCode::NO_CONTENT);
    assert_eq!(p1(&app, with_auth(&as_key), "n.example.org", two).await.status, StatusCode::NO_CONTENT);
    assert_eq!(reported(&app, "n.example.org").await, Some((AuthKind::ApiKey, "site".into(), 2)));

    // Given a token (`patchman host token`), a host reported without one answers to it alone.
    assert_eq!(p1(&app, from_peer("10.9.0.2"), "t.example.org", BASH).await.status, StatusCode::NO_CONTENT);
    let token = host_token(&app, "t.example.org", "").await;
    refused(
        &p1(&app, from_peer("10.9.0.2"), "t.example.org", two).await,
        StatusCode::FORBIDDEN,
        "has a token of its own",
    );
    assert_eq!(
        p1(&app, with_auth(&format!("Bearer {token}")), "t.example.org", two).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(reported(&app, "t.example.org").await, Some((AuthKind::HostToken, String::new(), 2)));
}

async fn the_unchanged_fast_path_checks_the_credential_too(app: App) {
    let key = api_key(&app, "site", None).await;
    let as_key = format!("Api-Key {key}");
    assert_eq!(p1(&app, with_auth(&as_key), "k.example.org", BASH).await.status, StatusCode::NO_CONTENT);
    let first = app.store.host("k.example.org").await.unwrap().unwrap();
    assert_eq!(p1(&app, with_auth(&as_key), "k.example.org", BASH).await.status, StatusCode::NO_CONTENT);
    let again = app.store.host("k.example.org").await.unwrap().unwrap();
    assert_eq!(again.last_changed_at, first.last_changed_at, "unchanged");
    assert_eq!(again.reports.len(), 1, "an unchanged upload adds no report row");
    assert!(app.store.delete_api_key("site").await.unwrap());
    refused(&p1(&app, with_auth(&as_key), "k.example.org", BASH).await, StatusCode::UNAUTHORIZED, "revoked");
    // The same upload from a listed network: another credential, the full path, refused.
    refused(
        &p1(&app, from_peer("10.9.0.3"), "k.example.org", BASH).await,
        StatusCode::FORBIDDEN,
        "reports with an API key",
    );
    assert_eq!(
        app.store.host("k.example.org").await.unwrap().unwrap().summary.last_seen_at,
        again.summary.last_seen_at
    );
}
