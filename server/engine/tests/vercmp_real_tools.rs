//! Checks the version comparisons against the real tools on thousands of real and mutated versions.
//!
//! The versions come from this machine's apt lists and dpkg status. The truth for Debian is
//! `dpkg --compare-versions`; for rpm it is python3-rpm (`rpm.ver` for full strings,
//! `rpm.labelCompare` for epoch/version/release triples).

use std::cmp::Ordering;
use std::process::Command;
use std::sync::OnceLock;

use patchman_engine::vercmp::{deb_cmp_version, deb_split, rpm_cmp_evr, rpm_cmp_version, rpm_split};

#[path = "vercmp_real_tools/corpus.rs"]
mod corpus;
#[path = "vercmp_real_tools/oracles.rs"]
mod oracles;

use corpus::{Corpus, Rng, Tool};
use oracles::{PYTHON, dpkg_compare, python_rpm};

const MIN_PAIRS: usize = 5000;

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(corpus::load)
}

#[test]
fn deb_cmp_version_agrees_with_dpkg() {
    let pairs = corpus::pairs(corpus(), Tool::Dpkg, 1000, 2200);
    let answers = dpkg_compare(&pairs);
    let (mut checked, mut rejected, mut warned) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for ((a, b), answer) in pairs.iter().zip(&answers) {
        let ours = deb_cmp_version(a, b);
        assert_eq!(deb_cmp_version(b, a), ours.reverse(), "deb_cmp_version is not antisymmetric on {a:?} {b:?}");
        let Some(truth) = answer else {
            rejected += 1;
            continue;
        };
        checked += 1;
        warned += usize::from(dpkg_warns(a) || dpkg_warns(b));
        if ours != *truth {
            disagreements.push(format!("{a:?} vs {b:?}: dpkg says {truth:?}, deb_cmp_version says {ours:?}"));
        }
    }
    eprintln!(
        "dpkg: {checked} pairs checked ({warned} with a version dpkg warns about), {rejected} skipped: dpkg rejects them"
    );
    report(&disagreements, "dpkg --compare-versions");
    assert!(checked >= MIN_PAIRS, "only {checked} pairs dpkg accepts; need {MIN_PAIRS}");
}

#[test]
fn rpm_comparisons_agree_with_python3_rpm() {
    let import = Command::new(PYTHON).args(["-c", "import rpm"]).output();
    if !import.is_ok_and(|out| out.status.success()) {
        panic!("python3-rpm is missing: run .ci/setup");
    }
    let pairs = corpus::pairs(corpus(), Tool::Rpm, 2000, 4000);
    let triples = evr_triples(&pairs);
    let lines = pairs.iter().map(|(a, b)| format!("{a}\t{b}"));
    let lines: Vec<String> = lines.chain(triples.iter().map(|t| t.join("\t"))).collect();
    let answers = python_rpm(&lines);

    let (mut full, mut evr, mut rejected) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for ((a, b), answer) in pairs.iter().zip(&answers) {
        let ours = rpm_cmp_version(a, b);
        assert_eq!(rpm_cmp_version(b, a), ours.reverse(), "rpm_cmp_version is not antisymmetric on {a:?} {b:?}");
        if answer == "E" {
            rejected += 1;
            continue;
        }
        let fields: Vec<&str> = answer.split('\t').collect();
        let [truth, ea, va, ra, eb, vb, rb] = fields[..] else {
            panic!("unexpected answer from python3-rpm: {answer:?}")
        };
        full += 1;
        let truth = ordering(truth);
        if ours != truth {
            disagreements.push(format!("{a:?} vs {b:?}: rpm.ver says {truth:?}, rpm_cmp_version says {ours:?}"));
        }
        for (s, e, v, r) in [(a, ea, va, ra), (b, eb, vb, rb)] {
            // rpm reports a missing release as None, printed "-" (never part of a release).
            let rpm_parts = (saturating(e), v, if r == "-" { "" } else { r });
            if rpm_split(s) != rpm_parts {
                disagreements.push(format!("rpm_split({s:?}) = {:?}, rpm.ver gives {rpm_parts:?}", rpm_split(s)));
            }
        }
    }
    for (t, answer) in triples.iter().zip(&answers[pairs.len()..]) {
        if answer == "E" {
            rejected += 1;
            continue;
        }
        evr += 1;
        let (truth, ea, eb) = (ordering(answer), saturating(&t[0]), saturating(&t[3]));
        let ours = rpm_cmp_evr(ea, &t[1], &t[2], eb, &t[4], &t[5]);
        if ours != truth {
            disagreements.push(format!("{t:?}: rpm.labelCompare says {truth:?}, rpm_cmp_evr says {ours:?}"));
        }
    }
    eprintln!("python3-rpm: {full} full-string pairs and {evr} (e, v, r) pairs checked, {rejected} rejected by rpm");
    report(&disagreements, "python3-rpm");
    assert!(full >= MIN_PAIRS && evr >= MIN_PAIRS, "too few pairs rpm accepts: {full} and {evr}; need {MIN_PAIRS}");
}

/// (epoch, version, release) pairs for `labelCompare`: real versions split, with epochs and
/// releases varied so that empty releases and the largest epochs are compared too.
fn evr_triples(pairs: &[(String, String)]) -> Vec<[String; 6]> {
    let mut rng = Rng::new(0x05ee_de71);
    let epochs = ["0", "0", "0", "1", "2", "10", "4294967295"];
    let mut out = Vec::new();
    for (a, b) in pairs {
        let ((_, va, ra), (_, vb, rb)) = (rpm_split(a), rpm_split(b));
        let ra = if rng.below(8) == 0 { "" } else { ra };
        let rb = if rng.below(8) == 0 { "" } else { rb };
        let (ea, eb) = (rng.one_of(&epochs), rng.one_of(&epochs));
        out.push([ea, va, ra, eb, vb, rb].map(str::to_owned));
    }
    out
}

/// Whether dpkg warns about (but still compares) a version it parses: an upstream version not
/// starting with a digit, or a character outside dpkg's sets.
fn dpkg_warns(version: &str) -> bool {
    let (_, upstream, revision) = deb_split(version);
    !upstream.starts_with(|c: char| c.is_ascii_digit())
        || !upstream.chars().all(|c| c.is_ascii_alphanumeric() || ".-+~:".contains(c))
        || !revision.chars().all(|c| c.is_ascii_alphanumeric() || ".+~".contains(c))
}

fn ordering(answer: &str) -> Ordering {
    match answer {
        "-1" => Ordering::Less,
        "0" => Ordering::Equal,
        "1" => Ordering::Greater,
        other => panic!("unexpected answer from python3-rpm: {other:?}"),
    }
}

fn saturating(digits: &str) -> u32 {
    match digits.parse::<u64>() {
        Ok(n) => u32::try_from(n).unwrap_or(u32::MAX),
        Err(_) if digits.is_empty() => 0,
        Err(_) => u32::MAX,
    }
}

fn report(disagreements: &[String], tool: &str) {
    if disagreements.is_empty() {
        return;
    }
    for d in disagreements.iter().take(20) {
        eprintln!("disagreement: {d}");
    }
    panic!("{} disagreements with {tool} (the first 20 are above)", disagreements.len());
}
