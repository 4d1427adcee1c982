//! Tests of the rpm database reader: header parsing, `rpm -qa` output, sqlite opening.
use super::*;

/// Builds a header blob from (tag, type, data) entries, strings NUL-terminated.
fn header(entries: &[(i32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    for (tag, kind, bytes) in entries {
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&kind.to_be_bytes());
        index.extend_from_slice(&(data.len() as i32).to_be_bytes());
        index.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(bytes);
    }
    let mut blob = (entries.len() as u32).to_be_bytes().to_vec();
    blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
    blob.extend(index);
    blob.extend(data);
    blob
}

fn s(text: &str) -> Vec<u8> {
    let mut v = text.as_bytes().to_vec();
    v.push(0);
    v
}

fn hello(epoch: Option<i32>) -> Vec<(i32, u32, Vec<u8>)> {
    let mut e = vec![(TAG_NAME, TYPE_STRING, s("hello")), (TAG_VERSION, TYPE_STRING, s("1.1"))];
    e.push((TAG_RELEASE, TYPE_STRING, s("1.el9")));
    if let Some(epoch) = epoch {
        e.push((TAG_EPOCH, TYPE_INT32, epoch.to_be_bytes().to_vec()));
    }
    e.push((TAG_ARCH, TYPE_STRING, s("x86_64")));
    e.push((1044, TYPE_STRING, s("hello-1.1-1.el9.src.rpm")));
    e
}

#[test]
fn headers_give_name_epoch_version_release_arch() {
    let p = parse_header(&header(&hello(None))).unwrap();
    assert_eq!(
        (p.name.as_str(), p.epoch, p.version.as_str(), p.release.as_str(), p.arch.as_str()),
        ("hello", 0, "1.1", "1.el9", "x86_64")
    );
    assert_eq!(parse_header(&header(&hello(Some(2)))).unwrap().epoch, 2);
    assert!(parse_header(&header(&hello(Some(-1)))).is_err());
}

#[test]
fn corrupt_headers_are_errors_not_panics() {
    let good = header(&hello(Some(3)));
    for cut in 0..good.len() {
        let _ = parse_header(&good[..cut]);
        let mut flipped = good.clone();
        flipped[cut] ^= 0xff;
        let _ = parse_header(&flipped);
    }
    assert!(parse_header(&good[..good.len() - 1]).is_err());
    assert!(parse_header(&[0xff; 8]).is_err());
    assert!(parse_header(&header(&[(TAG_NAME, TYPE_STRING, b"no-nul".to_vec())])).is_err());
    assert!(parse_header(&header(&[(TAG_NAME, TYPE_STRING, s("only-a-name"))])).is_err());
    assert!(parse_header(&header(&[(TAG_NAME, TYPE_INT32, vec![0, 0, 0, 1])])).is_err());
}

#[test]
fn rpm_qa_output_is_parsed_and_pubkeys_dropped() {
    let text = "bash|0|5.1.8|9.el9|x86_64\ngpg-pubkey|0|350d275d|6395c8a6|(none)\nperl-IO|1|1.43|481.el9|x86_64\n\n";
    let got = parse_rpm_qa(text).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!((got[1].name.as_str(), got[1].epoch, got[1].arch.as_str()), ("perl-IO", 1, "x86_64"));
    assert!(parse_rpm_qa("a|b|c\n").is_err());
    assert!(parse_rpm_qa("a|x|1|2|noarch\n").is_err());
}

#[test]
fn no_database_is_none_and_legacy_ones_are_found() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(find_rpmdb(dir.path()), None);
    assert!(read_rpmdb(dir.path()).unwrap().is_none());
    std::fs::create_dir_all(dir.path().join("var/lib/rpm")).unwrap();
    std::fs::write(dir.path().join("var/lib/rpm/Packages"), b"").unwrap();
    assert_eq!(find_rpmdb(dir.path()), Some(RpmDb::Legacy { dbpath: "/var/lib/rpm".into() }));
    std::fs::create_dir_all(dir.path().join("usr/lib/sysimage/rpm")).unwrap();
    std::fs::write(dir.path().join("usr/lib/sysimage/rpm/rpmdb.sqlite"), b"").unwrap();
    assert_eq!(find_rpmdb(dir.path()), Some(RpmDb::Sqlite(dir.path().join("usr/lib/sysimage/rpm/rpmdb.sqlite"))));
}

#[test]
fn sqlite_paths_are_uri_encoded() {
    assert_eq!(uri_path(Path::new("/tmp/a b/x?#%.sqlite")), "/tmp/a%20b/x%3F%23%25.sqlite");
}

/// A database with rpm's layout: journal in WAL mode, `Packages(hnum, blob)`.
fn create_db(file: &Path) -> Connection {
    let conn = Connection::open(file).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
         CREATE TABLE IF NOT EXISTS Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
    )
    .unwrap();
    conn
}

fn insert(conn: &Connection, blob: &[u8]) {
    conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob]).unwrap();
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn sqlite_is_read_without_side_files_yet_sees_an_unfinished_wal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rpmdb.sqlite");
    let conn = create_db(&file);
    insert(&conn, &header(&hello(None)));
    drop(conn); // The last connection checkpoints and removes the WAL.
    assert_eq!(dir_entries(dir.path()), ["rpmdb.sqlite"]);
    assert_eq!(read_sqlite_rpmdb(&file).unwrap().len(), 1);
    assert_eq!(dir_entries(dir.path()), ["rpmdb.sqlite"], "reading must not create files");

    // A writer that stays open keeps its commits in the WAL only.
    let writer = create_db(&file);
    let mut pubkey = hello(None);
    pubkey[0] = (TAG_NAME, TYPE_STRING, s("gpg-pubkey"));
    insert(&writer, &header(&pubkey));
    insert(&writer, &header(&hello(Some(7))));
    assert!(std::fs::metadata(dir.path().join("rpmdb.sqlite-wal")).unwrap().len() > 0);
    let got = read_sqlite_rpmdb(&file).unwrap();
    assert_eq!(got.iter().map(|p| p.epoch).collect::<Vec<_>>(), [0, 7]);
    drop(writer);
}

#[test]
fn bad_rows_name_their_hnum() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rpmdb.sqlite");
    let conn = create_db(&file);
    insert(&conn, &header(&hello(None)));
    insert(&conn, b"\x00\x00\x00\x09\x00\x00\x00\x00 too short");
    drop(conn);
    let err = read_sqlite_rpmdb(&file).unwrap_err().to_string();
    assert!(err.contains("package header 2") && err.contains("do not fit"), "{err}");

    let conn = Connection::open(&file).unwrap();
    conn.execute_batch("DELETE FROM Packages WHERE hnum = 2; INSERT INTO Packages (blob) VALUES ('text, not a blob');")
        .unwrap();
    drop(conn);
    let err = read_sqlite_rpmdb(&file).unwrap_err().to_string();
    assert!(err.contains("holds Text"), "{err}");
    assert!(read_sqlite_rpmdb(&dir.path().join("missing.sqlite")).is_err());
}
