//! `nwcap wait`: poll queryStatus until the capture has stopped; the exit code says how it
//! ended (0 stopped cleanly, 7 ended in error, 8 still running at `--timeout`).

use std::time::Instant;

use super::arm_common::{capture, client, emit, emit_json, fail, output};
use super::view;
use crate::azure::packet_capture::{Fetched, PacketCaptureQueryStatusResult, PacketCaptures};
use crate::cli::{ArmOutput, WaitArgs};
use crate::exit;

/// Waits, printing state changes on stderr and the final status on stdout.
pub fn run(args: &WaitArgs, verbose: u8) -> anyhow::Result<i32> {
    let t = &args.target;
    let id = capture(&t.capture, &t.arm)?;
    let arm = client(&t.arm, verbose)?;
    let pcs = PacketCaptures::new(&arm);
    let deadline = args.timeout.map(|d| Instant::now() + d);
    let print = |s: &Fetched<PacketCaptureQueryStatusResult>| match output(&t.arm) {
        ArmOutput::Json => emit_json(&s.raw),
        ArmOutput::Tsv => emit(&view::status::row_tsv(&id.name, &s.value)),
        ArmOutput::Table => emit(&view::status::details(&id.name, &s.value)),
    };
    super::runtime()?.block_on(async {
        let mut last: Option<String> = None;
        loop {
            let s = pcs.query_status(&id).await.map_err(fail)?;
            let state = s
                .value
                .packet_capture_status
                .clone()
                .unwrap_or_else(|| "Unknown".into());
            if last.as_deref() != Some(state.as_str()) {
                eprintln!("nwcap: {}: {state}", id.name);
                last = Some(state.clone());
            }
            let errors = &s.value.packet_capture_error;
            if state == "Error" || (state == "Stopped" && !errors.is_empty()) {
                print(&s)?;
                let why: Vec<String> = errors.iter().map(|e| view::status::error_text(e)).collect();
                eprintln!(
                    "nwcap: packet capture '{}' ended in {state}{}",
                    id.name,
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", why.join("; "))
                    }
                );
                return Ok(exit::FAILED);
            }
            if state == "Stopped" {
                print(&s)?;
                return Ok(exit::OK);
            }
            let mut pause = args.interval;
            if let Some(d) = deadline {
                let now = Instant::now();
                if now >= d {
                    print(&s)?;
                    eprintln!(
                        "nwcap: packet capture '{}' is still {state} after {}",
                        id.name,
                        humanize(args.timeout.unwrap_or_default())
                    );
                    return Ok(exit::TIMEOUT);
                }
                pause = pause.min(d - now);
            }
            tokio::time::sleep(pause).await;
        }
    })
}

fn humanize(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 60.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
}
