//! Installed rpm packages: read `rpmdb.sqlite` directly (read-only), or ask `rpm -qa` where
//! the database is Berkeley DB or ndb (RHEL 7/8, SUSE).

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::collect::{CollectError, CollectResult, under};
use crate::model::{Package, PackageKind};

/// Where rpm keeps its database, host-absolute, in the order they are tried: RHEL 9, Fedora
/// ≥ 36 (where /var/lib/rpm is a symlink to it), and Debian's rpm default (`~/.rpmdb`).
pub const DB_DIRS: [&str; 3] = ["/var/lib/rpm", "/usr/lib/sysimage/rpm", "/root/.rpmdb"];

/// The query format of the `rpm -qa` fallback.
pub const QUERY_FORMAT: &str = "%{NAME}|%{EPOCHNUM}|%{VERSION}|%{RELEASE}|%{ARCH}\\n";

/// An rpm database found under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpmDb {
    /// `rpmdb.sqlite`, read directly.
    Sqlite(PathBuf),
    /// A Berkeley DB `Packages` or ndb `Packages.db` file in this host-absolute directory,
    /// read through `rpm --dbpath`.
    Legacy { dbpath: String },
}

/// Finds the rpm database under `root`: any `rpmdb.sqlite` first, then a legacy one.
pub fn find_rpmdb(root: &Path) -> Option<RpmDb> {
    for dir in DB_DIRS {
        let file = under(root, dir).join("rpmdb.sqlite");
        if file.is_file() {
            return Some(RpmDb::Sqlite(file));
        }
    }
    DB_DIRS.iter().find_map(|dir| {
        let d = under(root, dir);
        (d.join("Packages").is_file() || d.join("Packages.db").is_file())
            .then(|| RpmDb::Legacy { dbpath: (*dir).to_owned() })
    })
}

/// The installed packages, or `None` when there is no rpm database under `root`.
/// `gpg-pubkey` pseudo-packages are left out.
pub fn read_rpmdb(root: &Path) -> CollectResult<Option<Vec<Package>>> {
    match find_rpmdb(root) {
        None => Ok(None),
        Some(RpmDb::Sqlite(file)) => read_sqlite_rpmdb(&file).map(Some),
        Some(RpmDb::Legacy { dbpath }) => query_rpm(root, &dbpath).map(Some),
    }
}

/// Reads every package header from an `rpmdb.sqlite` file without writing anything.
///
/// When the write-ahead log holds data (a transaction not yet checkpointed) the file is
/// opened read-only the ordinary way, so that the log is seen; otherwise it is opened as
/// `immutable`, which takes no locks and creates no `-shm`/`-wal` files, so a directory we
/// cannot write to works. If the preferred way fails, the other one is tried.
pub fn read_sqlite_rpmdb(file: &Path) -> CollectResult<Vec<Package>> {
    let parse_err = |message: String| CollectError::Parse { path: file.to_owned(), message };
    let mut wal = file.as_os_str().to_owned();
    wal.push("-wal");
    let wal_has_data = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
    let rows = match read_headers(file, !wal_has_data) {
        Ok(rows) => rows,
        Err(first) => read_headers(file, wal_has_data)
            .map_err(|second| parse_err(format!("cannot read the Packages table: {first}; then: {second}")))?,
    };
    let mut packages = Vec::with_capacity(rows.len());
    for (hnum, parsed) in rows {
        let package = parsed.map_err(|e| parse_err(format!("package header {hnum}: {e}")))?;
        if package.name != "gpg-pubkey" {
            packages.push(package);
        }
    }
    Ok(packages)
}

/// Parses each row's header as it is read, so that only one blob is in memory at a time.
fn read_headers(file: &Path, immutable: bool) -> rusqlite::Result<Vec<(i64, Result<Package, String>)>> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if immutable {
        let uri = format!("file:{}?immutable=1", uri_path(file));
        Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)?
    } else {
        Connection::open_with_flags(file, flags)?
    };
    let mut stmt = conn.prepare("SELECT hnum, blob FROM Packages")?;
    let rows = stmt.query_map([], |row| {
        let parsed = match row.get_ref(1)? {
            ValueRef::Blob(blob) => parse_header(blob),
            other => Err(format!("the blob column holds {}", other.data_type())),
        };
        Ok((row.get::<_, i64>(0)?, parsed))
    })?;
    rows.collect()
}

/// Percent-encodes a path for an SQLite `file:` URI.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/._-~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_ARCH: i32 = 1022;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// Parses an rpm header blob as stored in `rpmdb.sqlite` (no 8-byte magic): big-endian
/// `il`, `dl`, then `il` 16-byte index entries `(tag, type, offset, count)`, then `dl` bytes
/// of data. Every offset is bounds-checked; a bad blob is an error, never a panic.
pub fn parse_header(blob: &[u8]) -> Result<Package, String> {
    let il = be_u32(blob, 0).ok_or("shorter than 8 bytes")? as usize;
    let dl = be_u32(blob, 4).ok_or("shorter than 8 bytes")? as usize;
    let index_end = il.checked_mul(16).and_then(|n| n.checked_add(8)).ok_or("index too large")?;
    let data_end = index_end.checked_add(dl).ok_or("data too large")?;
    if data_end > blob.len() {
        return Err(format!("{il} entries and {dl} data bytes do not fit in {} bytes", blob.len()));
    }
    let data = &blob[index_end..data_end];
    let (mut name, mut version, mut release, mut arch, mut epoch) = (None, None, None, None, None);
    for i in 0..il {
        let at = 8 + i * 16;
        let (Some(tag), Some(kind), Some(offset), Some(count)) =
            (be_u32(blob, at), be_u32(blob, at + 4), be_u32(blob, at + 8), be_u32(blob, at + 12))
        else {
            return Err(format!("index entry {i} is cut short"));
        };
        let tag = tag as i32;
        let offset = offset as i32;
        let slot = match tag {
            TAG_NAME => &mut name,
            TAG_VERSION => &mut version,
            TAG_RELEASE => &mut release,
            TAG_ARCH => &mut arch,
            TAG_EPOCH => {
                if kind != TYPE_INT32 || count == 0 || offset < 0 {
                    return Err(format!("EPOCH has type {kind}, count {count}, offset {offset}"));
                }
                let value = be_u32(data, offset as usize).ok_or("EPOCH points outside the data")?;
                epoch = Some(i32::try_from(value).map_err(|_| format!("negative EPOCH {}", value as i32))?);
                continue;
            }
            _ => continue,
        };
        if !matches!(kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) || offset < 0 {
            return Err(format!("tag {tag} has type {kind} and offset {offset}, not a string"));
        }
        *slot = Some(c_string(data, offset as usize).ok_or_else(|| format!("tag {tag}: unterminated string"))?);
    }
    let required = |value: Option<String>, what: &str| value.ok_or_else(|| format!("no {what}"));
    Ok(Package {
        name: required(name, "NAME")?,
        epoch: epoch.map_or(0, |e| e as u32),
        version: required(version, "VERSION")?,
        release: required(release, "RELEASE")?,
        arch: arch.unwrap_or_default(),
        kind: PackageKind::Rpm,
        source_name: String::new(),
        source_version: String::new(),
    })
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn c_string(data: &[u8], at: usize) -> Option<String> {
    let rest = data.get(at..)?;
    let len = rest.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&rest[..len]).into_owned())
}

/// Asks `rpm --root <root> --dbpath <dbpath> -qa` (for Berkeley DB and ndb databases).
pub fn query_rpm(root: &Path, dbpath: &str) -> CollectResult<Vec<Package>> {
    let command = format!("rpm --root {} --dbpath {dbpath} -qa", root.display());
    let out = Command::new("rpm")
        .arg("--root")
        .arg(root)
        .args(["--dbpath", dbpath, "-qa", "--qf", QUERY_FORMAT])
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| CollectError::Command { command: command.clone(), message: e.to_string() })?;
    if !out.status.success() {
        let message = format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
        return Err(CollectError::Command { command, message });
    }
    parse_rpm_qa(&String::from_utf8_lossy(&out.stdout)).map_err(|message| CollectError::Command { command, message })
}

/// Parses `NAME|EPOCHNUM|VERSION|RELEASE|ARCH` lines; `gpg-pubkey` lines are left out.
pub fn parse_rpm_qa(text: &str) -> Result<Vec<Package>, String> {
    let mut packages = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('|').collect();
        let [name, epoch, version, release, arch] = fields[..] else {
            return Err(format!("unexpected output line {line:?}"));
        };
        if name == "gpg-pubkey" {
            continue;
        }
        let epoch = epoch.parse().map_err(|_| format!("bad epoch in {line:?}"))?;
        packages.push(Package {
            name: name.to_owned(),
            epoch,
            version: version.to_owned(),
            release: release.to_owned(),
            arch: arch.to_owned(),
            kind: PackageKind::Rpm,
            source_name: String::new(),
            source_version: String::new(),
        });
    }
    Ok(packages)
}

#[cfg(test)]
mod tests;
