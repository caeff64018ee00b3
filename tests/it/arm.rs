//! End-to-end tests of the Resource Manager commands: the real `nwcap` binary against a fake
//! ARM on 127.0.0.1 (`support::fake_arm`). Every run checks that no token appears on
//! stdout or stderr. The runs that fail are tables of [`Case`]s, each on a fake of its own.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::fake_arm::{FakeArm, Fault, Recorded, STORAGE_TOKEN, TOKEN};
use crate::support::{nwcap_cmd, run, Run};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/spec/examples");
const VM: &str =
    "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachines/vm1";
const VMSS: &str = "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachineScaleSets/ss";
const STORAGE: &str =
    "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Storage/storageAccounts/pcstore";

/// nwcap with `args` against `fake` (`--arm-endpoint` unless `args` name one), signed in with
/// `--auth token` and the tokens the fake accepts, in subscription subid.
fn arm_cmd(fake: &FakeArm, args: &[&str]) -> Command {
    let mut cmd = nwcap_cmd();
    cmd.args(args);
    let sub = args.first().copied().unwrap_or("");
    if !matches!(sub, "--help") && !args.contains(&"--arm-endpoint") {
        cmd.args(["--arm-endpoint", &fake.endpoint(), "--retry-delay", "1ms"]);
    }
    cmd.env("NWCAP_AUTH", "token")
        .env("NWCAP_ACCESS_TOKEN", TOKEN)
        .env("NWCAP_STORAGE_ACCESS_TOKEN", STORAGE_TOKEN)
        .env("AZURE_SUBSCRIPTION_ID", "subid")
        .env("RUST_BACKTRACE", "1");
    cmd
}

/// Runs nwcap against `fake` (see [`arm_cmd`]), in subid/rg1/nw1 unless `args` say otherwise.
fn nwcap(fake: &FakeArm, args: &[&str]) -> Run {
    nwcap_env(fake, args, &[])
}

/// [`nwcap`] with `env` set on top.
fn nwcap_env(fake: &FakeArm, args: &[&str], env: &[(&str, &str)]) -> Run {
    checked(arm_cmd(fake, args).envs(env.iter().copied()))
}

/// Runs `cmd`; no token (nor anything named secret) may appear on stdout or stderr.
fn checked(cmd: &mut Command) -> Run {
    let run = run(cmd);
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
    run
}

/// One run on a fake of its own: the faults it is given first, how nwcap is run, how it must
/// end and what it must say on stderr (one line, when it fails). The failure message names
/// the case.
struct Case<'a> {
    case: &'a str,
    faults: Vec<Fault>,
    args: Vec<&'a str>,
    env: Vec<(&'a str, &'a str)>,
    code: i32,
    says: Vec<&'a str>,
    /// Strings stderr must not hold (tokens are checked on every run anyway).
    hides: Vec<&'a str>,
    /// What the fake must have received.
    log: fn(&[Recorded]) -> bool,
    /// How long the run may take.
    within: Option<Duration>,
}

impl Default for Case<'_> {
    fn default() -> Self {
        Case {
            case: "",
            faults: vec![],
            args: vec![],
            env: vec![],
            code: 0,
            says: vec![],
            hides: vec![],
            log: |_| true,
            within: None,
        }
    }
}

/// Requests that must not reach the fake.
fn nothing_sent(log: &[Recorded]) -> bool {
    log.is_empty()
}

impl Case<'_> {
    fn check(self) {
        let c = self.case;
        let fake = FakeArm::start();
        for f in self.faults {
            fake.fault(f);
        }
        let t = Instant::now();
        let r = nwcap_env(&fake, &self.args, &self.env);
        let took = t.elapsed();
        assert_eq!(r.code, self.code, "{c}: {}", r.stderr);
        for s in &self.says {
            assert!(r.stderr.contains(s), "{c}: expected '{s}' in: {}", r.stderr);
        }
        for s in &self.hides {
            assert!(!r.stderr.contains(s), "{c}: '{s}' in: {}", r.stderr);
        }
        if self.code != 0 {
            assert_eq!(
                r.stderr.trim_end().lines().count(),
                1,
                "{c}: one line expected: {}",
                r.stderr
            );
        }
        let log = fake.log();
        assert!((self.log)(&log), "{c}: the fake received {log:#?}");
        if let Some(limit) = self.within {
            assert!(took < limit, "{c}: took {took:?}");
        }
    }
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
    let base = ["--vm", VM, "--storage-account", STORAGE];
    let invalid: &[(&[&str], &[&str])] = &[
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
    let mut cases: Vec<Case> = invalid
        .iter()
        .map(|(extra, says)| Case {
            case: extra[extra.len() - 2],
            args: args(&["start", "X"], &[&base[..], extra].concat()),
            code: 2,
            says: says.to_vec(),
            log: nothing_sent,
            ..Case::default()
        })
        .collect();
    cases.push(Case {
        case: "no storage",
        args: args(&["start", "X"], &["--vm", VM]),
        code: 2,
        says: vec!["--storage-account or --file-path"],
        log: nothing_sent,
        ..Case::default()
    });
    cases.push(Case {
        case: "a scale set given to --vm",
        args: args(
            &["start", "X"],
            &["--vm", VMSS, "--storage-account", STORAGE],
        ),
        code: 2,
        says: vec!["--vm/--vmss"],
        log: nothing_sent,
        ..Case::default()
    });
    for c in cases {
        c.check();
    }
}

#[test]
fn start_refusals_and_failures_report_what_the_service_said() {
    let busy = VM.replace("vm1", "vm-busy");
    let noagent = VM.replace("vm1", "vm-noagent");
    fn start<'a>(name: &'a str, vm: &'a str) -> Vec<&'a str> {
        args(
            &["start", name],
            &["--vm", vm, "--storage-account", STORAGE],
        )
    }
    let cases = [
        Case {
            case: "a capture of that name exists",
            args: start("pc1", VM),
            code: 6,
            says: vec!["already exists in watcher 'nw1'"],
            log: |log| log.iter().all(|r| r.method != "PUT"),
            ..Case::default()
        },
        Case {
            case: "another capture runs on the VM",
            args: start("new1", &busy),
            code: 6,
            says: vec![
                "conflict (HTTP 409 AnotherPacketCaptureInProgress): Another packet capture is already running",
                "request id req-",
            ],
            ..Case::default()
        },
        Case {
            case: "no Network Watcher agent",
            args: start("new1", &noagent),
            code: 7,
            says: vec![
                "operation Failed: AgentNotInstalled: The Network Watcher extension is not installed",
            ],
            ..Case::default()
        },
    ];
    for c in cases {
        c.check();
    }
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
            .contains("ended in Error: AgentStopped: the Network Watcher agent on the VM stopped"),
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
    for (a, says) in cases {
        Case {
            case: &a.join(" "),
            args: a.to_vec(),
            code: 5,
            says: vec![says],
            ..Case::default()
        }
        .check();
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
    let token = jwt(r#"{"upn":"alice@contoso.com","oid":"11111111-2222","exp":4102444800}"#);
    let expired = jwt(r#"{"upn":"bob@contoso.com","exp":1000}"#);
    let show = args(&["show", "pc1"], &[]);
    let cases = [
        Case {
            case: "a token the service rejects",
            args: show.clone(),
            env: vec![("NWCAP_ACCESS_TOKEN", &token)],
            code: 4,
            says: vec![
                "not authenticated (HTTP 401 InvalidAuthenticationToken)",
                "identity used: user alice@contoso.com, object id 11111111-2222 (via token from NWCAP_ACCESS_TOKEN)",
            ],
            hides: vec![&token],
            ..Case::default()
        },
        Case {
            case: "a missing role",
            faults: vec![Fault::arm(Some("GET"), "/packetCaptures/pc1", 403, "AuthorizationFailed",
                "The client 'alice@contoso.com' with object id '11111111-2222' does not have authorization to perform action 'Microsoft.Network/networkWatchers/packetCaptures/read' over scope '/subscriptions/subid' or the scope is invalid.", 1)],
            args: show.clone(),
            code: 4,
            says: vec!["missing permission: Microsoft.Network/networkWatchers/packetCaptures/read"],
            ..Case::default()
        },
        Case {
            case: "an empty token",
            args: show.clone(),
            env: vec![("NWCAP_ACCESS_TOKEN", "")],
            code: 4,
            says: vec!["NWCAP_ACCESS_TOKEN is empty or not set"],
            ..Case::default()
        },
        Case {
            case: "an expired token",
            args: show.clone(),
            env: vec![("NWCAP_ACCESS_TOKEN", &expired)],
            code: 4,
            says: vec!["has expired"],
            ..Case::default()
        },
    ];
    for c in cases {
        c.check();
    }
}

/// The next `method` request to a path holding `path` answered `status` with `body`.
fn answer(method: &'static str, path: &str, status: u16, body: &str) -> Fault {
    Fault {
        body: body.into(),
        ..Fault::arm(Some(method), path, status, "", "", 1)
    }
}

/// `status` with an ARM error body on every request to the captures, `times` times.
fn captures_fault(status: u16, code: &str, message: &str, times: u32) -> Fault {
    Fault::arm(None, "/packetCaptures", status, code, message, times)
}

/// The same with `Retry-After: 0`.
fn throttled(times: u32) -> Fault {
    Fault {
        retry_after: Some(0),
        ..captures_fault(429, "TooManyRequests", "Too many requests.", times)
    }
}

#[test]
fn throttling_and_server_errors_are_retried_then_reported() {
    let cases = [
        Case {
            case: "two 429s and a 503, then an answer",
            faults: vec![
                throttled(2),
                captures_fault(503, "ServiceUnavailable", "Try later.", 1),
            ],
            args: args(&["list"], &["--output", "json"]),
            code: 0,
            log: |log| log.len() == 4,
            ..Case::default()
        },
        Case {
            case: "429s past the retries",
            faults: vec![throttled(100)],
            args: args(&["list"], &["--max-retries", "3"]),
            code: 9,
            says: vec!["throttled by Azure Resource Manager, still after retries (HTTP 429 TooManyRequests)"],
            log: |log| log.len() == 4,
            ..Case::default()
        },
        Case {
            case: "500s past the retries",
            faults: vec![captures_fault(500, "InternalServerError", "Something broke.", 100)],
            args: args(&["show", "pc1"], &["--max-retries", "2"]),
            code: 9,
            says: vec!["Azure service error, still after retries (HTTP 500 InternalServerError): Something broke."],
            ..Case::default()
        },
    ];
    for c in cases {
        c.check();
    }
}

#[test]
fn malformed_responses_and_timeouts() {
    let cases = [
        Case {
            case: "JSON cut short",
            faults: vec![answer("GET", "/pc1", 200, "{\"name\": \"pc1\", ")],
            args: args(&["show", "pc1"], &[]),
            code: 1,
            says: vec!["unexpected response from show packet capture 'pc1': invalid JSON"],
            ..Case::default()
        },
        Case {
            case: "an HTML error page",
            faults: vec![answer("GET", "/pc1", 400, "<html>gateway</html>")],
            args: args(&["show", "pc1"], &[]),
            code: 1,
            says: vec!["request rejected (HTTP 400): <html>gateway</html>"],
            ..Case::default()
        },
        Case {
            case: "no answer",
            faults: vec![Fault {
                hang: true,
                ..Fault::arm(None, "/pc1", 200, "", "", 5)
            }],
            args: args(
                &["show", "pc1"],
                &["--http-timeout", "300ms", "--max-retries", "1"],
            ),
            code: 9,
            says: vec!["no answer from 127.0.0.1: timed out"],
            within: Some(Duration::from_secs(4)),
            ..Case::default()
        },
    ];
    for c in cases {
        c.check();
    }
}

#[test]
fn bearer_tokens_never_go_over_plain_http_to_other_hosts() {
    let cases = [
        Case {
            case: "a plain-http endpoint elsewhere",
            args: args(
                &["show", "pc1", "--arm-endpoint", "http://192.0.2.1:9"],
                &[],
            ),
            code: 1,
            says: vec!["refusing to send a bearer token to http://192.0.2.1:9/"],
            ..Case::default()
        },
        // A polling URL or nextLink on another host is not followed: the token would go there.
        Case {
            case: "a polling URL elsewhere",
            faults: vec![Fault {
                headers: vec![(
                    "Location".into(),
                    "https://evil.example/operationResults/1".into(),
                )],
                ..answer("POST", "/pc1/stop", 202, "")
            }],
            args: args(&["stop", "pc1"], &[]),
            code: 1,
            says: vec!["it points at https://evil.example/operationResults/1, not at the Resource Manager endpoint"],
            ..Case::default()
        },
        Case {
            case: "a nextLink elsewhere",
            faults: vec![answer(
                "GET",
                "/packetCaptures",
                200,
                &json!({"value": [], "nextLink": "http://localhost:1/next"}).to_string(),
            )],
            args: args(&["list"], &[]),
            code: 1,
            says: vec!["(nextLink)"],
            log: |log| log.iter().all(|r| !r.path.contains("next")),
            ..Case::default()
        },
    ];
    for c in cases {
        c.check();
    }
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

    // No --arm-endpoint: the environment says where Resource Manager is.
    let r = checked(
        nwcap_cmd()
            .args(["show", "pc1", "-g", "rg1", "-w", "nw1", "--output", "json"])
            .env("AZURE_RESOURCE_MANAGER_ENDPOINT", fake.endpoint())
            .env("AZURE_SUBSCRIPTION_ID", "subid")
            .env("NWCAP_AUTH", "token")
            .env("NWCAP_ACCESS_TOKEN", TOKEN),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn usage_errors_for_missing_target() {
    let cases = [
        Case {
            case: "no subscription",
            args: vec!["show", "pc1", "-g", "rg1", "-w", "nw1"],
            env: vec![("AZURE_SUBSCRIPTION_ID", "")],
            code: 2,
            says: vec!["no subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID"],
            log: nothing_sent,
            ..Case::default()
        },
        Case {
            case: "no watcher",
            args: vec!["show", "pc1"],
            code: 2,
            says: vec!["--location"],
            log: nothing_sent,
            ..Case::default()
        },
        Case {
            case: "a broken resource id",
            args: vec!["show", "/subscriptions/x/bad"],
            code: 2,
            log: nothing_sent,
            ..Case::default()
        },
        Case {
            case: "a name with a slash",
            args: args(&["show", "a/b"], &[]),
            code: 2,
            log: nothing_sent,
            ..Case::default()
        },
    ];
    for c in cases {
        c.check();
    }
}

#[test]
fn credential_chain_failures_are_reported_together() {
    let empty = tempfile::tempdir().unwrap();
    let path = empty.path().to_str().unwrap();
    let cases = [
        Case {
            case: "auto, nothing to sign in with",
            args: args(&["show", "pc1"], &["--auth", "auto"]),
            env: vec![("PATH", path)],
            code: 4,
            says: vec![
                "service principal",
                "workload identity",
                "managed identity",
                "Azure CLI",
                "Azure Developer CLI",
                "AZURE_TENANT_ID is not set",
            ],
            log: nothing_sent,
            ..Case::default()
        },
        Case {
            case: "env, no secret",
            args: args(&["show", "pc1"], &["--auth", "env"]),
            env: vec![
                ("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000"),
                ("AZURE_CLIENT_ID", "app"),
            ],
            code: 4,
            says: vec!["AZURE_CLIENT_SECRET is not set"],
            log: nothing_sent,
            ..Case::default()
        },
    ];
    for c in cases {
        c.check();
    }
}
