//! ARM resource ids: parse what users paste, format what the REST API wants.
//!
//! Parsing is case-insensitive for the fixed segments (`subscriptions`, `resourceGroups`,
//! `providers`, types), as ARM is; formatting always uses the REST spec's casing. Names are
//! kept as given. Nothing here does I/O.

use std::fmt;

/// The default resource group Azure creates watchers in.
pub const DEFAULT_WATCHER_RESOURCE_GROUP: &str = "NetworkWatcherRG";

/// A resource id that does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{id}' is not {expected}")]
pub struct IdError {
    /// The input.
    pub id: String,
    /// What it should have been.
    pub expected: &'static str,
}

/// A generic ARM id: `/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{name}[/{type}/{name}...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceId {
    /// Subscription id.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// Provider namespace, e.g. `Microsoft.Compute`.
    pub namespace: String,
    /// `(type, name)` pairs, outermost first.
    pub types: Vec<(String, String)>,
}

impl ResourceId {
    /// Parses an ARM resource id (leading `/` required, trailing `/` tolerated).
    pub fn parse(id: &str, expected: &'static str) -> Result<Self, IdError> {
        let bad = || IdError {
            id: id.to_string(),
            expected,
        };
        let rest = id.trim().strip_prefix('/').ok_or_else(bad)?;
        let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        if segs.iter().any(|s| s.is_empty()) || segs.len() < 8 || !segs.len().is_multiple_of(2) {
            return Err(bad());
        }
        let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        if !eq(segs[0], "subscriptions")
            || !eq(segs[2], "resourceGroups")
            || !eq(segs[4], "providers")
        {
            return Err(bad());
        }
        let types = segs[6..]
            .chunks(2)
            .map(|c| (c[0].to_string(), c[1].to_string()))
            .collect();
        Ok(ResourceId {
            subscription: segs[1].to_string(),
            resource_group: segs[3].to_string(),
            namespace: segs[5].to_string(),
            types,
        })
    }

    /// `true` when the namespace and type chain match (case-insensitively), e.g.
    /// `is("Microsoft.Compute", &["virtualMachines"])`.
    pub fn is(&self, namespace: &str, types: &[&str]) -> bool {
        self.namespace.eq_ignore_ascii_case(namespace)
            && self.types.len() == types.len()
            && self
                .types
                .iter()
                .zip(types)
                .all(|((t, _), want)| t.eq_ignore_ascii_case(want))
    }

    /// The innermost resource's name.
    pub fn name(&self) -> &str {
        self.types.last().map(|(_, n)| n.as_str()).unwrap_or("")
    }
}

/// A Network Watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatcherId {
    /// Subscription id.
    pub subscription: String,
    /// The watcher's resource group (usually `NetworkWatcherRG`).
    pub resource_group: String,
    /// Watcher name (usually `NetworkWatcher_<region>`).
    pub name: String,
}

impl WatcherId {
    /// The default watcher of a region: `NetworkWatcher_<region>` in `NetworkWatcherRG`.
    /// `"West Europe"` and `westeurope` give the same name.
    pub fn default_watcher_name(location: &str) -> String {
        let region: String = location
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        format!("NetworkWatcher_{region}")
    }

    /// The REST path, in the spec's casing.
    pub fn path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/networkWatchers/{}",
            self.subscription, self.resource_group, self.name
        )
    }
}

impl fmt::Display for WatcherId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// A packet capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureId {
    /// Its watcher.
    pub watcher: WatcherId,
    /// Capture name.
    pub name: String,
}

impl CaptureId {
    /// Parses `/subscriptions/.../networkWatchers/{w}/packetCaptures/{name}`.
    pub fn parse(id: &str) -> Result<Self, IdError> {
        const EXPECTED: &str = "a packet capture id (/subscriptions/…/resourceGroups/…/providers/Microsoft.Network/networkWatchers/…/packetCaptures/…)";
        let r = ResourceId::parse(id, EXPECTED)?;
        if !r.is("Microsoft.Network", &["networkWatchers", "packetCaptures"]) {
            return Err(IdError {
                id: id.to_string(),
                expected: EXPECTED,
            });
        }
        Ok(CaptureId {
            watcher: WatcherId {
                subscription: r.subscription,
                resource_group: r.resource_group,
                name: r.types[0].1.clone(),
            },
            name: r.types[1].1.clone(),
        })
    }

    /// The REST path, in the spec's casing.
    pub fn path(&self) -> String {
        format!("{}/packetCaptures/{}", self.watcher.path(), self.name)
    }
}

impl fmt::Display for CaptureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Checks a name that goes into a URL path segment: ARM names never contain these, and
/// letting them through would address a different resource.
pub fn check_name(kind: &'static str, name: &str) -> Result<(), IdError> {
    let ok = !name.is_empty()
        && name.len() <= 260
        && !name
            .chars()
            .any(|c| matches!(c, '/' | '\\' | '?' | '#' | '%' | '&') || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(IdError {
            id: name.to_string(),
            expected: kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkWatchers/nw1/packetCaptures/pc1";

    #[test]
    fn capture_id_round_trip_and_case_insensitive() {
        let c = CaptureId::parse(ID).unwrap();
        assert_eq!(c.name, "pc1");
        assert_eq!(c.watcher.name, "nw1");
        assert_eq!(c.path(), ID);
        let lower = ID.to_lowercase().replace("pc1", "PC1");
        let c = CaptureId::parse(&lower).unwrap();
        assert_eq!(c.name, "PC1");
        assert!(c.path().contains("/resourceGroups/") && c.path().contains("/packetCaptures/"));
    }

    #[test]
    fn rejects_other_shapes() {
        assert!(CaptureId::parse("pc1").is_err());
        assert!(CaptureId::parse(
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm1"
        )
        .is_err());
        assert!(CaptureId::parse(&format!("{ID}/extra")).is_err());
        assert!(CaptureId::parse("/subscriptions//resourceGroups/g/providers/Microsoft.Network/networkWatchers/w/packetCaptures/p").is_err());
    }

    #[test]
    fn vm_and_vmss_ids() {
        let vm = ResourceId::parse(
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm1",
            "a VM id",
        )
        .unwrap();
        assert!(vm.is("microsoft.compute", &["virtualmachines"]));
        assert_eq!(vm.name(), "vm1");
        let inst = ResourceId::parse(
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/3",
            "x",
        )
        .unwrap();
        assert!(inst.is(
            "Microsoft.Compute",
            &["virtualMachineScaleSets", "virtualMachines"]
        ));
    }

    #[test]
    fn default_watcher() {
        assert_eq!(
            WatcherId::default_watcher_name("West Europe"),
            "NetworkWatcher_westeurope"
        );
    }

    #[test]
    fn names_with_path_characters_are_refused() {
        assert!(check_name("a capture name", "pc1").is_ok());
        assert!(check_name("a capture name", "a/b").is_err());
        assert!(check_name("a capture name", "a?b").is_err());
        assert!(check_name("a capture name", "").is_err());
    }
}
