//! `nwcap list`: the packet captures of one network watcher, every page.

use super::arm_common::{client, emit, emit_json, fail, output, watcher};
use super::view::capture;
use crate::azure::packet_capture::PacketCaptures;
use crate::cli::{ArmOutput, ListArgs};
use crate::exit;

/// Lists captures as a table, tab-separated rows, or the JSON array of ARM resources.
pub fn run(args: &ListArgs, verbose: u8) -> anyhow::Result<i32> {
    let watcher = watcher(&args.arm)?;
    let arm = client(&args.arm, verbose)?;
    let items = super::runtime()?
        .block_on(PacketCaptures::new(&arm).list(&watcher))
        .map_err(fail)?;
    match output(&args.arm) {
        ArmOutput::Json => emit_json(&serde_json::Value::Array(
            items.iter().map(|f| f.raw.clone()).collect(),
        ))?,
        ArmOutput::Tsv => emit(&capture::list_tsv(items.iter().map(|f| &f.value)))?,
        ArmOutput::Table if items.is_empty() => emit(&format!(
            "No packet captures in watcher {}.\n",
            watcher.name
        ))?,
        ArmOutput::Table => emit(&capture::list_table(&items))?,
    }
    Ok(exit::OK)
}
