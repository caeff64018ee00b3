//! Exit codes and messages no other test reaches: 7 for an operation that ends `Canceled`, 10
//! for a blob whose ranges do not add up to its announced size, 11 for a SAS answered 401 (for
//! `download` and `analyze --url/--capture` alike), 3 for an input that cannot be read, and
//! `delete --delete-files` on a storagePath that is not one .cap file.

use std::time::Duration;

use crate::support::fake_arm::{FakeArm, TOKEN};
use crate::support::fake_blob::{FakeBlob, Mode};
use crate::support::{corpus, nwcap, run, Run};

const VM: &str = "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachines/vm-canceled";
const STORAGE: &str =
    "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Storage/storageAccounts/pcstore";
const SAS: &str = "sv=2021-08-06&sr=b&sp=r&sig=FAKEsignatureFAKEsignature%3D";

#[test]
fn an_operation_that_ends_canceled_exits_7() {
    let fake = FakeArm::start();
    let r = run(fake
        .nwcap_cmd(&["start", "c1", "--vm", VM, "--storage-account", STORAGE])
        .args(["--retry-delay", "1ms"]));
    r.hides(TOKEN);
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr.contains("Canceled") && r.stderr.contains("OperationCanceled"),
        "{}",
        r.stderr
    );
}

/// The three ways of reading a blob, at `url` with `SAS`; the capture's way through `arm`.
fn read_blob(arm: &FakeArm, url: &str, how: &str, dest: &std::path::Path) -> Run {
    let with_sas = format!("{url}?{SAS}");
    let quick = ["--max-retries", "0"];
    match how {
        "download" => {
            let dest = dest.to_str().unwrap();
            nwcap(&[
                "download", "--url", &with_sas, "--dest", dest, quick[0], quick[1],
            ])
        }
        "analyze --url" => nwcap(&["analyze", "--url", &with_sas, quick[0], quick[1]]),
        _ => {
            arm.set_storage_path("Blobbed", url);
            run(arm
                .nwcap_cmd(&["analyze", "--capture", "Blobbed", "--sas", SAS])
                .args(quick))
        }
    }
}

#[test]
fn a_blob_shorter_than_announced_exits_10_and_a_sas_answered_401_exits_11() {
    let data = std::fs::read(corpus("zeek__http-bro.org.pcap")).unwrap();
    let arm = FakeArm::start();
    arm.add_capture("Blobbed", Duration::ZERO, false);
    let announced = data.len() as u64 + 1000;
    let short = FakeBlob::start(data.clone(), Mode::Sized { announced });
    let denied = FakeBlob::start(data, Mode::Unauthorized);
    for how in ["download", "analyze --url", "analyze --capture"] {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.cap");
        let r = read_blob(&arm, &short.url(), how, &dest);
        // The size check names the size the service announced.
        r.fails(
            &format!("{how}, short"),
            10,
            &format!("announced {announced} bytes"),
        )
        .hides(TOKEN);
        assert!(r.stdout.is_empty(), "{how}: a report was printed");
        assert!(!dest.exists(), "{how}: the file was kept");
        assert!(!r.stderr.contains("FAKEsignature"), "{}", r.stderr);

        let r = read_blob(&arm, &denied.url(), how, &dest);
        r.fails(&format!("{how}, 401"), 11, "access denied (401")
            .hides(TOKEN);
        assert!(!r.stderr.contains("FAKEsignature"), "{}", r.stderr);
        assert!(!dest.exists());
    }
}

#[test]
fn an_input_that_cannot_be_read_exits_3_beside_a_readable_one() {
    // Standard input that is a folder: reading it fails (EISDIR); the other file is reported.
    let dir = tempfile::tempdir().unwrap();
    let good = corpus("zeek__ssh.pcap");
    let r = run(crate::support::nwcap_cmd()
        .args(["analyze", good.to_str().unwrap(), "-", "--output", "json"])
        .stdin(std::fs::File::open(dir.path()).unwrap()));
    r.fails("stdin a folder", 3, "-: cannot read");
    let files = r.json()["summary"]["files"].as_array().unwrap().clone();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files[0]["packets"].as_u64().unwrap() > 0);
}

#[test]
fn delete_files_leaves_a_storage_path_that_is_not_one_cap_file() {
    let fake = FakeArm::start();
    fake.add_capture("multi", Duration::ZERO, false);
    let prefix = format!(
        "{}/blob/pcstore/network-watcher-logs/vmss1/",
        fake.endpoint()
    );
    fake.set_storage_path("multi", &prefix);
    let r = run(fake
        .nwcap_cmd(&["delete", "multi", "--delete-files", "--output", "json"])
        .args(["--retry-delay", "1ms"]));
    r.hides(TOKEN);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim_end(),
        format!(
            "nwcap: storagePath {prefix} is not a single .cap file; delete those files with your storage tools"
        )
    );
    assert!(!fake.has_capture("multi"));
    // Nothing under /blob/ was touched.
    assert!(fake.log().iter().all(|r| !r.path.starts_with("/blob")));
}
