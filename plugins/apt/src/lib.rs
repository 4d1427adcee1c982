//! The apt hook: libreport behind a small C ABI (`libpatchman_report.so`, see
//! `include/patchman_report.h`), and the logic of `patchman-apt-hook`, the program apt and
//! dpkg run (`DPkg::Pre-Install-Pkgs` version 3, `DPkg::Post-Invoke`, dpkg's `post-invoke`).
//! The hook program links this crate directly, so apt never depends on the dynamic loader
//! finding the shared object; both run the same `libreport::hooks::Reporter`.
#![deny(unsafe_code)]

pub mod ffi;
pub mod hook;
pub mod v3;
