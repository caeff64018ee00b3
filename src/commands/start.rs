//! `nwcap start`: build a `PacketCapture` from flags, validate it, create it, and wait until
//! the service reports the capture started.

use super::analyze::filter_specs;
use super::arm_common::{capture, client, emit, emit_json, fail, output};
use super::view;
use crate::azure::packet_capture::{
    canonical_protocol, Fetched, Invalid, PacketCapture, PacketCaptureMachineScope,
    PacketCaptureParameters, PacketCaptureResult, PacketCaptureSettings,
    PacketCaptureStorageLocation, PacketCaptures, TARGET_VM, TARGET_VMSS,
};
use crate::azure::resource_id::CaptureId;
use crate::azure::ErrorClass;
use crate::cli::{ArmOutput, CaptureSpec, StartArgs};
use crate::exit;

/// Starts the capture and prints it as the service now describes it.
pub fn run(args: &StartArgs, verbose: u8) -> anyhow::Result<i32> {
    let id = capture(&args.capture, &args.arm)?;
    let body = PacketCapture {
        properties: parameters(&args.spec)?,
    };
    let arm = client(&args.arm, verbose)?;
    let pcs = PacketCaptures::new(&arm);
    let created = super::runtime()?.block_on(create(&pcs, &id, &body, !args.no_wait))?;
    match output(&args.arm) {
        ArmOutput::Json => emit_json(&created.raw)?,
        ArmOutput::Tsv => emit(&view::capture::list_tsv([&created.value]))?,
        ArmOutput::Table => emit(&view::capture::details(&created.value))?,
    }
    Ok(exit::OK)
}

/// Creates the capture, after checking that its name is free (ARM would answer a PUT on an
/// existing name with an update attempt the service refuses in its own words; asking first
/// gives one clear, documented answer). With `wait`, until the service reports it started.
pub async fn create(
    pcs: &PacketCaptures<'_>,
    id: &CaptureId,
    body: &PacketCapture,
    wait: bool,
) -> anyhow::Result<Fetched<PacketCaptureResult>> {
    match pcs.get(id).await {
        Ok(_) => {
            return Err(exit::with_code(
                exit::CONFLICT,
                anyhow::anyhow!(
                    "start packet capture '{}': a capture with this name already exists in watcher '{}'; delete it first (nwcap delete) or choose another name",
                    id.name,
                    id.watcher.name
                ),
            ))
        }
        Err(e)
            if e.class() == ErrorClass::NotFound
                && e.service()
                    .and_then(|s| s.missing.as_deref())
                    .is_some_and(|m| m.starts_with("packet capture")) => {}
        Err(e) => return Err(fail(e)),
    }
    pcs.create(id, body, wait).await.map_err(fail)
}

/// The request body from the flags, checked against every documented limit.
pub fn parameters(args: &CaptureSpec) -> anyhow::Result<PacketCaptureParameters> {
    let mut filters = filter_specs(&args.filter)?;
    for f in &mut filters {
        if let Some(p) = f.protocol.as_deref().and_then(canonical_protocol) {
            f.protocol = Some(p.to_string());
        }
    }
    let (target, target_type) = match (&args.vm, &args.vmss) {
        (Some(vm), _) => (vm.clone(), TARGET_VM),
        (None, Some(ss)) => (ss.clone(), TARGET_VMSS),
        (None, None) => return Err(exit::usage(anyhow::anyhow!("pass --vm or --vmss"))),
    };
    let list = |v: &Vec<String>| {
        let v: Vec<String> = v
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        (!v.is_empty()).then_some(v)
    };
    let scope = match (list(&args.include_instances), list(&args.exclude_instances)) {
        (None, None) => None,
        (include, exclude) => Some(PacketCaptureMachineScope { include, exclude }),
    };
    let continuous = args.continuous;
    let settings = PacketCaptureSettings {
        file_count: args.file_count,
        file_size_in_bytes: args.file_size,
        session_time_limit_in_seconds: args.session_time_limit,
    };
    let p = PacketCaptureParameters {
        target,
        scope,
        target_type: Some(target_type.to_string()),
        bytes_to_capture_per_packet: args.bytes_per_packet,
        total_bytes_per_session: args.bytes_per_session,
        time_limit_in_seconds: args.time_limit,
        storage_location: PacketCaptureStorageLocation {
            storage_id: args.storage_account.clone(),
            storage_path: args.storage_path.clone(),
            file_path: args.file_path.clone().filter(|_| !continuous),
            local_path: args.file_path.clone().filter(|_| continuous),
        },
        filters: (!filters.is_empty()).then_some(filters),
        continuous_capture: continuous.then_some(true),
        capture_settings: (settings != PacketCaptureSettings::default()).then_some(settings),
    };
    p.validate()
        .map_err(|e| exit::usage(anyhow::anyhow!("{}", explain(&e))))?;
    Ok(p)
}

/// Names the flag behind a spec field.
fn explain(e: &Invalid) -> String {
    let field = e.field.as_str();
    let leaf = field.rsplit('.').next().unwrap_or(field);
    let flag = match leaf {
        "bytesToCapturePerPacket" => "--bytes-per-packet",
        "totalBytesPerSession" => "--bytes-per-session",
        "timeLimitInSeconds" => "--time-limit",
        "fileCount" => "--file-count",
        "fileSizeInBytes" => "--file-size",
        "sessionTimeLimitInSeconds" => "--session-time-limit",
        "target" | "targetType" => "--vm/--vmss",
        "scope" => "--include-instances/--exclude-instances",
        "storageId" => "--storage-account",
        "storagePath" => "--storage-path",
        "filePath" | "localPath" => "--file-path",
        "storageLocation" => "--storage-account or --file-path",
        "protocol" => "--protocol",
        "localIPAddress" => "--local-ip",
        "remoteIPAddress" => "--remote-ip",
        "localPort" => "--local-port",
        "remotePort" => "--remote-port",
        _ => "filter",
    };
    if field.starts_with("filters[") || flag == "filter" {
        format!("filter {field}: {}", e.message)
    } else {
        format!("{flag}: {} ({field})", e.message)
    }
}
