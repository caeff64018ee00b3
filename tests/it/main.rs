//! Every integration test of nwcap, in one test binary (one link instead of one per file).
//!
//! - The binary end to end: `cli` (`analyze` on hand-made captures), `parallel` (`--threads`),
//!   `arm` (the Resource Manager commands against a fake ARM), `download` and
//!   `analyze_remote` (blobs in a real Azurite; run `scripts/install-test-tools` first).
//! - The analysis library: `oracle` (against tshark's figures in `testdata/oracle/`),
//!   `differential` (the decoder against etherparse), `props` (no input panics), `window`
//!   (reading through windows and maps gives what reading the whole file gives).
//! - Shared code: `support` (running the binary, the corpus, the fake ARM, Azurite, the
//!   schema check, proptest's configuration), `craft` (hand-made packets and captures, also
//!   used by `benches/pipeline.rs`), `mutation` (random damage for property tests). Fixtures
//!   stay in `tests/fixtures/`.
//!
//! Proptest's failure files sit beside their sources (`differential.proptest-regressions`,
//! `window.proptest-regressions`): see `support::proptest_config`.

mod support;

mod craft;
mod mutation;

mod analyze_remote;
mod arm;
mod arm_views;
mod capture;
mod cli;
mod community_id;
mod conventions;
mod differential;
mod download;
mod findings;
mod health;
mod health_oracle;
mod health_props;
mod oracle;
mod parallel;
mod props;
mod target;
mod trust;
mod window;
