//! `nwcap status`: queryStatus, with the state, stop reason and errors explained.

use super::arm_common::{capture, client, emit, emit_json, fail, output};
use super::view;
use crate::azure::packet_capture::PacketCaptures;
use crate::cli::{ArmOutput, CaptureArgs};
use crate::exit;

/// Prints the capture's status. The exit code is 0 whatever the state: `wait` is the
/// command whose exit code tells how a capture ended.
pub fn run(args: &CaptureArgs, verbose: u8) -> anyhow::Result<i32> {
    let id = capture(&args.capture, &args.arm)?;
    let arm = client(&args.arm, verbose)?;
    let s = super::runtime()?
        .block_on(PacketCaptures::new(&arm).query_status(&id))
        .map_err(fail)?;
    match output(&args.arm) {
        ArmOutput::Json => emit_json(&s.raw)?,
        ArmOutput::Tsv => emit(&view::status::row_tsv(&id.name, &s.value))?,
        ArmOutput::Table => emit(&view::status::details(&id.name, &s.value))?,
    }
    Ok(exit::OK)
}
