//! Every integration test of nwcap, in one test binary (one link instead of one per file).
//!
//! - The binary end to end: `cli` (`analyze` on hand-made captures), `filters` (filters across
//!   address families), `parallel` (`--threads`),
//!   `arm` (the Resource Manager commands against a fake ARM), `arm_lro` (the fake and nwcap
//!   held to ARM's api-versions, operation URLs and Retry-After), `download`,
//!   `download_memory` (peak RSS of a 256 MiB download) and `analyze_remote` (blobs in a real
//!   Azurite; run `scripts/install-test-tools` first),
//!   `secrets` (no failure of theirs shows a SAS signature).
//! - The analysis library: `oracle` (against tshark's figures in `testdata/oracle/`),
//!   `apps_oracle` (what flows' payloads say, against tshark's `testdata/oracle/apps/`),
//!   `differential` (the decoder against etherparse), `props` (no input panics), `window`
//!   (reading through windows and maps gives what reading the whole file gives), `fuzz` (the
//!   fuzz targets of `fuzz/src/` over their seeds and random mutations, on stable).
//! - Shared code: `support` (running the binary, the corpus, the fake ARM, Azurite, the
//!   schema check, proptest's configuration), `craft` (hand-made packets and captures, also
//!   used by `benches/pipeline.rs`), `mutation` (random damage for property tests),
//!   `independent` (captures read by pcap-parser, to check nwcap's writer). Fixtures
//!   stay in `tests/fixtures/`.
//!
//! Proptest's failure files sit beside their sources (`differential.proptest-regressions`,
//! `window.proptest-regressions`): see `support::proptest_config`.

mod support;

mod craft;
mod independent;
mod mutation;

mod analyze_remote;
mod apps_oracle;
mod arm;
mod arm_lro;
mod arm_views;
mod capture;
mod cli;
mod community_id;
mod conventions;
mod differential;
mod download;
mod download_memory;
mod exits;
mod filters;
mod findings;
mod fuzz;
mod health;
mod health_more_oracle;
mod health_oracle;
mod health_props;
mod names;
mod oracle;
mod parallel;
mod ports;
mod props;
mod secrets;
mod target;
mod timeline;
mod trust;
mod window;
