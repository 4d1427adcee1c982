//! The fuzz corpora (`fuzz/corpus/<target>/`, grown by `fuzz/run`) replayed through the
//! server's parsers on every test run: an input that once crashed stays fixed.

use std::path::Path;

#[test]
fn every_fuzz_corpus_replays_without_a_panic() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let replayed = patchman_testkit::fuzz::replay(&fuzz, patchman_server::fuzzing::TARGETS);
    assert!(replayed >= patchman_server::fuzzing::TARGETS.len(), "{replayed}");
}
