//! Helpers shared by the integration tests: build real rpm packages and databases, run a
//! real `patchman serve`, and find the tools tests need (failing loudly when one is missing).

pub mod apt;
pub mod browser;
pub mod dnf;
pub mod fuzz;
pub mod grpc;
pub mod host;
pub mod http;
pub mod multipart;
pub mod pg;
pub mod rpm;
pub mod server;
pub mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Panics with a clear message when a tool the test needs is not installed: tests never skip.
pub fn require_tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("`{name}` is not installed: run `bash .ci/setup` (the test suite needs it)"))
}

/// Runs a command and panics with its output if it fails.
#[track_caller]
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Writes a file, creating its parent directories.
#[track_caller]
pub fn write(path: &Path, content: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    }
    std::fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// The workspace's top directory.
/// `target/<profile>`, where `cargo build --workspace` put the binaries and shared objects,
/// found from the running test executable (`target/<profile>/deps/…`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target dir").to_owned()
}

/// A file `cargo build --workspace` makes; fails clearly when it is missing.
pub fn artifact(name: &str) -> PathBuf {
    let path = target_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the workspace first (`cargo build --workspace`, or `bash .ci/test`)",
        path.display()
    );
    path
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root exists")
}

/// Polls until `f` returns true; panics with `what` after `timeout`.
#[track_caller]
pub fn wait_until(timeout: std::time::Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !f() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Waits until no process has `needle` on its command line (the detached senders of a
/// test's state directory have exited).
pub fn wait_for_processes_naming(needle: &Path) {
    let needle = needle.to_str().unwrap().as_bytes().to_vec();
    wait_until(std::time::Duration::from_secs(60), "the background senders to exit", || {
        let Ok(procs) = std::fs::read_dir("/proc") else { return true };
        !procs.flatten().any(|p| {
            std::fs::read(p.path().join("cmdline")).is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
        })
    });
}
