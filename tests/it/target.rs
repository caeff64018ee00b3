//! Local addresses from the capture's target (issue 25): `analyze --capture` follows the
//! capture's target in the fake Resource Manager (VM -> NIC -> public IP, or scale-set
//! instances -> NICs, shaped as the spec's examples) and takes those addresses as local,
//! instead of guessing. A denied or missing lookup falls back to the guess, with a warning.

use serde_json::Value;

use crate::support::azurite::{self, Azurite};
use crate::support::fake_arm::{FakeArm, Fault};
use crate::support::{corpus, run};

const C: &str = "network-watcher-logs";

/// zeek__http-bro.org.pcap is one HTTP client, 10.0.2.15, fetching from 192.150.187.43:80
/// (tshark -z conv,tcp). Both are in every packet, so a guess would pick the lower address;
/// here the VM is the server.
fn setup() -> (Azurite, FakeArm) {
    let az = Azurite::with_container(C);
    let blob = "vm/packetcapture.cap";
    az.put_blob(
        C,
        blob,
        &std::fs::read(corpus("zeek__http-bro.org.pcap")).unwrap(),
    );
    let arm = FakeArm::start();
    arm.add_capture("pc", std::time::Duration::ZERO, false);
    arm.set_storage_path("pc", &format!("{}/{C}/{blob}", az.endpoint()));
    (az, arm)
}

fn analyze(arm: &FakeArm) -> (Value, String) {
    let r = run(arm
        .nwcap_cmd(&["analyze", "--capture", "pc", "-o", "json"])
        .args(["--sas", &azurite::account_sas()]));
    (r.ok().json(), r.stderr.clone())
}

#[test]
fn a_vms_interfaces_are_the_local_addresses() {
    // The NIC's private IPv4 and IPv6 addresses and its public IP, all local.
    let (_az, arm) = setup();
    let vm = arm.add_vm("web", &["192.150.187.43", "fd00::43"], Some("20.1.2.3"));
    arm.set_target("pc", &vm, None);
    let (j, _) = analyze(&arm);
    assert_eq!(j["local"]["source"], "target");
    assert_eq!(j["local"]["inferred"], false);
    // Each ipConfiguration's private address, with the public IP attached to it after it.
    assert_eq!(
        j["local"]["addresses"],
        serde_json::json!(["192.150.187.43", "20.1.2.3", "fd00::43"])
    );
    let flows = j["flows"].as_array().unwrap();
    assert!(!flows.is_empty());
    for f in flows {
        assert_eq!(f["local_ip"], "192.150.187.43", "{f}");
        assert_eq!(f["local_port"], 80, "{f}");
        assert_eq!(f["remote_ip"], "10.0.2.15", "{f}");
    }
    assert!(
        !j["summary"]["warnings"].to_string().contains("guess"),
        "{}",
        j["summary"]["warnings"]
    );
    // The lookups used each operation's api-version (the fake answers 400 otherwise).
    let log = arm.log();
    let nic = log
        .iter()
        .find(|r| r.path.contains("/networkInterfaces/"))
        .unwrap();
    assert!(
        nic.query.contains("api-version=2024-07-01"),
        "{}",
        nic.query
    );
}

#[test]
fn scale_set_instances_in_scope_are_local() {
    let (_az, arm) = setup();
    let ss = arm.add_vmss(
        "api",
        &[
            ("0", "192.150.187.43", None),
            ("1", "10.9.9.9", Some("20.9.9.9")),
            ("2", "10.8.8.8", None),
        ],
    );
    // Instances 0 and 1 only: 2 is not read.
    arm.set_target("pc", &ss, Some(serde_json::json!({"include": ["0", "1"]})));
    let (j, _) = analyze(&arm);
    assert_eq!(j["local"]["source"], "target");
    assert_eq!(
        j["local"]["addresses"],
        serde_json::json!(["192.150.187.43", "10.9.9.9", "20.9.9.9"])
    );
    assert!(arm
        .log()
        .iter()
        .all(|r| !r.path.contains("/virtualMachines/2/")));
    let nics = arm.log();
    let nic = nics
        .iter()
        .find(|r| r.path.ends_with("/virtualMachines/1/networkInterfaces"))
        .unwrap();
    assert!(
        nic.query.contains("api-version=2018-10-01"),
        "{}",
        nic.query
    );
    // No scope: every instance, from the scale set's instance list.
    arm.set_target("pc", &ss, None);
    let (j, _) = analyze(&arm);
    assert_eq!(
        j["local"]["addresses"].as_array().unwrap().len(),
        4,
        "{}",
        j["local"]
    );
}

#[test]
fn a_denied_or_missing_target_falls_back_to_the_guess_with_a_warning() {
    let (_az, arm) = setup();
    let vm = arm.add_vm("web", &["192.150.187.43"], None);
    arm.set_target("pc", &vm, None);
    arm.fault(Fault::arm(
        Some("GET"),
        "/virtualMachines/web",
        403,
        "AuthorizationFailed",
        "The client does not have authorization to perform action 'Microsoft.Compute/virtualMachines/read'.",
        1,
    ));
    let (j, stderr) = analyze(&arm);
    assert_eq!(j["local"]["source"], "inferred");
    assert_eq!(j["local"]["addresses"], serde_json::json!(["10.0.2.15"]));
    let w = j["summary"]["warnings"].to_string();
    assert!(
        w.contains("could not be read") && w.contains("AuthorizationFailed"),
        "{w}"
    );
    assert!(stderr.contains("could not be read"), "{stderr}");
    // A target that no longer exists: the same fallback.
    arm.set_target(
        "pc",
        "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachines/gone",
        None,
    );
    let (j, _) = analyze(&arm);
    assert_eq!(j["local"]["source"], "inferred");
    assert!(
        j["summary"]["warnings"].to_string().contains("404"),
        "{}",
        j["summary"]["warnings"]
    );
}
