//! Test support: running the binary, a fake Resource Manager and the schema check it applies
//! to request bodies, Azurite, the corpus, and proptest's configuration.

pub mod azurite;
pub mod fake_arm;
pub mod fake_vm;
pub mod schema;

use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};
use serde_json::Value;

/// What nwcap reads from the environment (its own settings, and the Azure SDK's credential
/// chain): no test may see a developer's values. A test that wants one sets it at the call.
const ENVIRONMENT: &[&str] = &[
    "NWCAP_SAS",
    "NWCAP_AUTH",
    "NWCAP_ACCESS_TOKEN",
    "NWCAP_STORAGE_ACCESS_TOKEN",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_DEFAULTS_GROUP",
    "AZURE_DEFAULTS_LOCATION",
    "AZURE_RESOURCE_MANAGER_ENDPOINT",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
    "SSL_CERT_FILE",
];

/// The nwcap binary, without any of [`ENVIRONMENT`].
pub fn nwcap_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nwcap"));
    for v in ENVIRONMENT {
        cmd.env_remove(v);
    }
    cmd
}

/// Runs nwcap with `args` in a clean environment (see [`nwcap_cmd`]).
pub fn nwcap(args: &[&str]) -> Run {
    run(nwcap_cmd().args(args))
}

/// How a run of nwcap ended and what it printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to its end; whatever it was asked, nwcap must not panic.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run nwcap");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    assert!(
        !run.stderr.contains("stack backtrace"),
        "backtrace: {}",
        run.stderr
    );
    run
}

impl Run {
    /// Asserts exit 0.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "nwcap failed:\n{}", self.stderr);
        self
    }

    /// Asserts that the run failed with `code`, saying `says` in one line on stderr; `case`
    /// names the run in the failure message.
    #[track_caller]
    pub fn fails(&self, case: &str, code: i32, says: &str) -> &Self {
        let err = &self.stderr;
        assert_eq!(self.code, code, "{case}: {err}");
        assert!(err.contains(says), "{case}: expected '{says}' in: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{case}: one line expected: {err}"
        );
        self
    }

    /// Asserts that neither stdout nor stderr shows `token`, nor a SAS signature unredacted.
    #[track_caller]
    pub fn hides(&self, token: &str) -> &Self {
        let all = format!("{}{}", self.stderr, self.stdout);
        assert!(!all.contains(token), "token leaked: {all}");
        assert!(
            !all.contains("sig=") || all.contains("sig=REDACTED"),
            "{all}"
        );
        self
    }

    /// Stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

/// `testdata/corpus/NAME`: the captures collected from other projects.
pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/corpus")
        .join(name)
}

/// Every capture in `testdata/corpus/` (not its notes: `.md`, `.tsv`), sorted.
pub fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let s = p.to_string_lossy();
            !s.ends_with(".tsv") && !s.ends_with(".md")
        })
        .collect();
    files.sort();
    files
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
