//! A capture's status for people: the state, why it stopped and its errors, in words. A
//! capture that stopped with errors is never called complete.

use super::{key_values, or_dash, tsv};
use crate::azure::packet_capture::PacketCaptureQueryStatusResult;

/// The state in words; `errors` says whether the service listed errors with it.
pub fn explain_status(s: &str, errors: bool) -> &'static str {
    match s {
        "NotStarted" => "the capture has not started yet",
        "Running" => "the capture is running",
        "Stopped" if errors => {
            "the capture stopped with errors; its file may be incomplete or missing"
        }
        "Stopped" => "the capture has ended; its file is complete",
        "Error" => "the capture failed",
        "Unknown" => "Network Watcher does not know the state",
        _ => "a state nwcap does not know",
    }
}

/// What a `stopReason` means, or `None` for one nwcap does not know (then the service's
/// word stands alone). An empty reason with errors points at the errors.
pub fn explain_stop_reason(r: &str, errors: bool) -> Option<&'static str> {
    match r {
        "TimeExceeded" => Some("the time limit (timeLimitInSeconds) was reached"),
        "Manual" => Some("a user (or nwcap stop) stopped it"),
        "" if errors => Some("none given; see the errors below"),
        "" => Some(
            "none given (a session that reaches totalBytesPerSession stops without a reason; \
             compare the bytes written with the limit)",
        ),
        _ => None,
    }
}

/// What a `packetCaptureError` value means, for the documented codes.
pub fn explain_error(e: &str) -> Option<&'static str> {
    match e {
        "InternalError" => Some("an internal Network Watcher error"),
        "AgentStopped" => Some(
            "the Network Watcher agent on the VM stopped (is the VM running, and the \
             AzureNetworkWatcherExtension installed?)",
        ),
        "CaptureFailed" => Some("the agent could not capture packets on the VM"),
        "LocalFileFailed" => {
            Some("the agent could not write the capture file on the VM (filePath/localPath)")
        }
        "StorageFailed" => {
            Some("the agent could not upload to the storage account (access, firewall, SAS)")
        }
        _ => None,
    }
}

/// An error as shown: `CODE: meaning` for a documented code, else as the service sent it.
pub fn error_text(e: &str) -> String {
    match explain_error(e.trim()) {
        Some(why) => format!("{}: {why}", e.trim()),
        None => e.trim().to_string(),
    }
}

/// The status view: state, stop reason and errors, each explained.
pub fn details(name: &str, s: &PacketCaptureQueryStatusResult) -> String {
    let status = s.packet_capture_status.as_deref().unwrap_or("Unknown");
    let errors = !s.packet_capture_error.is_empty();
    let mut rows: Vec<(&str, String)> = vec![
        (
            "Capture",
            s.name.clone().unwrap_or_else(|| name.to_string()),
        ),
        (
            "Status",
            format!("{status}: {}", explain_status(status, errors)),
        ),
        ("Started", or_dash(s.capture_start_time.as_deref())),
    ];
    let reason = s.stop_reason.as_deref().unwrap_or("").trim();
    if status == "Stopped" || !reason.is_empty() {
        let shown = if reason.is_empty() { "-" } else { reason };
        rows.push((
            "Stop reason",
            match explain_stop_reason(reason, errors) {
                Some(why) => format!("{shown}: {why}"),
                None => shown.to_string(),
            },
        ));
    }
    if !errors {
        rows.push(("Errors", "none".to_string()));
    }
    for e in &s.packet_capture_error {
        rows.push(("Error", error_text(e)));
    }
    key_values(&rows)
}

/// `-o tsv`: name, state, start time, stop reason, errors (`;`-separated), `-` for none.
pub fn row_tsv(name: &str, s: &PacketCaptureQueryStatusResult) -> String {
    tsv(&[vec![
        s.name.clone().unwrap_or_else(|| name.to_string()),
        or_dash(s.packet_capture_status.as_deref()),
        or_dash(s.capture_start_time.as_deref()),
        or_dash(s.stop_reason.as_deref()),
        or_dash(Some(s.packet_capture_error.join(";"))),
    ]])
}
