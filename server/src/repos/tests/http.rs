//! The HTTP layer against the loopback server: mirror lists, metalinks, dead mirrors,
//! redirects and limits.

use std::time::{Duration, Instant};

use patchman_testkit::write;
use tempfile::TempDir;

use super::fixtures::{fetcher, fetcher_with};
use crate::repos::{RepoAuth, RepoError, Seen, expand_metalink, expand_mirrorlist, refresh_yum};
use patchman_testkit::http::{FileServer, Mode};

const METALINK: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" pubdate="Tue, 21 May 2024 10:00:00 GMT"
  generator="mirrormanager" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
  <file name="repomd.xml">
   <mm0:timestamp>1716285600</mm0:timestamp>
   <size>7131</size>
   <verification>
     <hash type="md5">0123456789abcdef0123456789abcdef</hash>
     <hash type="sha256">2222222222222222222222222222222222222222222222222222222222222222</hash>
   </verification>
   <resources maxconnections="1">
    <url protocol="https" type="https" location="DE" preference="98">https://ftp.example.de/fedora/updates/40/Everything/x86_64/repodata/repomd.xml</url>
    <url protocol="rsync" type="rsync" location="DE" preference="99">rsync://ftp.example.de/fedora/updates/40/Everything/x86_64/repodata/repomd.xml</url>
    <url protocol="http" type="http" location="US" preference="100">http://mirror.example.com/fedora/updates/40/Everything/x86_64/repodata/repomd.xml</url>
    <url protocol="https" type="https" location="FR" preference="97">https://miroir.example.fr/pub/fedora/linux/updates/40/Everything/x86_64/repodata/repomd.xml</url>
    <url protocol="https" type="https" location="US" preference="96">https://mirror.example.com/fedora/updates/40/Everything/x86_64/repodata/repomd.xml</url>
   </resources>
  </file>
 </files>
</metalink>
"#;

#[tokio::test]
async fn mirrorlist_and_metalink_expand_to_baseurls() {
    let dir = TempDir::new().expect("tempdir");
    let mirrorlist = "http://mirror.example.com/centos/7/os/x86_64/\nhttps://b.example.org/centos/7/os/x86_64/repodata/repomd.xml\n\
# comment\nftp://c.example.net/centos/7/os/x86_64\n";
    write(&dir.path().join("mirrorlist"), mirrorlist);
    write(&dir.path().join("metalink"), METALINK);
    let server = FileServer::start(dir.path());
    let f = fetcher();
    let urls =
        expand_mirrorlist(&f, &format!("{}/mirrorlist?release=7&arch=x86_64&repo=os", server.url()), 10).await.unwrap();
    assert_eq!(
        urls,
        [
            "http://mirror.example.com/centos/7/os/x86_64",
            "https://b.example.org/centos/7/os/x86_64",
            "ftp://c.example.net/centos/7/os/x86_64"
        ]
    );
    assert_eq!(expand_mirrorlist(&f, &format!("{}/mirrorlist", server.url()), 1).await.unwrap().len(), 1);
    let urls = expand_metalink(&f, &format!("{}/metalink?repo=updates-released-f40&arch=x86_64", server.url()), 3)
        .await
        .unwrap();
    assert_eq!(
        urls,
        [
            "http://mirror.example.com/fedora/updates/40/Everything/x86_64",
            "https://ftp.example.de/fedora/updates/40/Everything/x86_64",
            "https://miroir.example.fr/pub/fedora/linux/updates/40/Everything/x86_64",
        ]
    );
    // An HTML error page is no mirror list.
    write(&dir.path().join("mirrorlist"), "<html><body>bad request</body></html>\n");
    let err = expand_mirrorlist(&f, &format!("{}/mirrorlist", server.url()), 10).await.unwrap_err();
    assert!(matches!(err, RepoError::Mirrorlist { .. }), "{err}");
    let err = expand_metalink(&f, &format!("{}/missing", server.url()), 10).await.unwrap_err();
    assert!(matches!(err, RepoError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn dead_mirrors_fail_clearly() {
    let dir = TempDir::new().expect("tempdir");
    let server = FileServer::start(dir.path());
    let f = fetcher_with(|c| c.timeout = Duration::from_millis(500));
    let base = server.url();

    server.set_mode(Mode::Status(503));
    let err = refresh_yum(&f, &base, &Seen::default(), None, None).await.unwrap_err();
    assert!(matches!(err, RepoError::Status { status: 503, .. }), "{err}");
    assert!(err.to_string().contains("/repodata/repomd.xml"), "{err}");

    server.set_mode(Mode::Reset);
    let err = refresh_yum(&f, &base, &Seen::default(), None, None).await.unwrap_err();
    assert!(matches!(err, RepoError::Http { .. }), "{err}");

    server.set_mode(Mode::Hang);
    let started = Instant::now();
    let err = refresh_yum(&f, &base, &Seen::default(), None, None).await.unwrap_err();
    assert!(matches!(&err, RepoError::Http { reason, .. } if reason.contains("timed out")), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());

    server.set_mode(Mode::Normal);
    let err = refresh_yum(&f, &base, &Seen::default(), None, None).await.unwrap_err();
    assert!(matches!(err, RepoError::NotFound { .. }), "{err}");

    let port = server.url();
    drop(server);
    let err = refresh_yum(&f, &port, &Seen::default(), None, None).await.unwrap_err();
    assert!(matches!(err, RepoError::Http { .. }), "{err}");
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_limit() {
    let dir = TempDir::new().expect("tempdir");
    write(&dir.path().join("real/mirrorlist"), "http://a.example/os\n");
    let server = FileServer::start(dir.path());
    server.redirect("/m1", "/m2");
    server.redirect("/m2", "/real/mirrorlist");
    let f = fetcher_with(|c| c.max_redirects = 2);
    assert_eq!(expand_mirrorlist(&f, &format!("{}/m1", server.url()), 5).await.unwrap(), ["http://a.example/os"]);
    let f = fetcher_with(|c| c.max_redirects = 1);
    let err = expand_mirrorlist(&f, &format!("{}/m1", server.url()), 5).await.unwrap_err();
    assert!(matches!(err, RepoError::Http { .. }), "{err}");
}

#[tokio::test]
async fn small_files_respect_max_bytes() {
    let dir = TempDir::new().expect("tempdir");
    write(&dir.path().join("repodata/repomd.xml"), "x".repeat(10_000));
    let server = FileServer::start(dir.path());
    let f = fetcher_with(|c| c.max_bytes = 1000);
    let err = refresh_yum(&f, &server.url(), &Seen::default(), None, None).await.unwrap_err();
    assert!(matches!(err, RepoError::TooLarge { limit: 1000, .. }), "{err}");
}

#[tokio::test]
async fn credentials_are_sent_and_bad_client_certificates_refused() {
    let dir = TempDir::new().expect("tempdir");
    write(&dir.path().join("mirrorlist"), "http://a.example/os\n");
    let server = FileServer::start(dir.path());
    let f = fetcher();
    let auth = RepoAuth { basic: Some(("alice".into(), "s3cret".into())), ..RepoAuth::default() };
    let url = format!("{}/mirrorlist", server.url());
    // Mirror lists are fetched without credentials; a yum refresh sends them.
    let _ = refresh_yum(&f, &server.url(), &Seen::default(), None, Some(&auth)).await;
    let log = server.log();
    assert_eq!(log[0].authorization.as_deref(), Some("Basic YWxpY2U6czNjcmV0"), "{log:?}");
    assert_eq!(expand_mirrorlist(&f, &url, 1).await.unwrap().len(), 1);
    assert_eq!(server.log()[1].authorization, None);

    let missing = RepoAuth {
        client_cert_pem: Some(dir.path().join("no-cert.pem")),
        client_key_pem: Some(dir.path().join("no-key.pem")),
        ..RepoAuth::default()
    };
    let err = refresh_yum(&f, &server.url(), &Seen::default(), None, Some(&missing)).await.unwrap_err();
    assert!(matches!(err, RepoError::ReadFile { .. }) && err.to_string().contains("no-cert.pem"), "{err}");
    write(
        &dir.path().join("no-cert.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
    );
    write(&dir.path().join("no-key.pem"), "garbage");
    let err = refresh_yum(&f, &server.url(), &Seen::default(), None, Some(&missing)).await.unwrap_err();
    assert!(matches!(err, RepoError::Config(_)), "{err}");
}
