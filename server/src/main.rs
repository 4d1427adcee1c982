//! `patchman`: the server and its admin commands.

use std::process::ExitCode;

/// mimalloc, not glibc's malloc: decoding a first-time report allocates ~10,000 small strings
/// and vectors, and glibc's allocator took a third of the request threads' time (its free
/// lists and consolidation); benches that run the store in process declare the same.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    patchman_server::cli::main()
}
