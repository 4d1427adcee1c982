//! The first administrator: when a server starts and no user exists, it creates `admin` with
//! a random password and writes the password once to a file only its owner can read (next to
//! the SQLite database, or in the current directory for PostgreSQL). The log names the file,
//! never the password. An existing file is never overwritten; a user added with `patchman user
//! add` before the first start means no generated admin.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::accounts::{Role, hash_password};
use crate::store::{AccountStore, AuditEntry, NewUser};

/// The generated administrator's name.
pub const ADMIN_NAME: &str = "admin";
/// The name of the file that holds the generated password.
pub const PASSWORD_FILE: &str = "patchman-admin-password";

/// Where the generated password goes for this database URL.
pub fn password_file(database_url: &str) -> PathBuf {
    let dir = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .filter(|rest| !rest.starts_with(":memory:"))
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .and_then(|path| Path::new(path).parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
    dir.join(PASSWORD_FILE)
}

/// Creates the first administrator if no user exists; returns the password file it wrote.
pub async fn ensure_admin(store: &dyn AccountStore, database_url: &str) -> anyhow::Result<Option<PathBuf>> {
    if store.user_count().await? > 0 {
        return Ok(None);
    }
    let path = password_file(database_url);
    let password = crate::auth::new_secret("");
    let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            tracing::warn!(
                path = %path.display(),
                "no user exists, but the admin password file does: not overwriting it; \
                 add a user with `patchman user add NAME --role admin`"
            );
            return Ok(None);
        }
        Err(err) => return Err(err).with_context(|| format!("while creating {}", path.display())),
    };
    file.write_all(format!("{password}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("while writing {}", path.display()))?;
    let hash = hash_password(&password)?;
    let now = crate::clock::now_ms();
    let user = NewUser { name: ADMIN_NAME, role: Role::Admin, password_hash: &hash, now };
    if !store.add_user(&user).await? {
        // Another server of this database was first; its password is the one that counts.
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    }
    let entry = AuditEntry {
        at: now,
        actor: "system",
        action: "user.add",
        target: ADMIN_NAME,
        detail: "role admin; generated on first start",
    };
    store.audit(&entry).await?;
    tracing::warn!(
        user = ADMIN_NAME,
        path = %path.display(),
        "no user existed: created an administrator; its password is in this file (delete it once read)"
    );
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_file_goes_next_to_a_sqlite_database_else_here() {
        assert_eq!(
            password_file("sqlite:///var/lib/patchman/p.db"),
            Path::new("/var/lib/patchman").join(PASSWORD_FILE)
        );
        assert_eq!(password_file("sqlite://data/p.db?mode=rwc"), Path::new("data").join(PASSWORD_FILE));
        assert_eq!(password_file("sqlite://patchman.db"), Path::new(".").join(PASSWORD_FILE));
        assert_eq!(password_file("postgres://u:p@db/pm"), Path::new(".").join(PASSWORD_FILE));
    }
}
