//! Which commands may create a database: `serve`, `migrate` and `copy-db --to`. Every other
//! command works on an existing one; pointed at a SQLite file that does not exist, it says
//! which file it looked for and how to point at the right one, instead of creating an empty
//! database and answering from it.

use std::path::{Path, PathBuf};

use super::out::Usage;

/// The file a `sqlite:` URL names, unless it is an in-memory database.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.split('&').any(|kv| kv == "mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Ok when the database may be opened without creating one.
pub fn must_exist(url: &str, what: &str) -> Result<(), Usage> {
    let Some(path) = sqlite_file(url) else { return Ok(()) };
    if path.exists() {
        return Ok(());
    }
    let shown = if path.is_absolute() {
        path.display().to_string()
    } else {
        let here = std::env::current_dir().unwrap_or_else(|_| Path::new(".").to_owned());
        format!("{} (relative to the current directory, {})", path.display(), here.display())
    };
    Err(Usage(format!(
        "no {what} database at {shown}: point at yours with PATCHMAN_DATABASE_URL=sqlite:///path/to/patchman.db \
         (or postgres://…), or `database_url` in the file given with --config; `patchman serve` and \
         `patchman migrate` create a new one"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_file("sqlite://patchman.db"), Some(PathBuf::from("patchman.db")));
        assert_eq!(sqlite_file("sqlite:///var/lib/p.db?mode=rwc"), Some(PathBuf::from("/var/lib/p.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
        let err = must_exist("sqlite:///nonexistent/dir/p.db", "patchman").unwrap_err();
        assert!(err.0.contains("/nonexistent/dir/p.db") && err.0.contains("PATCHMAN_DATABASE_URL"), "{err}");
    }
}
