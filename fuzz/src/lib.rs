//! The fuzz targets' bodies: `fuzz_targets/*.rs` hand them libFuzzer's inputs (`cargo fuzz
//! run NAME`, open-ended), and `tests/it/fuzz.rs` includes these same files to run them in CI
//! on stable Rust, over the committed seeds (`corpus/`) and bounded random mutations of them.
//! Each body panics on the first broken invariant, and never otherwise.

pub mod capture;
pub mod filter;
pub mod inspect;
pub mod report;
pub mod urls;
