//! The host side's fuzz corpora (`fuzz/corpus/<target>/`, grown by `fuzz/run`) replayed on
//! every test run: an input that once crashed stays fixed.

use std::path::Path;

use libreport::fuzzing::TARGETS;

#[test]
fn every_fuzz_corpus_replays_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (name, target) in TARGETS {
        let dir = root.join(name);
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
    }
    let fixed = root.join("../crashes");
    if let Ok(entries) = std::fs::read_dir(&fixed) {
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Some((_, target)) = TARGETS.iter().find(|(t, _)| name.starts_with(&format!("{t}-"))) {
                target(&std::fs::read(&path).unwrap());
            }
        }
    }
}
