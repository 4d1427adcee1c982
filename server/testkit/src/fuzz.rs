//! The fuzz corpora (`fuzz/corpus/<target>/`) replayed through their targets, and the fixed
//! crash inputs (`fuzz/crashes/<target>-*`): what the server's and the reporter's tests share.

use std::path::Path;

/// A fuzz target: reads any bytes, never panics.
pub type Target = fn(&[u8]);

/// Runs every input of every target; panics naming the input that panics, or a target whose
/// corpus is empty. Returns how many inputs ran.
pub fn replay(fuzz_dir: &Path, targets: &[(&str, Target)]) -> usize {
    let mut replayed = 0;
    for (name, target) in targets {
        let dir = fuzz_dir.join("corpus").join(name);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut files = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| target(&data)).is_err() {
                panic!("{name}: {} panics", path.display());
            }
            files += 1;
        }
        assert!(files > 0, "{name}: an empty corpus");
        replayed += files;
    }
    if let Ok(entries) = std::fs::read_dir(fuzz_dir.join("crashes")) {
        for entry in entries {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Some((_, target)) = targets.iter().find(|(t, _)| file.starts_with(&format!("{t}-"))) {
                target(&std::fs::read(&path).unwrap());
                replayed += 1;
            }
        }
    }
    replayed
}
