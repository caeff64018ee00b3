//! `nwcap stop`: stop a running capture and wait until the service confirms.

use super::arm_common::{capture, client, emit, emit_json, fail, output};
use crate::azure::packet_capture::PacketCaptures;
use crate::cli::{ArmOutput, CaptureArgs};
use crate::exit;

/// Stops the capture; stopping one that has already stopped is not an error for the service.
pub fn run(args: &CaptureArgs, verbose: u8) -> anyhow::Result<i32> {
    let id = capture(&args.capture, &args.arm)?;
    let arm = client(&args.arm, verbose)?;
    super::runtime()?
        .block_on(PacketCaptures::new(&arm).stop(&id))
        .map_err(fail)?;
    match output(&args.arm) {
        ArmOutput::Json => emit_json(&serde_json::json!({
            "id": id.path(), "name": id.name, "stopped": true
        }))?,
        ArmOutput::Tsv => emit(&format!("{}\tstopped\n", id.name))?,
        ArmOutput::Table => emit(&format!("Stopped packet capture '{}'.\n", id.name))?,
    }
    Ok(exit::OK)
}
