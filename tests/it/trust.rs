//! What a new user and recorded Azure answers tripped on: nwcap never damages an input, never
//! sends a secret in clear, and says clearly what it did not do.

use std::path::{Path, PathBuf};

use crate::craft::{arp, ip_proto, pcap, tcp, udp, Rec, ACK, SYN};
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

/// `protocol` is always a string, the IANA keyword or the number as text, with the number
/// beside it as `protocol_number` (null for non-IP), in JSON, NDJSON and CSV; the table shows
/// the names.
#[test]
fn protocol_is_always_a_name_with_its_number_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    // GRE (47) and IGMP (2), 10 payload bytes each: 14 + 20 + 10 = 44 bytes on the wire;
    // protocol 253 (experimentation: no keyword); a UDP datagram; an ARP request (60 bytes).
    let recs = [
        Rec::new(T0, ip_proto("10.1.0.4", "10.0.0.9", 47, 10)),
        Rec::new(T0 + 1, ip_proto("10.1.0.4", "224.0.0.22", 2, 10)),
        Rec::new(T0 + 2, ip_proto("10.1.0.4", "10.0.0.9", 253, 10)),
        Rec::new(T0 + 3, udp("10.1.0.4", 5353, "10.0.0.53", 53, 30)),
        Rec::new(T0 + 4, arp()),
    ];
    let f = dir.path().join("protos.pcap");
    std::fs::write(&f, pcap(&recs, false, false, 65535)).unwrap();
    let f = s(&f);

    let j = nwcap(&["analyze", f, "--output", "json"]).ok().json();
    assert_eq!(j["schema"], "nwcap.analysis/2");
    let mut flows: Vec<(String, u64)> = j["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let name = x["protocol"].as_str().expect("protocol is a string");
            (name.to_string(), x["protocol_number"].as_u64().unwrap())
        })
        .collect();
    flows.sort();
    assert_eq!(
        flows,
        [
            ("253".to_string(), 253),
            ("GRE".to_string(), 47),
            ("IGMP".to_string(), 2),
            ("UDP".to_string(), 17)
        ]
    );
    let protocols: Vec<(String, serde_json::Value, u64)> = j["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p["protocol"].as_str().expect("protocol is a string");
            (
                name.to_string(),
                p["protocol_number"].clone(),
                p["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        protocols.contains(&("GRE".into(), 47.into(), 44)),
        "{protocols:?}"
    );
    assert!(
        protocols.contains(&("non-IP".into(), serde_json::Value::Null, 60)),
        "{protocols:?}"
    );

    let nd = nwcap(&["analyze", f, "--output", "ndjson"])
        .ok()
        .stdout
        .clone();
    for line in nd.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            v["protocol"].is_string() && v["protocol_number"].is_u64(),
            "{line}"
        );
    }
    let csv = nwcap(&["analyze", f, "--output", "csv"])
        .ok()
        .stdout
        .clone();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("protocol,protocol_number,local_ip,"));
    let gre = lines.find(|l| l.starts_with("GRE,")).expect("a GRE row");
    assert!(gre.starts_with("GRE,47,10.1.0.4,"), "{gre}");
    let table = nwcap(&["analyze", f, "--output", "table"])
        .ok()
        .stdout
        .clone();
    assert!(table.contains("GRE") && table.contains("IGMP"), "{table}");
}

/// A filter that matches nothing says so, in the JSON warnings and in the table, instead of
/// printing empty tables.
#[test]
fn no_match_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let f = capture(dir.path(), "in.pcap");
    let args = ["analyze", s(&f), "--remote-port", "1"];
    let j = nwcap(&[&args[..], &["--output", "json"]].concat())
        .ok()
        .json();
    let warnings = j["summary"]["warnings"].to_string();
    assert!(
        warnings.contains("no flow matched the filters (2 flows read)"),
        "{warnings}"
    );
    let t = nwcap(&[&args[..], &["--output", "table"]].concat())
        .ok()
        .stdout
        .clone();
    assert!(
        t.contains("warning: no flow matched the filters (2 flows read)"),
        "{t}"
    );
    assert!(!t.contains("Top 0 of 0"), "{t}");
    assert!(!t.contains("PROTO"), "{t}");
}

/// The table fits the width it is given (`COLUMNS`), has no trailing spaces, and shows bytes
/// in human units (exact integers stay in JSON and CSV).
#[test]
fn the_table_fits_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    // A long IPv6 flow of 100 packets of 1054 bytes (105.4 kB), and a short IPv4 one.
    let mut recs: Vec<Rec> = (0..100)
        .map(|i| {
            let (a, b) = ("2001:db8:1234:5678:9abc:def0:1234:5678", "2001:db8::53");
            Rec::new(T0 + i, udp(a, 50000, b, 443, 1054 - 62))
        })
        .collect();
    recs.push(Rec::new(
        T0 + 200,
        udp("10.1.0.4", 5353, "10.0.0.53", 53, 30),
    ));
    let f = dir.path().join("wide.pcap");
    std::fs::write(&f, pcap(&recs, false, false, 65535)).unwrap();
    for cols in ["80", "100", "200"] {
        let r = run(nwcap_cmd()
            .args(["analyze", s(&f), "--output", "table"])
            .env("COLUMNS", cols));
        r.ok();
        let width: usize = cols.parse().unwrap();
        for line in r.stdout.lines().filter(|l| !l.starts_with("File:")) {
            assert!(line.chars().count() <= width, "COLUMNS={cols}: {line:?}");
            assert!(!line.ends_with(' '), "trailing space: {line:?}");
        }
        assert!(r.stdout.contains("105.4 kB"), "{}", r.stdout);
    }
}

#[test]
fn an_unclear_local_guess_is_said_with_its_margin() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = ("10.1.0.4", "10.9.0.1", "10.9.0.2");
    let flows = |name: &str, to_b: i64, to_c: i64| {
        let mut recs: Vec<Rec> = (0..to_b)
            .map(|i| Rec::new(T0 + i, udp(a, 5000, b, 53, 20)))
            .collect();
        recs.extend((0..to_c).map(|i| Rec::new(T0 + 50 + i, udp(a, 5001, c, 53, 20))));
        let f = dir.path().join(name);
        std::fs::write(&f, pcap(&recs, false, false, 65535)).unwrap();
        f
    };
    let guess_warnings = |f: &Path, extra: &[&str]| -> Vec<String> {
        let mut args = vec!["analyze", s(f), "-o", "json"];
        args.extend_from_slice(extra);
        let r = nwcap(&args);
        r.ok();
        r.json()["summary"]["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .filter(|w| w.contains("local address"))
            .collect()
    };
    // a is in 11 packets, b in 10: 1/11 = 9.1 % fewer, under the 10 % a clear lead needs.
    let close = flows("close.pcap", 10, 1);
    assert_eq!(
        guess_warnings(&close, &[]),
        [format!("local address {a} is a guess by a small margin: it is in 11 packets, {b} in 10 (9.1 % fewer); pass --local-ip to choose")]
    );
    // The table says it too.
    let r = run(nwcap_cmd()
        .args(["analyze", s(&close), "-o", "table"])
        .env("COLUMNS", "200"));
    assert!(
        r.stdout.contains("is a guess by a small margin"),
        "{}",
        r.stdout
    );
    // a in 10, b and c in 5 each: a clear lead, nothing to say.
    assert!(guess_warnings(&flows("clear.pcap", 5, 5), &[]).is_empty());
    // One flow: both ends are in every packet.
    assert_eq!(
        guess_warnings(&flows("two.pcap", 2, 0), &[]),
        [format!("local address {a} is a guess: {b} is in as many packets (2); pass --local-ip to choose")]
    );
    // A local address given is no guess.
    assert!(guess_warnings(&close, &["--local-ip", b]).is_empty());
    // zeek__dhcp_flood.pcap: 500 addresses in 2 packets each (checked with tshark -z endpoints,ip).
    let flood = crate::support::corpus("zeek__dhcp_flood.pcap");
    let w = guess_warnings(&flood, &[]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("499 other addresses are in as many packets (2)"),
        "{w:?}"
    );
}
