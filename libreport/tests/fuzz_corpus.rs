//! The host side's fuzz corpora (`fuzz/corpus/<target>/`, grown by `fuzz/run`) replayed on
//! every test run: an input that once crashed stays fixed.

use std::path::Path;

#[test]
fn every_fuzz_corpus_replays_without_a_panic() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let replayed = patchman_testkit::fuzz::replay(&fuzz, libreport::fuzzing::TARGETS);
    assert!(replayed >= libreport::fuzzing::TARGETS.len(), "{replayed}");
}
