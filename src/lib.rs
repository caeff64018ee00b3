//! nwcap: Azure Network Watcher packet captures from the command line.
//!
//! This crate is the shell around the pure analysis core (`nwcap_analysis`): `azure` talks to
//! Resource Manager and Blob Storage and knows nothing of packets; `commands` glues the two to
//! the command line (`cli`) and maps outcomes to exit codes (`exit`).

pub mod azure;
pub mod cli;
pub mod commands;
pub mod exit;
