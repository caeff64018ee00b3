//! `nwcap show`: one capture's settings.

use super::arm_common::{capture, client, emit, emit_json, fail, output};
use super::view;
use crate::azure::packet_capture::PacketCaptures;
use crate::cli::{ArmOutput, CaptureArgs};
use crate::exit;

/// Shows a capture as a table, or as the JSON resource ARM returned.
pub fn run(args: &CaptureArgs, verbose: u8) -> anyhow::Result<i32> {
    let id = capture(&args.capture, &args.arm)?;
    let arm = client(&args.arm, verbose)?;
    let c = super::runtime()?
        .block_on(PacketCaptures::new(&arm).get(&id))
        .map_err(fail)?;
    match output(&args.arm) {
        ArmOutput::Json => emit_json(&c.raw)?,
        ArmOutput::Tsv => emit(&view::capture::list_tsv([&c.value]))?,
        ArmOutput::Table => emit(&view::capture::details(&c.value))?,
    }
    Ok(exit::OK)
}
