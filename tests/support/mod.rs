//! Test support: a fake Resource Manager and the schema check it applies to request bodies,
//! Azurite, and running the binary.

#![allow(dead_code)]

pub mod azurite;
pub mod fake_arm;
pub mod schema;

use std::process::{Command, Output};

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
