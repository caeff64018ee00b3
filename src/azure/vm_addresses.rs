//! The addresses of a packet capture's target, from Resource Manager: a VM's network
//! interfaces (every ipConfiguration's private IPv4 and IPv6 address, and the public IP
//! attached to it), or the same for each scale-set instance. The call chain and its
//! api-versions follow `spec/vm-addresses` (see its SOURCE.md): Compute and Network
//! 2024-07-01, and the scale-set-nested NIC and public IP operations, which the Compute
//! provider serves, with a Compute-era version.
//!
//! It reads resources only; what the addresses mean for a capture is the caller's.

use std::net::IpAddr;

use serde::Deserialize;

use super::arm::{parse_json, ArmClient};
use super::packet_capture::PacketCaptureMachineScope;
use super::Result;
use azure_core::http::Method;

/// Microsoft.Compute api-version for VMs, scale sets and their instances.
pub const COMPUTE_API: &str = "2024-07-01";
/// Microsoft.Network api-version for network interfaces and public IPs.
pub const NETWORK_API: &str = "2024-07-01";
/// The api-version of the scale-set-nested NIC and public IP operations: the Compute provider
/// serves them, and answers `NoRegisteredProviderFound` to a Network version.
pub const VMSS_NETWORK_API: &str = "2018-10-01";

/// The addresses of one machine: the VM, or one scale-set instance (`instance` set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The scale-set instance id (`"0"`), `None` for a VM.
    pub instance: Option<String>,
    /// Every address of its network interfaces, private and public, IPv4 and IPv6.
    pub addresses: Vec<IpAddr>,
}

#[derive(Debug, Deserialize)]
struct Resource<P> {
    properties: Option<P>,
}

#[derive(Debug, Deserialize)]
struct List<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(rename = "nextLink")]
    next_link: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Id {
    id: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct VmProperties {
    network_profile: Option<NetworkProfile>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NetworkProfile {
    #[serde(default)]
    network_interfaces: Vec<Id>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Nic {
    properties: Option<NicProperties>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NicProperties {
    #[serde(default)]
    ip_configurations: Vec<Resource<IpConfiguration>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct IpConfiguration {
    #[serde(rename = "privateIPAddress")]
    private_ip_address: Option<String>,
    #[serde(rename = "publicIPAddress")]
    public_ip_address: Option<Id>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PublicIp {
    ip_address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VmssVm {
    instance_id: Option<String>,
    /// `…/virtualMachines/{instanceId}`: the instance id when `instanceId` is left out (as in
    /// the spec's minimal list example).
    id: Option<String>,
}

/// An address as ARM writes it; `privateIPAddress` may carry a prefix length
/// (`172.20.2.16/28`).
fn address(text: &str) -> Option<IpAddr> {
    text.split('/').next()?.trim().parse().ok()
}

/// The machines a capture targets: the VM, or the scale set's instances in `scope` (all of
/// them when it includes none, less those it excludes), each with its addresses.
pub async fn target_machines(
    arm: &ArmClient,
    target: &str,
    scope: Option<&PacketCaptureMachineScope>,
) -> Result<Vec<Machine>> {
    let target = target.trim().trim_end_matches('/');
    let lower = target.to_ascii_lowercase();
    if !lower.contains("/virtualmachinescalesets/") {
        let addresses = vm_addresses(arm, target).await?;
        return Ok(vec![Machine {
            instance: None,
            addresses,
        }]);
    }
    // One instance's id (`…/virtualMachineScaleSets/ss/virtualMachines/3`) targets that one.
    if let Some(i) = lower.rfind("/virtualmachines/") {
        if lower[..i].contains("/virtualmachinescalesets/") {
            let instance = target[i + "/virtualmachines/".len()..].to_string();
            let addresses = instance_addresses(arm, &target[..i], &instance).await?;
            return Ok(vec![Machine {
                instance: Some(instance),
                addresses,
            }]);
        }
    }
    let list = |v: Option<&Vec<String>>| -> Vec<String> {
        v.into_iter()
            .flatten()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let include = list(scope.and_then(|s| s.include.as_ref()));
    let exclude = list(scope.and_then(|s| s.exclude.as_ref()));
    let instances = if include.is_empty() {
        scale_set_instances(arm, target).await?
    } else {
        include
    };
    let mut machines = Vec::new();
    for instance in instances.into_iter().filter(|i| !exclude.contains(i)) {
        let addresses = instance_addresses(arm, target, &instance).await?;
        machines.push(Machine {
            instance: Some(instance),
            addresses,
        });
    }
    Ok(machines)
}

async fn get<T: serde::de::DeserializeOwned>(
    arm: &ArmClient,
    path: &str,
    api_version: &str,
    what: &str,
) -> Result<T> {
    let url = arm.url_with_version(path, api_version)?;
    let r = arm.send(Method::Get, url, None, what).await?;
    parse_json(&r, what)
}

/// Every page of a list.
async fn get_all<T: serde::de::DeserializeOwned>(
    arm: &ArmClient,
    path: &str,
    api_version: &str,
    what: &str,
) -> Result<Vec<T>> {
    let mut url = arm.url_with_version(path, api_version)?;
    let mut out = Vec::new();
    loop {
        let r = arm.send(Method::Get, url, None, what).await?;
        let page: List<T> = parse_json(&r, what)?;
        out.extend(page.value);
        match page.next_link.filter(|l| !l.is_empty()) {
            Some(next) => url = arm.service_url(&next, &format!("{what} (nextLink)"))?,
            None => return Ok(out),
        }
    }
}

async fn vm_addresses(arm: &ArmClient, vm: &str) -> Result<Vec<IpAddr>> {
    let what = format!("read the network interfaces of VM {}", last(vm));
    let vm: Resource<VmProperties> = get(arm, vm, COMPUTE_API, &what).await?;
    let nics = vm
        .properties
        .and_then(|p| p.network_profile)
        .map(|n| n.network_interfaces)
        .unwrap_or_default();
    let mut addresses = Vec::new();
    for nic in nics.into_iter().filter_map(|n| n.id) {
        let what = format!("read network interface {}", last(&nic));
        let nic: Nic = get(arm, &nic, NETWORK_API, &what).await?;
        nic_addresses(arm, nic, NETWORK_API, &mut addresses).await?;
    }
    Ok(addresses)
}

async fn scale_set_instances(arm: &ArmClient, scale_set: &str) -> Result<Vec<String>> {
    let what = format!("list the instances of scale set {}", last(scale_set));
    let vms: Vec<VmssVm> = get_all(
        arm,
        &format!("{scale_set}/virtualMachines"),
        COMPUTE_API,
        &what,
    )
    .await?;
    Ok(vms
        .into_iter()
        .filter_map(|v| {
            v.instance_id
                .or_else(|| v.id.map(|id| last(&id).to_string()))
        })
        .collect())
}

async fn instance_addresses(
    arm: &ArmClient,
    scale_set: &str,
    instance: &str,
) -> Result<Vec<IpAddr>> {
    let what = format!(
        "read the network interfaces of scale-set instance {}/{instance}",
        last(scale_set)
    );
    let nics: Vec<Nic> = get_all(
        arm,
        &format!("{scale_set}/virtualMachines/{instance}/networkInterfaces"),
        VMSS_NETWORK_API,
        &what,
    )
    .await?;
    let mut addresses = Vec::new();
    for nic in nics {
        nic_addresses(arm, nic, VMSS_NETWORK_API, &mut addresses).await?;
    }
    Ok(addresses)
}

/// A NIC's private addresses, and the addresses of the public IPs attached to it (read with
/// `public_api`: a scale-set instance's public IPs are nested resources, read as they are).
async fn nic_addresses(
    arm: &ArmClient,
    nic: Nic,
    public_api: &str,
    out: &mut Vec<IpAddr>,
) -> Result<()> {
    for config in nic
        .properties
        .map(|p| p.ip_configurations)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.properties)
    {
        if let Some(a) = config.private_ip_address.as_deref().and_then(address) {
            push(out, a);
        }
        if let Some(id) = config.public_ip_address.and_then(|p| p.id) {
            let what = format!("read public IP {}", last(&id));
            let ip: Resource<PublicIp> = get(arm, &id, public_api, &what).await?;
            // An unallocated dynamic public IP has no address yet.
            if let Some(a) = ip
                .properties
                .and_then(|p| p.ip_address)
                .as_deref()
                .and_then(address)
            {
                push(out, a);
            }
        }
    }
    Ok(())
}

fn push(out: &mut Vec<IpAddr>, a: IpAddr) {
    if !out.contains(&a) {
        out.push(a);
    }
}

fn last(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_lose_their_prefix_length() {
        assert_eq!(address("172.20.2.16/28"), "172.20.2.16".parse().ok());
        assert_eq!(address("fd00::4"), "fd00::4".parse().ok());
        assert_eq!(address(""), None);
    }
}
