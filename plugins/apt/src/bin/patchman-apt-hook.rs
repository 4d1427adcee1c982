//! `patchman-apt-hook [--config FILE] pre-install-pkgs|post-invoke|dpkg-post-invoke`: run by
//! apt and dpkg (see packaging/apt/50patchman and packaging/dpkg/patchman). Always exits 0 so
//! a package transaction never fails because of it; prints one line on error (the report
//! waits in the spool for the next run).

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use libreport::hooks::ClientConfig;
use patchman_report::hook::{self, Command, Env};

const USAGE: &str = "usage: patchman-apt-hook [--config FILE] pre-install-pkgs|post-invoke|dpkg-post-invoke";

fn main() -> ExitCode {
    // Even a bug costs one line, never a backtrace or a failed transaction.
    std::panic::set_hook(Box::new(|_| {}));
    match std::panic::catch_unwind(run) {
        Ok(Ok(())) => {}
        Ok(Err(err)) => eprintln!("patchman-apt-hook: {err}"),
        Err(_) => eprintln!("patchman-apt-hook: internal error (a bug); the report waits for the next run"),
    }
    ExitCode::SUCCESS
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut config_path = None;
    let mut command = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config_path = Some(PathBuf::from(args.next().ok_or(USAGE)?)),
            other => command = Some(Command::parse(other).ok_or(USAGE)?),
        }
    }
    let command = command.ok_or(USAGE)?;
    let config = ClientConfig::load(config_path.as_deref());
    // apt writes to the hook's information fd (stdin unless APT_HOOK_INFO_FD says otherwise);
    // it must be read to the end even when the configuration is broken.
    let input: Box<dyn Read> = match std::env::var("APT_HOOK_INFO_FD").ok().filter(|fd| fd != "0" && !fd.is_empty()) {
        Some(fd) if command == Command::PreInstallPkgs => {
            Box::new(File::open(format!("/dev/fd/{fd}")).map_err(|e| format!("APT_HOOK_INFO_FD {fd}: {e}"))?)
        }
        _ => Box::new(std::io::stdin().lock()),
    };
    let config = match config {
        Ok(config) => config,
        Err(err) => {
            if command == Command::PreInstallPkgs {
                let _ = std::io::copy(&mut { input }, &mut std::io::sink());
            }
            return Err(err.to_string());
        }
    };
    hook::run(command, config, &Env::from_process(), input).map_err(|e| e.to_string())
}
