#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| libreport::fuzzing::client_config(data));
