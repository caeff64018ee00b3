//! nwcap against tshark: for every corpus capture tshark could read, the totals, the
//! per-protocol counts and every flow's packets and bytes in each direction must equal the
//! oracle in `testdata/oracle/` (made by `scripts/oracle`, see its README for the semantics).

use std::collections::BTreeMap;
use std::path::Path;

use nwcap_analysis::capture::Reader;
use nwcap_analysis::filter::FilterSet;
use nwcap_analysis::pass::{Analyzer, FileCounters};
use nwcap_analysis::report::{self, rfc3339, FileFacts, Readable};
use serde_json::Value;

/// "1331084278.438444000" → nanoseconds, exactly.
fn decimal_ns(s: &str) -> i64 {
    let (sec, frac) = s.split_once('.').unwrap_or((s, "0"));
    let frac = format!("{frac:0<9}");
    sec.parse::<i64>().unwrap() * 1_000_000_000 + frac[..9].parse::<i64>().unwrap()
}

fn ts(v: &Value) -> Option<String> {
    v.as_str().map(|s| rfc3339(decimal_ns(s)))
}

type Endpoint = (String, Option<u64>);
/// (protocol, sorted endpoints, icmp id) → packets/bytes sent by each endpoint, first, last.
type FlowMap = BTreeMap<
    (String, [Endpoint; 2], Option<u64>),
    (
        BTreeMap<Endpoint, (u64, u64)>,
        Option<String>,
        Option<String>,
    ),
>;

/// Adds one row; returns false when the map already had a row for that flow (tshark's rows
/// for one flow are summed, as its conversation table may split one; nwcap must give one row).
fn insert(
    m: &mut FlowMap,
    proto: String,
    ends: [(Endpoint, u64, u64); 2],
    icmp: Option<u64>,
    first: Option<String>,
    last: Option<String>,
) -> bool {
    let mut key_ends = [ends[0].0.clone(), ends[1].0.clone()];
    key_ends.sort();
    let key = (proto, key_ends, icmp);
    let new = !m.contains_key(&key);
    let entry = m
        .entry(key)
        .or_insert_with(|| (BTreeMap::new(), first, last));
    for (ep, p, b) in ends {
        let c = entry.0.entry(ep).or_insert((0, 0));
        c.0 += p;
        c.1 += b;
    }
    new
}

fn proto_name(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A protocol as `scripts/oracle` names it: `TCP`, `UDP`, `ICMP`, `ICMPv6`, else the number
/// (nwcap names the others by their IANA keyword, and gives the number beside it).
fn oracle_name(number: Option<u8>, name: &str) -> String {
    match number {
        Some(6) => "TCP".into(),
        Some(17) => "UDP".into(),
        Some(1) => "ICMP".into(),
        Some(58) => "ICMPv6".into(),
        Some(n) => n.to_string(),
        None => name.to_string(),
    }
}

fn check(capture: &Path, oracle: &Value) -> Vec<String> {
    let name = capture.file_name().unwrap().to_string_lossy().to_string();
    let mut errors = Vec::new();
    let mut expect = |what: &str, got: String, want: String| {
        if got != want {
            errors.push(format!("{name}: {what}: nwcap {got}, tshark {want}"));
        }
    };

    let opened = nwcap_analysis::source::open(capture.to_str().unwrap()).unwrap();
    let mut analyzer = Analyzer::new();
    let mut counters = FileCounters::default();
    let mut readable = Readable::Full;
    match Reader::new(opened.bytes()) {
        Err(_) => readable = Readable::None,
        Ok(reader) => {
            for rec in reader {
                match rec {
                    Ok(r) => {
                        counters.add(&r);
                        analyzer.feed(&r);
                    }
                    Err(_) => readable = Readable::Partial,
                }
            }
        }
    }
    let facts = FileFacts {
        path: name.clone(),
        format: None,
        snaplen: 0,
        interfaces: 0,
        drops: Default::default(),
        counters,
        readable,
        error: None,
        warnings: vec![],
    };
    let filters = FilterSet::default();
    let sel = analyzer.select(&filters);
    let r = report::build(&analyzer, &sel, std::slice::from_ref(&facts), 10, 2);
    let s = &r.summary.totals;

    expect(
        "readable",
        format!("{:?}", readable).to_lowercase(),
        oracle["readable"].as_str().unwrap().to_string(),
    );
    expect(
        "packets",
        s.packets.to_string(),
        oracle["packets"].to_string(),
    );
    expect("bytes", s.bytes.to_string(), oracle["bytes"].to_string());
    expect(
        "captured bytes",
        s.captured_bytes.to_string(),
        oracle["captured_bytes"].to_string(),
    );
    expect(
        "first_ts",
        format!("{:?}", s.first_ts.map(|t| t.to_string())),
        format!("{:?}", ts(&oracle["first_ts"])),
    );
    expect(
        "last_ts",
        format!("{:?}", s.last_ts.map(|t| t.to_string())),
        format!("{:?}", ts(&oracle["last_ts"])),
    );

    let mine: BTreeMap<String, (u64, u64)> = r
        .protocols
        .iter()
        .map(|p| {
            (
                oracle_name(p.protocol_number, &p.protocol),
                (p.packets, p.bytes),
            )
        })
        .collect();
    let theirs: BTreeMap<String, (u64, u64)> = oracle["protocols"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                (v["packets"].as_u64().unwrap(), v["bytes"].as_u64().unwrap()),
            )
        })
        .collect();
    expect("protocols", format!("{mine:?}"), format!("{theirs:?}"));

    let mut mine = FlowMap::new();
    for f in r.flows.rows() {
        let new = insert(
            &mut mine,
            oracle_name(Some(f.protocol_number), &f.protocol.to_string()),
            [
                (
                    (f.local_ip.to_string(), f.local_port.map(u64::from)),
                    f.out.packets,
                    f.out.bytes,
                ),
                (
                    (f.remote_ip.to_string(), f.remote_port.map(u64::from)),
                    f.inbound.packets,
                    f.inbound.bytes,
                ),
            ],
            f.icmp_id.map(u64::from),
            f.first_ts.map(|t| t.to_string()),
            f.last_ts.map(|t| t.to_string()),
        );
        if !new {
            let flow = format!(
                "flow {} {}:{:?} <-> {}:{:?}",
                f.protocol, f.local_ip, f.local_port, f.remote_ip, f.remote_port
            );
            expect(&flow, "several rows".into(), "one row".into());
        }
    }
    let mut theirs = FlowMap::new();
    for f in oracle["flows"].as_array().unwrap() {
        // tshark's duplicates are summed: `insert`'s answer does not matter here.
        let ep = |ip: &str, port: &str| (f[ip].as_str().unwrap().to_string(), f[port].as_u64());
        let c = |d: &str, k: &str| f[d][k].as_u64().unwrap();
        let _ = insert(
            &mut theirs,
            proto_name(&f["protocol"]),
            [
                (
                    ep("a_ip", "a_port"),
                    c("a_to_b", "packets"),
                    c("a_to_b", "bytes"),
                ),
                (
                    ep("b_ip", "b_port"),
                    c("b_to_a", "packets"),
                    c("b_to_a", "bytes"),
                ),
            ],
            f["icmp_id"].as_u64(),
            ts(&f["first_ts"]),
            ts(&f["last_ts"]),
        );
    }
    expect(
        "flow count",
        mine.len().to_string(),
        theirs.len().to_string(),
    );
    for (k, v) in &theirs {
        match mine.get(k) {
            None => expect(&format!("flow {k:?}"), "missing".into(), format!("{v:?}")),
            Some(m) => expect(&format!("flow {k:?}"), format!("{m:?}"), format!("{v:?}")),
        }
    }
    for k in mine.keys().filter(|k| !theirs.contains_key(*k)) {
        expect(&format!("flow {k:?}"), "present".into(), "absent".into());
    }
    errors
}

#[test]
fn every_readable_corpus_file_matches_tshark() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut checked = 0;
    let mut unreadable = Vec::new();
    let mut errors = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(root.join("oracle"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    for path in entries {
        let oracle: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if oracle["readable"] == "none" {
            unreadable.push(oracle["file"].as_str().unwrap().to_string());
            continue;
        }
        let capture = root.join("corpus").join(oracle["file"].as_str().unwrap());
        errors.extend(check(&capture, &oracle));
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} oracle files found");
    // Each file tshark cannot read has its hand-checked test below.
    assert_eq!(unreadable, HAND_CHECKED, "files tshark cannot read");
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

/// The corpus files tshark cannot read, each held below to figures read off its bytes by hand.
const HAND_CHECKED: [&str; 2] = ["rusticata__err-eof.bin", "tcpdump__kday6.pcap"];

/// kday6: a pcap header (`d4 c3 b2 a1`: little-endian, microseconds; snaplen `ff ff 00 00` =
/// 65535; link type `b6 00 00 00` = 182, which tshark does not know) and one record at offset
/// 24: seconds `84 68 00 00` = 26756 (07:25:56), microseconds `3e 20 0a 00` = 663614,
/// captured `b6 0d 00 00` = 3510, on the wire `00 00 04 00` = 262144; 24 + 16 + 3510 = 3550
/// bytes, the file's size, so it ends cleanly. nwcap counts the record and cannot decode it.
#[test]
fn kday6_is_one_whole_record_of_an_unsupported_link_type() {
    let path = crate::support::corpus("tcpdump__kday6.pcap");
    let r = crate::support::nwcap(&["analyze", path.to_str().unwrap(), "--output", "json"]);
    r.ok();
    let v = r.json();
    let s = &v["summary"];
    assert_eq!(
        (&s["packets"], &s["bytes"], &s["captured_bytes"]),
        (&Value::from(1), &Value::from(262_144), &Value::from(3510)),
        "{s}"
    );
    assert_eq!(s["truncated_packets"], 1, "{s}");
    assert_eq!(s["first_ts"], "1970-01-01T07:25:56.663614000Z", "{s}");
    let f = &s["files"][0];
    assert_eq!(f["format"], "pcap (little-endian, microseconds)", "{f}");
    assert_eq!(f["snaplen"], 65535, "{f}");
    assert_eq!(f["readable"], "full", "{f}");
    assert_eq!(f["error"], Value::Null, "{f}");
    assert_eq!(f["link_types"][0]["linktype"], 182, "{f}");
    assert_eq!(f["link_types"][0]["packets"], 1, "{f}");
    assert_eq!(v["flows"].as_array().unwrap().len(), 0, "{v}");
}

/// err-eof.bin is a CommView file (tshark: "NCFX data length 6 < 20"), not pcap nor pcapng:
/// its first four bytes are `06 00 00 00`. nwcap reads no packet, names offset 0 and those
/// bytes, and exits 3 (input error), still printing the (empty) report.
#[test]
fn err_eof_is_refused_at_offset_zero() {
    let path = crate::support::corpus("rusticata__err-eof.bin");
    let r = crate::support::nwcap(&["analyze", path.to_str().unwrap(), "--output", "json"]);
    r.fails(
        "err-eof.bin",
        3,
        "not a pcap or pcapng capture: bytes at offset 0 are 06 00 00 00",
    );
    let v = r.json();
    let f = &v["summary"]["files"][0];
    assert_eq!(f["packets"], 0, "{f}");
    assert_eq!(f["readable"], "none", "{f}");
    assert_eq!(
        f["error"],
        "not a pcap or pcapng capture: bytes at offset 0 are 06 00 00 00"
    );
    assert_eq!(v["summary"]["packets"], 0);
}
