//! The fuzz corpora (`fuzz/corpus/<target>/`, grown by `fuzz/run`) replayed through the
//! server's parsers on every test run: an input that once crashed stays fixed. Every target
//! has a corpus, and every corpus a target.

use std::path::Path;

use patchman_server::fuzzing::TARGETS;

#[test]
fn every_fuzz_corpus_replays_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut replayed = 0;
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
        replayed += files;
    }
    // The crash inputs fuzzing found, kept beside the corpora once fixed.
    let fixed = root.join("../crashes");
    if let Ok(entries) = std::fs::read_dir(&fixed) {
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Some((_, target)) = TARGETS.iter().find(|(t, _)| name.starts_with(&format!("{t}-"))) {
                target(&std::fs::read(&path).unwrap());
                replayed += 1;
            }
        }
    }
    eprintln!("replayed {replayed} inputs");
}
