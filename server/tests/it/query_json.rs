//! `/api/v1/…`, the query API's JSON mapping, against the fleet of `query_api`: the same
//! answers, filters, page tokens and refusals as gRPC, read with a plain HTTP client.

use patchman_testkit::server::Server;
use serde_json::Value;

async fn get(server: &Server, path: &str, token: Option<&str>) -> (u16, Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut req = reqwest::Client::new().get(format!("{}{path}", server.url()));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("the server answers");
    let status = res.status().as_u16();
    assert_eq!(res.headers()["content-type"], "application/json", "{path}");
    (status, serde_json::from_str(&res.text().await.unwrap()).expect("JSON"))
}

/// Asserts the JSON answers of a fleet of five hosts (a, b, c tagged web; d, e tagged db; e
/// without repositories; all with hello-tiny 1.0-1, 1.1-1 available to a–d), and h, whose
/// host token is `host_token`.
pub async fn check(server: &Server, read: &str, host_token: &str) {
    // A filter, an order, pages of two: the page token carries on.
    let (status, first) =
        get(server, "/api/v1/hosts?filter=tag%3Dweb&order_by=-hostname&page_size=2", Some(read)).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["total_size"], 3, "64-bit integers are numbers: {first}");
    let names = |v: &Value| {
        v["hosts"].as_array().unwrap().iter().map(|h| h["hostname"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(names(&first), ["c.example.org", "b.example.org"]);
    let token = first["next_page_token"].as_str().unwrap();
    let (_, second) = get(
        server,
        &format!("/api/v1/hosts?filter=tag%3Dweb&order_by=-hostname&page_size=2&page_token={token}"),
        Some(read),
    )
    .await;
    assert_eq!((names(&second), second["next_page_token"].as_str()), (vec!["a.example.org".to_owned()], Some("")));
    assert_eq!(second["hosts"][0]["status"], "HOST_STATUS_BUGFIX", "enums by name: {second}");

    let (_, host) = get(server, "/api/v1/hosts/a.example.org", Some(read)).await;
    assert_eq!((host["hostname"].as_str(), host["bugfix_updates"].as_i64()), (Some("a.example.org"), Some(1)));
    let (_, updates) = get(server, "/api/v1/hosts/a.example.org/updates", Some(read)).await;
    let u = &updates["updates"][0];
    assert_eq!((u["name"].as_str(), u["available_evr"].as_str()), (Some("hello-tiny"), Some("1.1-1")), "{updates}");
    assert_eq!(updates["current"], true);
    let (_, packages) = get(server, "/api/v1/hosts/a.example.org/packages?page_size=1", Some(read)).await;
    assert_eq!((packages["packages"].as_array().unwrap().len(), packages["total_size"].as_i64()), (1, Some(2)));
    let (_, having) = get(server, "/api/v1/packages/hello-tiny/hosts?evr=1.0-1&filter=tag%3Ddb", Some(read)).await;
    assert_eq!(having["total_size"], 2, "{having}");
    let (_, found) = get(server, "/api/v1/packages?search=hello", Some(read)).await;
    assert_eq!(found["packages"][0]["name"], "hello-tiny");
    let (_, repos) = get(server, "/api/v1/repositories", Some(read)).await;
    let repo_id = repos["repositories"][0]["id"].as_i64().unwrap();
    let (_, mirrors) = get(server, &format!("/api/v1/repositories/{repo_id}/mirrors"), Some(read)).await;
    assert_eq!(mirrors["mirrors"].as_array().unwrap().len(), 1);
    let (_, failing) = get(server, "/api/v1/mirrors?failing_only=true", Some(read)).await;
    assert_eq!(failing["total_size"], 0);
    let (_, groups) = get(server, "/api/v1/os-groups", Some(read)).await;
    assert_eq!(groups["os_groups"][0]["name"], "Debian 12");
    let (_, errata) = get(server, "/api/v1/errata", Some(read)).await;
    assert_eq!(errata["total_size"], 0);
    let (_, summary) = get(server, "/api/v1/summary", Some(read)).await;
    // …and h, enrolled for its host token, with no report yet.
    assert_eq!((summary["hosts"].as_i64(), summary["hosts_without_repositories"].as_i64()), (Some(6), Some(2)));

    // Refusals, by name and with the HTTP status gRPC's code maps to.
    let (status, err) = get(server, "/api/v1/summary", None).await;
    assert_eq!((status, err["error"]["code"].as_str()), (401, Some("UNAUTHENTICATED")));
    assert_eq!(get(server, "/api/v1/summary", Some(host_token)).await.0, 401);
    let (status, err) = get(server, "/api/v1/hosts?colour=blue", Some(read)).await;
    assert_eq!(status, 400);
    assert!(err["error"]["message"].as_str().unwrap().starts_with("colour:"), "{err}");
    let (status, err) = get(server, "/api/v1/hosts?filter=colour%3Dblue", Some(read)).await;
    assert!(status == 400 && err["error"]["message"].as_str().unwrap().contains("colour"), "{err}");
    let (status, err) = get(server, "/api/v1/hosts?page_size=many", Some(read)).await;
    assert!(status == 400 && err["error"]["message"].as_str().unwrap().starts_with("page_size:"), "{err}");
    let (status, err) = get(server, "/api/v1/hosts/nope.example.org", Some(read)).await;
    assert_eq!((status, err["error"]["code"].as_str()), (404, Some("NOT_FOUND")));
    assert_eq!(get(server, "/api/v1/no-such-thing", Some(read)).await.0, 404);
}
