//! A real `patchman serve` process on 127.0.0.1:0 with its own SQLite file.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const ENROLLMENT_KEY: &str = "test-enrollment-key-0123456789";

/// The server process; killed when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub database_url: String,
    pub dir: TempDir,
    bin: PathBuf,
    /// The environment the server was given; admin commands get it too (same configuration).
    env: Vec<(String, String)>,
    /// Whether it was given a TLS certificate (`url()` is then https).
    tls: bool,
    child: Child,
}

impl Server {
    /// Starts `bin serve` with a fresh SQLite database and the test enrollment key.
    pub fn start(bin: &Path, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = format!("sqlite://{}", dir.path().join("patchman.db").display());
        Self::start_with(bin, dir, database_url, env)
    }

    pub fn start_with(bin: &Path, dir: TempDir, database_url: String, env: &[(&str, &str)]) -> Self {
        Self::spawn(bin, dir, database_url, env, Stdio::inherit())
    }

    /// As `start`, with the server's stderr (its log) kept in a file `log()` reads.
    pub fn start_logged(bin: &Path, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = format!("sqlite://{}", dir.path().join("patchman.db").display());
        let log = std::fs::File::create(dir.path().join("server.log")).expect("a log file");
        Self::spawn(bin, dir, database_url, env, Stdio::from(log))
    }

    /// As `start_with`, its log in `log` (a file in `dir` named server.log for `log()`).
    pub fn start_with_log(
        bin: &Path,
        dir: TempDir,
        database_url: String,
        env: &[(&str, &str)],
        log: std::fs::File,
    ) -> Self {
        Self::spawn(bin, dir, database_url, env, Stdio::from(log))
    }

    /// What the server has logged so far (`start_logged` only).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn spawn(bin: &Path, dir: TempDir, database_url: String, env: &[(&str, &str)], stderr: Stdio) -> Self {
        let mut cmd = Command::new(bin);
        // The server's own directory: a PostgreSQL server writes its first admin's password
        // file into the current directory.
        cmd.current_dir(dir.path());
        cmd.arg("serve")
            .env("PATCHMAN_LISTEN", "127.0.0.1:0")
            .env("PATCHMAN_DATABASE_URL", &database_url)
            .env("PATCHMAN_ENROLLMENT_KEY", ENROLLMENT_KEY)
            .env("PATCHMAN_LOG", "warn")
            // Tests reach nothing outside the machine: no background refresh of the
            // repositories hosts report (tests refresh loopback repositories explicitly).
            .env("PATCHMAN_REFRESH_INTERVAL_SECONDS", "0")
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut reader = BufReader::new(stdout);
        while !line.starts_with("patchman listening on ") {
            line.clear();
            let n = reader.read_line(&mut line).expect("read server stdout");
            assert!(n > 0 && Instant::now() < deadline, "the server exited before listening");
        }
        let addr = line.trim().trim_start_matches("patchman listening on ").parse().expect("an address");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        let tls = env.iter().any(|(k, _)| *k == "PATCHMAN_TLS_CERT");
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self { addr, database_url, dir, bin: bin.to_owned(), env, tls, child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown, no cleanup, as a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the process to exit (at most `within`): its exit status and
    /// how long it took. Panics if it outlives `within`.
    pub fn terminate(&mut self, within: Duration) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        crate::run(Command::new("kill").args(["-TERM", &self.child.id().to_string()]));
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return (status, started.elapsed());
            }
            assert!(started.elapsed() < within, "the server did not exit within {within:?} of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Runs `patchman ARGS` against this server's database; returns stdout.
    #[track_caller]
    pub fn admin(&self, args: &[&str]) -> String {
        let out = crate::run(&mut self.admin_command(args));
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    fn admin_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args).env("PATCHMAN_DATABASE_URL", &self.database_url).env("PATCHMAN_LOG", "warn");
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs `patchman ARGS` against this server's database, whatever its exit status.
    pub fn admin_output(&self, args: &[&str]) -> std::process::Output {
        self.admin_command(args).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()))
    }

    /// Runs `patchman ARGS` against this server's database with `stdin` as its standard input
    /// (e.g. a password for `user add`), whatever its exit status.
    pub fn admin_with_stdin(&self, args: &[&str], stdin: &str) -> std::process::Output {
        use std::io::Write as _;
        let mut child = self
            .admin_command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
        child.stdin.take().expect("piped stdin").write_all(stdin.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("wait for the admin command")
    }

    /// The server's peak resident memory so far (VmHWM), in KiB.
    pub fn peak_rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// CPU time the server has used so far, user and system, all threads (from
    /// /proc/PID/stat, in USER_HZ ticks: 1/100 s on Linux).
    pub fn cpu_time(&self) -> std::time::Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which may hold spaces) closed by ')': utime is the
        // 12th of them, stime the 13th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let ticks: u64 = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse::<u64>().ok()).sum();
        std::time::Duration::from_millis(ticks * 10)
    }

    /// The path of the SQLite file (for SQLite servers).
    pub fn db_path(&self) -> PathBuf {
        PathBuf::from(self.database_url.trim_start_matches("sqlite://"))
    }

    pub fn stop(mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
