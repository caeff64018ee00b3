//! A SAS signature never shows: on every failure of `download`, `analyze --url` and
//! `analyze --capture` (404, 403, a Content-MD5 mismatch, a blob changed mid-transfer, a
//! refused connection, a name that does not resolve), the signature's value appears neither
//! on stdout, nor on stderr, nor in any file nwcap leaves, in plain or percent-encoded form,
//! and every `sig=` shown is `sig=REDACTED`.

use std::path::Path;

use crate::craft;
use crate::support::azurite::{self, Action, Azurite, Proxy};
use crate::support::fake_arm::{FakeArm, TOKEN};
use crate::support::{assert_redacted, nwcap, run, Run};

const C: &str = "network-watcher-logs";

/// A valid capture of about 4 MiB, so that analysis reaches every transfer check.
fn capture_bytes() -> Vec<u8> {
    let recs: Vec<craft::Rec> = (0..3000u32)
        .map(|i| {
            let data = craft::tcp("10.0.0.4", 40000, "10.0.0.5", 443, craft::ACK, 1400);
            craft::Rec::new(1_700_000_000_000_000_000 + i64::from(i) * 1000, data)
        })
        .collect();
    craft::pcap(&recs, false, false, 65535)
}

/// The forms a signature can take in output: as in the URL (percent-encoded) and decoded.
fn forms(sas: &str) -> Vec<String> {
    let sig = sas
        .split('&')
        .find_map(|kv| kv.strip_prefix("sig="))
        .expect("a signature");
    let decoded = sig
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    // Long enough to be the signature, short enough to catch a cut one.
    vec![sig[..16].to_string(), decoded[..16].to_string()]
}

/// Asserts that no form of `sas`'s signature is in `run`'s output or in any file under
/// `dir`, and that every `sig=` shown is redacted.
#[track_caller]
fn assert_hidden(case: &str, sas: &str, run: &Run, dir: &Path) {
    let all = format!("{}{}", run.stdout, run.stderr);
    for f in forms(sas) {
        assert!(!all.contains(&f), "{case}: signature shown: {all}");
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let body = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            assert!(
                !body.contains(&f) && !p.to_string_lossy().contains(&f),
                "{case}: signature in {}",
                p.display()
            );
        }
    }
    assert_redacted(&all);
    run.hides(TOKEN);
}

/// Where a failing blob lives: its URL without the SAS, and the SAS.
struct Case {
    name: &'static str,
    blob: String,
    sas: String,
    code: i32,
    says: &'static str,
    /// Keeps a proxy alive for the case's run.
    _proxy: Option<Proxy>,
}

/// The three ways nwcap reads a blob, each failing as `case` says, each hiding the signature.
fn check(case: Case, how: &str, az_arm: &FakeArm) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}?{}", case.blob, case.sas);
    let dest = dir.path().join("x.cap");
    let small = [
        "--parallel",
        "1",
        "--block-size",
        "1MiB",
        "--max-retries",
        "1",
    ];
    let r = match how {
        "download" => {
            let mut args = vec!["download", "--url", &url, "--dest", dest.to_str().unwrap()];
            args.extend(small);
            nwcap(&args)
        }
        "analyze --url" => {
            let mut args = vec!["analyze", "--url", &url];
            args.extend(small);
            nwcap(&args)
        }
        _ => {
            az_arm.set_storage_path("Secret", &case.blob);
            run(az_arm
                .nwcap_cmd(&["analyze", "--capture", "Secret", "--sas", &case.sas])
                .args(small))
        }
    };
    let name = format!("{how}, {}", case.name);
    // A capture's missing blob is looked for under its storagePath as a prefix too.
    let says = match (how, case.name) {
        ("analyze --capture", "404") => "no blob at the capture's storagePath",
        _ => case.says,
    };
    r.fails(&name, case.code, says);
    assert!(r.stdout.is_empty(), "{name}: {}", r.stdout);
    assert_hidden(&name, &case.sas, &r, dir.path());
}

#[test]
fn no_failure_shows_the_signature() {
    let az = Azurite::with_container(C);
    let arm = FakeArm::start();
    arm.add_capture("Secret", std::time::Duration::ZERO, false);
    let bytes = capture_bytes();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for how in ["download", "analyze --url", "analyze --capture"] {
        let blob = |name: &str| format!("{}/{C}/{name}", az.endpoint());
        az.put_blob(C, "a.cap", &bytes);
        az.put_blob(C, "md5.cap", &bytes);
        az.set_content_md5(C, "md5.cap", "AAAAAAAAAAAAAAAAAAAAAA==");
        // A capture's storagePath may be a prefix to list: the account SAS may list.
        let sas = |name: &str| {
            if how == "analyze --capture" {
                azurite::account_sas()
            } else {
                azurite::blob_sas(C, name)
            }
        };
        let mut wrong = sas("a.cap");
        let at = wrong.find("sig=").unwrap() + 4;
        wrong.replace_range(at..at + 6, "AAAAAA");
        // Overwritten once 1.5 MiB went out: the next range's If-Match fails.
        let port = az.port;
        let overwrite = Action::Run(Box::new(move || {
            let (status, body) = azurite::http(
                "PUT",
                port,
                &format!(
                    "/{}/{C}/moving.cap?{}",
                    azurite::ACCOUNT,
                    azurite::account_sas()
                ),
                &[("x-ms-blob-type", "BlockBlob")],
                &azurite::data(4 << 20, 6),
            );
            assert_eq!(status, 201, "{body}");
        }));
        let (proxy, moving) =
            az.put_blob_behind_proxy(C, "moving.cap", &bytes, (1 << 20) + (512 << 10), overwrite);
        let cases = [
            Case {
                name: "404",
                blob: blob("nope.cap"),
                sas: sas("nope.cap"),
                code: 1,
                says: "not found (404",
                _proxy: None,
            },
            Case {
                name: "403",
                blob: blob("a.cap"),
                sas: wrong,
                code: 11,
                says: "access denied (403",
                _proxy: None,
            },
            Case {
                name: "Content-MD5 mismatch",
                blob: blob("md5.cap"),
                sas: sas("md5.cap"),
                code: 10,
                says: "Content-MD5 mismatch",
                _proxy: None,
            },
            Case {
                name: "blob changed",
                blob: moving.split_once('?').unwrap().0.to_string(),
                sas: sas("moving.cap"),
                code: 10,
                says: "changed during",
                _proxy: Some(proxy),
            },
            Case {
                name: "connection refused",
                blob: format!("http://127.0.0.1:{closed}/{}/{C}/a.cap", azurite::ACCOUNT),
                sas: sas("a.cap"),
                code: 1,
                says: "refused",
                _proxy: None,
            },
            Case {
                name: "no such host",
                blob: "https://nosuchacct.invalid/c/x.cap".into(),
                sas: sas("a.cap"),
                code: 1,
                says: "nosuchacct.invalid",
                _proxy: None,
            },
        ];
        for case in cases {
            check(case, how, &arm);
        }
    }
}
