//! What the Resource Manager commands show for the shapes real watchers hold (issue 22,
//! items 12–17 and 20): files kept on the VM, scale-set scopes, empty strings for unset
//! fields, captures stopped with errors or by hand, ARM's key order, `-o tsv`, and who chose
//! a polling interval. The resources are in `tests/fixtures/arm/recorded-captures.json`.

use serde_json::Value;

use crate::support::fake_arm::{FakeArm, Fault};
use crate::support::run;

fn recorded() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/arm/recorded-captures.json"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["value"].as_array().unwrap().clone()
}

/// A fake watcher holding only the recorded captures, `vm-local` stopped with `errors`.
fn fake(reason: &str, errors: &[&str]) -> FakeArm {
    let arm = FakeArm::start();
    for r in recorded() {
        let local = r["name"] == "vm-local";
        arm.add_resource(
            r,
            if local { reason } else { "TimeExceeded" },
            if local { errors } else { &[] },
        );
    }
    arm
}

fn row<'a>(table: &'a str, name: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no row {name} in:\n{table}"))
}

#[test]
fn list_table_shows_files_on_the_vm_and_what_was_captured() {
    let arm = fake("TimeExceeded", &[]);
    let r = run(&mut arm.nwcap_cmd(&["list", "-o", "table"]));
    r.ok();
    let t = &r.stdout;
    assert!(
        row(t, "vm-local").ends_with(r"(on VM) C:\tmp\Capture.cap"),
        "{t}"
    );
    assert!(row(t, "vm-local").contains("VM web-vm"), "{t}");
    assert!(
        row(t, "ring").ends_with("(on VM) /var/captures/ring.cap"),
        "{t}"
    );
    // Two captures of one scale set that differ only in scope can be told apart.
    assert!(row(t, "ss-two").contains("VMSS api-ss (0, 1)"), "{t}");
    assert!(
        row(t, "ss-rest").contains("VMSS api-ss (all except 2)"),
        "{t}"
    );
    assert!(t.lines().all(|l| !l.ends_with(' ')), "{t}");
}

#[test]
fn list_tsv_is_the_rows_without_a_header() {
    let arm = fake("TimeExceeded", &[]);
    let r = run(&mut arm.nwcap_cmd(&["list", "-o", "tsv"]));
    r.ok();
    let lines: Vec<Vec<&str>> = r.stdout.lines().map(|l| l.split('\t').collect()).collect();
    let names: Vec<&str> = lines.iter().map(|l| l[0]).collect();
    for n in ["vm-local", "ring", "ss-two", "ss-rest"] {
        assert!(names.contains(&n), "{}", r.stdout);
    }
    assert!(!names.contains(&"NAME"), "no header: {}", r.stdout);
    assert!(lines.iter().all(|l| l.len() == 5), "{}", r.stdout);
    let ss = lines.iter().find(|l| l[0] == "ss-two").unwrap();
    assert_eq!(ss[2], "VMSS api-ss (0, 1)");
    assert_eq!(ss[3], "600 s");
}

/// The keys of every object in `v`, depth first, in the order they appear.
fn key_paths(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push(format!("{at}/{k}"));
                key_paths(v, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                key_paths(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn list_and_show_json_keep_arms_key_order() {
    let arm = fake("TimeExceeded", &[]);
    let want = recorded();
    let r = run(&mut arm.nwcap_cmd(&["list", "-o", "json"]));
    r.ok();
    // The raw text, not a parsed value (which might reorder): find each resource's keys in
    // the order they were printed.
    let printed: Value = serde_json::from_str(&r.stdout).unwrap();
    for w in &want {
        let got = printed
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == w["name"])
            .unwrap();
        let (mut a, mut b) = (vec![], vec![]);
        key_paths(w, "", &mut a);
        key_paths(got, "", &mut b);
        assert_eq!(a, b, "{}", w["name"]);
    }
    // The first keys ARM sends are not in alphabetical order, so sorting would show.
    let text = &r.stdout;
    let at = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
    assert!(at("name") < at("id") && at("id") < at("etag"), "{text}");
    let r = run(&mut arm.nwcap_cmd(&["show", "vm-local", "-o", "json"]));
    r.ok();
    let text = &r.stdout;
    let at = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
    assert!(at("provisioningState") < at("target"), "{text}");
    assert!(at("target") < at("bytesToCapturePerPacket"), "{text}");
}

#[test]
fn show_table_leaves_unset_fields_out() {
    let arm = fake("TimeExceeded", &[]);
    let r = run(&mut arm.nwcap_cmd(&["show", "vm-local", "-o", "table"]));
    r.ok();
    let t = &r.stdout;
    for l in t.lines() {
        assert!(!l.trim_end().ends_with(':'), "empty field: {l}\n{t}");
        assert!(
            !l.contains("=,") && !l.ends_with('='),
            "empty filter field: {l}"
        );
    }
    assert!(
        !t.contains("Include instances") && !t.contains("Storage path"),
        "{t}"
    );
    assert!(
        t.contains(r"File on VM:") && t.contains(r"C:\tmp\Capture.cap"),
        "{t}"
    );
    let filters: Vec<&str> = t.lines().filter(|l| l.starts_with("Filter:")).collect();
    assert_eq!(filters.len(), 2, "{t}");
    assert!(filters[0].ends_with(" protocol=TCP,remotePort=443"), "{t}");
    assert!(filters[1].ends_with(" all packets"), "{t}");
    let r = run(&mut arm.nwcap_cmd(&["show", "ss-rest", "-o", "table"]));
    assert!(r.stdout.contains("Target:") && r.stdout.contains("VMSS api-ss (all except 2)"));
    assert!(r.stdout.contains("Exclude") || r.stdout.contains("all except 2"));
}

#[test]
fn status_of_a_capture_stopped_with_errors_does_not_call_it_complete() {
    let unknown = "virtualMachines/3 does not exist or is in stopped state.";
    let arm = fake("", &["AgentStopped", unknown]);
    let r = run(&mut arm.nwcap_cmd(&["status", "vm-local", "-o", "table"]));
    r.ok();
    let t = &r.stdout;
    assert!(!t.contains("file is complete"), "{t}");
    assert!(
        t.contains("stopped with errors") && t.contains("may be incomplete or missing"),
        "{t}"
    );
    let reason = t.lines().find(|l| l.starts_with("Stop reason:")).unwrap();
    assert!(reason.contains("see the errors"), "{reason}");
    assert!(!reason.contains("totalBytesPerSession"), "{reason}");
    // An error nwcap does not know is shown as the service sent it.
    let line = t.lines().find(|l| l.contains(unknown)).unwrap();
    assert!(line.trim_end().ends_with(unknown), "{line}");
    assert!(!t.contains("does not know"), "{t}");
    assert!(t.contains("AgentStopped: the Network Watcher agent"), "{t}");
    // tsv: name, state, start, reason, errors.
    let r = run(&mut arm.nwcap_cmd(&["status", "vm-local", "-o", "tsv"]));
    let cells: Vec<&str> = r.stdout.trim_end().split('\t').collect();
    assert_eq!(cells[..2], ["vm-local", "Stopped"], "{}", r.stdout);
    assert_eq!(cells[3], "-");
    assert_eq!(cells[4], format!("AgentStopped;{unknown}"));
    // wait calls it a failure, and shows the unknown error plainly too.
    let r = run(&mut arm.nwcap_cmd(&["wait", "vm-local", "-o", "json"]));
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr.contains(unknown) && !r.stderr.contains("does not know"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_capture_stopped_by_hand_reads_as_such() {
    let arm = FakeArm::start();
    arm.add_capture("handstop", std::time::Duration::from_secs(600), false);
    run(&mut arm.nwcap_cmd(&["stop", "handstop", "-o", "json"])).ok();
    let r = run(&mut arm.nwcap_cmd(&["status", "handstop", "-o", "table"]));
    r.ok();
    let reason = r
        .stdout
        .lines()
        .find(|l| l.starts_with("Stop reason:"))
        .unwrap();
    assert!(
        reason.contains("Manual: a user (or nwcap stop) stopped it"),
        "{reason}"
    );
    assert!(!r.stdout.contains("not documented"), "{}", r.stdout);
}

#[test]
fn a_file_on_the_vm_is_neither_deleted_nor_downloaded_but_named() {
    let arm = fake("TimeExceeded", &[]);
    let r = run(&mut arm.nwcap_cmd(&["download", "vm-local", "-q"]));
    r.fails("download", 12, r"on the VM at C:\tmp\Capture.cap");
    let r = run(&mut arm.nwcap_cmd(&["analyze", "--capture", "ring", "-o", "json"]));
    r.fails(
        "analyze --capture",
        12,
        "on the VM at /var/captures/ring.cap",
    );
    let r = run(&mut arm.nwcap_cmd(&["delete", "vm-local", "--delete-files", "-o", "table"]));
    r.ok();
    assert!(
        r.stderr.contains(r"is on the VM at C:\tmp\Capture.cap")
            && r.stderr.contains("cannot delete"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("  "), "double space: {}", r.stderr);
    assert!(!arm.has_capture("vm-local"));
}

#[test]
fn verbose_polling_says_whose_interval_it_is() {
    let arm = FakeArm::start();
    arm.add_capture("polled", std::time::Duration::from_secs(600), false);
    // One poll answers "still in progress" without a Retry-After.
    arm.fault(Fault {
        status: 202,
        body: String::new(),
        ..Fault::arm(Some("GET"), "operationResults", 202, "", "", 1)
    });
    let r = run(&mut arm.nwcap_cmd(&["stop", "polled", "-v", "-o", "json"]));
    r.ok();
    assert!(
        r.stderr.contains("nwcap's own interval") && !r.stderr.contains("as the service asks"),
        "{}",
        r.stderr
    );
}

#[test]
fn download_dash_o_given_a_path_points_at_dest() {
    // -o is the format in every command; a path given to -o says where the destination went.
    let r = crate::support::nwcap(&[
        "download",
        "--url",
        "http://127.0.0.1:9/a/b/c.cap",
        "-o",
        "out.cap",
    ]);
    r.fails("download -o PATH", 2, "the destination is --dest PATH");
    assert!(r.stderr.starts_with("nwcap: "), "{}", r.stderr);
}

#[test]
fn az_defaults_choose_the_watcher_unless_a_flag_does() {
    let arm = FakeArm::start();
    let base = |envs: &[(&str, &str)], args: &[&str]| {
        let mut cmd = crate::support::nwcap_cmd();
        cmd.args(["list", "-o", "json", "-s", "subid"])
            .args(args)
            .args(["--arm-endpoint", &arm.endpoint(), "--auth", "token"])
            .env("NWCAP_ACCESS_TOKEN", crate::support::fake_arm::TOKEN);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        run(&mut cmd)
    };
    // AZURE_DEFAULTS_LOCATION stands in for -l: NetworkWatcher_westeurope in NetworkWatcherRG.
    let r = base(&[("AZURE_DEFAULTS_LOCATION", "westeurope")], &[]);
    r.ok();
    assert_eq!(r.json(), serde_json::json!([]));
    // AZURE_DEFAULTS_GROUP stands in for -g.
    let r = base(&[("AZURE_DEFAULTS_GROUP", "rg1")], &["-w", "nw1"]);
    r.ok();
    assert_eq!(r.json().as_array().unwrap().len(), 2, "{}", r.stdout);
    // Flags win over both.
    let r = base(
        &[
            ("AZURE_DEFAULTS_GROUP", "elsewhere"),
            ("AZURE_DEFAULTS_LOCATION", "northeurope"),
        ],
        &["-g", "rg1", "-w", "nw1"],
    );
    r.ok();
    assert_eq!(r.json().as_array().unwrap().len(), 2, "{}", r.stdout);
    // A default that points nowhere is named in the message.
    let r = base(
        &[
            ("AZURE_DEFAULTS_GROUP", "rg1"),
            ("AZURE_DEFAULTS_LOCATION", "westeurope"),
        ],
        &[],
    );
    r.fails("defaults", 5, "AZURE_DEFAULTS_GROUP");
}
