//! The spool against a real server and real failures: a sender killed half way (before and
//! after the server committed), a full disk, and an ordinary run delivering what waited.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libreport::collect::{CollectOptions, collect};
use libreport::model::{ChangeAction, PackageChange, Report, Transaction, Trigger, new_id};
use libreport::spool::Spool;
use patchman_testkit::server::{ENROLLMENT_KEY, Server};
use patchman_testkit::{require_tool, run, write};
use serde_json::Value;

const HOST: &str = "spool.example.org";

fn client() -> Command {
    Command::new(env!("CARGO_BIN_EXE_patchman-client"))
}

/// The server binary `cargo build --workspace` made next to this test's target directory.
fn server_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe.parent().and_then(Path::parent).map(|d| d.join("patchman")).expect("target dir");
    assert!(
        bin.is_file(),
        "{} is missing: build the workspace first (`cargo build --workspace`, or `bash .ci/test`)",
        bin.display()
    );
    bin
}

/// A Debian root: dpkg's status file with `packages` as (name, version) installed.
fn root_with(dir: &Path, packages: &[(&str, &str)]) -> PathBuf {
    let root = dir.join(format!("root-{}", new_id()));
    let status: String = packages
        .iter()
        .map(|(n, v)| format!("Package: {n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {v}\n\n"))
        .collect();
    write(&root.join("var/lib/dpkg/status"), status);
    write(&root.join("etc/os-release"), "ID=debian\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n");
    root
}

fn enroll(server: &Server, root: &Path, state: &Path) {
    run(client()
        .args(["--server", &server.url(), "--hostname", HOST, "--enroll", ENROLLMENT_KEY, "--trigger", "manual"])
        .arg("--root")
        .arg(root)
        .arg("--state-dir")
        .arg(state));
}

fn flush(server_url: &str, state: &Path) -> String {
    let out = run(client().args(["--flush", "--server", server_url]).arg("--state-dir").arg(state));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn host(server: &Server) -> Value {
    serde_json::from_str(&server.admin(&["host", "show", HOST, "--json"])).unwrap()
}

fn transaction_ids(host: &Value) -> Vec<String> {
    host["transactions"].as_array().unwrap().iter().map(|t| t["transaction_id"].as_str().unwrap().to_owned()).collect()
}

fn packages(host: &Value) -> Vec<String> {
    let mut v: Vec<String> = host["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{} {}", p["name"].as_str().unwrap(), p["evr"].as_str().unwrap()))
        .collect();
    v.sort();
    v
}

fn records(state: &Path) -> usize {
    std::fs::read_dir(state.join("spool"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("tx-"))
        .count()
}

/// `n` transaction records (many changes each, so the report is large) and the newest state
/// (that of `root`), spooled as the hooks would; returns the transaction ids in order.
fn spool_transactions(state: &Path, root: &Path, n: usize) -> Vec<String> {
    let spool = Spool::in_state_dir(state).unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let t = Transaction {
            transaction_id: new_id(),
            finished_at_ms: 1_700_000_000_000 + i as i64,
            tool: "apt".into(),
            changes: (0..200)
                .map(|j| PackageChange {
                    action: ChangeAction::Upgraded,
                    name: format!("package-{i}-{j}"),
                    arch: "amd64".into(),
                    old_version: "1.0-1".into(),
                    new_version: "1.0-2".into(),
                })
                .collect(),
        };
        spool.add(None, Some(&t)).unwrap();
        ids.push(t.transaction_id);
    }
    let options = CollectOptions { hostname: Some(HOST.into()), ..CollectOptions::new(root) };
    spool.add(Some(&Report::new(collect(&options).unwrap(), Trigger::Transaction, vec![], vec![])), None).unwrap();
    ids
}

/// A TCP proxy in front of the server that never lets the server's answer reach the client.
/// `forward` false: it swallows the request too. `forward` true: the request goes through and
/// of the server's HTTP/2 frames only the connection's housekeeping (SETTINGS, PING,
/// WINDOW_UPDATE: without them the client cannot send a large request) gets back; the
/// response (HEADERS, DATA) never does, so the client waits for its acknowledgement for ever.
struct Blackhole {
    url: String,
    received: Arc<AtomicUsize>,
}

impl Blackhole {
    fn start(server: &Server, forward: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(AtomicUsize::new(0));
        let (counter, upstream) = (received.clone(), server.addr);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let mut conn = conn;
                    let mut upstream = forward.then(|| TcpStream::connect(upstream).unwrap());
                    if let Some(up) = &upstream {
                        let (mut up, mut back) = (up.try_clone().unwrap(), conn.try_clone().unwrap());
                        std::thread::spawn(move || housekeeping_only(&mut up, &mut back));
                    }
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = conn.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        counter.fetch_add(n, Ordering::SeqCst);
                        if let Some(up) = &mut upstream {
                            let _ = up.write_all(&buf[..n]);
                        }
                    }
                    if let Some(up) = upstream {
                        let _ = up.shutdown(Shutdown::Both);
                    }
                });
            }
        });
        Self { url, received }
    }
}

/// Copies the server's HTTP/2 frames of type SETTINGS (4), PING (6) and WINDOW_UPDATE (8)
/// to the client and drops the others.
fn housekeeping_only(from: &mut TcpStream, to: &mut TcpStream) {
    let mut header = [0u8; 9];
    while from.read_exact(&mut header).is_ok() {
        let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let mut payload = vec![0u8; len];
        if from.read_exact(&mut payload).is_err() {
            return;
        }
        if matches!(header[3], 4 | 6 | 8) && (to.write_all(&header).is_err() || to.write_all(&payload).is_err()) {
            return;
        }
    }
}

#[track_caller]
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The sender is killed (SIGKILL) while it waits for the server's answer: `committed` says
/// whether the server had stored the report by then. Either way a second flush leaves the
/// server with every transaction exactly once, in order, and the newest state.
fn kill_the_sender_half_way(committed: bool) {
    let server = Server::start(&server_bin(), &[]);
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    enroll(&server, &root_with(tmp.path(), &[("bash", "5.2.15-2+b8")]), &state);
    let newest = root_with(tmp.path(), &[("bash", "5.2.15-2+b9"), ("zsh", "5.9-4")]);
    let ids = spool_transactions(&state, &newest, 40);

    let proxy = Blackhole::start(&server, committed);
    let mut sender = client()
        .args(["--flush", "--server", &proxy.url])
        .arg("--state-dir")
        .arg(&state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if committed {
        wait_until("the server to commit the report", || transaction_ids(&host(&server)).len() == ids.len());
    } else {
        // Part of the report is on its way (it is about 1 MB), none of it reached the server.
        wait_until("the sender to be sending", || proxy.received.load(Ordering::SeqCst) > 32 * 1024);
        assert!(transaction_ids(&host(&server)).is_empty());
    }
    sender.kill().unwrap();
    sender.wait().unwrap();
    assert_eq!(records(&state), ids.len(), "no acknowledgement, so every record is still spooled");

    let out = flush(&server.url(), &state);
    assert!(out.contains(&format!("delivered {} transaction records", ids.len())), "{out}");
    let h = host(&server);
    assert_eq!(transaction_ids(&h), ids, "each transaction once, in order");
    assert_eq!(packages(&h), ["bash 5.2.15-2+b9", "zsh 5.9-4"]);
    assert_eq!(records(&state), 0);
    // Nothing is left to send.
    assert!(flush(&server.url(), &state).contains("nothing to deliver"));
}

#[test]
fn a_sender_killed_after_the_server_committed_loses_and_duplicates_nothing() {
    kill_the_sender_half_way(true);
}

#[test]
fn a_sender_killed_while_sending_loses_nothing() {
    kill_the_sender_half_way(false);
}

/// An ordinary run (the timer's) delivers what hooks spooled, with its own newer state.
#[test]
fn an_ordinary_run_delivers_the_spool_too() {
    let server = Server::start(&server_bin(), &[]);
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let old = root_with(tmp.path(), &[("bash", "5.2.15-2+b8")]);
    enroll(&server, &old, &state);
    let ids = spool_transactions(&state, &old, 3);
    let now = root_with(tmp.path(), &[("bash", "5.2.15-2+b9")]);
    let out = run(client()
        .args(["--server", &server.url(), "--hostname", HOST, "--trigger", "timer"])
        .arg("--root")
        .arg(&now)
        .arg("--state-dir")
        .arg(&state));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("delivered 3 transaction records") && stderr.contains("stored"), "{stderr}");
    let h = host(&server);
    assert_eq!(transaction_ids(&h), ids);
    assert_eq!(packages(&h), ["bash 5.2.15-2+b9"]);
}

/// A full disk (a tiny tmpfs in a private mount namespace): the hook fails with one line,
/// exits 0, and the spool keeps its old state whole with no litter; with space again the
/// next run spools the transaction it then sees.
#[test]
fn a_full_disk_leaves_the_spool_as_it_was() {
    require_tool("unshare");
    let tmp = tempfile::tempdir().unwrap();
    let (full, out) = (tmp.path().join("full"), tmp.path().join("out"));
    std::fs::create_dir_all(&full).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let before = root_with(tmp.path(), &[("bash", "5.2.15-2+b8")]);
    let after = root_with(tmp.path(), &[("bash", "5.2.15-2+b9")]);
    let config = tmp.path().join("client.toml");
    write(&config, format!("state_dir = {:?}\nhostname = {HOST:?}\ndeliver = false\n", full.join("state")));
    let script = r#"
set -u
mount -t tmpfs -o size=256k tmpfs "$FULL" || exit 90
hook() { "$CLIENT" --config "$CONFIG" --detach --tool dpkg --root "$1"; }
hook "$BEFORE" 2>"$OUT/first.err" || exit 91
cp "$FULL/state/spool/state.json" "$OUT/state-before.json"
dd if=/dev/zero of="$FULL/filler" bs=4k 2>/dev/null
hook "$AFTER" 2>"$OUT/full.err"; echo $? > "$OUT/full.status"
ls -A "$FULL/state/spool" > "$OUT/full.ls"
cp "$FULL/state/spool/state.json" "$OUT/state-full.json"
rm "$FULL/filler"
hook "$AFTER" 2>"$OUT/freed.err" || exit 92
ls -A "$FULL/state/spool" > "$OUT/freed.ls"
cp "$FULL/state/spool/"tx-* "$OUT/" && cp "$FULL/state/spool/state.json" "$OUT/state-freed.json"
"#;
    let status = Command::new("unshare")
        .args(["-rm", "sh", "-c", script])
        .env("FULL", &full)
        .env("OUT", &out)
        .env("CLIENT", env!("CARGO_BIN_EXE_patchman-client"))
        .env("CONFIG", &config)
        .env("BEFORE", &before)
        .env("AFTER", &after)
        .status()
        .unwrap();
    assert!(status.success(), "the script failed: {status} (90: cannot mount a tmpfs with `unshare -rm`)");
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    assert_eq!(read("first.err"), "");
    let full_err = read("full.err");
    assert_eq!(full_err.lines().count(), 1, "{full_err}");
    assert!(full_err.contains("No space left on device"), "{full_err}");
    assert_eq!(read("full.status").trim(), "0", "a hook always exits 0");
    assert_eq!(read("state-full.json"), read("state-before.json"), "the old state is intact");
    assert_eq!(
        read("full.ls").split_whitespace().collect::<Vec<_>>(),
        ["state.json", "write.lock"],
        "no records, no litter"
    );

    assert_eq!(read("freed.err"), "");
    let listing = read("freed.ls");
    let record = listing.split_whitespace().find(|n| n.starts_with("tx-")).expect("a record once there is space");
    let record: Transaction = serde_json::from_str(&read(record)).unwrap();
    assert_eq!((record.tool.as_str(), record.changes.len()), ("dpkg", 1));
    let c = &record.changes[0];
    assert_eq!(
        (c.action, c.old_version.as_str(), c.new_version.as_str()),
        (ChangeAction::Upgraded, "5.2.15-2+b8", "5.2.15-2+b9")
    );
    let state: Report = serde_json::from_str(&read("state-freed.json")).unwrap();
    assert_eq!(state.state.packages[0].release, "2+b9");
}
