//! The extension module imported by Python itself, and the plugin file checked as Python 3.6
//! (RHEL 8's dnf) sees it.

use std::process::Command;

use patchman_testkit::rpm::{RpmSpec, build, install_justdb};
use patchman_testkit::{require_tool, run, workspace_root, write};

use crate::support::{PYTHON, module_dir};

#[test]
fn python_imports_the_module_and_reports() {
    require_tool("rpmbuild");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let rpms = build(&tmp.path().join("rpmbuild"), &[RpmSpec::new("bash", "5.1.8-9.el9", "x86_64")]);
    install_justdb(&root, &rpms);
    let modules = module_dir(tmp.path());
    let script = r#"
import json, os, sys
import patchman_libreport as m
assert m.__file__.endswith("patchman_libreport.abi3.so"), m.__file__
assert m.__version__, m.__version__
state, root = sys.argv[1], sys.argv[2]
settings = {"root": root, "state_dir": state, "hostname": "py.example.org", "deliver": "0"}
tid = m.report("transaction", [("upgraded", "bash", "x86_64", "5.1.8-6.el9", "5.1.8-9.el9")], settings=settings)
assert isinstance(tid, str) and len(tid) == 32, tid
records = [f for f in os.listdir(os.path.join(state, "spool")) if f.startswith("tx-")]
assert records == ["tx-0000000001-%s.json" % tid], records
with open(os.path.join(state, "spool", records[0])) as f:
    record = json.load(f)
assert record["tool"] == "dnf" and record["changes"][0]["new_version"] == "5.1.8-9.el9", record
with open(os.path.join(state, "spool", "state.json")) as f:
    spooled = json.load(f)
assert [p["name"] for p in spooled["state"]["packages"]] == ["bash"], spooled
# Without changes and without a difference there is no record; the state is still spooled.
assert m.report("timer", [], settings=settings) is None
for bad, exc in [(("transaction", [("exploded", "x", "", "", "")]), ValueError),
                 (("sometimes", []), ValueError),
                 (("transaction", [], {"nonsense": "1"}), ValueError),
                 (("transaction", [], dict(settings, root=os.path.join(root, "missing"))), RuntimeError)]:
    try:
        m.report(*bad)
    except exc as e:
        assert str(e), bad
    else:
        raise AssertionError("no %s for %r" % (exc.__name__, bad))
print("python-ok")
"#;
    let out = run(Command::new(PYTHON)
        .arg("-c")
        .arg(script)
        .arg(tmp.path().join("state"))
        .arg(&root)
        .env("PYTHONPATH", &modules)
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "python-ok");
}

/// RHEL 8 runs dnf on Python 3.6: the plugin must parse there (no walrus, no positional-only
/// parameters) and avoid library calls added later.
#[test]
fn the_plugin_is_python_3_6_code() {
    let plugin = workspace_root().join("plugins/dnf/patchman.py");
    let tmp = tempfile::tempdir().unwrap();
    let check = r#"
import ast, py_compile, sys
path, out = sys.argv[1], sys.argv[2]
source = open(path).read()
ast.parse(source, filename=path, feature_version=(3, 6))
py_compile.compile(path, cfile=out, doraise=True)
# Library features newer than 3.6, looked for in the syntax tree (comments may name them).
found = []
for node in ast.walk(ast.parse(source)):
    if isinstance(node, ast.keyword) and node.arg in ("capture_output", "text"):
        found.append(node.arg)
    if isinstance(node, ast.Attribute) and node.attr in ("removeprefix", "removesuffix", "prod", "cache"):
        found.append(node.attr)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
        found += [n for n in names if n in ("dataclasses", "zoneinfo", "graphlib", "annotations", "contextvars")]
assert not found, "Python 3.7+ only: %r" % found
print("py36-ok")
"#;
    let out = run(Command::new(PYTHON).arg("-c").arg(check).arg(&plugin).arg(tmp.path().join("patchman.pyc")));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "py36-ok");
    // And it imports (with dnf present) without the native module, defining the plugin class.
    write(
        &tmp.path().join("probe.py"),
        "import patchman\nassert patchman.patchman_libreport is None\nassert patchman.Patchman.name == 'patchman'\nprint('import-ok')\n",
    );
    let out = run(Command::new(PYTHON)
        .arg(tmp.path().join("probe.py"))
        .env("PYTHONPATH", plugin.parent().unwrap())
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "import-ok");
}
