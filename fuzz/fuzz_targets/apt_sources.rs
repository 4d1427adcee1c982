#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| libreport::fuzzing::apt_sources(data));
