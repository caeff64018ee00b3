//! See `nwcap_fuzz::filter`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nwcap_fuzz::filter::run(data));
