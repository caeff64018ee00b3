//! `nwcap download` end to end against a real Azurite (see `support::azurite`; run
//! `scripts/install-test-tools` first). Each test starts its own Azurite on a free port.

use std::path::Path;
use std::process::Command;

use crate::support::azurite::{self, Action, Azurite};
use crate::support::fake_arm::{FakeArm, TOKEN};
use crate::support::{nwcap, nwcap_cmd, run, Run};

const C: &str = "network-watcher-logs";

/// One range at a time, 1 MiB each: where a proxy cuts or acts is then known.
const ONE_MIB_AT_A_TIME: [&str; 4] = ["--parallel", "1", "--block-size", "1MiB"];

/// `nwcap download --url URL -o DEST`, then `extra`.
fn download(url: &str, dest: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["download", "--url", url, "--dest", dest.to_str().unwrap()];
    args.extend_from_slice(extra);
    nwcap(&args)
}

/// The signature of a SAS URL.
fn sig(url: &str) -> &str {
    &url[url.find("sig=").unwrap() + 4..]
}

/// Compares file contents without printing megabytes on failure.
#[track_caller]
fn assert_same(path: &Path, want: &[u8]) {
    let got = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{}: {} bytes, expected {}; first difference at {at:?}",
            path.display(),
            got.len(),
            want.len()
        );
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn downloads_small_and_multi_block_blobs_byte_identical() {
    let az = Azurite::with_container(C);
    let small = azurite::data(100_000, 1);
    az.put_blob(
        C,
        "subs/vm/2026/11/25/packetcapture_17_19_53_056.cap",
        &small,
    );
    let big = azurite::data(3 * 1024 * 1024 + 12_345, 2);
    az.put_blob_in_blocks(C, "subs/vm/2026/11/25/big.cap", &big, 1 << 20);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("captures/");

    // Small blob into a new folder: named after the blob, MD5 (stored by Azurite) checked.
    let url = az.blob_url(C, "subs/vm/2026/11/25/packetcapture_17_19_53_056.cap");
    let o = download(&url, &out, &[]);
    o.ok();
    let file = out.join("packetcapture_17_19_53_056.cap");
    assert_same(&file, &small);
    assert!(o.stderr.contains("MD5 verified"), "{}", o.stderr);

    // Multi-block blob (no Content-MD5) with small ranges in parallel, to a chosen file name.
    let url_big = az.blob_url(C, "subs/vm/2026/11/25/big.cap");
    let named = out.join("mine.cap");
    let o = download(
        &url_big,
        &named,
        &["-v", "--block-size", "256KiB", "--parallel", "4"],
    );
    o.ok();
    assert_same(&named, &big);
    let err = &o.stderr;
    assert!(err.contains("no Content-MD5"), "{err}");
    assert!(
        err.contains("sig=REDACTED") && !err.contains(sig(&url_big)),
        "{err}"
    );
    assert!(
        !files_in(&out).iter().any(|f| f.ends_with(".part")),
        "{:?}",
        files_in(&out)
    );

    // Same command again: complete file with the same etag is skipped; --force replaces it.
    let o = download(&url_big, &named, &[]);
    o.ok();
    assert!(o.stderr.contains("skipped"), "{}", o.stderr);
    std::fs::write(&named, b"tampered but same etag record").unwrap();
    let o = download(&url_big, &named, &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("--force"), "{}", o.stderr);
    let o = download(&url_big, &named, &["-q", "--force", "-o", "json"]);
    o.ok();
    assert!(o.stderr.is_empty(), "--quiet printed: {}", o.stderr);
    assert_same(&named, &big);
    // -o json: one record per blob for scripts, the blob named without its SAS.
    let saved = o.json();
    assert_eq!(saved[0]["status"], "downloaded", "{saved}");
    assert_eq!(saved[0]["bytes"], big.len() as u64);
    assert_eq!(saved[0]["path"], named.to_str().unwrap());
    assert!(!o.stdout.contains("sig="), "{}", o.stdout);
    let o = download(&url_big, &named, &["-q", "-o", "tsv"]);
    o.ok();
    assert_eq!(
        o.stdout.split('\t').take(3).collect::<Vec<_>>(),
        ["skipped", &big.len().to_string(), named.to_str().unwrap()]
    );

    // A leftover .part of another blob version is discarded, not resumed.
    let fourth = out.join("fourth.cap");
    std::fs::write(out.join("fourth.cap.part"), &big[..300_000]).unwrap();
    std::fs::write(out.join("fourth.cap.part.etag"), "\"0xOLDVERSION\"\n").unwrap();
    let o = download(&url_big, &fourth, &[]);
    o.ok();
    assert!(o.stderr.contains("discarding"), "{}", o.stderr);
    assert_same(&fourth, &big);

    // --sas instead of a SAS in the URL.
    let (bare, sas) = url.split_once('?').unwrap();
    let third = out.join("third.cap");
    download(bare, &third, &["--sas", sas]).ok();
    assert_same(&third, &small);
}

#[test]
fn interrupted_download_resumes_on_rerun() {
    let az = Azurite::with_container(C);
    let blob = azurite::data(4 << 20, 3);
    // Cut the connection in the middle of the third 1 MiB range.
    let (proxy, url) =
        az.put_blob_behind_proxy(C, "cut.cap", &blob, (2 << 20) + (512 << 10), Action::Cut);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("cut.cap");
    let args = [&["-v"][..], &ONE_MIB_AT_A_TIME].concat();

    let o = download(&url, &dest, &[&args[..], &["--retries", "0"]].concat());
    assert_eq!(o.code, 1, "{}", o.stderr);
    let err = &o.stderr;
    assert!(
        err.contains("run the same command again to resume"),
        "{err}"
    );
    assert!(!err.contains(sig(&url)), "{err}");
    assert!(!dest.exists(), "no file may appear under the final name");
    let part = dir.path().join("cut.cap.part");
    let kept = std::fs::metadata(&part).expect(".part kept").len();
    assert!(kept > 0 && kept < blob.len() as u64, "kept {kept}");
    assert_same(&part, &blob[..kept as usize]);

    let before = proxy.forwarded.load(std::sync::atomic::Ordering::SeqCst);
    let o = download(&url, &dest, &args);
    o.ok();
    assert!(
        o.stderr
            .contains(&format!("resuming {} at byte {kept}", dest.display())),
        "{}",
        o.stderr
    );
    assert_same(&dest, &blob);
    let resent = proxy.forwarded.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert!(
        resent < blob.len() as u64 - kept + (64 << 10),
        "rerun fetched {resent} bytes, more than the missing {}",
        blob.len() as u64 - kept
    );
    assert!(!part.exists());
}

#[test]
fn connection_cut_mid_transfer_is_retried_in_the_same_run() {
    let az = Azurite::with_container(C);
    let blob = azurite::data(3 << 20, 4);
    let (_proxy, url) =
        az.put_blob_behind_proxy(C, "retry.cap", &blob, (1 << 20) + 1000, Action::Cut);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("r.cap");
    let o = download(&url, &dest, &ONE_MIB_AT_A_TIME);
    o.ok();
    assert!(o.stderr.contains("resuming in"), "{}", o.stderr);
    assert_same(&dest, &blob);
}

#[test]
fn blob_overwritten_mid_download_is_detected_and_nothing_is_kept() {
    let az = Azurite::with_container(C);
    let blob = azurite::data(4 << 20, 5);
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
    let (_proxy, url) =
        az.put_blob_behind_proxy(C, "moving.cap", &blob, (1 << 20) + (512 << 10), overwrite);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("m.cap");
    let o = download(&url, &dest, &ONE_MIB_AT_A_TIME);
    assert_eq!(o.code, 10, "{}", o.stderr);
    assert!(
        o.stderr.contains("changed during the download"),
        "{}",
        o.stderr
    );
    assert_eq!(
        files_in(dir.path()),
        Vec::<String>::new(),
        "nothing may be kept"
    );
}

/// A download that must fail: exit `code`, one line on stderr with each of `says` and not
/// the signature of its URL, no file.
struct Bad<'a> {
    case: &'a str,
    url: &'a str,
    to: &'a Path,
    code: i32,
    says: &'a [&'a str],
}

impl Bad<'_> {
    /// Downloads; `dest` must not appear.
    fn check(&self, dest: &Path) {
        let case = self.case;
        let o = download(self.url, self.to, &[]);
        o.fails(case, self.code, self.says[0]);
        for s in &self.says[1..] {
            assert!(
                o.stderr.contains(s),
                "{case}: expected '{s}' in: {}",
                o.stderr
            );
        }
        if self.url.contains("sig=") {
            let real = &sig(self.url)[..20];
            assert!(
                !o.stderr.contains(real),
                "{case}: signature leaked: {}",
                o.stderr
            );
        }
        assert!(!dest.exists(), "{case}");
    }
}

#[test]
fn bad_input_and_failures_give_one_clear_line() {
    let az = Azurite::with_container(C);
    let blob = azurite::data(50_000, 7);
    az.put_blob(C, "a.cap", &blob);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a.cap");
    let good = az.blob_url(C, "a.cap");
    let sig_start = good.find("sig=").unwrap() + 4;
    let mut bad = good.clone();
    bad.replace_range(sig_start..sig_start + 6, "AAAAAA");
    // An output path that cannot be made: a folder below a regular file.
    std::fs::write(dir.path().join("plainfile"), b"x").unwrap();
    let below = dir.path().join("plainfile/sub/a.cap");
    let cases = [
        Bad {
            case: "a wrong signature",
            url: &bad,
            to: &dest,
            code: 11,
            // Advice about the SAS, the signature redacted.
            says: &["access denied (403", "sig=REDACTED"],
        },
        Bad {
            case: "no such blob",
            url: &az.blob_url(C, "nope.cap"),
            to: &dest,
            code: 1,
            says: &["not found (404"],
        },
        Bad {
            case: "a container URL",
            url: &format!("{}/{C}", az.endpoint()),
            to: &dest,
            code: 2,
            says: &["not a blob URL"],
        },
        Bad {
            case: "an account URL",
            url: "https://acct.blob.core.windows.net/",
            to: &dest,
            code: 2,
            says: &["not a blob URL"],
        },
        Bad {
            case: "an output below a file",
            url: &good,
            to: &below,
            code: 1,
            says: &["cannot create folder"],
        },
    ];
    for b in cases {
        b.check(&dest);
    }

    // Server gone: connection refused, after the SDK's quick retries.
    let gone = format!(
        "http://127.0.0.1:{}/{}/{C}/a.cap?sv=1&sig=secret",
        free_port(),
        azurite::ACCOUNT
    );
    let o = download(&gone, &dest, &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(!o.stderr.contains("secret"), "{}", o.stderr);

    // A stored Content-MD5 that does not match the bytes: exit 10, no file.
    az.set_content_md5(C, "a.cap", "AAAAAAAAAAAAAAAAAAAAAA==");
    Bad {
        case: "a stored MD5 not the bytes'",
        url: &good,
        to: &dest,
        code: 10,
        says: &["Content-MD5 mismatch"],
    }
    .check(&dest);
    assert_eq!(files_in(dir.path()), ["plainfile"]);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn storage_paths_resolve_to_the_blob_or_to_every_file_under_its_prefix() {
    use nwcap::azure::blob::{BlobDownloader, DownloadOptions, Silent};
    use nwcap::commands::download::{local_names, resolve_storage_paths};

    let az = Azurite::with_container(C);
    let base = "subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/ss/2026/11/25";
    az.put_blob(C, &format!("{base}/single.cap"), b"one");
    // Several files for one storagePath: scale-set instances / ring-buffer files.
    for i in 0..3 {
        az.put_blob(
            C,
            &format!("{base}/packetcapture_17_19_53_056/{i}/packetcapture.cap"),
            b"x",
        );
    }
    az.put_blob(C, &format!("{base}/unrelated.cap"), b"no");

    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dl = BlobDownloader::new(None, DownloadOptions::default());
    let sas = azurite::account_sas();
    let resolve = |name: &str| {
        let path = format!("{}/{C}/{base}/{name}", az.endpoint());
        rt.block_on(resolve_storage_paths(&dl, &[path], Some(&sas), &Silent))
    };
    let names = |p: &str| -> Vec<String> {
        let urls = resolve(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        urls.iter().map(|u| u.blob_name()).collect()
    };

    assert_eq!(names("single.cap"), [format!("{base}/single.cap")]);
    let several = names("packetcapture_17_19_53_056.cap");
    assert_eq!(several.len(), 3, "{several:?}");
    assert!(several
        .iter()
        .all(|n| n.contains("packetcapture_17_19_53_056/")));

    let urls = resolve("packetcapture_17_19_53_056.cap").unwrap();
    assert_eq!(
        local_names(&urls),
        [
            "0_packetcapture.cap",
            "1_packetcapture.cap",
            "2_packetcapture.cap"
        ]
    );

    let err = resolve("absent.cap").unwrap_err();
    assert!(
        err.to_string()
            .contains("no blob at the capture's storagePath"),
        "{err}"
    );
    assert!(!err.to_string().contains(sig(&sas)), "{err}");

    // And the CLI downloads all of them into the folder, under distinct safe names.
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "download".to_string(),
        "-q".into(),
        "--dest".into(),
        dir.path().display().to_string(),
    ];
    for u in &urls {
        args.extend(["--url".to_string(), u.expose().to_string()]);
    }
    let o = nwcap(&args.iter().map(String::as_str).collect::<Vec<_>>());
    o.ok();
    let caps: Vec<String> = files_in(dir.path())
        .into_iter()
        .filter(|f| !f.starts_with('.'))
        .collect();
    assert_eq!(
        caps,
        [
            "0_packetcapture.cap",
            "1_packetcapture.cap",
            "2_packetcapture.cap"
        ]
    );
}

/// Test CA + leaf certificate for 127.0.0.1 (the SDK's verifier rejects a self-signed CA
/// used as the server certificate).
fn test_certs(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let sh = |cmd: &str| {
        let o = Command::new("bash")
            .arg("-c")
            .arg(cmd)
            .current_dir(dir)
            .output()
            .expect("bash");
        assert!(
            o.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=nwcap test CA' \
        -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'");
    sh("openssl req -newkey rsa:2048 -nodes -keyout key.pem -out leaf.csr -subj '/CN=127.0.0.1'");
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    sh("openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 2 -extfile leaf.ext 2>/dev/null");
    (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}

/// An unsigned JWT with the claims Azurite's `--oauth basic` checks.
fn test_jwt() -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = format!(
        r#"{{"aud":"https://storage.azure.com","iss":"https://sts.windows.net/ab1f708d-50f6-404c-a006-d71b2ac7a606/","iat":{},"nbf":{},"exp":{},"oid":"00000000-0000-0000-0000-000000000001","tid":"ab1f708d-50f6-404c-a006-d71b2ac7a606"}}"#,
        now - 60,
        now - 60,
        now + 3600
    );
    format!(
        "{}.{}.{}",
        b64(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64(&claims),
        b64("not-signed")
    )
}

#[test]
fn entra_id_bearer_token_over_https() {
    use azure_storage_blob::{BlobClient, BlobContainerClient};

    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_certs(certs.path());
    let az = Azurite::start_https(&cert, &key);
    let blob = azurite::data(2 << 20, 8);

    // Seed over https with a SAS (this process trusts the test CA the same way nwcap will).
    // The variable stays set in the one test process; `nwcap_cmd` keeps it from every other
    // test's nwcap, and only this test's clients speak https.
    std::env::set_var("SSL_CERT_FILE", &ca);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sas = azurite::account_sas();
    rt.block_on(async {
        let c = format!("{}/{C}?{sas}", az.endpoint());
        BlobContainerClient::new(c.parse().unwrap(), None, None)
            .unwrap()
            .create(None)
            .await
            .unwrap();
        let b = format!("{}/{C}/tok.cap?{sas}", az.endpoint());
        BlobClient::new(b.parse().unwrap(), None, None)
            .unwrap()
            .upload(bytes::Bytes::from(blob.clone()).into(), None)
            .await
            .unwrap();
    });

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("tok.cap");
    let url = format!("{}/{C}/tok.cap", az.endpoint());
    let with_token = |token: &str| {
        run(nwcap_cmd()
            .args([
                "download",
                "--auth",
                "token",
                "--block-size",
                "512KiB",
                "--url",
                &url,
            ])
            .args(["--dest", dest.to_str().unwrap()])
            .env("SSL_CERT_FILE", &ca)
            .env("NWCAP_ACCESS_TOKEN", token))
    };

    let o = with_token("garbage");
    assert_eq!(o.code, 11, "{}", o.stderr);
    assert!(
        o.stderr.contains("Storage Blob Data Reader"),
        "{}",
        o.stderr
    );
    assert!(!dest.exists());

    with_token(&test_jwt()).ok();
    assert_same(&dest, &blob);

    // No SAS over plain http: tokens are never sent in clear text.
    let plain = format!(
        "http://127.0.0.1:{}/{}/{C}/tok.cap",
        az.port,
        azurite::ACCOUNT
    );
    let o = run(nwcap_cmd()
        .args(["download", "--auth", "token", "--url", &plain])
        .env("NWCAP_ACCESS_TOKEN", "x")
        .current_dir(dir.path()));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("only sent over https"), "{}", o.stderr);
}

#[test]
fn download_by_capture_name_reads_storage_path_from_resource_manager() {
    // The fake Resource Manager says where the capture went; the blob lives in Azurite.
    let az = Azurite::with_container(C);
    let blob = "subscriptions/subid/resourcegroups/rg1/providers/microsoft.compute/virtualmachines/vm1/2026/11/25/packetcapture_17_19_53_056.cap";
    let data = azurite::data(300_000, 7);
    az.put_blob(C, blob, &data);
    let arm = FakeArm::start();
    arm.add_capture("TestCapture", std::time::Duration::ZERO, false);
    arm.set_storage_path("TestCapture", &format!("{}/{C}/{blob}", az.endpoint()));

    let dir = tempfile::tempdir().unwrap();
    let sas = azurite::blob_sas(C, blob);
    let to = format!("{}/", dir.path().display());
    let out = run(&mut arm.nwcap_cmd(&[
        "download",
        "TestCapture",
        "-v",
        "--sas",
        &sas,
        "--dest",
        &to,
    ]));
    out.ok();
    assert_same(&dir.path().join("packetcapture_17_19_53_056.cap"), &data);
    out.hides(TOKEN);

    // A capture that does not exist: Resource Manager's 404, named.
    let out = run(&mut arm.nwcap_cmd(&["download", "Nope"]));
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stderr.contains("Nope"), "{}", out.stderr);
}
