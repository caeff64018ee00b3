//! See `nwcap_fuzz::inspect`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nwcap_fuzz::inspect::run(data));
