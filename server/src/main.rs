//! `patchman`: the server and its admin commands.

use std::process::ExitCode;

fn main() -> ExitCode {
    patchman_server::cli::main()
}
