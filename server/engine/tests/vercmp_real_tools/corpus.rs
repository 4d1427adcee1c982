//! Real version strings from this machine's apt lists and dpkg status, and the pairs built from them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

const APT_LISTS: &str = "/var/lib/apt/lists";
const DPKG_STATUS: &str = "/var/lib/dpkg/status";
const APT_HELPER: &str = "/usr/lib/apt/apt-helper";

/// Real versions, grouped by package name.
pub struct Corpus {
    /// Packages with at least two distinct versions, each with its versions sorted.
    pub multi: Vec<Vec<String>>,
    /// Every distinct version.
    pub versions: Vec<String>,
}

/// Reads the `Version:` of every stanza of the apt `Packages` lists and the dpkg status file.
/// Panics if there are fewer than 1,000 distinct versions: the comparison would prove little.
pub fn load() -> Corpus {
    let mut by_package: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in packages_files() {
        // apt-helper decompresses whatever compression apt chose for its lists.
        let out = Command::new(APT_HELPER).arg("cat-file").arg(&path).output();
        let out = out.unwrap_or_else(|e| panic!("while running {APT_HELPER} cat-file {path:?}: {e}"));
        assert!(out.status.success(), "{APT_HELPER} cat-file {path:?} failed: {:?}", out.status);
        add_stanzas(&String::from_utf8_lossy(&out.stdout), &mut by_package);
    }
    match std::fs::read_to_string(DPKG_STATUS) {
        Ok(text) => add_stanzas(&text, &mut by_package),
        Err(e) => panic!("while reading {DPKG_STATUS}: {e}"),
    }
    let versions: BTreeSet<&String> = by_package.values().flatten().collect();
    let versions: Vec<String> = versions.into_iter().cloned().collect();
    assert!(
        versions.len() >= 1000,
        "only {} distinct versions in {APT_LISTS}/*_Packages* and {DPKG_STATUS}; \
         run `apt-get update` so that the comparison checks real versions",
        versions.len()
    );
    let multi = by_package.into_values().filter(|v| v.len() >= 2);
    Corpus { multi: multi.map(|v| v.into_iter().collect()).collect(), versions }
}

fn packages_files() -> Vec<PathBuf> {
    let dir = std::fs::read_dir(APT_LISTS).unwrap_or_else(|e| panic!("while listing {APT_LISTS}: {e}"));
    let mut files: Vec<PathBuf> = dir
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(is_packages_list))
        .collect();
    files.sort();
    files
}

fn is_packages_list(name: &str) -> bool {
    let Some((_, suffix)) = name.rsplit_once("_Packages") else { return false };
    ["", ".lz4", ".gz", ".xz", ".bz2", ".zst", ".lzma"].contains(&suffix)
}

fn add_stanzas(text: &str, by_package: &mut BTreeMap<String, BTreeSet<String>>) {
    let mut package = "";
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("Package:") {
            package = name.trim();
        } else if let Some(version) = line.strip_prefix("Version:") {
            by_package.entry(package.to_owned()).or_default().insert(version.trim().to_owned());
        }
    }
}

/// xorshift64*: a tiny deterministic generator, so that every run checks the same pairs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn one_of<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Which tool the pairs are for: rpm gets `^` mutations and only strings rpm accepts.
#[derive(Clone, Copy, PartialEq)]
pub enum Tool {
    Dpkg,
    Rpm,
}

/// Pairs of versions: same-package pairs, random pairs, mutations of real versions, odd cases.
pub fn pairs(corpus: &Corpus, tool: Tool, random: usize, mutated: usize) -> Vec<(String, String)> {
    let keep = |s: &str| match tool {
        Tool::Dpkg => dpkg_can_take(s),
        Tool::Rpm => rpm_accepts(s),
    };
    let mut rng = Rng::new(if tool == Tool::Dpkg { 0x05ee_ddeb } else { 0x05ee_d4b5 });
    let mut out = Vec::new();
    let mut push = |a: String, b: String| {
        if keep(&a) && keep(&b) {
            out.push((a, b));
        }
    };
    for versions in &corpus.multi {
        if versions.len() <= 4 {
            for (i, a) in versions.iter().enumerate() {
                versions[i + 1..].iter().for_each(|b| push(a.clone(), b.clone()));
            }
        } else {
            // Neighbours in sorted order differ least (e.g. +deb12u1 and +deb12u10).
            versions.windows(2).take(8).for_each(|w| push(w[0].clone(), w[1].clone()));
            for _ in 0..8 {
                push(rng.pick(versions).clone(), rng.pick(versions).clone());
            }
        }
    }
    for _ in 0..random {
        push(rng.pick(&corpus.versions).clone(), rng.pick(&corpus.versions).clone());
    }
    for i in 0..mutated {
        let base = if i % 2 == 0 { rng.pick(&corpus.multi)[0].clone() } else { rng.pick(&corpus.versions).clone() };
        let a = mutate(&base, &mut rng, tool);
        let b = match rng.below(3) {
            0 => base,
            1 => mutate(&base, &mut rng, tool),
            _ => mutate(&a, &mut rng, tool),
        };
        push(a, b);
    }
    for &a in ODD {
        for &b in ODD {
            push(a.to_owned(), b.to_owned());
        }
        push(a.to_owned(), rng.pick(&corpus.versions).clone());
    }
    out
}

/// Hand-picked odd versions, compared with each other and with real ones.
const ODD: &[&str] = &[
    "",
    "0",
    "00",
    "1.0",
    "1.0-0",
    "1.0-",
    "1.0~",
    "1.0~~",
    "1.0^",
    "1.0^git1",
    "0:1.0",
    "1:1.0",
    ":1.0",
    "1:",
    "a1.0",
    "1.0a",
    " 1.0-1 ",
    "1.0-1-",
    "~",
    "^",
    "1.0-~",
    "1.0-^",
    "1.0.",
    "1..0",
    "2147483647:1",
    "2147483648:1",
    "4294967296:1",
    "99999999999999999999999",
    "1.99999999999999999999999-1",
    "1.0_1",
    "1.0+1",
    "1.0\u{e9}",
    "1.0-\u{e9}",
    "1.0-1ubuntu4.12",
];

/// Changes a version the way real versions differ: suffixes, epochs, revisions, digits.
pub fn mutate(v: &str, rng: &mut Rng, tool: Tool) -> String {
    let digit_runs: Vec<(usize, usize)> = runs(v, |c| c.is_ascii_digit());
    let at = rng.below(v.len() + 1);
    let at = (0..=at).rev().find(|&i| v.is_char_boundary(i)).unwrap_or(0);
    let mut s = v.to_owned();
    match rng.below(if tool == Tool::Rpm { 26 } else { 22 }) {
        0 => s.push_str("~rc1"),
        1 => s.push('~'),
        2 => s.push_str("~~"),
        3 => s.push_str("+b1"),
        4 => s.push_str(".0"),
        5 => s.push('a'),
        6 => s.push_str(rng.one_of(&["+deb12u1", "+deb12u10", "+deb12u2+b1", "ubuntu0.1", "~bpo12+1"])),
        7 | 8 => {
            if let Some(&(start, end)) = (!digit_runs.is_empty()).then(|| rng.pick(&digit_runs)) {
                let n: u128 = v[start..end].parse().unwrap_or(0);
                let n = [n.saturating_add(1), n.saturating_sub(1), n.saturating_mul(10), 0][rng.below(4)];
                s.replace_range(start..end, &n.to_string());
            }
        }
        9 => match v.split_once(':') {
            Some((_, rest)) => s = rest.to_owned(),
            None => s = format!("{}:{v}", rng.one_of(&["0", "1", "2", "00", "10"])),
        },
        10 => s.truncate(v.rfind('-').unwrap_or(v.len())),
        11 => s.push_str(rng.one_of(&["-1", "-0", "-0ubuntu1", "-1.el9", "-~1", "-"])),
        12 => {
            if let Some(&(start, _)) = (!digit_runs.is_empty()).then(|| rng.pick(&digit_runs)) {
                s.insert_str(start, rng.one_of(&["0", "00", "000"]));
            }
        }
        13 => {
            if let Some(&(start, end)) = (!digit_runs.is_empty()).then(|| rng.pick(&digit_runs)) {
                s.replace_range(start..end, rng.one_of(&["99999999999999999999999", "4294967296", "0"]));
            }
        }
        14 => s.insert(at, '~'),
        15 => s.truncate(at),
        16 => s = s.to_ascii_uppercase(),
        17 => s.insert(at, *rng.pick(&['.', '+', 'z', 'A', '_', '~'])),
        18 => s = s.replacen('.', rng.one_of(&["+", "_", "..", "~", ""]), 1),
        19 => s.insert(at, '\u{e9}'),
        20 => s.insert_str(at, "10"),
        21 => s = format!("{s}{}", &v[at..]),
        22 => s.push_str(rng.one_of(&["^", "^git1", "^20240101.abc", "^1~rc1"])),
        23 => s.insert(at, '^'),
        24 => s.insert_str(at, rng.one_of(&["~^", "^~", "^^"])),
        _ => s = s.replace('-', "^"),
    }
    s
}

/// Byte ranges of the runs of `pred` characters in `s`.
fn runs(s: &str, pred: impl Fn(char) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices().chain([(s.len(), ' ')]) {
        match (pred(c) && i < s.len(), start) {
            (true, None) => start = Some(i),
            (false, Some(st)) => {
                out.push((st, i));
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// What can go through the `sh` read loop to dpkg: no field separator or line break, and no
/// leading `-`, which dpkg would take for an option. dpkg itself judges everything else.
fn dpkg_can_take(s: &str) -> bool {
    !s.contains(['|', '\n', '\r', '\0']) && !s.starts_with('-')
}

/// What rpm accepts as `[epoch:]version[-release]`: ASCII alphanumerics and `._+~^`, with `:`
/// only after a numeric epoch and at most one `-`.
pub fn rpm_accepts(s: &str) -> bool {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = s[digits..].strip_prefix(':').unwrap_or(s);
    rest.bytes().filter(|&c| c == b'-').count() <= 1
        && rest.bytes().all(|c| c.is_ascii_alphanumeric() || b"._+~^-".contains(&c))
}
