//! Every list downloads as CSV and as JSON the rows its page shows for the same filter, on
//! both backends: transactions, errata, package names, a package's versions and OS groups
//! (hosts, repositories and updates are checked with their pages).

use axum::http::{StatusCode, header};
use patchman_server::accounts::Role;
use patchman_server::contents::{ErratumRecord, RepoContents};
use patchman_server::report::{ChangeAction, PackageChange, Transaction};

use crate::host_queries::fleet;
use crate::store_suite::{base_packages, enroll, ingest, pkg, report};
use crate::web_support::*;

on_both_backends!(each_list_downloads_the_rows_its_page_shows);

/// The text after each `marker` up to the next `<` or `"`, in page order.
fn after(page: &str, marker: &str) -> Vec<String> {
    page.split(marker).skip(1).map(|rest| rest.split(['<', '"']).next().unwrap().to_owned()).collect()
}

/// A download's CSV (its header line and the first cell of each row) and JSON (`field` of
/// each row), checked for their content types.
async fn downloads(app: &App, session: &str, path: &str, field: &str) -> (String, Vec<String>, Vec<String>) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, headers, csv) = get3(app, session, &format!("{path}{sep}format=csv")).await;
    assert_eq!(status, StatusCode::OK, "{path}: {csv}");
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8", "{path}");
    let header_line = csv.lines().next().unwrap_or_default().to_owned();
    let first: Vec<String> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap().to_owned()).collect();
    let (status, headers, json) = get3(app, session, &format!("{path}{sep}format=json")).await;
    assert_eq!((status, headers[header::CONTENT_TYPE].to_str().unwrap()), (StatusCode::OK, "application/json"));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let values = json.as_array().unwrap().iter().map(|r| r[field].as_str().unwrap().to_owned()).collect();
    (header_line, first, values)
}

async fn each_list_downloads_the_rows_its_page_shows(app: App) {
    let viewer = sign_in(&app, "vera", Role::Viewer).await;
    fleet(&app.store).await;
    let token = enroll(&*app.store, "v.example.org").await;
    let mut r = report("v.example.org", "r1", 100, base_packages());
    let change = |name: &str| PackageChange {
        action: ChangeAction::Removed,
        name: name.into(),
        arch: "x86_64".into(),
        old_version: "1.2".into(),
        new_version: String::new(),
    };
    r.transactions = vec![
        Transaction {
            transaction_id: "t1".into(),
            finished_at_ms: 150,
            tool: "dnf".into(),
            changes: vec![change("telnet")],
        },
        Transaction {
            transaction_id: "t2".into(),
            finished_at_ms: 250,
            tool: "dnf".into(),
            changes: vec![change("rsh")],
        },
    ];
    ingest(&*app.store, &token, r).await;

    // Transactions, newest first, narrowed by a package.
    let (_, _, page) = get3(&app, &viewer, "/transactions?search=v.example").await;
    let shown = after(&page, "<td class=\"hostname\"><a href=\"/hosts/");
    assert_eq!(shown, ["v.example.org", "v.example.org"], "{page}");
    let (head, csv, json) = downloads(&app, &viewer, "/transactions?search=v.example", "transaction_id").await;
    assert_eq!(head, "hostname,transaction_id,finished_at,tool,changes");
    assert_eq!(csv, shown);
    assert_eq!(json, ["t2", "t1"]);
    let (_, _, csv) = get3(&app, &viewer, "/transactions?package=rsh&format=csv").await;
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains(",t2,") && csv.contains("removed rsh x86_64 1.2 → "), "{csv}");

    // Errata of a repository.
    let repo = app.store.repos().await.unwrap().remove(0);
    let erratum = |name: &str| ErratumRecord {
        name: name.into(),
        kind: "security".into(),
        severity: "Important".into(),
        issued_ms: Some(1_700_000_000_000),
        title: "a fix, with a comma".into(),
        cves: vec!["CVE-2024-0001".into(), "CVE-2024-0002".into()],
        packages: vec![pkg("openssl", "3.0.15", "1").package],
    };
    let contents = RepoContents {
        packages: vec![pkg("openssl", "3.0.15", "1").package],
        errata: vec![erratum("RLSA-2024:0001"), erratum("RLSA-2024:0002")],
        ..Default::default()
    };
    assert!(app.store.replace_repo_contents(repo.id, &contents, 5_000).await.unwrap());
    let (_, _, page) = get3(&app, &viewer, "/errata").await;
    let mut shown = after(&page, "<td class=\"name\">");
    assert_eq!(shown.len(), 2, "{page}");
    let (head, csv, json) = downloads(&app, &viewer, "/errata", "name").await;
    assert_eq!(head, "name,kind,severity,issued_at,title,cves,packages,hosts");
    assert_eq!(csv, shown);
    assert_eq!(json, shown);
    let (_, _, raw) = get3(&app, &viewer, "/errata?format=csv").await;
    assert!(raw.contains(",\"a fix, with a comma\",CVE-2024-0001 CVE-2024-0002,"), "quoted: {raw}");
    shown.sort();
    assert_eq!(shown, ["RLSA-2024:0001", "RLSA-2024:0002"]);

    // Package names by a substring, and one name's versions.
    let (_, _, page) = get3(&app, &viewer, "/packages?search=ssl").await;
    let shown = after(&page, "<tr class=\"package-name\"><td class=\"name\"><a href=\"/packages?name&#x3D;");
    assert_eq!(shown, ["openssl"], "{page}");
    let (head, csv, json) = downloads(&app, &viewer, "/packages?search=ssl", "name").await;
    assert_eq!((head.as_str(), csv, json), ("name,kind,versions,arches", shown.clone(), shown));
    let (_, _, page) = get3(&app, &viewer, "/packages?name=openssl").await;
    let shown = after(&page, "<tr class=\"version\"><td>");
    assert!(shown.len() >= 2, "installed and offered versions: {page}");
    assert!(page.contains("/packages?name&#x3D;openssl&amp;format&#x3D;csv"), "the page links its download: {page}");
    let (head, csv, json) = downloads(&app, &viewer, "/packages?name=openssl", "evr").await;
    assert_eq!((head.as_str(), csv, json), ("kind,evr,arch,hosts,repos", vec!["deb".to_owned(); shown.len()], shown));

    // OS groups.
    let (_, _, page) = get3(&app, &viewer, "/os-groups").await;
    let shown = after(&page, "<section class=\"os-group\" id=\"");
    assert!(!shown.is_empty(), "{page}");
    let (head, csv, json) = downloads(&app, &viewer, "/os-groups", "name").await;
    assert_eq!((head.as_str(), csv, json), ("name,variants,hosts,repos", shown.clone(), shown));

    let (status, _, page) = get3(&app, &viewer, "/errata?format=xml").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("format: &quot;xml&quot; is not html, csv or json"), "{page}");
}
