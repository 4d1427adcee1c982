//! The shared object names itself (ELF SONAME), as a library in a system library directory
//! must: callers linked with `-lpatchman_report` record the same name either way.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpatchman_report.so");
}
