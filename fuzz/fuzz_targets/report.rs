//! See `nwcap_fuzz::report`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nwcap_fuzz::report::run(data));
