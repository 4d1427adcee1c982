//! The apt hook: libreport behind a small C ABI (`libpatchman_report.so`, see
//! `include/patchman_report.h`), with the logic of the hook commands apt and dpkg run
//! (`DPkg::Pre-Install-Pkgs` version 3, `DPkg::Post-Invoke`, dpkg's `post-invoke`).
//! `hook/patchman-apt-hook.c`, the program they run, is a few lines of C over that ABI.
#![deny(unsafe_code)]

pub mod ffi;
pub mod hook;
pub mod v3;
