//! Network Watcher packet captures: the REST models (field names and casing exactly as the
//! spec's `PacketCapture*` definitions), the documented limits, and the six operations.
//!
//! Models serialize only the fields that are set, because the service treats an absent
//! `continuousCapture` differently from `false`. Responses are kept twice: typed, for
//! decisions, and as the raw JSON ARM sent, for `--output json`. Validation here never
//! talks to the network; the operations never print.

use azure_core::http::Method;
use serde::{Deserialize, Serialize};

use super::arm::{parse_json, ArmClient};
use super::resource_id::{CaptureId, WatcherId};
use super::{Error, Result};
use nwcap_analysis::filter::{FilterSet, FilterSpec};

/// `targetType` for a virtual machine.
pub const TARGET_VM: &str = "AzureVM";
/// `targetType` for a scale set.
pub const TARGET_VMSS: &str = "AzureVMSS";

/// PUT body: `PacketCapture`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PacketCapture {
    /// The capture's parameters.
    pub properties: PacketCaptureParameters,
}

/// `PacketCaptureParameters`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PacketCaptureParameters {
    /// Target VM, VMSS or VMSS instance id.
    #[serde(default)]
    pub target: String,
    /// VMSS instances to include/exclude.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<PacketCaptureMachineScope>,
    /// `AzureVM` or `AzureVMSS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    /// Snap length; 0 = whole packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_to_capture_per_packet: Option<u64>,
    /// Session ends after this many bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_bytes_per_session: Option<u64>,
    /// Session ends after this many seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_limit_in_seconds: Option<u64>,
    /// Where the file goes.
    #[serde(default)]
    pub storage_location: PacketCaptureStorageLocation,
    /// Filters, OR-ed; the analyzer's model, which has the spec's field names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<FilterSpec>>,
    /// Ring-buffer capture; absent unless asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuous_capture: Option<bool>,
    /// Ring-buffer settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_settings: Option<PacketCaptureSettings>,
}

/// `PacketCaptureMachineScope`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PacketCaptureMachineScope {
    /// Instances to capture on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    /// Instances to leave out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
}

/// `PacketCaptureStorageLocation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PacketCaptureStorageLocation {
    /// Storage account id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_id: Option<String>,
    /// Blob URL (filled in by the service).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_path: Option<String>,
    /// File on the VM (non-continuous capture).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    /// File on the VM (continuous capture).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_path: Option<String>,
}

/// `PacketCaptureSettings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PacketCaptureSettings {
    /// Number of files in the ring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_count: Option<u64>,
    /// Size of each file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size_in_bytes: Option<u64>,
    /// Session time limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_time_limit_in_seconds: Option<u64>,
}

/// `PacketCaptureResult` (GET, list item, PUT response).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PacketCaptureResult {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Resource id.
    #[serde(default)]
    pub id: String,
    /// ETag.
    pub etag: Option<String>,
    /// Properties.
    #[serde(default)]
    pub properties: PacketCaptureResultProperties,
}

/// `PacketCaptureResultProperties`: the parameters plus `provisioningState`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PacketCaptureResultProperties {
    /// ARM provisioning state (of the resource, not of the capture).
    pub provisioning_state: Option<String>,
    /// Everything the capture was created with.
    #[serde(flatten)]
    pub parameters: PacketCaptureParameters,
}

/// `PacketCaptureQueryStatusResult`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PacketCaptureQueryStatusResult {
    /// Name.
    pub name: Option<String>,
    /// Resource id.
    pub id: Option<String>,
    /// RFC 3339 start time.
    pub capture_start_time: Option<String>,
    /// `NotStarted`, `Running`, `Stopped`, `Error`, `Unknown` (open set).
    pub packet_capture_status: Option<String>,
    /// Free text, e.g. `TimeExceeded`.
    pub stop_reason: Option<String>,
    /// `InternalError`, `AgentStopped`, `CaptureFailed`, `LocalFileFailed`, `StorageFailed`.
    #[serde(default)]
    pub packet_capture_error: Vec<String>,
}

/// A response both typed and as ARM sent it.
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    /// Typed view.
    pub value: T,
    /// The JSON as received.
    pub raw: serde_json::Value,
}

/// A value outside what the service accepts. `field` is the spec's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    /// Spec field, e.g. `timeLimitInSeconds`, `filters[1].remotePort`.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Documented limits: `(spec field, max)`; every minimum is 0.
pub const LIMITS: &[(&str, u64, &str)] = &[
    (
        "bytesToCapturePerPacket",
        4_294_967_295,
        "bytes, 0 = whole packet",
    ),
    ("totalBytesPerSession", 4_294_967_295, "bytes"),
    ("timeLimitInSeconds", 18_000, "seconds, 5 h"),
    ("captureSettings.fileCount", 10_000, "files"),
    ("captureSettings.fileSizeInBytes", 4_294_967_295, "bytes"),
    (
        "captureSettings.sessionTimeLimitInSeconds",
        604_800,
        "seconds, 7 days",
    ),
];

fn check_limit(field: &str, v: Option<u64>) -> std::result::Result<(), Invalid> {
    let Some(v) = v else { return Ok(()) };
    let (_, max, unit) = LIMITS
        .iter()
        .find(|(f, _, _)| *f == field)
        .expect("every limited field is listed");
    if v > *max {
        return Err(invalid(
            field,
            format!("{v} is out of range: allowed 0..={max} ({unit})"),
        ));
    }
    Ok(())
}

impl PacketCaptureParameters {
    /// Checks everything the spec and the service document, before anything is sent.
    pub fn validate(&self) -> std::result::Result<(), Invalid> {
        check_limit("bytesToCapturePerPacket", self.bytes_to_capture_per_packet)?;
        check_limit("totalBytesPerSession", self.total_bytes_per_session)?;
        check_limit("timeLimitInSeconds", self.time_limit_in_seconds)?;
        if let Some(s) = &self.capture_settings {
            check_limit("captureSettings.fileCount", s.file_count)?;
            check_limit("captureSettings.fileSizeInBytes", s.file_size_in_bytes)?;
            check_limit(
                "captureSettings.sessionTimeLimitInSeconds",
                s.session_time_limit_in_seconds,
            )?;
        }
        self.validate_target()?;
        self.validate_storage()?;
        if let Some(filters) = &self.filters {
            validate_filters(filters)?;
        }
        Ok(())
    }

    fn validate_target(&self) -> std::result::Result<(), Invalid> {
        use super::resource_id::ResourceId;
        let id = ResourceId::parse(&self.target, "a VM or scale set resource id")
            .map_err(|e| invalid("target", e.to_string()))?;
        let vm = id.is("Microsoft.Compute", &["virtualMachines"]);
        let vmss = id.is("Microsoft.Compute", &["virtualMachineScaleSets"])
            || id.is(
                "Microsoft.Compute",
                &["virtualMachineScaleSets", "virtualMachines"],
            );
        match self.target_type.as_deref() {
            None | Some(TARGET_VM) if vm => {}
            Some(TARGET_VMSS) if vmss => {}
            Some(t) if t != TARGET_VM && t != TARGET_VMSS => {
                return Err(invalid(
                    "targetType",
                    format!("'{t}' is not AzureVM or AzureVMSS"),
                ))
            }
            _ => {
                return Err(invalid(
                    "target",
                    format!(
                        "'{}' is not a {}",
                        self.target,
                        match self.target_type.as_deref() {
                            Some(TARGET_VMSS) => "virtual machine scale set id (…/providers/Microsoft.Compute/virtualMachineScaleSets/NAME)",
                            _ => "virtual machine id (…/providers/Microsoft.Compute/virtualMachines/NAME)",
                        }
                    ),
                ))
            }
        }
        if self.scope.is_some() && self.target_type.as_deref() != Some(TARGET_VMSS) {
            return Err(invalid(
                "scope",
                "instance include/exclude lists apply to scale sets only",
            ));
        }
        Ok(())
    }

    fn validate_storage(&self) -> std::result::Result<(), Invalid> {
        use super::resource_id::ResourceId;
        let s = &self.storage_location;
        let continuous = self.continuous_capture.is_some();
        if let Some(id) = &s.storage_id {
            let r = ResourceId::parse(id, "a storage account resource id")
                .map_err(|e| invalid("storageLocation.storageId", e.to_string()))?;
            if !r.is("Microsoft.Storage", &["storageAccounts"]) {
                return Err(invalid(
                    "storageLocation.storageId",
                    format!("'{id}' is not a storage account id (…/providers/Microsoft.Storage/storageAccounts/NAME)"),
                ));
            }
        }
        if let Some(p) = &s.storage_path {
            match url::Url::parse(p) {
                Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
                _ => {
                    return Err(invalid(
                        "storageLocation.storagePath",
                        format!("'{p}' is not a blob URL"),
                    ))
                }
            }
        }
        if continuous && s.file_path.is_some() {
            return Err(invalid(
                "storageLocation.filePath",
                "not allowed with continuousCapture; use localPath",
            ));
        }
        if !continuous && s.local_path.is_some() {
            return Err(invalid(
                "storageLocation.localPath",
                "only used with continuousCapture; use filePath",
            ));
        }
        for (field, p) in [
            ("storageLocation.filePath", &s.file_path),
            ("storageLocation.localPath", &s.local_path),
        ] {
            let Some(p) = p else { continue };
            if !p.to_ascii_lowercase().ends_with(".cap") {
                return Err(invalid(field, format!("'{p}' must end in .cap")));
            }
            if p.starts_with('/') && !p.starts_with("/var/captures") {
                return Err(invalid(
                    field,
                    format!("'{p}': on Linux the file must be under /var/captures"),
                ));
            }
        }
        if s.storage_id.is_none() && s.file_path.is_none() && s.local_path.is_none() {
            return Err(invalid(
                "storageLocation",
                "needs a storage account (storageId) or a file on the VM (filePath/localPath)",
            ));
        }
        Ok(())
    }
}

/// Checks filters as the service will read them: values parse (the analyzer's parser), and
/// each field is one value, one range or a list, never ranges inside a list ("Multiple
/// ranges not currently supported. Mixing ranges with multiple entries not currently
/// supported." in the spec).
pub fn validate_filters(filters: &[FilterSpec]) -> std::result::Result<(), Invalid> {
    for (i, f) in filters.iter().enumerate() {
        let at = |name: &str| {
            if filters.len() == 1 {
                name.to_string()
            } else {
                format!("filters[{i}].{name}")
            }
        };
        FilterSet::compile(std::slice::from_ref(f))
            .map_err(|e| invalid(at("filter"), e.to_string()))?;
        if let Some(p) = &f.protocol {
            if canonical_protocol(p).is_none() {
                return Err(invalid(
                    at("protocol"),
                    format!("'{p}' is not TCP, UDP or Any"),
                ));
            }
        }
        for (name, value) in [
            ("localIPAddress", &f.local_ip_address),
            ("remoteIPAddress", &f.remote_ip_address),
            ("localPort", &f.local_port),
            ("remotePort", &f.remote_port),
        ] {
            let Some(v) = value else { continue };
            let parts: Vec<&str> = v
                .split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            if parts.len() > 1 && parts.iter().any(|p| p.contains('-')) {
                return Err(invalid(
                    at(name),
                    format!("'{v}': Network Watcher takes one value, one range a-b or a list a;b, not ranges inside a list; use one filter per range"),
                ));
            }
        }
    }
    Ok(())
}

/// The spec's spelling of a protocol (`TCP`, `UDP`, `Any`); `All` is the portal's word for `Any`.
pub fn canonical_protocol(p: &str) -> Option<&'static str> {
    match p.trim().to_ascii_lowercase().as_str() {
        "tcp" => Some("TCP"),
        "udp" => Some("UDP"),
        "any" | "all" => Some("Any"),
        _ => None,
    }
}

/// The six packet-capture operations on one ARM client.
#[derive(Debug, Clone, Copy)]
pub struct PacketCaptures<'a> {
    arm: &'a ArmClient,
}

impl<'a> PacketCaptures<'a> {
    /// Wraps an ARM client.
    pub fn new(arm: &'a ArmClient) -> Self {
        PacketCaptures { arm }
    }

    /// `PacketCaptures_Get`.
    pub async fn get(&self, id: &CaptureId) -> Result<Fetched<PacketCaptureResult>> {
        let ctx = format!("show packet capture '{}'", id.name);
        let r = self
            .arm
            .send(Method::Get, self.arm.url(&id.path())?, None, &ctx)
            .await
            .map_err(|e| missing(e, Some(id), &id.watcher))?;
        fetched(&r, &ctx)
    }

    /// `PacketCaptures_List`, following `nextLink` pages (2025-03-01 and later send them).
    pub async fn list(&self, watcher: &WatcherId) -> Result<Vec<Fetched<PacketCaptureResult>>> {
        let ctx = format!("list packet captures of watcher '{}'", watcher.name);
        let mut url = self
            .arm
            .url(&format!("{}/packetCaptures", watcher.path()))?;
        let mut out = Vec::new();
        for _page in 0..1000 {
            let r = self
                .arm
                .send(Method::Get, url.clone(), None, &ctx)
                .await
                .map_err(|e| missing(e, None, watcher))?;
            let page: serde_json::Value = parse_json(&r, &ctx)?;
            let items = page
                .get("value")
                .and_then(|v| v.as_array())
                .ok_or_else(|| Error::Malformed {
                    what: ctx.clone(),
                    detail: "no 'value' list in the response".into(),
                })?;
            for raw in items {
                let value = serde_json::from_value(raw.clone()).map_err(|e| Error::Malformed {
                    what: ctx.clone(),
                    detail: format!("a list item is not a packet capture: {e}"),
                })?;
                out.push(Fetched {
                    value,
                    raw: raw.clone(),
                });
            }
            match page.get("nextLink").and_then(|v| v.as_str()) {
                Some(next) if !next.is_empty() => {
                    url = self.arm.service_url(next, &format!("{ctx} (nextLink)"))?
                }
                _ => return Ok(out),
            }
        }
        Err(Error::Malformed {
            what: ctx,
            detail: "more than 1000 pages; the service keeps sending nextLink".into(),
        })
    }

    /// `PacketCaptures_Create`; with `wait`, returns once the service reports the capture
    /// started (`Succeeded` on `Azure-AsyncOperation`), as the resource's final GET.
    pub async fn create(
        &self,
        id: &CaptureId,
        body: &PacketCapture,
        wait: bool,
    ) -> Result<Fetched<PacketCaptureResult>> {
        let ctx = format!("start packet capture '{}'", id.name);
        let bytes = serde_json::to_vec(body).expect("models serialize");
        let r = self
            .arm
            .put_async(self.arm.url(&id.path())?, bytes, wait, &ctx)
            .await
            .map_err(|e| missing(e, None, &id.watcher))?;
        fetched(&r, &ctx)
    }

    /// `PacketCaptures_Stop`, waiting for the operation to finish.
    pub async fn stop(&self, id: &CaptureId) -> Result<()> {
        let ctx = format!("stop packet capture '{}'", id.name);
        let url = self.arm.url(&format!("{}/stop", id.path()))?;
        self.arm
            .send_location(Method::Post, url, &ctx)
            .await
            .map_err(|e| missing(e, Some(id), &id.watcher))?;
        Ok(())
    }

    /// `PacketCaptures_GetStatus` (POST `queryStatus`, final state via `Location`).
    pub async fn query_status(
        &self,
        id: &CaptureId,
    ) -> Result<Fetched<PacketCaptureQueryStatusResult>> {
        let ctx = format!("query status of packet capture '{}'", id.name);
        let url = self.arm.url(&format!("{}/queryStatus", id.path()))?;
        let r = self
            .arm
            .send_location(Method::Post, url, &ctx)
            .await
            .map_err(|e| missing(e, Some(id), &id.watcher))?;
        fetched(&r, &ctx)
    }

    /// `PacketCaptures_Delete`, waiting for the operation to finish.
    pub async fn delete(&self, id: &CaptureId) -> Result<()> {
        let ctx = format!("delete packet capture '{}'", id.name);
        self.arm
            .send_location(Method::Delete, self.arm.url(&id.path())?, &ctx)
            .await
            .map_err(|e| missing(e, Some(id), &id.watcher))?;
        Ok(())
    }
}

fn fetched<T: serde::de::DeserializeOwned>(r: &super::Response, ctx: &str) -> Result<Fetched<T>> {
    let raw: serde_json::Value = parse_json(r, ctx)?;
    let value = serde_json::from_value(raw.clone()).map_err(|e| Error::Malformed {
        what: ctx.to_string(),
        detail: format!("the JSON does not match the API's model: {e}"),
    })?;
    Ok(Fetched { value, raw })
}

/// For a 404, works out which level is missing from ARM's code and message: subscription,
/// resource group, watcher, or the capture itself.
fn missing(e: Error, capture: Option<&CaptureId>, watcher: &WatcherId) -> Error {
    let Error::Service(mut s) = e else { return e };
    if s.status != 404 {
        return Error::Service(s);
    }
    let code = s.code.clone().unwrap_or_default().to_ascii_lowercase();
    let msg = s.message.to_ascii_lowercase();
    let which = if code.contains("subscription") {
        format!("subscription '{}'", watcher.subscription)
    } else if code.contains("resourcegroup") {
        format!(
            "resource group '{}' (subscription {})",
            watcher.resource_group, watcher.subscription
        )
    } else if msg.contains("packetcapture") || msg.contains("packet capture") {
        match capture {
            Some(c) => format!("packet capture '{}' in watcher '{}'", c.name, watcher.name),
            None => "packet capture".to_string(),
        }
    } else if msg.contains("networkwatchers")
        || msg.contains("network watcher")
        || capture.is_none()
    {
        format!(
            "network watcher '{}' (resource group {})",
            watcher.name, watcher.resource_group
        )
    } else {
        format!(
            "packet capture '{}' in watcher '{}'",
            capture.map(|c| c.name.as_str()).unwrap_or(""),
            watcher.name
        )
    };
    s.missing = Some(which);
    Error::Service(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLES: &str = "tests/fixtures/spec/examples";

    fn example(name: &str) -> serde_json::Value {
        let p = format!("{}/{EXAMPLES}/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    fn vm_params() -> PacketCaptureParameters {
        PacketCaptureParameters {
            target: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm1".into(),
            storage_location: PacketCaptureStorageLocation {
                storage_id: Some("/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a".into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn spec_examples_round_trip() {
        let create = example("NetworkWatcherPacketCaptureCreate.json");
        let body = &create["parameters"]["parameters"];
        let model: PacketCapture = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(serde_json::to_value(&model).unwrap(), *body);
        let get = example("NetworkWatcherPacketCaptureGet.json");
        let r: PacketCaptureResult =
            serde_json::from_value(get["responses"]["200"]["body"].clone()).unwrap();
        assert_eq!(r.properties.provisioning_state.as_deref(), Some("Updating"));
        assert_eq!(r.properties.parameters.time_limit_in_seconds, Some(100));
        let st = example("NetworkWatcherPacketCaptureQueryStatus.json");
        let s: PacketCaptureQueryStatusResult =
            serde_json::from_value(st["responses"]["200"]["body"].clone()).unwrap();
        assert_eq!(s.stop_reason.as_deref(), Some("TimeExceeded"));
    }

    #[test]
    fn unset_fields_are_not_sent() {
        let v = serde_json::to_value(PacketCapture {
            properties: vm_params(),
        })
        .unwrap();
        let props = v["properties"].as_object().unwrap();
        assert!(!props.contains_key("continuousCapture"));
        assert!(!props.contains_key("filters"));
    }

    #[test]
    fn limits_name_field_and_range() {
        let mut p = vm_params();
        p.time_limit_in_seconds = Some(18_001);
        let e = p.validate().unwrap_err();
        assert_eq!(e.field, "timeLimitInSeconds");
        assert!(e.message.contains("0..=18000"), "{e}");
        p.time_limit_in_seconds = Some(18_000);
        p.bytes_to_capture_per_packet = Some(4_294_967_296);
        assert_eq!(p.validate().unwrap_err().field, "bytesToCapturePerPacket");
    }

    #[test]
    fn storage_rules() {
        let mut p = vm_params();
        p.storage_location = PacketCaptureStorageLocation {
            file_path: Some("/tmp/x.cap".into()),
            ..Default::default()
        };
        assert!(p.validate().unwrap_err().message.contains("/var/captures"));
        p.storage_location.file_path = Some("/var/captures/x.pcap".into());
        assert!(p.validate().unwrap_err().message.contains(".cap"));
        p.storage_location.file_path = Some("/var/captures/x.cap".into());
        assert!(p.validate().is_ok());
        p.continuous_capture = Some(true);
        assert!(p.validate().unwrap_err().message.contains("localPath"));
        p.storage_location = PacketCaptureStorageLocation::default();
        p.continuous_capture = None;
        assert_eq!(p.validate().unwrap_err().field, "storageLocation");
    }

    #[test]
    fn filter_notation_rules() {
        let f = |s: &str| FilterSpec::parse_kv(s).unwrap();
        assert!(validate_filters(&[f("remotePort=80;443;")]).is_ok());
        assert!(validate_filters(&[f("remotePort=80-90")]).is_ok());
        let e = validate_filters(&[f("remotePort=80-90;443")]).unwrap_err();
        assert_eq!(e.field, "remotePort");
        let e = validate_filters(&[
            f("protocol=TCP"),
            f("localIPAddress=10.0.0.1-10.0.0.5;10.0.0.9"),
        ])
        .unwrap_err();
        assert_eq!(e.field, "filters[1].localIPAddress");
        assert!(validate_filters(&[f("remoteIPAddress=1.1.1.1-255.255.255")]).is_err());
    }

    #[test]
    fn target_kinds() {
        let mut p = vm_params();
        p.target_type = Some(TARGET_VMSS.into());
        assert_eq!(p.validate().unwrap_err().field, "target");
        p.target = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachineScaleSets/ss".into();
        p.scope = Some(PacketCaptureMachineScope {
            include: Some(vec!["0".into()]),
            exclude: None,
        });
        assert!(p.validate().is_ok());
        p.target_type = Some(TARGET_VM.into());
        assert!(p.validate().is_err());
    }
}
