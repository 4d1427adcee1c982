//! Protocol 1 end to end: `patchman host token NAME` against a real server's database, then
//! the upload exactly as Patchman's `patchman-client` makes it (`curl -F field=value` and
//! `-F packages=<file`, its `curl_options` adding the token header), to a real server.

use std::process::Command;

use crate::support::start_server;

#[test]
fn patchman_client_s_curl_upload_is_stored_with_a_token_from_the_cli() {
    let server = start_server(&[]);
    let out = server.admin_output(&["host", "token", "legacy01.example.org"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("pmh_"), "{token}");
    let hint = String::from_utf8_lossy(&out.stderr);
    assert!(
        hint.contains(&format!(
            "curl_options=\"--connect-timeout 60 --max-time 300 -H 'Authorization: Bearer {token}'\""
        )),
        "{hint}"
    );
    let again = server.admin_output(&["host", "token", "legacy01.example.org"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has a token"), "{again:?}");

    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        format!("{name}=<{}", path.display())
    };
    let packages =
        file("packages", "'bash' '' '5.2.15' '2+b7' 'amd64' 'deb'\n'libc6' '' '2.36' '9+deb12u4' 'amd64' 'deb'\n");
    let repos = file(
        "repos",
        "'deb' 'Debian 12 x86_64 repo at http://deb.debian.org/debian/dists/bookworm/main/binary-amd64' '500' 'http://deb.debian.org/debian/dists/bookworm/main/binary-amd64'\n",
    );
    let empty = |name: &str| file(name, "");
    let upload = |token: &str| {
        let mut curl = Command::new("curl");
        curl.args(["-s", "-S", "-o", "-", "-w", "%{http_code}", "--connect-timeout", "60", "--max-time", "300"]);
        curl.args(["-H", &format!("Authorization: Bearer {token}")]);
        for f in [
            "host=legacy01.example.org".to_owned(),
            "tags=web".into(),
            "kernel=6.1.0-18-amd64".into(),
            "arch=x86_64".into(),
            "protocol=1".into(),
            "os=Debian 12.5".into(),
            "report=false".into(),
            packages.clone(),
            repos.clone(),
            empty("sec_updates"),
            empty("bug_updates"),
            empty("modules"),
            "reboot=ServerCheck".into(),
        ] {
            curl.args(["-F", &f]);
        }
        curl.arg(format!("{}/reports/upload/", server.url()));
        let out = curl.output().expect("curl (installed by .ci/setup)");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(upload("pmh_wrong"), "unknown host token\n401");
    assert_eq!(upload(&token), "204");

    let host: serde_json::Value =
        serde_json::from_str(&server.admin(&["host", "show", "legacy01.example.org", "--json"])).unwrap();
    assert_eq!(host["os_variant"], "Debian 12.5", "{host:#}");
    assert_eq!(host["client_version"], "patchman-client (protocol 1)");
    let packages: Vec<&str> = host["packages"].as_array().unwrap().iter().map(|p| p["evr"].as_str().unwrap()).collect();
    assert_eq!(packages, ["5.2.15-2+b7", "2.36-9+deb12u4"], "{host:#}");
    assert_eq!(host["repos"].as_array().unwrap().len(), 1, "{host:#}");
}

/// Protocol 2 end to end: `patchman api-key create`, then `curl -d @report.json` as
/// `patchman-client -p 2 -k KEY` posts it (the recorded Rocky body), `api-key list` showing the
/// key's use, and `api-key revoke` refusing it at once.
#[test]
fn patchman_client_s_json_upload_is_stored_with_an_api_key_from_the_cli() {
    let server = start_server(&[]);
    let out = server.admin_output(&["api-key", "create", "site-a", "--expires", "30d"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("pmk_"), "{key}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("api_key={key}")));
    let twice = server.admin_output(&["api-key", "create", "site-a"]);
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already a token or API key named site-a"), "{twice:?}");

    let report =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/patchman-client/rocky9-protocol2.json");
    let upload = |key: &str| {
        let out = Command::new("curl")
            .args(["-s", "-S", "-o", "-", "-w", "\n%{http_code}", "--connect-timeout", "60", "--max-time", "300"])
            .args(["-H", "Content-Type: application/json", "-H", &format!("Authorization: Api-Key {key}")])
            .arg("-d")
            .arg(format!("@{}", report.display()))
            .arg(format!("{}/api/report/", server.url()))
            .output()
            .expect("curl (installed by .ci/setup)");
        String::from_utf8(out.stdout).unwrap()
    };
    let stored = upload(&key);
    assert!(stored.ends_with("\n202") && stored.contains("\"status\":\"accepted\""), "{stored}");
    let host: serde_json::Value =
        serde_json::from_str(&server.admin(&["host", "show", "rocky9.example.org", "--json"])).unwrap();
    assert_eq!(host["client_version"], "patchman-client (protocol 2)");
    assert_eq!(host["reported_with"], serde_json::json!({"kind": "api_key", "detail": "site-a"}), "{host:#}");
    assert_eq!(host["packages"].as_array().unwrap().len(), 17);

    let keys: serde_json::Value = serde_json::from_str(&server.admin(&["api-key", "list", "--json"])).unwrap();
    assert_eq!((keys[0]["name"].as_str(), keys[0]["hosts"].as_i64()), (Some("site-a"), Some(1)), "{keys:#}");
    assert!(keys[0]["last_used_at"].is_string() && keys[0]["expires_at"].is_string(), "{keys:#}");
    assert!(!keys.to_string().contains(&key), "the key itself is never shown again");
    assert!(server.admin(&["api-key", "revoke", "site-a"]).contains("revoked"));
    let refused = upload(&key);
    assert!(refused.ends_with("\n401") && refused.contains("unknown, revoked or expired API key"), "{refused}");
    let audit = server.admin(&["audit"]);
    assert!(audit.contains("api-key.create") && audit.contains("token.revoke"), "{audit}");
}
