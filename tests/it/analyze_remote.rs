//! `nwcap analyze --url` and `--capture` end to end: blobs in a real Azurite (see
//! `support::azurite`; run `scripts/install-test-tools` first), a capture in the fake
//! Resource Manager. A fetched blob must give the report its file gives when analyzed from
//! disk (which `oracle` holds to tshark), and nothing may reach the disk.

use std::path::Path;

use crate::support::azurite::{self, Action, Azurite};
use crate::support::fake_arm::{FakeArm, TOKEN};
use crate::support::{corpus, nwcap, nwcap_cmd, run, Run};
use serde_json::Value;

const C: &str = "network-watcher-logs";

#[track_caller]
fn report(o: &Run) -> Value {
    o.ok().json()
}

/// The report without the inputs' names, which differ between a file and a blob.
fn without_paths(mut r: Value) -> Value {
    let mut paths = Vec::new();
    for f in r["summary"]["files"].as_array_mut().expect("files") {
        paths.push(f["path"].as_str().expect("a path").to_string());
        f["path"] = Value::Null;
    }
    let unnamed = |text: &str| {
        let mut text = text.to_string();
        for p in &paths {
            text = text.replace(p.as_str(), "PATH");
        }
        Value::String(text)
    };
    for w in r["summary"]["warnings"].as_array_mut().expect("warnings") {
        *w = unnamed(w.as_str().expect("a warning"));
    }
    // The capture findings name their file too.
    for f in r["findings"].as_array_mut().expect("findings") {
        f["summary"] = unnamed(f["summary"].as_str().expect("a summary"));
    }
    r
}

/// The report of `files` read from disk.
fn local(files: &[&Path]) -> Value {
    let mut args = vec!["analyze", "--output", "json", "-j", "2"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    report(&nwcap(&args))
}

/// A pcap of `n` UDP packets over a few hundred flows, 60 to 1059 bytes each: several
/// windows' worth of records for a stream to deliver.
fn synthetic_pcap(n: u32) -> Vec<u8> {
    let mut f = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    f.extend(65535u32.to_le_bytes());
    f.extend(1u32.to_le_bytes());
    for i in 0..n {
        let len = 60 + (i * 7919 % 1000) as usize;
        f.extend((1_764_000_000 + i / 100).to_le_bytes());
        f.extend((i % 100 * 10_000).to_le_bytes());
        f.extend((len as u32).to_le_bytes());
        f.extend((len as u32).to_le_bytes());
        let mut p = vec![0u8; len];
        p[12..14].copy_from_slice(&[0x08, 0x00]);
        p[14] = 0x45;
        p[16..18].copy_from_slice(&((len - 14) as u16).to_be_bytes());
        p[22] = 64;
        p[23] = 17;
        p[26..30].copy_from_slice(&[10, 0, 0, 4]);
        p[30..34].copy_from_slice(&[10, 1, (i % 7) as u8, (i % 251) as u8]);
        p[34..36].copy_from_slice(&(40_000 + (i % 300) as u16).to_be_bytes());
        p[36..38].copy_from_slice(&53u16.to_be_bytes());
        p[38..40].copy_from_slice(&((len - 34) as u16).to_be_bytes());
        f.extend(p);
    }
    f
}

#[test]
fn blobs_give_the_report_of_their_files() {
    let az = Azurite::with_container(C);
    let dir = tempfile::tempdir().unwrap();
    // pcap (Content-MD5 checked), pcapng in blocks (no Content-MD5), both over a window (1 MiB);
    // gzip, inflated as from disk; a small pcapng.
    let cases = [
        ("zeek__ssh.pcap", false),
        ("rusticata__wireshark_samples-test.pcapng", true),
        ("zeek__echo-connections.pcap.gz", true),
        ("zeek__pcapng-multi-interface.pcapng", false),
    ];
    for (name, blocks) in cases {
        let file = corpus(name);
        let bytes = std::fs::read(&file).unwrap();
        let blob = format!("vm1/2026/12/04/{name}");
        if blocks {
            az.put_blob_in_blocks(C, &blob, &bytes, 64 * 1024);
        } else {
            az.put_blob(C, &blob, &bytes);
        }
        let url = az.blob_url(C, &blob);
        let o = run(nwcap_cmd()
            .args(["analyze", "--url", &url, "--output", "json", "-j", "2"])
            .args(["--block-size", "64KiB", "-v"])
            .current_dir(dir.path()));
        let got = report(&o);
        let path = got["summary"]["files"][0]["path"].as_str().unwrap();
        assert_eq!(path, format!("{}/{C}/{blob}", az.endpoint()), "{name}");
        let err = &o.stderr;
        let sig = &url[url.find("sig=").unwrap() + 4..];
        assert!(!err.contains(sig), "signature leaked: {err}");
        assert!(err.contains(&format!("({} bytes)", bytes.len())), "{err}");
        assert_eq!(without_paths(got), without_paths(local(&[&file])), "{name}");
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "analyze wrote to disk"
    );

    // A local file and a blob together: one report over both, as for two files.
    let a = corpus("zeek__http-bro.org.pcap");
    let b = corpus("zeek__pcapng-multi-interface.pcapng");
    let url = az.blob_url(C, "vm1/2026/12/04/zeek__pcapng-multi-interface.pcapng");
    let mixed = report(&nwcap(&[
        "analyze",
        a.to_str().unwrap(),
        "--url",
        &url,
        "--output",
        "json",
    ]));
    assert!(mixed["matched"]["packets"].as_u64().unwrap() > 0);
    assert_eq!(without_paths(mixed), without_paths(local(&[&a, &b])));
}

#[test]
fn a_capture_name_is_resolved_and_its_blob_analyzed() {
    let az = Azurite::with_container(C);
    let blob = "subscriptions/subid/resourcegroups/rg1/providers/microsoft.compute/virtualmachines/vm1/2026/12/04/packetcapture_10_00_00_000.cap";
    let file = corpus("zeek__http-bro.org.pcap");
    az.put_blob(C, blob, &std::fs::read(&file).unwrap());
    let arm = FakeArm::start();
    arm.add_capture("TestCapture", std::time::Duration::ZERO, false);
    arm.set_storage_path("TestCapture", &format!("{}/{C}/{blob}", az.endpoint()));
    // The captures' target, vm1 (the spec example's): its address is the one a guess picks,
    // and the report says where it came from (`target`, tested in `target`).
    arm.add_vm("vm1", &["10.0.2.15"], None);
    // Out and in over time: the target's addresses tell every flow's sides, a guess only
    // those of the first addresses seen (README, "Traffic over time").
    let undirected = |mut r: Value| {
        r["local"] = Value::Null;
        r["summary"]["warnings"] = Value::Null;
        for i in r["timeline"]["intervals"].as_array_mut().unwrap() {
            i["out"] = Value::Null;
            i["in"] = Value::Null;
        }
        r["timeline"]["direction"] = Value::Null;
        r
    };
    let without_local = |r: Value| {
        assert_eq!(r["local"]["source"], "target", "{}", r["local"]);
        undirected(without_paths(r))
    };
    let local_file = |files: &[&Path]| undirected(without_paths(local(files)));

    // `analyze --capture NAME` on the fake Resource Manager, with the token it expects.
    let by_capture = |name: &str, more: &[&str]| {
        run(arm
            .nwcap_cmd(&["analyze", "--capture", name, "--output", "json"])
            .args(more))
    };
    let o = by_capture("TestCapture", &["-v", "--sas", &azurite::blob_sas(C, blob)]);
    o.hides(TOKEN);
    assert_eq!(without_local(report(&o)), local_file(&[&file]));

    // A scale-set capture: one file per instance under its storagePath, listed (the account
    // SAS may list) and analyzed into one report, as the two files would be.
    let (a, b) = (corpus("zeek__ssh.pcap"), corpus("zeek__http-bro.org.pcap"));
    az.put_blob(C, "vmss1/0/packetcapture.cap", &std::fs::read(&a).unwrap());
    az.put_blob(C, "vmss1/1/packetcapture.cap", &std::fs::read(&b).unwrap());
    arm.add_capture("ScaleSetCapture", std::time::Duration::ZERO, false);
    arm.set_storage_path("ScaleSetCapture", &format!("{}/{C}/vmss1/", az.endpoint()));
    // Instance 0's address is the one a guess picks from both files.
    let vmss = arm.add_vmss("vmss1", &[("0", "192.168.1.32", None)]);
    arm.set_target(
        "ScaleSetCapture",
        &vmss,
        Some(serde_json::json!({"include": ["0"]})),
    );
    let o = by_capture("ScaleSetCapture", &["--sas", &azurite::account_sas()]);
    let got = report(&o);
    assert_eq!(got["summary"]["files"].as_array().unwrap().len(), 2);
    assert_eq!(without_local(got), local_file(&[&a, &b]));

    // An unknown capture: Resource Manager's 404, named, exit 5, no report.
    let o = by_capture("Nope", &[]);
    assert_eq!(o.code, 5, "{}", o.stderr);
    assert!(o.stderr.contains("Nope"), "{}", o.stderr);
    assert!(o.stdout.is_empty());
}

#[test]
fn failed_fetches_give_one_line_and_no_report() {
    let az = Azurite::with_container(C);
    let bytes = std::fs::read(corpus("zeek__http-bro.org.pcap")).unwrap();
    az.put_blob(C, "a.cap", &bytes);
    let good = az.blob_url(C, "a.cap");
    let sig = good.find("sig=").unwrap() + 4;
    let mut bad = good.clone();
    bad.replace_range(sig..sig + 6, "AAAAAA");
    // The stored MD5 is checked once the bytes are in: the other cases fail before that.
    az.set_content_md5(C, "a.cap", "AAAAAAAAAAAAAAAAAAAAAA==");
    let cases = [
        (
            "no such blob",
            az.blob_url(C, "nope.cap"),
            1,
            "not found (404",
        ),
        ("a wrong signature", bad, 11, "access denied (403"),
        (
            "a stored MD5 not the bytes'",
            good,
            10,
            "Content-MD5 mismatch",
        ),
    ];
    for (case, url, code, says) in cases {
        let o = nwcap(&["analyze", "--url", &url]);
        o.fails(case, code, says);
        assert!(o.stdout.is_empty(), "{case}: a report was printed");
    }
    // Neither files nor a capture: a usage error.
    let o = nwcap(&["analyze"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
}

#[test]
fn write_and_damage_work_as_for_files() {
    let az = Azurite::with_container(C);
    let dir = tempfile::tempdir().unwrap();
    let file = corpus("zeek__ssh.pcap");
    let bytes = std::fs::read(&file).unwrap();
    az.put_blob(C, "ssh.cap", &bytes);
    let url = az.blob_url(C, "ssh.cap");

    // `--write` reads the blob twice: the second time from the copy kept by the first.
    let (from_blob, from_file) = (dir.path().join("b.pcap"), dir.path().join("f.pcap"));
    let filter = ["--remote-port", "22", "--output", "json"];
    let b = nwcap(
        &[
            &[
                "analyze",
                "--url",
                &url,
                "--write",
                from_blob.to_str().unwrap(),
            ][..],
            &filter,
        ]
        .concat(),
    );
    let f = nwcap(
        &[
            &[
                "analyze",
                file.to_str().unwrap(),
                "--write",
                from_file.to_str().unwrap(),
            ][..],
            &filter,
        ]
        .concat(),
    );
    assert_eq!(without_paths(report(&b)), without_paths(report(&f)));
    let written = std::fs::read(&from_blob).unwrap();
    assert!(written.len() > 100_000, "{} bytes written", written.len());
    assert_eq!(written, std::fs::read(&from_file).unwrap());

    // Cut mid-record past the first window: the report covers what was read, exit 3, as for
    // the same bytes on disk.
    let cut = &bytes[..bytes.len() * 9 / 10];
    let cut_file = dir.path().join("cut.pcap");
    std::fs::write(&cut_file, cut).unwrap();
    az.put_blob(C, "cut.cap", cut);
    let o = nwcap(&[
        "analyze",
        "--url",
        &az.blob_url(C, "cut.cap"),
        "--output",
        "json",
    ]);
    let l = nwcap(&["analyze", cut_file.to_str().unwrap(), "--output", "json"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert_eq!(l.code, 3, "{}", l.stderr);
    let parse = |o: &Run| without_paths(o.json());
    let got = parse(&o);
    assert_eq!(got["summary"]["files"][0]["readable"], "partial");
    assert_eq!(got, parse(&l));

    // Empty, and not a capture: the same errors as for such files.
    for (name, bytes) in [
        ("empty.cap", &b""[..]),
        ("text.cap", &b"hello, not a capture\n"[..]),
    ] {
        let f = dir.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        az.put_blob(C, name, bytes);
        let o = nwcap(&[
            "analyze",
            "--url",
            &az.blob_url(C, name),
            "--output",
            "json",
        ]);
        let l = nwcap(&["analyze", f.to_str().unwrap(), "--output", "json"]);
        assert_eq!(o.code, 3, "{}", o.stderr);
        let got = parse(&o);
        assert_eq!(got["summary"]["files"][0]["readable"], "none", "{name}");
        assert_eq!(got, parse(&l), "{name}");
    }
}

#[test]
fn a_cut_connection_is_resumed_within_the_pass() {
    let az = Azurite::with_container(C);
    let data = synthetic_pcap(8000);
    assert!(data.len() > 3 << 20);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.pcap");
    std::fs::write(&file, &data).unwrap();
    // One range at a time, then four in flight: the cut lands in one of them.
    for parallel in ["1", "4"] {
        let name = format!("big{parallel}.cap");
        let (proxy, url) = az.put_blob_behind_proxy(C, &name, &data, (2 << 20) + 1000, Action::Cut);
        let o = nwcap(&[
            "analyze",
            "--url",
            &url,
            "--output",
            "json",
            "--parallel",
            parallel,
            "--block-size",
            "1MiB",
        ]);
        let got = report(&o);
        assert!(o.stderr.contains("resuming in"), "{}", o.stderr);
        assert_eq!(got["matched"]["packets"], 8000);
        assert_eq!(without_paths(got), without_paths(local(&[&file])));
        if parallel == "4" {
            let n = proxy.connections.load(std::sync::atomic::Ordering::SeqCst);
            assert!(n >= 3, "{n} connections");
        }
    }
}

#[test]
fn blobs_read_at_once_give_the_report_of_one_after_another() {
    let az = Azurite::with_container(C);
    let names = [
        "zeek__ipv4-fragmented-1.pcap",
        "zeek__ssh.pcap",
        "derived__bro.org-last-record-cut.pcap",
        "zeek__http-bro.org.pcap",
    ];
    let mut urls = Vec::new();
    for n in names {
        az.put_blob(C, n, &std::fs::read(corpus(n)).unwrap());
        urls.push(format!(
            "{}/{C}/{n}?{}",
            az.endpoint(),
            azurite::account_sas()
        ));
    }
    let by_urls = |j: &str| {
        let mut args = vec!["analyze", "--output", "json", "-j", j];
        for u in &urls {
            args.extend(["--url", u.as_str()]);
        }
        let o = nwcap(&args);
        // The cut file makes it exit 3; the report still comes.
        assert_eq!(o.code, 3, "{}", o.stderr);
        without_paths(o.json())
    };
    let one = by_urls("1");
    assert_eq!(by_urls("4"), one);
    let files: Vec<std::path::PathBuf> = names.iter().map(|n| corpus(n)).collect();
    let mut args = vec!["analyze", "--output", "json", "-j", "1"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let o = nwcap(&args);
    assert_eq!(without_paths(o.json()), one);
}

/// `--inspect` over a streamed blob gives what it gives for the file: SSH's lines here.
#[test]
fn a_streamed_blob_is_inspected_as_its_file() {
    let az = Azurite::with_container(C);
    let file = corpus("zeek__ssh.pcap");
    let blob = "vm1/2026/12/05/ssh.cap";
    az.put_blob(C, blob, &std::fs::read(&file).unwrap());
    let url = az.blob_url(C, blob);
    let streamed = report(&run(nwcap_cmd().args([
        "analyze",
        "--inspect",
        "--url",
        &url,
        "--output",
        "json",
    ])));
    let on_disk = report(&nwcap(&[
        "analyze",
        "--inspect",
        file.to_str().unwrap(),
        "--output",
        "json",
    ]));
    assert_eq!(without_paths(streamed.clone()), without_paths(on_disk));
    let ssh = streamed["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["app"]["ssh"]["server"].is_string())
        .count();
    assert!(ssh > 0, "{}", streamed["services"]);
}
