//! Test support: a fake Resource Manager and the schema check it applies to request bodies,
//! Azurite, running the binary, and proptest's configuration.

pub mod azurite;
pub mod fake_arm;
pub mod schema;

use std::process::{Command, Output};

use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};

/// Runs nwcap with `args`, without the SAS and token a developer's environment may hold.
pub fn nwcap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nwcap"))
        .args(args)
        .env_remove("NWCAP_SAS")
        .env_remove("NWCAP_ACCESS_TOKEN")
        .output()
        .expect("run nwcap")
}

/// What a run printed on stderr.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `cases` random cases a property, failures kept in `<source>.proptest-regressions` beside
/// the test's source file and replayed first. (Proptest's default, `SourceParallel`, would
/// look in `tests/proptest-regressions/*.txt`, since `tests/it/` holds a `main.rs`.)
pub fn proptest_config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}
