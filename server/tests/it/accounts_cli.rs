//! `patchman user …` and `patchman audit` against a real server's database, and the
//! administrator generated on first start (its password file: 0600, written once).

use std::os::unix::fs::PermissionsExt as _;

use crate::support::start_server;

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn users_are_added_from_stdin_listed_and_deleted_and_audited() {
    let server = start_server(&[]);
    ok(&server.admin_with_stdin(&["user", "add", "alice", "--role", "admin"], "correct horse battery\n"));
    ok(&server.admin_with_stdin(&["user", "add", "bob"], "another long password\n"));

    let short = server.admin_with_stdin(&["user", "add", "carol"], "short\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"), "{short:?}");
    let again = server.admin_with_stdin(&["user", "add", "alice"], "correct horse battery\n");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already a user named alice"), "{again:?}");

    let list: serde_json::Value = serde_json::from_str(&server.admin(&["user", "list", "--json"])).unwrap();
    let users: Vec<_> = list.as_array().unwrap().iter().map(|u| (u["name"].clone(), u["role"].clone())).collect();
    assert_eq!(
        users,
        [("admin".into(), "admin".into()), ("alice".into(), "admin".into()), ("bob".into(), "viewer".into())],
        "the generated admin, and the two added: {list:#}"
    );
    assert!(!list.to_string().contains("argon2"), "no password hash is shown: {list}");
    assert!(server.admin(&["user", "list"]).contains("bob"));

    ok(&server.admin_with_stdin(&["user", "passwd", "bob"], "a brand new password\n"));
    ok(&server.admin_with_stdin(&["user", "delete", "bob"], ""));
    let gone = server.admin_with_stdin(&["user", "delete", "bob"], "");
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no user named bob"), "{gone:?}");

    let audit: serde_json::Value = serde_json::from_str(&server.admin(&["audit", "--json"])).unwrap();
    let actions: Vec<_> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actions[..4], ["user.delete", "user.passwd", "user.add", "user.add"], "{audit:#}");
    assert!(audit[0]["actor"].as_str().unwrap().starts_with("cli:"), "{audit:#}");
    assert_eq!(audit[0]["target"], "bob");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&server.admin(&["audit", "--json", "--limit", "1"]))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn the_first_start_writes_the_admin_password_once_readable_only_by_its_owner() {
    let server = start_server(&[]);
    let path = server.dir.path().join("patchman-admin-password");
    let password = std::fs::read_to_string(&path).expect("the password file exists after the first start");
    assert!(password.trim().len() >= 32, "{password:?}");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let users = server.admin(&["user", "list", "--json"]);
    assert!(users.contains("\"admin\""), "{users}");

    // A restart (an admin exists) and a start with no user but the file present leave it alone.
    let (dir, url) = (server.dir.path().to_owned(), server.database_url.clone());
    let dir_guard = server.stop();
    ok(&std::process::Command::new(env!("CARGO_BIN_EXE_patchman"))
        .args(["user", "delete", "admin"])
        .env("PATCHMAN_DATABASE_URL", &url)
        .output()
        .unwrap());
    let again = patchman_testkit::server::Server::start_with(
        std::path::Path::new(env!("CARGO_BIN_EXE_patchman")),
        dir_guard,
        url,
        &[],
    );
    assert_eq!(std::fs::read_to_string(dir.join("patchman-admin-password")).unwrap(), password, "not overwritten");
    assert_eq!(again.admin(&["user", "list", "--json"]).trim(), "[]", "no admin without a file to tell its password");
}

#[test]
fn a_user_added_before_the_first_start_means_no_generated_admin() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("patchman.db").display());
    // Only serve, migrate and copy-db create a database: migrate first, then add the user.
    let migrate = std::process::Command::new(env!("CARGO_BIN_EXE_patchman"))
        .arg("migrate")
        .env("PATCHMAN_DATABASE_URL", &url)
        .output();
    assert!(migrate.unwrap().status.success());
    let mut add = std::process::Command::new(env!("CARGO_BIN_EXE_patchman"));
    add.args(["user", "add", "root", "--role", "admin"]).env("PATCHMAN_DATABASE_URL", &url);
    let mut child = add.stdin(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"root password here\n").unwrap();
    assert!(child.wait().unwrap().success());
    let server = patchman_testkit::server::Server::start_with(
        std::path::Path::new(env!("CARGO_BIN_EXE_patchman")),
        dir,
        url,
        &[],
    );
    assert!(!server.dir.path().join("patchman-admin-password").exists());
    let users: serde_json::Value = serde_json::from_str(&server.admin(&["user", "list", "--json"])).unwrap();
    let names: Vec<_> = users.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["root"], "{users:#}");
}
