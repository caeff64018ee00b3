//! `nwcap capture` end to end (issue 25): the fake Resource Manager runs the capture, and when
//! it stops, a fake VM agent uploads a capture file (a corpus file) to Azurite at the
//! capture's storagePath; nwcap then analyzes it with the target's addresses as local.
//!
//! zeek__http-bro.org.pcap: 751 packets (capinfos -c), one client 10.0.2.15 fetching from
//! 192.150.187.43:80. zeek__ssh.pcap: its client is 192.168.1.32 (tshark -z conv,tcp).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::azurite::{self, Azurite, ACCOUNT};
use crate::support::fake_arm::FakeArm;
use crate::support::{corpus, run};

const C: &str = "network-watcher-logs";
const ACCOUNT_ID: &str =
    "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Storage/storageAccounts/pcstore";

/// Azurite, and a fake ARM whose agent uploads `files` when a capture stops: one file at
/// the storagePath, or with several, `{path without .cap}/{i}.cap` (one per instance).
fn setup(files: &[&str]) -> (Azurite, FakeArm) {
    let az = Azurite::with_container(C);
    let arm = FakeArm::start();
    let port = az.port;
    let data: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(corpus(f)).unwrap())
        .collect();
    let agent = move |resource: &Value| {
        let path = resource["properties"]["storageLocation"]["storagePath"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let Some(at) = path.find(&format!("/{ACCOUNT}/")) else {
            return;
        };
        let blob_path = &path[at..];
        let put = |p: &str, d: &[u8]| {
            let (status, body) = azurite::http(
                "PUT",
                port,
                &format!("{p}?{}", azurite::account_sas()),
                &[("x-ms-blob-type", "BlockBlob")],
                d,
            );
            assert_eq!(status, 201, "agent upload: {body}");
        };
        if data.len() == 1 {
            put(blob_path, &data[0]);
        } else {
            let stem = blob_path.trim_end_matches(".cap");
            for (i, d) in data.iter().enumerate() {
                put(&format!("{stem}/{i}.cap"), d);
            }
        }
    };
    {
        let mut s = arm.state.lock().unwrap();
        s.agent = Some(Arc::new(agent));
        // Captures run until stopped (or until a test's own limit).
        s.run_for = Duration::from_secs(600);
    }
    (az, arm)
}

fn storage_path(az: &Azurite, name: &str) -> String {
    format!("{}/{C}/{name}.cap", az.endpoint())
}

/// `nwcap capture NAME --vm|--vmss TARGET ...` on the fake, with fast polling.
fn capture_cmd(arm: &FakeArm, az: &Azurite, name: &str, target: &[&str], more: &[&str]) -> Command {
    let path = storage_path(az, name);
    let mut args = vec!["capture", name];
    args.extend_from_slice(target);
    args.extend_from_slice(&["--storage-account", ACCOUNT_ID, "--storage-path", &path]);
    args.extend_from_slice(&["--interval", "100ms", "-o", "json"]);
    args.extend_from_slice(more);
    let mut cmd = arm.nwcap_cmd(&args);
    cmd.args(["--sas", &azurite::account_sas()]);
    cmd
}

fn requests(arm: &FakeArm, method: &str, tail: &str) -> usize {
    arm.log()
        .iter()
        .filter(|r| r.method == method && r.path.to_lowercase().ends_with(tail))
        .count()
}

#[test]
fn a_vm_capture_runs_stops_after_its_duration_and_is_analyzed_and_deleted() {
    let (az, arm) = setup(&["zeek__http-bro.org.pcap"]);
    let vm = arm.add_vm("web", &["192.150.187.43"], None);
    let t = Instant::now();
    let r = run(&mut capture_cmd(
        &arm,
        &az,
        "pc",
        &["--vm", &vm],
        &["--duration", "1s"],
    ));
    r.ok();
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "stopped before --duration"
    );
    let j = r.json();
    assert_eq!(j["summary"]["packets"], 751);
    assert_eq!(j["local"]["source"], "target");
    for f in j["flows"].as_array().unwrap() {
        assert_eq!(f["local_ip"], "192.150.187.43", "{f}");
    }
    // Created, stopped by nwcap, then deleted.
    assert_eq!(requests(&arm, "PUT", "/packetcaptures/pc"), 1);
    assert_eq!(requests(&arm, "POST", "/packetcaptures/pc/stop"), 1);
    assert_eq!(requests(&arm, "DELETE", "/packetcaptures/pc"), 1);
    assert!(!arm.has_capture("pc"));
    assert!(r.stderr.contains("started on VM web"), "{}", r.stderr);
}

#[test]
fn keep_and_download_leave_the_capture_and_its_file() {
    let (az, arm) = setup(&["zeek__http-bro.org.pcap"]);
    let vm = arm.add_vm("web", &["192.150.187.43"], None);
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("kept");
    let r = run(&mut capture_cmd(
        &arm,
        &az,
        "pc",
        &["--vm", &vm],
        &[
            "--duration",
            "300ms",
            "--keep",
            "--download",
            keep.to_str().unwrap(),
        ],
    ));
    r.ok();
    let j = r.json();
    assert_eq!(j["summary"]["packets"], 751);
    assert_eq!(j["local"]["source"], "target");
    assert_eq!(
        std::fs::read(keep.join("pc.cap")).unwrap(),
        std::fs::read(corpus("zeek__http-bro.org.pcap")).unwrap()
    );
    assert!(arm.has_capture("pc"), "--keep");
    assert_eq!(requests(&arm, "DELETE", "/packetcaptures/pc"), 0);
}

#[test]
fn a_scale_set_capture_analyzes_every_instances_file_with_their_addresses() {
    let (az, arm) = setup(&["zeek__ssh.pcap", "zeek__http-bro.org.pcap"]);
    let ss = arm.add_vmss(
        "api",
        &[("0", "192.168.1.32", None), ("1", "10.0.2.15", None)],
    );
    let r = run(&mut capture_cmd(
        &arm,
        &az,
        "ss",
        &["--vmss", &ss, "--include-instances", "0,1"],
        &["--duration", "200ms", "--delete-files"],
    ));
    r.ok();
    let j = r.json();
    assert_eq!(
        j["summary"]["files"].as_array().unwrap().len(),
        2,
        "{}",
        j["summary"]
    );
    assert_eq!(
        j["local"]["addresses"],
        serde_json::json!(["192.168.1.32", "10.0.2.15"])
    );
    // --delete-files: both blobs are gone after the analysis.
    for i in 0..2 {
        let (status, _) = azurite::http(
            "HEAD",
            az.port,
            &format!("/{ACCOUNT}/{C}/ss/{i}.cap?{}", azurite::account_sas()),
            &[],
            b"",
        );
        assert_eq!(status, 404, "blob {i} still there");
    }
}

#[test]
fn ctrl_c_stops_the_capture_and_the_report_still_comes() {
    let (az, arm) = setup(&["zeek__http-bro.org.pcap"]);
    let vm = arm.add_vm("web", &["192.150.187.43"], None);
    let child = capture_cmd(&arm, &az, "pc", &["--vm", &vm], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the capture is being watched, Ctrl-C (SIGINT).
    let t = Instant::now();
    while requests(&arm, "POST", "/packetcaptures/pc/querystatus") < 2 {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the capture never ran"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["summary"]["packets"], 751);
    assert_eq!(requests(&arm, "POST", "/packetcaptures/pc/stop"), 1);
    assert!(stderr.contains("Ctrl-C: stopping the capture"), "{stderr}");
    assert!(!arm.has_capture("pc"));
}

#[test]
fn a_capture_that_ends_in_error_gives_the_services_reason_and_no_report() {
    let (az, arm) = setup(&["zeek__http-bro.org.pcap"]);
    arm.state.lock().unwrap().run_for = Duration::from_millis(300);
    let vm = "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachines/vm-broken";
    let r = run(&mut capture_cmd(&arm, &az, "pc", &["--vm", vm], &[]));
    assert_eq!(r.code, 7, "{}", r.stderr);
    // Progress lines, then the failure, in one line.
    let last = r.stderr.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("nwcap: packet capture 'pc' ended in Error: AgentStopped"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(!arm.has_capture("pc"), "the resource is deleted");
}

#[test]
fn a_capture_needs_a_storage_account() {
    let arm = FakeArm::start();
    let r = run(&mut arm.nwcap_cmd(&[
        "capture",
        "pc",
        "--vm",
        "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachines/web",
        "--file-path",
        "/var/captures/pc.cap",
    ]));
    r.fails("no storage account", 2, "capture needs --storage-account");
    assert_eq!(requests(&arm, "PUT", "/packetcaptures/pc"), 0);
}

#[test]
fn a_denied_target_lookup_falls_back_to_the_guess_with_a_warning() {
    let (az, arm) = setup(&["zeek__http-bro.org.pcap"]);
    let vm = arm.add_vm("web", &["192.150.187.43"], None);
    arm.fault(crate::support::fake_arm::Fault::arm(
        Some("GET"),
        "/virtualMachines/web",
        403,
        "AuthorizationFailed",
        "The client does not have authorization to perform action 'Microsoft.Compute/virtualMachines/read'.",
        5,
    ));
    let r = run(&mut capture_cmd(
        &arm,
        &az,
        "pc",
        &["--vm", &vm],
        &["--duration", "200ms"],
    ));
    r.ok();
    let j = r.json();
    assert_eq!(j["local"]["source"], "inferred");
    let w = j["summary"]["warnings"].to_string();
    assert!(w.contains("could not be read") && w.contains("403"), "{w}");
}
