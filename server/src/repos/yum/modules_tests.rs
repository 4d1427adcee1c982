//! Tests of modules.yaml and NEVRA parsing.

use super::modules::{parse_modules, parse_nevra};

#[track_caller]
fn nevra(s: &str, want: Option<(&str, u32, &str, &str, &str)>) {
    let got = parse_nevra(s);
    let got = got.as_ref().map(|p| (p.name.as_str(), p.epoch, p.version.as_str(), p.release.as_str(), p.arch.as_str()));
    assert_eq!(got, want, "parse_nevra({s:?})");
}

#[test]
fn nevras() {
    nevra(
        "nginx-1:1.20.1-1.module+el8.6.0+1234+abcd.x86_64",
        Some(("nginx", 1, "1.20.1", "1.module+el8.6.0+1234+abcd", "x86_64")),
    );
    nevra(
        "perl-IO-Socket-SSL-0:2.066-4.module+el8.3.0.noarch",
        Some(("perl-IO-Socket-SSL", 0, "2.066", "4.module+el8.3.0", "noarch")),
    );
    nevra("python3-pip-wheel-20.2.4-7.el8.noarch", Some(("python3-pip-wheel", 0, "20.2.4", "7.el8", "noarch")));
    nevra("2:vim-9.0-1.el9.x86_64.rpm", Some(("vim", 2, "9.0", "1.el9", "x86_64")));
    nevra("nginx-1:1.20.1-1.src", Some(("nginx", 1, "1.20.1", "1", "src")));
    nevra("nginx-1.20.1.x86_64", None);
    nevra("nginx-x:1.0-1.x86_64", None);
    nevra("1:nginx-2:1.0-1.x86_64", None);
    nevra("-1.0-1.x86_64", None);
    nevra("", None);
}

const MODULES: &str = r#"---
document: modulemd
version: 2
data:
  name: nginx
  stream: "1.20"
  version: 8060020220413094209
  context: 9edba152
  arch: x86_64
  summary: nginx webserver
  description: >-
    nginx 1.20 webserver
    --- not a document marker, inside a folded scalar
  artifacts:
    rpms:
    - nginx-1:1.20.1-1.module+el8.6.0+1234+abcd.src
    - nginx-1:1.20.1-1.module+el8.6.0+1234+abcd.x86_64
    - nginx-mod-http-perl-1:1.20.1-1.module+el8.6.0+1234+abcd.x86_64
...
---
document: modulemd-defaults
version: 1
data:
  module: nginx
  stream: 1.20
  profiles:
    1.20: [common]
...
---
document: modulemd-defaults
version: 1
data:
  module: perl
...
---
document: modulemd-obsoletes
version: 1
data: {module: x, stream: y}
...
"#;

#[test]
fn streams_and_defaults() {
    let parsed = parse_modules("u", &mut MODULES.as_bytes()).unwrap();
    assert_eq!(parsed.streams.len(), 1);
    let m = &parsed.streams[0];
    assert_eq!((m.name.as_str(), m.stream.as_str(), m.version), ("nginx", "1.20", 8_060_020_220_413_094_209));
    assert_eq!((m.context.as_str(), m.arch.as_str()), ("9edba152", "x86_64"));
    let names: Vec<String> = m.artifacts.iter().map(|p| format!("{}.{}", p.name, p.arch)).collect();
    assert_eq!(names, ["nginx.src", "nginx.x86_64", "nginx-mod-http-perl.x86_64"]);
    assert_eq!(parsed.defaults, [("nginx".to_owned(), "1.20".to_owned())]);
}

#[test]
fn broken_modules_are_errors() {
    let err = |t: &str| parse_modules("http://m/modules.yaml", &mut t.as_bytes()).unwrap_err().to_string();
    assert!(
        err("---\ndocument: modulemd\ndata:\n  stream: x\n...\n").contains("document 1: modulemd without data.name")
    );
    let bad = "---\ndocument: modulemd\ndata:\n  name: a\n  stream: b\n  artifacts:\n    rpms: [garbage]\n";
    assert!(err(bad).contains("invalid artifact"));
    assert!(err("---\ndocument: modulemd\ndata: [unclosed\n").contains("invalid yaml"));
    let deep = format!("---\n{}{}\n", "[".repeat(100), "]".repeat(100));
    assert!(err(&deep).contains("nested deeper"));
    let mut bytes = b"---\ndocument: modulemd\ndata:\n  name: \xff\n".to_vec();
    assert!(parse_modules("u", &mut bytes.as_slice()).unwrap_err().to_string().contains("UTF-8"));
    bytes.clear();
}

#[test]
fn aliases_are_not_expanded() {
    let text = "---\ndocument: modulemd\ndata:\n  name: &n a\n  stream: *n\n...\n";
    let err = parse_modules("u", &mut text.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("no stream"), "{err}");
}
