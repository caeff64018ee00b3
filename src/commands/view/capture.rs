//! A capture resource for people: its target (VM, scale set and which instances), where its
//! file is (a blob, or a path on the VM), its limits and filters.

use super::{key_values, or_dash, table, tsv};
use crate::azure::packet_capture::{
    Fetched, PacketCaptureParameters, PacketCaptureResult, PacketCaptureStorageLocation,
    TARGET_VMSS,
};

/// `Some(v)` unless `v` is empty or blank: Resource Manager sends `""` for unset strings.
fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The non-empty, trimmed entries of an optional list.
fn entries(v: &Option<Vec<String>>) -> Vec<&str> {
    v.iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect()
}

/// What was captured: `VM vm1`, `VMSS ss1 (all)`, `VMSS ss1 (0, 1)`,
/// `VMSS ss1 (all except 2)`, or `VMSS ss1 instance 3` for one instance's id.
pub fn target(p: &PacketCaptureParameters) -> String {
    let segments: Vec<&str> = p.target.trim_end_matches('/').split('/').collect();
    let after = |key: &str| {
        segments
            .iter()
            .position(|s| s.eq_ignore_ascii_case(key))
            .and_then(|i| segments.get(i + 1).copied())
    };
    let last = segments.last().copied().unwrap_or_default();
    let scale_set = after("virtualMachineScaleSets");
    let is_vmss = scale_set.is_some() || p.target_type.as_deref() == Some(TARGET_VMSS);
    if !is_vmss {
        return format!("VM {last}");
    }
    let name = scale_set.unwrap_or(last);
    if let Some(instance) = scale_set.and(after("virtualMachines")) {
        return format!("VMSS {name} instance {instance}");
    }
    let scope = p.scope.as_ref();
    let include = scope.map(|s| entries(&s.include)).unwrap_or_default();
    let exclude = scope.map(|s| entries(&s.exclude)).unwrap_or_default();
    match (include.is_empty(), exclude.is_empty()) {
        (true, true) => format!("VMSS {name} (all)"),
        (false, true) => format!("VMSS {name} ({})", include.join(", ")),
        (true, false) => format!("VMSS {name} (all except {})", exclude.join(", ")),
        (false, false) => format!(
            "VMSS {name} ({} except {})",
            include.join(", "),
            exclude.join(", ")
        ),
    }
}

/// Where the file is: the blob URL, or `(on VM) PATH` for a file that stays on the VM.
pub fn file(s: &PacketCaptureStorageLocation) -> Option<String> {
    if let Some(path) = set(&s.storage_path) {
        return Some(path.to_string());
    }
    set(&s.file_path)
        .or(set(&s.local_path))
        .map(|p| format!("(on VM) {p}"))
}

fn row(c: &PacketCaptureResult) -> Vec<String> {
    let p = &c.properties;
    vec![
        c.name.clone(),
        or_dash(p.provisioning_state.as_deref()),
        target(&p.parameters),
        or_dash(p.parameters.time_limit_in_seconds.map(|s| format!("{s} s"))),
        or_dash(file(&p.parameters.storage_location)),
    ]
}

const HEADER: [&str; 5] = ["NAME", "PROVISIONING", "TARGET", "TIME LIMIT", "FILE"];

/// The list table.
pub fn list_table(items: &[Fetched<PacketCaptureResult>]) -> String {
    let rows: Vec<Vec<String>> = items.iter().map(|f| row(&f.value)).collect();
    table(&HEADER, &rows)
}

/// `-o tsv` of captures: the list table's columns (`-` for none), no header.
pub fn list_tsv<'a>(items: impl IntoIterator<Item = &'a PacketCaptureResult>) -> String {
    tsv(&items.into_iter().map(row).collect::<Vec<_>>())
}

/// The filter as `field=value,...` with only the fields that are set (`protocol=Any` is the
/// service's way of saying "not set"), or `all packets` when none is.
pub fn filter_text(f: &nwcap_analysis::filter::FilterSpec) -> String {
    let parts: Vec<String> = [
        ("protocol", &f.protocol),
        ("localIPAddress", &f.local_ip_address),
        ("remoteIPAddress", &f.remote_ip_address),
        ("localPort", &f.local_port),
        ("remotePort", &f.remote_port),
    ]
    .iter()
    .filter_map(|(k, v)| {
        set(v)
            .filter(|v| !(*k == "protocol" && v.eq_ignore_ascii_case("any")))
            .map(|v| format!("{k}={v}"))
    })
    .collect();
    if parts.is_empty() {
        "all packets".to_string()
    } else {
        parts.join(",")
    }
}

/// The detail view of one capture; fields that are not set are left out.
pub fn details(c: &PacketCaptureResult) -> String {
    let p = &c.properties.parameters;
    let s = &p.storage_location;
    let mut rows: Vec<(&str, String)> = vec![("Name", c.name.clone()), ("Id", c.id.clone())];
    if let Some(state) = set(&c.properties.provisioning_state) {
        rows.push(("Provisioning", state.to_string()));
    }
    rows.push(("Target", target(p)));
    rows.push(("Target id", p.target.clone()));
    if let Some(b) = p.bytes_to_capture_per_packet {
        let b = if b == 0 {
            "0 (whole packet)".to_string()
        } else {
            b.to_string()
        };
        rows.push(("Bytes per packet", b));
    }
    if let Some(b) = p.total_bytes_per_session {
        rows.push(("Bytes per session", b.to_string()));
    }
    if let Some(t) = p.time_limit_in_seconds {
        rows.push(("Time limit", format!("{t} s")));
    }
    for (k, v) in [
        ("Storage account", &s.storage_id),
        ("Storage path", &s.storage_path),
        ("File on VM", &s.file_path),
        ("Local path on VM", &s.local_path),
    ] {
        if let Some(v) = set(v) {
            rows.push((k, v.to_string()));
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
        rows.push(("Filter", filter_text(f)));
    }
    key_values(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: serde_json::Value) -> PacketCaptureParameters {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn targets_name_their_kind_and_scope() {
        let vm =
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm1";
        let ss =
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachineScaleSets/ss1";
        let t = |v| target(&params(v));
        let loc = json!({});
        assert_eq!(t(json!({"target": vm, "storageLocation": loc})), "VM vm1");
        assert_eq!(
            t(
                json!({"target": ss, "targetType": "AzureVMSS", "storageLocation": loc, "scope": {"include": [], "exclude": []}})
            ),
            "VMSS ss1 (all)"
        );
        assert_eq!(
            t(json!({"target": ss, "storageLocation": loc, "scope": {"include": ["0", "1"]}})),
            "VMSS ss1 (0, 1)"
        );
        assert_eq!(
            t(json!({"target": ss, "storageLocation": loc, "scope": {"exclude": ["2"]}})),
            "VMSS ss1 (all except 2)"
        );
        assert_eq!(
            t(json!({"target": format!("{ss}/virtualMachines/3"), "storageLocation": loc})),
            "VMSS ss1 instance 3"
        );
    }
}
