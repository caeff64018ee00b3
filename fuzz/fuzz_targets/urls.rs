//! See `nwcap_fuzz::urls`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nwcap_fuzz::urls::run(data));
