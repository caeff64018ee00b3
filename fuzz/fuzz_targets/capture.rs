//! Capture bytes: see `nwcap_fuzz::capture`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nwcap_fuzz::capture::run(data));
