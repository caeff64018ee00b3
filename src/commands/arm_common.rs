//! Glue shared by the Resource Manager commands: building the client from flags, resolving
//! which capture is meant, mapping Azure errors to exit codes, and printing.

use std::io::{self, IsTerminal, Write};

use anyhow::Context;

use crate::azure::arm::{ArmClient, ArmOptions};
use crate::azure::credential::{self, AuthKind};
use crate::azure::packet_capture::{
    explain_error, explain_status, explain_stop_reason, Fetched, PacketCaptureQueryStatusResult,
    PacketCaptureResult,
};
use crate::azure::resource_id::{check_name, CaptureId, WatcherId, DEFAULT_WATCHER_RESOURCE_GROUP};
use crate::azure::{self, ErrorClass, HttpOptions};
use crate::cli::{ArmArgs, ArmOutput};
use crate::exit;

/// Transport settings from the flags.
pub fn http_options(arm: &ArmArgs, verbose: u8) -> HttpOptions {
    HttpOptions {
        max_retries: arm.max_retries,
        retry_delay: arm.retry_delay,
        timeout: arm.http_timeout,
        verbose,
        auth_label: AuthKind::from(arm.auth).label(),
    }
}

/// The ARM client the flags describe.
pub fn client(arm: &ArmArgs, verbose: u8) -> anyhow::Result<ArmClient> {
    let endpoint = url::Url::parse(arm.arm_endpoint.trim())
        .ok()
        .filter(|u| u.has_host() && (u.scheme() == "https" || u.scheme() == "http"))
        .ok_or_else(|| {
            exit::usage(anyhow::anyhow!(
                "--arm-endpoint: '{}' is not an http(s) URL",
                arm.arm_endpoint
            ))
        })?;
    if arm.api_version.trim().is_empty() {
        return Err(exit::usage(anyhow::anyhow!("--api-version is empty")));
    }
    let cred = credential(arm.auth.into())?;
    let options = ArmOptions {
        endpoint,
        api_version: arm.api_version.trim().to_string(),
        http: http_options(arm, verbose),
        ..Default::default()
    };
    Ok(ArmClient::new(cred, options))
}

/// The credential for `--auth`, with setup failures as authentication errors.
pub fn credential(
    kind: AuthKind,
) -> anyhow::Result<std::sync::Arc<dyn azure_core::credentials::TokenCredential>> {
    credential::credential(kind)
        .map_err(|e| exit::with_code(exit::AUTH, anyhow::anyhow!("authentication: {e}")))
}

/// The watcher from `-s/-g/-w/--location`.
pub fn watcher(arm: &ArmArgs) -> anyhow::Result<WatcherId> {
    let subscription = arm
        .subscription
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            exit::usage(anyhow::anyhow!(
                "no subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID"
            ))
        })?;
    let name = match (&arm.watcher, &arm.location) {
        (Some(w), _) => w.clone(),
        (None, Some(l)) => WatcherId::default_watcher_name(l),
        (None, None) => {
            return Err(exit::usage(anyhow::anyhow!(
                "which network watcher? pass --location REGION (default watcher NetworkWatcher_<region>) or --watcher NAME"
            )))
        }
    };
    let resource_group = arm
        .resource_group
        .clone()
        .unwrap_or_else(|| DEFAULT_WATCHER_RESOURCE_GROUP.to_string());
    check_name("a subscription id", &subscription).map_err(exit::usage)?;
    check_name("a resource group name", &resource_group).map_err(exit::usage)?;
    check_name("a network watcher name", &name).map_err(exit::usage)?;
    Ok(WatcherId {
        subscription,
        resource_group,
        name,
    })
}

/// The capture: a full resource id, or a name in the watcher the flags describe.
pub fn capture(name_or_id: &str, arm: &ArmArgs) -> anyhow::Result<CaptureId> {
    if name_or_id.starts_with('/') {
        let id = CaptureId::parse(name_or_id).map_err(exit::usage)?;
        let clash = |flag: &str, given: &Option<String>, actual: &str| match given {
            Some(g) if !g.eq_ignore_ascii_case(actual) => Err(exit::usage(anyhow::anyhow!(
                "{flag} '{g}' contradicts the resource id ('{actual}')"
            ))),
            _ => Ok(()),
        };
        clash(
            "--resource-group",
            &arm.resource_group,
            &id.watcher.resource_group,
        )?;
        clash("--watcher", &arm.watcher, &id.watcher.name)?;
        return Ok(id);
    }
    check_name(
        "a capture name (or a full resource id starting with /subscriptions/)",
        name_or_id,
    )
    .map_err(exit::usage)?;
    Ok(CaptureId {
        watcher: watcher(arm)?,
        name: name_or_id.to_string(),
    })
}

/// Maps an Azure error to its documented exit code.
pub fn fail(e: azure::Error) -> anyhow::Error {
    let code = match e.class() {
        ErrorClass::Auth => exit::AUTH,
        ErrorClass::NotFound => exit::NOT_FOUND,
        ErrorClass::Conflict => exit::CONFLICT,
        ErrorClass::OperationFailed => exit::FAILED,
        ErrorClass::Transient => exit::UNAVAILABLE,
        ErrorClass::Other => exit::RUNTIME,
    };
    exit::with_code(code, anyhow::anyhow!("{e}"))
}

/// The output format: the flag, else a table on a terminal and JSON otherwise.
pub fn output(arm: &ArmArgs) -> ArmOutput {
    arm.output.unwrap_or(if io::stdout().is_terminal() {
        ArmOutput::Table
    } else {
        ArmOutput::Json
    })
}

/// Writes to stdout; a closed pipe (`nwcap list | head`) ends quietly.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

/// Pretty JSON plus a newline.
pub fn emit_json(v: &serde_json::Value) -> anyhow::Result<()> {
    emit(&format!(
        "{}\n",
        serde_json::to_string_pretty(v).expect("JSON values serialize")
    ))
}

/// `key: value` lines with the values aligned.
pub fn key_values(rows: &[(&str, String)]) -> String {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    rows.iter()
        .map(|(k, v)| format!("{:<w$} {v}\n", format!("{k}:")))
        .collect()
}

/// A table with a header row, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}

fn last_segment(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_string()
}

fn or_dash(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".to_string())
}

/// The list table.
pub fn capture_table(items: &[Fetched<PacketCaptureResult>]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|f| {
            let p = &f.value.properties;
            vec![
                f.value.name.clone(),
                or_dash(p.provisioning_state.as_deref()),
                last_segment(&p.parameters.target),
                or_dash(p.parameters.time_limit_in_seconds.map(|s| format!("{s} s"))),
                or_dash(
                    p.parameters
                        .storage_location
                        .storage_path
                        .as_deref()
                        .or(p.parameters.storage_location.file_path.as_deref())
                        .or(p.parameters.storage_location.local_path.as_deref()),
                ),
            ]
        })
        .collect();
    table(
        &["NAME", "PROVISIONING", "TARGET", "TIME LIMIT", "FILE"],
        &rows,
    )
}

/// The detail view of one capture.
pub fn capture_details(c: &PacketCaptureResult) -> String {
    let p = &c.properties.parameters;
    let s = &p.storage_location;
    let mut rows: Vec<(&str, String)> = vec![
        ("Name", c.name.clone()),
        ("Id", c.id.clone()),
        (
            "Provisioning",
            or_dash(c.properties.provisioning_state.as_deref()),
        ),
        (
            "Target",
            match &p.target_type {
                Some(t) => format!("{} ({t})", p.target),
                None => p.target.clone(),
            },
        ),
    ];
    if let Some(scope) = &p.scope {
        if let Some(i) = &scope.include {
            rows.push(("Include instances", i.join(", ")));
        }
        if let Some(e) = &scope.exclude {
            rows.push(("Exclude instances", e.join(", ")));
        }
    }
    rows.push((
        "Bytes per packet",
        or_dash(p.bytes_to_capture_per_packet.map(|b| {
            if b == 0 {
                "0 (whole packet)".to_string()
            } else {
                b.to_string()
            }
        })),
    ));
    rows.push(("Bytes per session", or_dash(p.total_bytes_per_session)));
    rows.push((
        "Time limit",
        or_dash(p.time_limit_in_seconds.map(|s| format!("{s} s"))),
    ));
    for (k, v) in [
        ("Storage account", &s.storage_id),
        ("Storage path", &s.storage_path),
        ("File path", &s.file_path),
        ("Local path", &s.local_path),
    ] {
        if let Some(v) = v {
            rows.push((k, v.clone()));
        }
    }
    if let Some(cc) = p.continuous_capture {
        rows.push(("Continuous", if cc { "yes" } else { "no" }.to_string()));
    }
    if let Some(cs) = &p.capture_settings {
        rows.push((
            "Ring buffer",
            format!(
                "{} files of {} bytes, session limit {}",
                or_dash(cs.file_count),
                or_dash(cs.file_size_in_bytes),
                or_dash(cs.session_time_limit_in_seconds.map(|s| format!("{s} s")))
            ),
        ));
    }
    let filters = p.filters.as_deref().unwrap_or(&[]);
    if filters.is_empty() {
        rows.push(("Filters", "none (all packets)".to_string()));
    }
    for f in filters {
        let parts: Vec<String> = [
            ("protocol", &f.protocol),
            ("localIPAddress", &f.local_ip_address),
            ("remoteIPAddress", &f.remote_ip_address),
            ("localPort", &f.local_port),
            ("remotePort", &f.remote_port),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
        rows.push(("Filter", parts.join(",")));
    }
    key_values(&rows)
}

/// The status view: state, stop reason and errors, each explained.
pub fn status_details(name: &str, s: &PacketCaptureQueryStatusResult) -> String {
    let status = s.packet_capture_status.as_deref().unwrap_or("Unknown");
    let mut rows: Vec<(&str, String)> = vec![
        (
            "Capture",
            s.name.clone().unwrap_or_else(|| name.to_string()),
        ),
        ("Status", format!("{status}: {}", explain_status(status))),
        ("Started", or_dash(s.capture_start_time.as_deref())),
    ];
    if status == "Stopped" || s.stop_reason.as_deref().is_some_and(|r| !r.is_empty()) {
        let r = s.stop_reason.as_deref().unwrap_or("");
        let shown = if r.is_empty() { "-" } else { r };
        rows.push((
            "Stop reason",
            format!("{shown}: {}", explain_stop_reason(r)),
        ));
    }
    if s.packet_capture_error.is_empty() {
        rows.push(("Errors", "none".to_string()));
    }
    for e in &s.packet_capture_error {
        rows.push(("Error", format!("{e}: {}", explain_error(e))));
    }
    key_values(&rows)
}
