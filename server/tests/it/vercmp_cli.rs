//! `patchman vercmp`, the tool administrators check a verdict with, answers exactly as
//! `dpkg --compare-versions` and python3-rpm do, on thousands of real and mutated pairs
//! (the engine's own tests check its functions the same way).

use std::cmp::Ordering;
use std::process::Command;

#[allow(dead_code)]
#[path = "../../engine/tests/vercmp_real_tools/corpus.rs"]
mod corpus;
#[allow(dead_code)]
#[path = "../../engine/tests/vercmp_real_tools/oracles.rs"]
mod oracles;

use corpus::Tool;

/// `patchman vercmp --type KIND` on the pairs, one answer each.
fn vercmp(kind: &str, pairs: &[(String, String)]) -> Vec<Ordering> {
    let input: String = pairs.iter().map(|(a, b)| format!("{a} {b}\n")).collect();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patchman"));
    cmd.args(["vercmp", "--type", kind]);
    let answers = oracles::run_with_stdin(&mut cmd, &input);
    assert_eq!(answers.len(), pairs.len(), "patchman vercmp answered {} of {} pairs", answers.len(), pairs.len());
    answers
        .iter()
        .map(|a| match a.as_str() {
            "-1" => Ordering::Less,
            "0" => Ordering::Equal,
            "1" => Ordering::Greater,
            other => panic!("patchman vercmp printed {other:?}"),
        })
        .collect()
}

/// Pairs of the corpus that fit on one `A B` line.
fn pairs(tool: Tool) -> Vec<(String, String)> {
    let corpus = corpus::load();
    let words = |v: &str| !v.is_empty() && !v.contains(char::is_whitespace);
    corpus::pairs(&corpus, tool, 600, 1200).into_iter().filter(|(a, b)| words(a) && words(b)).collect()
}

fn check(tool: &str, disagreements: &[String], checked: usize) {
    for d in disagreements.iter().take(20) {
        eprintln!("disagreement: {d}");
    }
    assert!(disagreements.is_empty(), "{} disagreements with {tool}", disagreements.len());
    assert!(checked >= 1500, "only {checked} pairs checked against {tool}");
}

#[test]
fn vercmp_deb_answers_as_dpkg() {
    let pairs = pairs(Tool::Dpkg);
    let (ours, truth) = (vercmp("deb", &pairs), oracles::dpkg_compare(&pairs));
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for (((a, b), ours), truth) in pairs.iter().zip(ours).zip(truth) {
        let Some(truth) = truth else { continue };
        checked += 1;
        if ours != truth {
            disagreements.push(format!("{a} {b}: dpkg says {truth:?}, patchman vercmp {ours:?}"));
        }
    }
    check("dpkg --compare-versions", &disagreements, checked);
}

#[test]
fn vercmp_rpm_answers_as_rpm() {
    let pairs = pairs(Tool::Rpm);
    let ours = vercmp("rpm", &pairs);
    let lines: Vec<String> = pairs.iter().map(|(a, b)| format!("{a}\t{b}")).collect();
    let truth = oracles::python_rpm(&lines);
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for (((a, b), ours), truth) in pairs.iter().zip(ours).zip(truth) {
        let Some(cmp) = truth.split('\t').next().filter(|_| truth != "E") else { continue };
        checked += 1;
        let truth = cmp.parse::<i32>().expect("rpm.ver answer").cmp(&0);
        if ours != truth {
            disagreements.push(format!("{a} {b}: rpm says {truth:?}, patchman vercmp {ours:?}"));
        }
    }
    check("python3-rpm", &disagreements, checked);
}
