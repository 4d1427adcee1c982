//! The real tools as oracles: `dpkg --compare-versions` and python3-rpm, each asked about
//! thousands of pairs at once. Shared by the engine's tests and the `patchman vercmp` test.

use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

pub const PYTHON: &str = "/usr/bin/python3";

/// Asks dpkg about every pair: `Some(ordering)`, or `None` where dpkg rejects a version.
/// Two `sh` workers each run a read loop of `dpkg --compare-versions` calls, one to two a pair.
pub fn dpkg_compare(pairs: &[(String, String)]) -> Vec<Option<Ordering>> {
    const SCRIPT: &str = r#"
        while IFS='|' read -r a b; do
            dpkg --compare-versions "$a" lt "$b" 2>/dev/null; r=$?
            if [ "$r" = 1 ]; then
                dpkg --compare-versions "$a" gt "$b" 2>/dev/null; r=$?
                case $r in 0) echo '>';; 1) echo '=';; *) echo E;; esac
            else
                case $r in 0) echo '<';; *) echo E;; esac
            fi
        done"#;
    let half = pairs.len().div_ceil(2).max(1);
    let answers = std::thread::scope(|scope| {
        let workers: Vec<_> = pairs
            .chunks(half)
            .map(|chunk| {
                let input: String = chunk.iter().map(|(a, b)| format!("{a}|{b}\n")).collect();
                scope.spawn(move || run_with_stdin(Command::new("sh").args(["-c", SCRIPT]), &input))
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|_| panic!("a dpkg worker panicked")))
            .collect::<Vec<_>>()
    });
    assert_eq!(answers.len(), pairs.len(), "dpkg workers answered {} of {} pairs", answers.len(), pairs.len());
    answers
        .iter()
        .map(|line| match line.as_str() {
            "<" => Some(Ordering::Less),
            "=" => Some(Ordering::Equal),
            ">" => Some(Ordering::Greater),
            _ => None,
        })
        .collect()
}

/// One python3-rpm process answers every line: `A<TAB>B` gets `cmp eA vA rA eB vB rB` from
/// `rpm.ver`, six fields get `rpm.labelCompare`; `E` where rpm rejects a version.
pub fn python_rpm(lines: &[String]) -> Vec<String> {
    const SCRIPT: &str = r#"
import sys, rpm
def parts(v):
    return [v.e or "", v.v, "-" if v.r is None else v.r]
out = []
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    try:
        if len(f) == 2:
            a, b = rpm.ver(f[0]), rpm.ver(f[1])
            out.append("\t".join([str((a > b) - (a < b))] + parts(a) + parts(b)))
        else:
            out.append(str(rpm.labelCompare(tuple(f[:3]), tuple(f[3:]))))
    except ValueError:
        out.append("E")
sys.stdout.write("".join(o + "\n" for o in out))
"#;
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut cmd = Command::new(PYTHON);
    cmd.args(["-c", SCRIPT]).env("PYTHONIOENCODING", "utf-8");
    let answers = run_with_stdin(&mut cmd, &input);
    assert_eq!(answers.len(), lines.len(), "python3-rpm answered {} of {} lines", answers.len(), lines.len());
    answers
}

/// Runs `cmd` with `input` on stdin and returns its stdout lines; panics if it fails.
pub fn run_with_stdin(cmd: &mut Command, input: &str) -> Vec<String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("while starting {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin for {cmd:?}"));
    let out = std::thread::scope(|scope| {
        scope.spawn(move || stdin.write_all(input.as_bytes()));
        child.wait_with_output()
    });
    let out = out.unwrap_or_else(|e| panic!("while running {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {:?}", out.status);
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}
