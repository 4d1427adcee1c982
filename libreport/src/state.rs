//! The reporter's state directory: the host token (mode 0600) and, later, the spool.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Where the reporter keeps its state; `/var/lib/patchman-client` by default.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

pub const DEFAULT_STATE_DIR: &str = "/var/lib/patchman-client";

impl StateDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn token_path(&self) -> PathBuf {
        self.dir.join("token")
    }

    /// The host token, if the host has enrolled.
    pub fn token(&self) -> std::io::Result<Option<String>> {
        match fs::read_to_string(self.token_path()) {
            Ok(t) if !t.trim().is_empty() => Ok(Some(t.trim().to_owned())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores the token atomically, readable by its owner only.
    pub fn save_token(&self, token: &str) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))?;
        write_atomic(&self.token_path(), format!("{token}\n").as_bytes(), 0o600)
    }
}

/// Writes to a temporary file in the same directory, syncs it, then renames it over `path`:
/// a reader sees the old content or the new, never a part.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_private_and_round_trips() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join("state"));
        assert_eq!(state.token().unwrap(), None);
        state.save_token("pmh_secret").unwrap();
        assert_eq!(state.token().unwrap().as_deref(), Some("pmh_secret"));
        let mode = fs::metadata(tmp.path().join("state/token")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
