//! What a new user and recorded Azure answers tripped on: nwcap never damages an input, never
//! sends a secret in clear, and says clearly what it did not do.

use std::path::{Path, PathBuf};

use crate::craft::{pcap, tcp, udp, Rec, ACK, SYN};
use crate::support::{nwcap, nwcap_cmd, run};

const T0: i64 = 1_700_000_000_000_000_000;

/// Three packets: a TCP SYN and its answer (one flow), one UDP datagram (another); 3 packets.
fn capture(dir: &Path, name: &str) -> PathBuf {
    let recs = [
        Rec::new(T0, tcp("10.1.0.4", 50000, "10.0.0.9", 443, SYN, 0)),
        Rec::new(
            T0 + 1_000,
            tcp("10.0.0.9", 443, "10.1.0.4", 50000, SYN | ACK, 0),
        ),
        Rec::new(T0 + 2_000, udp("10.1.0.4", 5353, "10.0.0.53", 53, 30)),
    ];
    let p = dir.join(name);
    std::fs::write(&p, pcap(&recs, false, false, 65535)).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `--write` onto its own input, directly, through a link, or with a filter that matches
/// nothing, is refused before anything is written: exit 2, both names said, the input intact.
#[test]
fn write_never_overwrites_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = capture(dir.path(), "in.pcap");
    let link = dir.path().join("link.pcap");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let before = std::fs::read(&input).unwrap();
    let cases: [(&str, Vec<&str>); 4] = [
        ("same path", vec![s(&input), "--write", s(&input)]),
        (
            "output is a link to it",
            vec![s(&input), "--write", s(&link)],
        ),
        ("input is a link", vec![s(&link), "--write", s(&input)]),
        (
            "filter matching nothing",
            vec![s(&input), "--remote-port", "1", "--write", s(&input)],
        ),
    ];
    for (case, args) in cases {
        let mut a = vec!["analyze", "--output", "json"];
        a.extend(args);
        let r = nwcap(&a);
        r.fails(case, 2, "never overwrites an input");
        assert!(r.stderr.contains("in.pcap"), "{case}: {}", r.stderr);
        assert_eq!(
            std::fs::read(&input).unwrap(),
            before,
            "{case}: input changed"
        );
    }
}

/// `--write` goes through a temporary file: a failure leaves the destination as it was and
/// leaves no temporary file behind; a success replaces it whole.
#[test]
fn write_replaces_the_destination_only_when_complete() {
    let dir = tempfile::tempdir().unwrap();
    let input = capture(dir.path(), "in.pcap");
    // A destination that cannot be replaced by a file: the rename fails at the very end.
    let blocked = dir.path().join("out-dir");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), b"x").unwrap();
    let r = nwcap(&[
        "analyze",
        s(&input),
        "--output",
        "json",
        "--write",
        s(&blocked),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("cannot write"), "{}", r.stderr);
    assert_eq!(std::fs::read(blocked.join("keep")).unwrap(), b"x");
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(dir.path()),
        ["in.pcap", "out-dir"],
        "temporary file left"
    );

    // Over an existing file: replaced by the matched packets (the TCP flow: 2 records of 54
    // bytes and their 16-byte headers after the 24-byte file header).
    // The old file is replaced, not truncated and rewritten in place: a hard link to it (a
    // reader holding it) still sees the old contents.
    let out = dir.path().join("out.pcap");
    std::fs::write(&out, b"old contents").unwrap();
    let held = dir.path().join("held");
    std::fs::hard_link(&out, &held).unwrap();
    let r = nwcap(&[
        "analyze",
        s(&input),
        "--output",
        "json",
        "--protocol",
        "TCP",
        "--write",
        s(&out),
    ]);
    r.ok();
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 24 + 2 * (16 + 54));
    assert_eq!(std::fs::read(&held).unwrap(), b"old contents");
    assert_eq!(
        names(dir.path()),
        ["held", "in.pcap", "out-dir", "out.pcap"]
    );
}

/// A SAS goes only over https (or plain http to loopback): a SAS given with `--sas`, or inside
/// the URL, for `download` and `analyze --url`, is refused before any connection, and the
/// signature is never printed.
#[test]
fn a_sas_is_never_sent_over_plain_http() {
    let http = "http://acct.blob.core.windows.net/c/x.cap";
    let with_sig = format!("{http}?sv=2024-01-01&sig=TOPSECRETSIG");
    let cases: [(&str, Vec<&str>); 3] = [
        (
            "download --sas",
            vec!["download", "--url", http, "--sas", "sv=1&sig=TOPSECRETSIG"],
        ),
        (
            "download, SAS in the URL",
            vec!["download", "--url", &with_sig],
        ),
        ("analyze --url", vec!["analyze", "--url", &with_sig]),
    ];
    for (case, args) in cases {
        let started = std::time::Instant::now();
        let r = nwcap(&args);
        r.fails(case, 2, "refusing to send a SAS over plain http")
            .hides("TOPSECRETSIG");
        // Refused before any name lookup or connection (a lookup alone can take seconds).
        assert!(started.elapsed().as_secs() < 5, "{case}: too slow");
    }
}

/// An empty filter would match everything and cancel the others; an empty value says nothing.
/// Both are usage errors, and a flag/filter clash names the flag and the filter.
#[test]
fn empty_filters_and_clashes_are_usage_errors_that_say_where() {
    let dir = tempfile::tempdir().unwrap();
    let f = capture(dir.path(), "in.pcap");
    let f = s(&f);
    let cases: [(&str, Vec<&str>, &str); 5] = [
        (
            "empty --filter beside a real one",
            vec!["--filter", "protocol=UDP", "--filter", ""],
            "an empty filter matches every packet",
        ),
        (
            "a filter of commas",
            vec!["--filter", " , "],
            "an empty filter matches every packet",
        ),
        (
            "empty field value",
            vec!["--filter", "protocol=UDP,remotePort="],
            "remotePort: empty value",
        ),
        (
            "empty flag",
            vec!["--local-port", ""],
            "--local-port: empty value",
        ),
        (
            "flag and filter set one field",
            vec!["--protocol", "TCP", "--filter", "protocol=UDP"],
            "protocol given twice: --protocol TCP and --filter 'protocol=UDP' both set it",
        ),
    ];
    for (case, extra, says) in cases {
        let mut a = vec!["analyze", f, "--output", "json"];
        a.extend(extra);
        nwcap(&a).fails(case, 2, says);
    }
}

/// The same file named twice (or through a link) is read once, with a warning.
#[test]
fn the_same_file_twice_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let f = capture(dir.path(), "in.pcap");
    let link = dir.path().join("link.pcap");
    std::os::unix::fs::symlink(&f, &link).unwrap();
    let r = nwcap(&["analyze", s(&f), s(&f), s(&link), "--output", "json"]);
    r.ok();
    let j = r.json();
    assert_eq!(j["summary"]["packets"], 3);
    assert_eq!(j["summary"]["files"].as_array().unwrap().len(), 1);
    assert_eq!(
        r.stderr.matches("is the same file as").count(),
        2,
        "{}",
        r.stderr
    );
}

/// A missing file alone: its cause once, exit 1. Beside a readable one: the report covers the
/// readable one, names the missing one as unreadable, and exits 3 as for a damaged file.
#[test]
fn an_unreadable_input_is_reported_beside_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let f = capture(dir.path(), "in.pcap");
    let missing = dir.path().join("missing.pcap");
    let r = nwcap(&["analyze", s(&missing)]);
    r.fails("missing alone", 1, "cannot read");
    assert_eq!(
        r.stderr.matches("No such file or directory").count(),
        1,
        "{}",
        r.stderr
    );

    let r = nwcap(&["analyze", s(&f), s(&missing), "--output", "json"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["summary"]["packets"], 3);
    let files = j["summary"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[1]["path"], s(&missing));
    assert_eq!(files[1]["readable"], "none");
    assert!(
        files[1]["error"].as_str().unwrap().contains("No such file"),
        "{}",
        files[1]
    );
    assert_eq!(
        r.stderr.matches("No such file or directory").count(),
        1,
        "{}",
        r.stderr
    );
}

/// No credential at all for Blob Storage is an authentication failure (4), as for Resource
/// Manager, not "storage access denied" (11), which is for a SAS or role that storage refused.
#[test]
fn no_storage_credential_is_an_authentication_failure() {
    // A host that answers (nothing is sent to it: the token is asked for first).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/acct/c/x.cap", listener.local_addr().unwrap());
    let r = run(nwcap_cmd()
        .args(["download", "--auth", "azure-cli", "--url", &url])
        // No `az` to ask for a token.
        .env("PATH", "/nonexistent"));
    r.fails("no az", 4, "could not get an Entra ID token");
}

/// A name that does not resolve, or a port that refuses connections, is one clear line within
/// seconds, for Resource Manager and for Blob Storage; every command that talks to Azure takes
/// `--max-retries` and `--http-timeout`.
#[test]
fn unreachable_hosts_fail_fast_in_one_line() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sub = "00000000-0000-0000-0000-000000000000";
    let arm = |endpoint: String| {
        vec![
            "list".to_string(),
            "--auth".into(),
            "token".into(),
            "-s".into(),
            sub.into(),
            "-g".into(),
            "rg".into(),
            "-w".into(),
            "w".into(),
            "--arm-endpoint".into(),
            endpoint,
        ]
    };
    let blob = |cmd: &str, url: String| {
        vec![
            cmd.to_string(),
            "--url".into(),
            url,
            "--max-retries".into(),
            "2".into(),
            "--http-timeout".into(),
            "5s".into(),
        ]
    };
    let cases = [
        (
            "list, no such name",
            arm("https://no-such-endpoint.invalid/".into()),
            9,
            "cannot resolve no-such-endpoint.invalid",
        ),
        (
            "list, refused",
            arm(format!("http://127.0.0.1:{closed}/")),
            9,
            "cannot connect to 127.0.0.1",
        ),
        (
            "download, no such name",
            blob(
                "download",
                "https://nosuchacct.invalid/c/x.cap?sv=1&sig=SIG".into(),
            ),
            1,
            "cannot resolve nosuchacct.invalid",
        ),
        (
            "analyze --url, refused",
            blob(
                "analyze",
                format!("http://127.0.0.1:{closed}/devstoreaccount1/c/x.cap?sv=1&sig=SIG"),
            ),
            1,
            "cannot connect to 127.0.0.1",
        ),
    ];
    for (case, args, code, says) in cases {
        let started = std::time::Instant::now();
        let r = run(nwcap_cmd().args(&args).env("NWCAP_ACCESS_TOKEN", "T0KEN"));
        r.fails(case, code, says).hides("T0KEN");
        assert!(!r.stderr.contains("sig=SIG"), "{case}: {}", r.stderr);
        assert!(
            started.elapsed().as_secs() < 5,
            "{case}: took {:?}",
            started.elapsed()
        );
    }
}
