//! The fake Resource Manager's compute side: VMs, their network interfaces and public IPs,
//! and scale-set instances with theirs, made from the spec's examples
//! (`tests/fixtures/spec/vm-addresses/`, copied from `../shared/spec/vm-addresses/`) with
//! their ids and addresses replaced. Each is served at the api-version its operation has:
//! Compute and Network 2024-07-01, the scale-set-nested NICs and public IPs 2018-10-01.

use serde_json::{json, Value};

use super::fake_arm::FakeArm;

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/spec/vm-addresses/examples"
);

const COMPUTE: &str = "2024-07-01";
const NETWORK: &str = "2024-07-01";
const VMSS_NETWORK: &str = "2018-10-01";

fn example(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{EXAMPLES}/{name}")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["responses"]["200"]["body"].clone()
}

/// A NIC body from the spec's example, with one ipConfiguration per address, each with the
/// public IP `public` (an id) on the first.
fn nic(id: &str, private: &[&str], public: Option<&str>) -> Value {
    let mut nic = example("NetworkInterfaceGet.json");
    nic["id"] = json!(id);
    nic["name"] = json!(id.rsplit('/').next().unwrap());
    let template = nic["properties"]["ipConfigurations"][0].clone();
    let configs: Vec<Value> = private
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut c = template.clone();
            c["name"] = json!(format!("ipconfig{i}"));
            c["id"] = json!(format!("{id}/ipConfigurations/ipconfig{i}"));
            c["properties"]["privateIPAddress"] = json!(a);
            c["properties"]["privateIPAddressVersion"] =
                json!(if a.contains(':') { "IPv6" } else { "IPv4" });
            match (i, public) {
                (0, Some(p)) => c["properties"]["publicIPAddress"] = json!({"id": p}),
                _ => {
                    c["properties"]
                        .as_object_mut()
                        .unwrap()
                        .remove("publicIPAddress");
                }
            }
            c
        })
        .collect();
    nic["properties"]["ipConfigurations"] = json!(configs);
    nic
}

fn public_ip(id: &str, address: &str) -> Value {
    let mut ip = example("PublicIpAddressGet.json");
    ip["id"] = json!(id);
    ip["properties"]["ipAddress"] = json!(address);
    ip
}

impl FakeArm {
    fn put_resource(&self, path: &str, version: &str, body: Value) {
        self.state
            .lock()
            .unwrap()
            .resources
            .insert(path.to_lowercase(), (version.to_string(), body));
    }

    /// A VM `name` in subid/rg2 with one NIC holding `private` addresses (IPv4 or IPv6) and,
    /// when given, a public IP; returns its id.
    pub fn add_vm(&self, name: &str, private: &[&str], public: Option<&str>) -> String {
        let rg = "/subscriptions/subid/resourceGroups/rg2/providers";
        let id = format!("{rg}/Microsoft.Compute/virtualMachines/{name}");
        let nic_id = format!("{rg}/Microsoft.Network/networkInterfaces/{name}-nic");
        let pip_id = format!("{rg}/Microsoft.Network/publicIPAddresses/{name}-ip");
        let mut vm = example("VirtualMachine_Get.json");
        vm["id"] = json!(id);
        vm["name"] = json!(name);
        vm["properties"]["networkProfile"] =
            json!({"networkInterfaces": [{"id": nic_id, "properties": {"primary": true}}]});
        self.put_resource(&id, COMPUTE, vm);
        self.put_resource(
            &nic_id,
            NETWORK,
            nic(&nic_id, private, public.map(|_| pip_id.as_str())),
        );
        if let Some(p) = public {
            self.put_resource(&pip_id, NETWORK, public_ip(&pip_id, p));
        }
        id
    }

    /// A scale set `name` in subid/rg2 whose instances (id, private address, public address)
    /// have one NIC each; returns its id.
    pub fn add_vmss(&self, name: &str, instances: &[(&str, &str, Option<&str>)]) -> String {
        let id = format!(
            "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"
        );
        let mut list = example("VirtualMachineScaleSetVM_List_MinimumSet_Gen.json");
        let template = list["value"][0].clone();
        list["value"] = json!(instances
            .iter()
            .map(|(i, _, _)| {
                let mut vm = template.clone();
                vm["id"] = json!(format!("{id}/virtualMachines/{i}"));
                vm
            })
            .collect::<Vec<_>>());
        self.put_resource(&format!("{id}/virtualMachines"), COMPUTE, list);
        for (i, private, public) in instances {
            let nic_id = format!("{id}/virtualMachines/{i}/networkInterfaces/nic1");
            let pip_id = format!("{nic_id}/ipConfigurations/ipconfig0/publicIPAddresses/pub1");
            let mut nics = example("VmssVmNetworkInterfaceList.json");
            nics["value"] = json!([nic(&nic_id, &[private], public.map(|_| pip_id.as_str()))]);
            self.put_resource(
                &format!("{id}/virtualMachines/{i}/networkInterfaces"),
                VMSS_NETWORK,
                nics,
            );
            if let Some(p) = public {
                self.put_resource(&pip_id, VMSS_NETWORK, public_ip(&pip_id, p));
            }
        }
        id
    }
}
