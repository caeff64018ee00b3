//! End-to-end tests of the Resource Manager commands: the real `nwcap` binary against a fake
//! ARM on 127.0.0.1 (`support::fake_arm`). Every run checks that no token appears on
//! stdout or stderr.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::fake_arm::{FakeArm, Fault, Recorded, STORAGE_TOKEN, TOKEN};
use serde_json::{json, Value};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/spec/examples");
const VM: &str =
    "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachines/vm1";
const VMSS: &str = "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachineScaleSets/ss";
const STORAGE: &str =
    "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Storage/storageAccounts/pcstore";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Runs nwcap with `--auth token` against `fake`, in subid/rg1/nw1 unless `args` say otherwise.
fn nwcap(fake: &FakeArm, args: &[&str]) -> Run {
    nwcap_env(fake, args, &[])
}

fn nwcap_env(fake: &FakeArm, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nwcap"));
    cmd.args(args);
    let sub = args.first().copied().unwrap_or("");
    if !matches!(sub, "--help") && !args.contains(&"--arm-endpoint") {
        cmd.args(["--arm-endpoint", &fake.endpoint(), "--retry-delay", "1ms"]);
    }
    for v in [
        "AZURE_SUBSCRIPTION_ID",
        "AZURE_RESOURCE_MANAGER_ENDPOINT",
        "NWCAP_AUTH",
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("NWCAP_AUTH", "token")
        .env("NWCAP_ACCESS_TOKEN", TOKEN)
        .env("NWCAP_STORAGE_ACCESS_TOKEN", STORAGE_TOKEN)
        .env("AZURE_SUBSCRIPTION_ID", "subid")
        .env("RUST_BACKTRACE", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run nwcap");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for secret in [TOKEN, STORAGE_TOKEN, "secret"] {
        assert!(
            !run.stdout.contains(secret),
            "secret on stdout: {}",
            run.stdout
        );
        assert!(
            !run.stderr.contains(secret),
            "secret on stderr: {}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    assert!(
        !run.stderr.contains("stack backtrace"),
        "backtrace: {}",
        run.stderr
    );
    run
}

fn example(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{SPEC}/{name}")).unwrap()).unwrap()
}

const W: [&str; 4] = ["-g", "rg1", "-w", "nw1"];

fn args<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    head.iter()
        .chain(W.iter())
        .chain(tail.iter())
        .copied()
        .collect()
}

fn arm_requests(log: &[Recorded]) -> impl Iterator<Item = &Recorded> {
    log.iter().filter(|r| !r.path.starts_with("/blob"))
}

fn assert_all_authorized(fake: &FakeArm) {
    let log = fake.log();
    assert!(!log.is_empty());
    for r in arm_requests(&log) {
        assert_eq!(
            r.auth.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{} {}",
            r.method,
            r.path
        );
        assert!(
            r.query.contains("api-version="),
            "{} {}?{}",
            r.method,
            r.path,
            r.query
        );
    }
}

#[test]
fn list_follows_next_link_and_returns_arm_resources() {
    let fake = FakeArm::start();
    fake.state.lock().unwrap().page_size = 1;
    let r = nwcap(&fake, &args(&["list"], &["--output", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let expected =
        &example("NetworkWatcherPacketCapturesList.json")["responses"]["200"]["body"]["value"];
    assert_eq!(&r.json(), expected);
    let gets: Vec<_> = fake
        .log()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert_eq!(gets.len(), 2, "two pages");
    assert!(gets[1].query.contains("skiptoken=1"));
    assert!(gets[0].query.contains("api-version=2024-05-01"));
    assert_all_authorized(&fake);

    let r = nwcap(&fake, &args(&["list"], &["--output", "table"]));
    assert_eq!(r.code, 0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("NAME") && lines[0].contains("PROVISIONING"));
    assert!(
        lines[1].starts_with("pc1") && lines[1].contains("Updating") && lines[1].contains("vm1")
    );
    assert!(lines[2].starts_with("pc2") && lines[2].contains("pc2.cap"));
}

#[test]
fn location_selects_default_watcher() {
    let fake = FakeArm::start();
    let r = nwcap(
        &fake,
        &["list", "--location", "West Europe", "--output", "table"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r
        .stdout
        .contains("No packet captures in watcher NetworkWatcher_westeurope"));
    let log = fake.log();
    assert!(log[0].path.ends_with("/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope/packetCaptures"), "{}", log[0].path);
}

#[test]
fn show_by_name_and_by_id() {
    let fake = FakeArm::start();
    let r = nwcap(&fake, &args(&["show", "pc1"], &["--output", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.json(),
        example("NetworkWatcherPacketCaptureGet.json")["responses"]["200"]["body"]
    );

    let id = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkWatchers/nw1/packetCaptures/pc1";
    let r = nwcap_env(
        &fake,
        &["show", id, "--output", "table"],
        &[("AZURE_SUBSCRIPTION_ID", "")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("Time limit:") && r.stdout.contains("100 s"),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("protocol=TCP,localIPAddress=10.0.0.4,localPort=80"));
    assert!(r.stdout.contains(r"D:\capture\pc1.cap"));
    assert_all_authorized(&fake);
}

#[test]
fn status_polls_location_and_explains() {
    let fake = FakeArm::start();
    let r = nwcap(&fake, &args(&["status", "pc1"], &["--output", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.json(),
        example("NetworkWatcherPacketCaptureQueryStatus.json")["responses"]["200"]["body"]
    );
    let log = fake.log();
    assert_eq!(log[0].method, "POST");
    assert!(log[0].path.ends_with("/packetCaptures/pc1/queryStatus"));
    assert_eq!(log[0].status, 202);
    assert!(log[1].path.contains("/operationResults/") && log[1].status == 202);
    assert_eq!(log.last().unwrap().status, 200);

    let r = nwcap(&fake, &args(&["status", "pc1"], &["--output", "table"]));
    assert!(
        r.stdout.contains("Stopped: the capture has ended"),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("TimeExceeded: the time limit (timeLimitInSeconds) was reached"));
    assert!(r.stdout.contains("Errors:") && r.stdout.contains("none"));
}

fn put_body(fake: &FakeArm) -> Value {
    let log = fake.log();
    let put = log.iter().rev().find(|r| r.method == "PUT").expect("a PUT");
    serde_json::from_str(&put.body).unwrap()
}

#[test]
fn start_vm_sends_a_spec_valid_body_and_waits_for_the_async_operation() {
    let fake = FakeArm::start();
    fake.fault(Fault {
        retry_after: Some(0),
        ..Fault::arm(
            Some("PUT"),
            "/packetCaptures/TestCapture",
            429,
            "TooManyRequests",
            "slow down",
            1,
        )
    });
    let r = nwcap(
        &fake,
        &args(
            &["start", "TestCapture"],
            &[
                "--vm",
                VM,
                "--storage-account",
                STORAGE,
                "--remote-port",
                "443",
                "--protocol",
                "tcp",
                "--time-limit",
                "600",
                "--bytes-per-packet",
                "0",
                "--bytes-per-session",
                "1073741824",
                "--output",
                "json",
            ],
        ),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = r.json();
    assert_eq!(out["name"], "TestCapture");
    assert_eq!(out["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        put_body(&fake),
        json!({"properties": {
            "target": VM, "targetType": "AzureVM",
            "bytesToCapturePerPacket": 0, "totalBytesPerSession": 1073741824, "timeLimitInSeconds": 600,
            "storageLocation": {"storageId": STORAGE},
            "filters": [{"protocol": "TCP", "remotePort": "443"}],
        }})
    );
    let log = fake.log();
    let puts: Vec<_> = log
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.status)
        .collect();
    assert_eq!(puts, vec![429, 201], "the 429 was retried");
    assert!(
        log.iter()
            .any(|r| r.path.contains("/operations/") && r.body.is_empty()),
        "Azure-AsyncOperation polled"
    );
    assert_all_authorized(&fake);
}

#[test]
fn start_vmss_continuous_capture() {
    let fake = FakeArm::start();
    let r = nwcap(
        &fake,
        &args(
            &["start", "ScaleSetCapture"],
            &[
                "--vmss",
                VMSS,
                "--include-instances",
                "0,1",
                "--file-count",
                "10",
                "--file-size",
                "104857600",
                "--continuous",
                "--storage-account",
                STORAGE,
                "--file-path",
                "/var/captures/ss.cap",
                "--filter",
                "protocol=UDP,remotePort=53",
                "--filter",
                "remoteIPAddress=10.0.0.1-10.0.0.9",
                "--output",
                "table",
            ],
        ),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("ScaleSetCapture") && r.stdout.contains("Continuous:"),
        "{}",
        r.stdout
    );
    let p = &put_body(&fake)["properties"];
    assert_eq!(p["targetType"], "AzureVMSS");
    assert_eq!(p["scope"], json!({"include": ["0", "1"]}));
    assert_eq!(p["continuousCapture"], true);
    assert_eq!(
        p["captureSettings"],
        json!({"fileCount": 10, "fileSizeInBytes": 104857600})
    );
    assert_eq!(
        p["storageLocation"],
        json!({"storageId": STORAGE, "localPath": "/var/captures/ss.cap"})
    );
    assert_eq!(
        p["filters"],
        json!([{"protocol": "UDP", "remotePort": "53"}, {"remoteIPAddress": "10.0.0.1-10.0.0.9"}])
    );
}

#[test]
fn start_validates_before_sending() {
    let fake = FakeArm::start();
    let base = ["--vm", VM, "--storage-account", STORAGE];
    let cases: &[(&[&str], &[&str])] = &[
        (&["--time-limit", "18001"], &["--time-limit", "0..=18000"]),
        (
            &["--bytes-per-packet", "4294967296"],
            &["--bytes-per-packet", "0..=4294967295"],
        ),
        (
            &["--bytes-per-session", "99999999999"],
            &["--bytes-per-session", "0..=4294967295"],
        ),
        (
            &["--continuous", "--file-count", "10001"],
            &["--file-count", "0..=10000"],
        ),
        (
            &["--continuous", "--session-time-limit", "604801"],
            &["--session-time-limit", "0..=604800"],
        ),
        (
            &["--remote-port", "80-90;443"],
            &["--remote-port", "not ranges inside a list"],
        ),
        (
            &["--remote-ip", "1.1.1.1-255.255.255"],
            &["remoteIPAddress"],
        ),
        (&["--protocol", "ICMP"], &["protocol"]),
        (
            &["--file-path", "/tmp/x.cap"],
            &["--file-path", "/var/captures"],
        ),
    ];
    for (extra, expect) in cases {
        let mut a = args(&["start", "X"], &base);
        a.extend_from_slice(extra);
        let r = nwcap(&fake, &a);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        for e in *expect {
            assert!(
                r.stderr.contains(e),
                "{extra:?}: expected '{e}' in: {}",
                r.stderr
            );
        }
        assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {}", r.stderr);
    }
    let r = nwcap(&fake, &args(&["start", "X"], &["--vm", VM]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--storage-account or --file-path"),
        "{}",
        r.stderr
    );
    let r = nwcap(
        &fake,
        &args(
            &["start", "X"],
            &["--vm", VMSS, "--storage-account", STORAGE],
        ),
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--vm/--vmss"), "{}", r.stderr);
    assert!(
        fake.log().is_empty(),
        "nothing may be sent: {:?}",
        fake.log()
    );
}

#[test]
fn start_conflicts() {
    let fake = FakeArm::start();
    let r = nwcap(
        &fake,
        &args(
            &["start", "pc1"],
            &["--vm", VM, "--storage-account", STORAGE],
        ),
    );
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("already exists in watcher 'nw1'"),
        "{}",
        r.stderr
    );
    assert!(fake.log().iter().all(|r| r.method != "PUT"));

    let busy = VM.replace("vm1", "vm-busy");
    let r = nwcap(
        &fake,
        &args(
            &["start", "new1"],
            &["--vm", &busy, "--storage-account", STORAGE],
        ),
    );
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("conflict (HTTP 409 AnotherPacketCaptureInProgress): Another packet capture is already running"), "{}", r.stderr);
    assert!(r.stderr.contains("request id req-"), "{}", r.stderr);
}

#[test]
fn start_operation_failed_reports_service_error() {
    let fake = FakeArm::start();
    let vm = VM.replace("vm1", "vm-noagent");
    let r = nwcap(
        &fake,
        &args(
            &["start", "new1"],
            &["--vm", &vm, "--storage-account", STORAGE],
        ),
    );
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "operation Failed: AgentNotInstalled: The Network Watcher extension is not installed"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn stop_polls_location_then_status_is_stopped() {
    let fake = FakeArm::start();
    fake.add_capture("running1", Duration::from_secs(600), false);
    let r = nwcap(&fake, &args(&["status", "running1"], &["--output", "json"]));
    assert_eq!(r.json()["packetCaptureStatus"], "Running");
    let r = nwcap(&fake, &args(&["stop", "running1"], &["--output", "table"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Stopped packet capture 'running1'"));
    let log = fake.log();
    let stop = log
        .iter()
        .position(|r| r.path.ends_with("/running1/stop"))
        .unwrap();
    assert_eq!(log[stop].status, 202);
    assert!(log[stop + 1].path.contains("/operationResults/"));
    let r = nwcap(&fake, &args(&["status", "running1"], &["--output", "json"]));
    assert_eq!(r.json()["packetCaptureStatus"], "Stopped");
}

#[test]
fn wait_exit_codes_say_how_the_capture_ended() {
    let fake = FakeArm::start();
    fake.add_capture("short", Duration::from_millis(300), false);
    fake.add_capture("broken", Duration::from_millis(100), true);
    fake.add_capture("long", Duration::from_secs(600), false);

    let t = Instant::now();
    let r = nwcap(
        &fake,
        &args(
            &["wait", "short"],
            &[
                "--interval",
                "100ms",
                "--timeout",
                "10s",
                "--output",
                "json",
            ],
        ),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["stopReason"], "TimeExceeded");
    assert!(
        r.stderr.contains("short: Running") && r.stderr.contains("short: Stopped"),
        "{}",
        r.stderr
    );
    assert!(t.elapsed() < Duration::from_secs(5));

    let r = nwcap(
        &fake,
        &args(
            &["wait", "broken"],
            &["--interval", "100ms", "--output", "table"],
        ),
    );
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("ended in Error: AgentStopped (the Network Watcher agent on the VM stopped"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("Error: the capture failed"),
        "{}",
        r.stdout
    );

    let r = nwcap(
        &fake,
        &args(
            &["wait", "long"],
            &["--interval", "100ms", "--timeout", "300ms"],
        ),
    );
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(r.stderr.contains("still Running after"), "{}", r.stderr);
}

#[test]
fn delete_with_and_without_files() {
    let fake = FakeArm::start();
    fake.add_capture("keepfile", Duration::ZERO, false);
    fake.add_capture("dropfile", Duration::ZERO, false);

    let r = nwcap(
        &fake,
        &args(&["delete", "keepfile"], &["--output", "table"]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!fake.has_capture("keepfile"));
    assert!(fake
        .state
        .lock()
        .unwrap()
        .blobs
        .contains("/blob/pcstore/network-watcher-logs/keepfile.cap"));
    let log = fake.log();
    let del = log.iter().position(|r| r.method == "DELETE").unwrap();
    assert_eq!(log[del].status, 202);
    assert!(log[del + 1].path.contains("/operationResults/"));

    let r = nwcap(
        &fake,
        &args(
            &["delete", "dropfile", "--delete-files"],
            &["--output", "json"],
        ),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["fileDeleted"], true);
    assert!(!fake
        .state
        .lock()
        .unwrap()
        .blobs
        .contains("/blob/pcstore/network-watcher-logs/dropfile.cap"));
    let log = fake.log();
    let blob = log.iter().find(|r| r.path.starts_with("/blob")).unwrap();
    assert_eq!(blob.method, "DELETE");
    assert_eq!(
        blob.auth.as_deref(),
        Some(format!("Bearer {STORAGE_TOKEN}").as_str())
    );
    assert!(blob.headers.contains_key("x-ms-version"));
    assert_all_authorized(&fake);

    let r = nwcap(&fake, &args(&["show", "dropfile"], &[]));
    assert_eq!(r.code, 5);
}

#[test]
fn not_found_says_which_level_is_missing() {
    let fake = FakeArm::start();
    let cases: &[(&[&str], &str)] = &[
        (
            &["show", "pc1", "-s", "other", "-g", "rg1", "-w", "nw1"],
            "subscription 'other' not found",
        ),
        (
            &["show", "pc1", "-g", "nope", "-w", "nw1"],
            "resource group 'nope' (subscription subid) not found",
        ),
        (
            &["show", "pc1", "-g", "rg1", "-w", "nope"],
            "network watcher 'nope' (resource group rg1) not found",
        ),
        (
            &["show", "nope", "-g", "rg1", "-w", "nw1"],
            "packet capture 'nope' in watcher 'nw1' not found",
        ),
        (
            &["list", "-g", "rg1", "-w", "nope"],
            "network watcher 'nope'",
        ),
        (
            &["stop", "nope", "-g", "rg1", "-w", "nw1"],
            "packet capture 'nope'",
        ),
    ];
    for (a, expect) in cases {
        let r = nwcap(&fake, a);
        assert_eq!(r.code, 5, "{a:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(expect),
            "{a:?}: expected '{expect}' in {}",
            r.stderr
        );
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
}

fn jwt(claims: &str) -> String {
    use base64::Engine;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.secretsignature",
        e.encode(r#"{"alg":"RS256"}"#),
        e.encode(claims)
    )
}

#[test]
fn authentication_and_authorization_failures() {
    let fake = FakeArm::start();
    let token = jwt(r#"{"upn":"alice@contoso.com","oid":"11111111-2222","exp":4102444800}"#);
    let r = nwcap_env(
        &fake,
        &args(&["show", "pc1"], &[]),
        &[("NWCAP_ACCESS_TOKEN", &token)],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("not authenticated (HTTP 401 InvalidAuthenticationToken)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("identity used: user alice@contoso.com, object id 11111111-2222 (via token from NWCAP_ACCESS_TOKEN)"), "{}", r.stderr);
    assert!(!r.stderr.contains(&token));

    fake.fault(Fault::arm(Some("GET"), "/packetCaptures/pc1", 403, "AuthorizationFailed",
        "The client 'alice@contoso.com' with object id '11111111-2222' does not have authorization to perform action 'Microsoft.Network/networkWatchers/packetCaptures/read' over scope '/subscriptions/subid' or the scope is invalid.", 1));
    let r = nwcap(&fake, &args(&["show", "pc1"], &[]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("missing permission: Microsoft.Network/networkWatchers/packetCaptures/read"),
        "{}",
        r.stderr
    );

    let r = nwcap_env(
        &fake,
        &args(&["show", "pc1"], &[]),
        &[("NWCAP_ACCESS_TOKEN", "")],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("NWCAP_ACCESS_TOKEN is empty or not set"),
        "{}",
        r.stderr
    );

    let expired = jwt(r#"{"upn":"bob@contoso.com","exp":1000}"#);
    let r = nwcap_env(
        &fake,
        &args(&["show", "pc1"], &[]),
        &[("NWCAP_ACCESS_TOKEN", &expired)],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("has expired"), "{}", r.stderr);
}

#[test]
fn throttling_and_server_errors_are_retried_then_reported() {
    let fake = FakeArm::start();
    fake.fault(Fault {
        retry_after: Some(0),
        ..Fault::arm(
            None,
            "/packetCaptures",
            429,
            "TooManyRequests",
            "Too many requests.",
            2,
        )
    });
    fake.fault(Fault::arm(
        None,
        "/packetCaptures",
        503,
        "ServiceUnavailable",
        "Try later.",
        1,
    ));
    let r = nwcap(&fake, &args(&["list"], &["--output", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fake.log().len(), 4);

    let fake = FakeArm::start();
    fake.fault(Fault {
        retry_after: Some(0),
        ..Fault::arm(
            None,
            "/packetCaptures",
            429,
            "TooManyRequests",
            "Too many requests.",
            100,
        )
    });
    let r = nwcap(&fake, &args(&["list"], &["--max-retries", "3"]));
    assert_eq!(r.code, 9, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "throttled by Azure Resource Manager, still after retries (HTTP 429 TooManyRequests)"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(fake.log().len(), 4);

    let fake = FakeArm::start();
    fake.fault(Fault::arm(
        None,
        "/packetCaptures",
        500,
        "InternalServerError",
        "Something broke.",
        100,
    ));
    let r = nwcap(&fake, &args(&["show", "pc1"], &["--max-retries", "2"]));
    assert_eq!(r.code, 9, "{}", r.stderr);
    assert!(r.stderr.contains("Azure service error, still after retries (HTTP 500 InternalServerError): Something broke."), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1);
}

#[test]
fn malformed_responses_and_timeouts() {
    let fake = FakeArm::start();
    fake.fault(Fault {
        body: "{\"name\": \"pc1\", ".into(),
        ..Fault::arm(Some("GET"), "/pc1", 200, "", "", 1)
    });
    let r = nwcap(&fake, &args(&["show", "pc1"], &[]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("unexpected response from show packet capture 'pc1': invalid JSON"),
        "{}",
        r.stderr
    );

    fake.fault(Fault {
        body: "<html>gateway</html>".into(),
        ..Fault::arm(Some("GET"), "/pc1", 400, "", "", 1)
    });
    let r = nwcap(&fake, &args(&["show", "pc1"], &[]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("request rejected (HTTP 400): <html>gateway</html>"),
        "{}",
        r.stderr
    );

    fake.fault(Fault {
        hang: true,
        ..Fault::arm(None, "/pc1", 200, "", "", 5)
    });
    let t = Instant::now();
    let r = nwcap(
        &fake,
        &args(
            &["show", "pc1"],
            &["--http-timeout", "300ms", "--max-retries", "1"],
        ),
    );
    assert_eq!(r.code, 9, "{}", r.stderr);
    assert!(
        r.stderr.contains("no answer from 127.0.0.1: timed out"),
        "{}",
        r.stderr
    );
    assert!(t.elapsed() < Duration::from_secs(4));
}

#[test]
fn bearer_tokens_never_go_over_plain_http_to_other_hosts() {
    let fake = FakeArm::start();
    let r = nwcap(
        &fake,
        &args(
            &["show", "pc1", "--arm-endpoint", "http://192.0.2.1:9"],
            &[],
        ),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("refusing to send a bearer token to http://192.0.2.1:9/"),
        "{}",
        r.stderr
    );

    // A polling URL or nextLink on another host is not followed: the token would go there.
    fake.fault(Fault {
        body: String::new(),
        headers: vec![(
            "Location".into(),
            "https://evil.example/operationResults/1".into(),
        )],
        ..Fault::arm(Some("POST"), "/pc1/stop", 202, "", "", 1)
    });
    let r = nwcap(&fake, &args(&["stop", "pc1"], &[]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("it points at https://evil.example/operationResults/1, not at the Resource Manager endpoint"), "{}", r.stderr);
    fake.fault(Fault {
        body: json!({"value": [], "nextLink": "http://localhost:1/next"}).to_string(),
        ..Fault::arm(Some("GET"), "/packetCaptures", 200, "", "", 1)
    });
    let r = nwcap(&fake, &args(&["list"], &[]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("(nextLink)"), "{}", r.stderr);
    assert!(fake.log().iter().all(|r| !r.path.contains("next")));
}

#[test]
fn verbose_logs_requests_without_secrets() {
    let fake = FakeArm::start();
    let r = nwcap(
        &fake,
        &args(&["-v", "status", "pc1"], &["--output", "json"]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("-> POST http://127.0.0.1"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("<- 202"), "{}", r.stderr);
    assert!(!r.stderr.to_lowercase().contains("bearer"));

    fake.fault(Fault::arm(
        None,
        "/pc1",
        401,
        "InvalidAuthenticationToken",
        "bad",
        1,
    ));
    let r = nwcap(&fake, &args(&["-v", "show", "pc1"], &[]));
    assert_eq!(r.code, 4);
}

#[test]
fn api_version_and_endpoint_come_from_flags_or_environment() {
    let fake = FakeArm::start();
    let r = nwcap(
        &fake,
        &args(
            &["show", "pc1"],
            &["--api-version", "2025-03-01", "--output", "json"],
        ),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(fake.log()[0].query.contains("api-version=2025-03-01"));

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nwcap"));
    let out = cmd
        .args(["show", "pc1", "-g", "rg1", "-w", "nw1", "--output", "json"])
        .env("AZURE_RESOURCE_MANAGER_ENDPOINT", fake.endpoint())
        .env("AZURE_SUBSCRIPTION_ID", "subid")
        .env("NWCAP_AUTH", "token")
        .env("NWCAP_ACCESS_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn usage_errors_for_missing_target() {
    let fake = FakeArm::start();
    let r = nwcap_env(
        &fake,
        &["show", "pc1", "-g", "rg1", "-w", "nw1"],
        &[("AZURE_SUBSCRIPTION_ID", "")],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("no subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID"),
        "{}",
        r.stderr
    );
    let r = nwcap(&fake, &["show", "pc1"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--location"), "{}", r.stderr);
    let r = nwcap(&fake, &["show", "/subscriptions/x/bad"]);
    assert_eq!(r.code, 2);
    let r = nwcap(&fake, &args(&["show", "a/b"], &[]));
    assert_eq!(r.code, 2);
    assert!(fake.log().is_empty());
}

#[test]
fn credential_chain_failures_are_reported_together() {
    let fake = FakeArm::start();
    let empty = tempfile::tempdir().unwrap();
    let path = empty.path().to_str().unwrap();
    let r = nwcap_env(
        &fake,
        &args(&["show", "pc1"], &["--auth", "auto"]),
        &[("PATH", path)],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    for source in [
        "service principal",
        "workload identity",
        "managed identity",
        "Azure CLI",
        "Azure Developer CLI",
    ] {
        assert!(r.stderr.contains(source), "{source} missing: {}", r.stderr);
    }
    assert!(
        r.stderr.contains("AZURE_TENANT_ID is not set"),
        "{}",
        r.stderr
    );

    let r = nwcap_env(
        &fake,
        &args(&["show", "pc1"], &["--auth", "env"]),
        &[
            ("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000"),
            ("AZURE_CLIENT_ID", "app"),
        ],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("AZURE_CLIENT_SECRET is not set"),
        "{}",
        r.stderr
    );
    assert!(fake.log().is_empty(), "no request without a token");
}
