#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| patchman_server::fuzzing::osv(data));
