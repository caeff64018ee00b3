//! `nwcap analyze` end to end on hand-made captures whose figures are computed by hand in the
//! comments below, plus every kind of bad input.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::craft::*;
use crate::support::{corpus, nwcap, nwcap_cmd, run};
use serde_json::Value;

const T0: i64 = 1_700_000_000_000_000_000;
const MS: i64 = 1_000_000;

// The "mix" capture; local VM 10.1.0.4.
//  A  TCP 10.1.0.4:50000 <-> 93.184.216.34:443, full handshake + data + FIN both ways:
//     out 5 pkts 54+54+154+54+54 = 370 B, in 3 pkts 54+1054+54 = 1162 B, state SF.
//  B  UDP 10.1.0.4:5353 <-> 10.0.0.53:53: out 1/72 B, in 1/142 B.
//  C  TCP 10.1.0.4:40000 <-> 10.0.0.7:8080, SYN then RST-ACK: out 1/54, in 1/54, REJ.
//  D  UDP [2001:db8::4]:6000 -> [2001:db8::53]:53: 1/82 B.
//  -  ARP, 60 B (non-IP).
//  E  ICMP echo 10.1.0.4 <-> 10.0.0.1 id 7: out 1/42, in 1/42.
// Total 16 packets, 2080 bytes.
fn mix() -> Vec<Rec> {
    let (l, r) = ("10.1.0.4", "93.184.216.34");
    vec![
        Rec::new(T0, tcp(l, 50000, r, 443, SYN, 0)),
        Rec::new(T0 + 10 * MS, tcp(r, 443, l, 50000, SYN | ACK, 0)),
        Rec::new(T0 + 11 * MS, tcp(l, 50000, r, 443, ACK, 0)),
        Rec::new(T0 + 20 * MS, tcp(l, 50000, r, 443, ACK, 100)),
        Rec::new(T0 + 30 * MS, tcp(r, 443, l, 50000, ACK, 1000)),
        Rec::new(T0 + 40 * MS, tcp(l, 50000, r, 443, FIN | ACK, 0)),
        Rec::new(T0 + 50 * MS, tcp(r, 443, l, 50000, FIN | ACK, 0)),
        Rec::new(T0 + 60 * MS, tcp(l, 50000, r, 443, ACK, 0)),
        Rec::new(T0 + 100 * MS, udp(l, 5353, "10.0.0.53", 53, 30)),
        Rec::new(T0 + 110 * MS, udp("10.0.0.53", 53, l, 5353, 100)),
        Rec::new(T0 + 200 * MS, tcp(l, 40000, "10.0.0.7", 8080, SYN, 0)),
        Rec::new(T0 + 210 * MS, tcp("10.0.0.7", 8080, l, 40000, RST | ACK, 0)),
        Rec::new(
            T0 + 300 * MS,
            udp("2001:db8::4", 6000, "2001:db8::53", 53, 20),
        ),
        Rec::new(T0 + 400 * MS, arp()),
        Rec::new(T0 + 500 * MS, icmp_echo(l, "10.0.0.1", false, 7)),
        Rec::new(T0 + 510 * MS, icmp_echo("10.0.0.1", l, true, 7)),
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn mix_file(dir: &Path) -> String {
    write(dir, "mix.pcap", &pcap(&mix(), false, false, 65535))
        .to_string_lossy()
        .into()
}

fn analyze_json(file: &str, extra: &[&str]) -> Value {
    let mut args = vec!["analyze", file, "--output", "json"];
    args.extend_from_slice(extra);
    let r = nwcap(&args);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    r.json()
}

fn find_flow<'a>(j: &'a Value, remote_ip: &str) -> &'a Value {
    j["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["remote_ip"] == remote_ip)
        .unwrap_or_else(|| panic!("no flow to {remote_ip} in {}", j["flows"]))
}

#[test]
fn report_figures_match_hand_computation() {
    let dir = tempfile::tempdir().unwrap();
    let j = analyze_json(&mix_file(dir.path()), &[]);
    assert_eq!(j["schema"], "nwcap.analysis/2");
    let s = &j["summary"];
    assert_eq!(
        (s["packets"].as_u64(), s["bytes"].as_u64()),
        (Some(16), Some(2080))
    );
    assert_eq!(s["captured_bytes"], 2080);
    assert_eq!(s["truncated_packets"], 0);
    assert_eq!(s["first_ts"], "2023-11-14T22:13:20.000000000Z");
    assert_eq!(s["last_ts"], "2023-11-14T22:13:20.510000000Z");
    assert_eq!(s["duration_s"], 0.51);
    assert_eq!(
        s["files"][0]["format"],
        "pcap (little-endian, microseconds)"
    );
    assert_eq!(s["files"][0]["link_types"][0]["name"], "Ethernet");
    assert_eq!(j["matched"]["packets"], 16);
    assert_eq!(j["local"]["addresses"][0], "10.1.0.4");
    assert_eq!(j["local"]["inferred"], true);
    assert_eq!(j["flows"].as_array().unwrap().len(), 5);

    let a = find_flow(&j, "93.184.216.34");
    assert_eq!(a["protocol"], "TCP");
    assert_eq!(
        (a["local_port"].as_u64(), a["remote_port"].as_u64()),
        (Some(50000), Some(443))
    );
    assert_eq!(
        (a["out"]["packets"].as_u64(), a["out"]["bytes"].as_u64()),
        (Some(5), Some(370))
    );
    assert_eq!(
        (a["in"]["packets"].as_u64(), a["in"]["bytes"].as_u64()),
        (Some(3), Some(1162))
    );
    assert_eq!(a["duration_s"], 0.06);
    let t = &a["tcp"];
    assert_eq!(t["state"], "SF");
    assert_eq!(t["initiator"], "local");
    assert_eq!(t["syn_to_synack_s"], 0.01);
    assert_eq!(t["synack_to_ack_s"], 0.001);
    assert_eq!(t["handshake_rtt_s"], 0.011);
    assert_eq!(t["flags_out"], "FSA");
    assert_eq!(t["syn_fin_rst_in"], serde_json::json!([1, 1, 0]));
    // Largest flow first.
    assert_eq!(j["flows"][0]["remote_ip"], "93.184.216.34");

    let c = find_flow(&j, "10.0.0.7");
    assert_eq!(c["tcp"]["state"], "REJ");
    let b = find_flow(&j, "10.0.0.53");
    assert_eq!(b["tcp"], Value::Null);
    assert_eq!(
        (b["out"]["bytes"].as_u64(), b["in"]["bytes"].as_u64()),
        (Some(72), Some(142))
    );
    let e = find_flow(&j, "10.0.0.1");
    assert_eq!(
        (e["protocol"].as_str(), e["icmp_id"].as_u64()),
        (Some("ICMP"), Some(7))
    );
    assert_eq!(e["local_port"], Value::Null);
    let d = find_flow(&j, "2001:db8::53");
    assert_eq!(d["local_ip"], "2001:db8::4");

    let protos: Vec<(String, u64, u64)> = j["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["protocol"].as_str().unwrap().to_string(),
                p["packets"].as_u64().unwrap(),
                p["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    // The whole set, in the report's order (bytes, most first): no protocol more.
    let want: Vec<(String, u64, u64)> = vec![
        ("TCP".into(), 10, 1640),
        ("UDP".into(), 3, 296),
        ("ICMP".into(), 2, 84),
        ("non-IP".into(), 1, 60),
    ];
    assert_eq!(protos, want);
    assert_eq!(j["top_talkers"][0]["address"], "10.1.0.4");
}

/// (flags, matched packets, matched bytes), each hand-computed from `mix()`.
#[test]
fn every_filter_form() {
    let dir = tempfile::tempdir().unwrap();
    let f = mix_file(dir.path());
    let cases: &[(&[&str], u64, u64)] = &[
        // A only.
        (
            &[
                "--local-ip",
                "10.1.0.4",
                "--remote-port",
                "443",
                "--protocol",
                "TCP",
            ],
            8,
            1532,
        ),
        // B + D (UDP to port 53), C (10.0.0.7) and E (10.0.0.1) by the range.
        (
            &[
                "--filter",
                "protocol=UDP,remotePort=53",
                "--filter",
                "remoteIPAddress=10.0.0.1-10.0.0.9",
            ],
            7,
            488,
        ),
        // A (443) and C (8080).
        (&["--remote-port", "80;443;8000-8080"], 10, 1640),
        // D only: IPv6 single address.
        (&["--local-ip", "2001:db8::4"], 1, 82),
        // IPv6 range covering D's remote.
        (
            &[
                "--remote-ip",
                "2001:db8::1-2001:db8::ff",
                "--protocol",
                "UDP",
            ],
            1,
            82,
        ),
        // List of addresses: B + C.
        (&["--remote-ip", "10.0.0.53;10.0.0.7"], 4, 322),
        // Local port: B.
        (&["--local-port", "5353"], 2, 214),
        // Local port range with a list: A (50000) and C (40000).
        (&["--local-port", "40000;49000-50000"], 10, 1640),
        (&["--protocol", "UDP"], 3, 296),
        // JSON filters as Network Watcher stores them: TCP to 443 OR anything UDP.
        (
            &[
                "--filters-json",
                r#"[{"protocol":"TCP","remotePort":"443"},{"protocol":"UDP"}]"#,
            ],
            11,
            1828,
        ),
        // Flags AND-ed into each --filter: local 10.1.0.4 with remote port 53 or 8080.
        (
            &[
                "--local-ip",
                "10.1.0.4",
                "--filter",
                "remotePort=53",
                "--filter",
                "remotePort=8080",
            ],
            4,
            322,
        ),
        // Nothing matches: the remote side of A is port 443, not local.
        (&["--local-port", "443"], 0, 0),
    ];
    for (args, packets, bytes) in cases {
        let j = analyze_json(&f, args);
        assert_eq!(
            (
                j["matched"]["packets"].as_u64(),
                j["matched"]["bytes"].as_u64()
            ),
            (Some(*packets), Some(*bytes)),
            "{args:?}"
        );
        // The summary still counts every packet read.
        assert_eq!(j["summary"]["packets"], 16, "{args:?}");
    }
    let j = analyze_json(&f, &["--local-ip", "2001:db8::4"]);
    assert_eq!(j["local"]["addresses"][0], "2001:db8::4");
    assert_eq!(j["local"]["inferred"], false);
}

#[test]
fn bad_filters_are_usage_errors_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let f = mix_file(dir.path());
    for (args, needle) in [
        (vec!["--remote-port", "99999"], "remotePort"),
        (vec!["--local-ip", "1.1.1.1-255.255.255"], "localIPAddress"),
        (vec!["--filter", "port=80"], "unknown filter field 'port'"),
        (vec!["--protocol", "SCTP"], "protocol"),
        (
            vec!["--local-ip", "10.0.0.1", "--filter", "localIP=10.0.0.2"],
            "given twice",
        ),
    ] {
        let mut a = vec!["analyze", &f];
        a.extend(args.iter());
        let r = nwcap(&a);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
}

#[test]
fn snaplen_34_keeps_addresses_and_drops_ports() {
    // Network Watcher with bytesToCapturePerPacket=34: Ethernet + IPv4 header only.
    // TCP A and C become port-less TCP flows per address pair, B a port-less UDP flow, E an
    // ICMP flow without echo id; D (IPv6 header cut) and ARP are non-IP.
    let recs: Vec<Rec> = mix().into_iter().map(|r| r.snapped(34)).collect();
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "snap34.pcap", &pcap(&recs, false, false, 34));
    let j = analyze_json(f.to_str().unwrap(), &[]);
    let s = &j["summary"];
    assert_eq!(
        (s["packets"].as_u64(), s["bytes"].as_u64()),
        (Some(16), Some(2080))
    );
    assert_eq!(s["captured_bytes"], 16 * 34);
    // Every packet is longer than 34 bytes.
    assert_eq!(s["truncated_packets"], 16);
    assert_eq!(j["flows"].as_array().unwrap().len(), 4);
    let a = find_flow(&j, "93.184.216.34");
    assert_eq!(
        (a["local_port"].clone(), a["remote_port"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(
        (a["out"]["bytes"].as_u64(), a["in"]["bytes"].as_u64()),
        (Some(370), Some(1162))
    );
    assert_eq!(a["out"]["captured_bytes"], 5 * 34);
    assert_eq!(find_flow(&j, "10.0.0.1")["icmp_id"], Value::Null);
    let non_ip = j["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["protocol"] == "non-IP")
        .unwrap();
    assert_eq!(
        (non_ip["packets"].as_u64(), non_ip["bytes"].as_u64()),
        (Some(2), Some(142))
    );
}

#[test]
fn byte_orders_resolutions_and_pcapng_agree() {
    let dir = tempfile::tempdir().unwrap();
    let base = analyze_json(&mix_file(dir.path()), &[]);
    let variants = [
        ("be.pcap", pcap(&mix(), true, false, 65535)),
        ("ns.pcap", pcap(&mix(), false, true, 65535)),
        ("be-ns.pcap", pcap(&mix(), true, true, 65535)),
        ("le.pcapng", pcapng_section(&mix(), false, 6, &[])),
        ("be.pcapng", pcapng_section(&mix(), true, 9, &[])),
    ];
    for (name, bytes) in variants {
        let f = write(dir.path(), name, &bytes);
        let j = analyze_json(f.to_str().unwrap(), &[]);
        assert_eq!(j["flows"], base["flows"], "{name}");
        assert_eq!(
            j["summary"]["first_ts"], base["summary"]["first_ts"],
            "{name}"
        );
        assert_eq!(
            j["summary"]["last_ts"], base["summary"]["last_ts"],
            "{name}"
        );
    }
}

#[test]
fn pcapng_sections_and_unknown_blocks() {
    // Two sections of different byte order, the second with an unknown block and a custom
    // block: all 32 packets read, the two unknown blocks skipped with a warning.
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = pcapng_section(&mix(), false, 6, &[]);
    bytes.extend(pcapng_section(
        &mix(),
        true,
        9,
        &[(0x0000_0BAD, vec![1, 2, 3, 4, 5]), (0x99, vec![])],
    ));
    let f = write(dir.path(), "two.pcapng", &bytes);
    let j = analyze_json(f.to_str().unwrap(), &[]);
    assert_eq!(j["summary"]["packets"], 32);
    assert_eq!(j["summary"]["bytes"], 4160);
    let warnings = j["summary"]["warnings"].to_string();
    assert!(warnings.contains("2 pcapng blocks"), "{warnings}");
}

#[test]
fn several_files_and_stdin_merge_into_one_report() {
    let dir = tempfile::tempdir().unwrap();
    let f = mix_file(dir.path());
    // Two files of the same contents (one file named twice is read once: see `trust`).
    let copy = write(dir.path(), "copy.pcap", &std::fs::read(&f).unwrap());
    let j = analyze_json(&f, &[copy.to_str().unwrap()]);
    assert_eq!(j["summary"]["packets"], 32);
    assert_eq!(j["summary"]["files"].as_array().unwrap().len(), 2);
    assert_eq!(j["flows"].as_array().unwrap().len(), 5);
    assert_eq!(find_flow(&j, "93.184.216.34")["out"]["packets"], 10);

    let j = run(nwcap_cmd()
        .args(["analyze", "-", "--output", "json"])
        .stdin(std::fs::File::open(&f).unwrap()))
    .ok()
    .json();
    assert_eq!(j["summary"]["packets"], 16);
    assert_eq!(j["summary"]["files"][0]["path"], "-");
}

#[test]
fn a_pipe_given_by_path_is_read_not_taken_for_empty() {
    // `nwcap analyze <(zcat x.pcap.gz)` names a pipe whose length is 0.
    let dir = tempfile::tempdir().unwrap();
    let f = mix_file(dir.path());
    let mut child = nwcap_cmd()
        .args(["analyze", "/dev/stdin", "--output", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(&f).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &bytes));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["summary"]["packets"], 16);
}

#[test]
fn ndjson_csv_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let f = mix_file(dir.path());
    let r = nwcap(&["analyze", &f, "--output", "ndjson"]);
    assert_eq!(r.code, 0);
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["remote_ip"], "93.184.216.34");

    let r = nwcap(&["analyze", &f, "--output", "csv"]);
    r.ok();
    let rows: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(rows.len(), 6);
    assert!(
        rows[0].starts_with("protocol,protocol_number,local_ip,local_port,remote_ip,remote_port")
    );
    assert!(
        rows[1].starts_with("TCP,6,10.1.0.4,50000,93.184.216.34,443,,5,370,370,3,1162,1162,"),
        "{}",
        rows[1]
    );
    assert!(rows.iter().all(|r| r.split(',').count() == 60), "{rows:?}");

    let r = nwcap(&["analyze", &f, "--output", "table"]);
    assert!(r.stdout.contains("10.1.0.4:50000"), "{}", r.stdout);
    assert!(r.stdout.contains("Local address (inferred): 10.1.0.4"));
}

#[test]
fn write_exports_exactly_the_matched_packets() {
    let dir = tempfile::tempdir().unwrap();
    let f = mix_file(dir.path());
    let out = dir.path().join("matched.pcap");
    let out_s = out.to_str().unwrap();
    analyze_json(&f, &["--remote-port", "443", "--write", out_s]);
    // Read back: flow A's 8 packets, byte for byte, nanosecond pcap.
    let data = std::fs::read(&out).unwrap();
    assert_eq!(&data[..4], &0xa1b2_3c4du32.to_le_bytes());
    let recs: Vec<_> = nwcap_analysis::capture::Reader::new(&data)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let want: Vec<Rec> = mix().into_iter().take(8).collect();
    assert_eq!(recs.len(), 8);
    for (got, want) in recs.iter().zip(&want) {
        assert_eq!(got.data, &want.data[..]);
        assert_eq!(got.ts_ns, Some(want.ts_ns));
        assert_eq!(got.wire_len, want.wire_len);
    }
    // Mixed link types go to pcapng.
    let mixed = dir.path().join("mixed.pcapng");
    let sll2 = corpus("zeek__linux_dlt_sll2.pcap");
    analyze_json(
        &f,
        &[sll2.to_str().unwrap(), "--write", mixed.to_str().unwrap()],
    );
    let j = analyze_json(mixed.to_str().unwrap(), &[]);
    assert_eq!(j["summary"]["packets"], 22);
    assert_eq!(j["summary"]["files"][0]["format"], "pcapng");
    assert_eq!(
        j["summary"]["files"][0]["link_types"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn cut_final_record_reports_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let recs = mix();
    let whole = pcap(&recs, false, false, 65535);
    // The 16th record starts where a capture of the first 15 ends.
    let offset = pcap(&recs[..15], false, false, 65535).len();
    let f = write(dir.path(), "cut.pcap", &whole[..whole.len() - 10]);
    let r = nwcap(&["analyze", f.to_str().unwrap(), "--output", "json"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("cut.pcap"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("offset {offset}")),
        "{}",
        r.stderr
    );
    let j = r.json();
    assert_eq!(j["summary"]["packets"], 15);
    assert_eq!(j["summary"]["files"][0]["readable"], "partial");
    assert!(j["summary"]["warnings"].to_string().contains("cut short"));
}

#[test]
fn corrupt_record_length_names_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let recs = mix();
    let mut bytes = pcap(&recs, false, false, 65535);
    let offset = pcap(&recs[..2], false, false, 65535).len();
    bytes[offset + 8..offset + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let f = write(dir.path(), "corrupt.pcap", &bytes);
    let r = nwcap(&["analyze", f.to_str().unwrap(), "--output", "json"]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr
            .contains(&format!("corrupt pcap record at offset {offset}")),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["summary"]["packets"], 2);

    // pcapng: a block whose trailing length disagrees.
    let mut ng = pcapng_section(&recs, false, 6, &[]);
    let n = ng.len();
    ng[n - 4] ^= 0x40;
    let f = write(dir.path(), "corrupt.pcapng", &ng);
    let r = nwcap(&["analyze", f.to_str().unwrap(), "--output", "json"]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("corrupt pcapng block at offset"),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["summary"]["packets"], 15);
}

#[test]
fn files_that_are_not_captures() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], i32, &str); 5] = [
        ("empty.cap", b"", 3, "empty file"),
        (
            "garbage.cap",
            b"this is not a capture at all",
            3,
            "not a pcap or pcapng capture: bytes at offset 0 are 74 68 69 73",
        ),
        (
            "netmon.cap",
            b"GMBU\x00\x02\x00\x00rest of a netmon file",
            3,
            "Microsoft Network Monitor 2.x",
        ),
        ("short.cap", b"\xd4\xc3\xb2", 3, "offset 0"),
        (
            "headeronly.pcap",
            &[
                0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0,
                0, 0,
            ],
            0,
            "",
        ),
    ];
    for (name, bytes, code, needle) in cases {
        let f = write(dir.path(), name, bytes);
        let r = nwcap(&["analyze", f.to_str().unwrap(), "--output", "json"]);
        assert_eq!(r.code, code, "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains(needle) && r.stderr.contains(name) || code == 0,
            "{name}: {}",
            r.stderr
        );
        let j = r.json();
        assert_eq!(j["summary"]["packets"], 0, "{name}");
    }
    let j = analyze_json(dir.path().join("headeronly.pcap").to_str().unwrap(), &[]);
    assert!(j["summary"]["warnings"].to_string().contains("no packets"));

    let r = nwcap(&["analyze", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is a directory"), "{}", r.stderr);
    let r = nwcap(&["analyze", "/nonexistent/x.cap"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("cannot read '/nonexistent/x.cap'"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1);
}

#[test]
fn closed_stdout_is_not_an_error() {
    let file = corpus("zeek__dhcp_flood.pcap");
    let mut child = nwcap_cmd()
        .args(["analyze", file.to_str().unwrap(), "--output", "ndjson"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn by_file_adds_each_files_own_report() {
    let (a, b) = (corpus("zeek__ssh.pcap"), corpus("zeek__http-bro.org.pcap"));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let json = |args: &[&str]| {
        let r = nwcap(args);
        r.ok();
        r.json()
    };
    let mut both = json(&["analyze", a, b, "-o", "json", "--by-file"]);
    let files = both["by_file"].take();
    both.as_object_mut().unwrap().remove("by_file");
    // The merged part is the report without --by-file; each file's is its report alone.
    assert_eq!(both, json(&["analyze", a, b, "-o", "json"]));
    assert_eq!(files[0]["path"], a);
    assert_eq!(files[0]["report"], json(&["analyze", a, "-o", "json"]));
    assert_eq!(files[1]["report"], json(&["analyze", b, "-o", "json"]));
    let r = nwcap(&["analyze", a, b, "-o", "table", "--by-file"]);
    r.ok();
    assert!(r.stdout.contains(&format!("=== {b} ===")), "{}", r.stdout);
    nwcap(&["analyze", a, "-o", "csv", "--by-file"]).fails("csv", 2, "--by-file");
}
