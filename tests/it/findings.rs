//! Findings: each kind on a crafted capture that shows it and on one that does not (figures
//! by hand), and the table's first section.

use serde_json::Value;

use crate::craft::{self, Rec, Seg, ACK, FIN, RST, SYN};
use crate::support::nwcap;

const C: &str = "10.1.0.4";
const S: &str = "10.9.0.7";
const MS: i64 = 1_000_000;
const T0: i64 = 1_700_000_000_000_000_000;

fn seg(flags: u8, seq: u32, ack: u32, len: usize) -> Seg {
    Seg {
        flags,
        seq,
        ack,
        win: 1024,
        len,
        syn_opts: None,
    }
}

/// A packet at `ms` on the connection from client port `port` to the server's 443.
fn at(ms: i64, port: u16, from_client: bool, s: Seg) -> Rec {
    let p = if from_client {
        craft::tcp_seg(C, port, S, 443, s)
    } else {
        craft::tcp_seg(S, 443, C, port, s)
    };
    Rec::new(T0 + ms * MS, p)
}

/// A connection on client port `port` from `ms`: handshake (RTT `rtt` ms), 10 data segments
/// of 100 bytes, the first `retrans` of them sent again, then FIN both ways (or an RST from
/// the server when `reset`).
fn connection(port: u16, ms: i64, rtt: i64, retrans: usize, reset: bool) -> Vec<Rec> {
    let mut v = vec![
        at(ms, port, true, seg(SYN, 999, 0, 0)),
        at(ms + rtt, port, false, seg(SYN | ACK, 4999, 1000, 0)),
        at(ms + rtt + 1, port, true, seg(ACK, 1000, 5000, 0)),
    ];
    let mut t = ms + rtt + 10;
    for k in 0..10u32 {
        v.push(at(t, port, true, seg(ACK, 1000 + 100 * k, 5000, 100)));
        t += 10;
    }
    for k in 0..retrans as u32 {
        v.push(at(t, port, true, seg(ACK, 1000 + 100 * k, 5000, 100)));
        t += 300;
    }
    v.push(at(t, port, false, seg(ACK, 5000, 2000, 0)));
    if reset {
        v.push(at(t + 5, port, false, seg(RST | ACK, 5000, 2000, 0)));
    } else {
        v.push(at(t + 5, port, true, seg(FIN | ACK, 2000, 5000, 0)));
        v.push(at(t + 6, port, false, seg(FIN | ACK, 5000, 2001, 0)));
        v.push(at(t + 7, port, true, seg(ACK, 2001, 5001, 0)));
    }
    v
}

fn findings_of(recs: &[Rec], snaplen: u32) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f.pcap");
    let mut recs = recs.to_vec();
    recs.sort_by_key(|r| r.ts_ns);
    if snaplen > 0 {
        recs = recs
            .into_iter()
            .map(|r| r.snapped(snaplen as usize))
            .collect();
    }
    std::fs::write(&f, craft::pcap(&recs, false, true, snaplen)).unwrap();
    let r = nwcap(&[
        "analyze",
        "--health",
        f.to_str().unwrap(),
        "--local-ip",
        C,
        "-o",
        "json",
    ]);
    r.ok();
    r.json()["findings"].as_array().unwrap().clone()
}

fn kinds(f: &[Value]) -> Vec<String> {
    f.iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Five healthy connections, 10 ms handshakes.
fn healthy() -> Vec<Rec> {
    (0..5)
        .flat_map(|i| connection(40000 + i, i as i64 * 2000, 10, 0, false))
        .collect()
}

#[test]
fn a_healthy_capture_has_no_findings() {
    assert_eq!(kinds(&findings_of(&healthy(), 0)), Vec::<String>::new());
}

#[test]
fn syn_retries_without_an_answer_are_no_answer() {
    let mut recs = healthy();
    for t in [0, 1000, 3000] {
        recs.push(at(20_000 + t, 50000, true, seg(SYN, 77, 0, 0)));
    }
    let f = findings_of(&recs, 0);
    assert_eq!(kinds(&f), ["no_answer"]);
    assert_eq!(
        (f[0]["count"].clone(), f[0]["flows"].clone()),
        (3.into(), 1.into())
    );
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(f[0]["endpoints"], serde_json::json!(["10.9.0.7:443 (3)"]));
}

#[test]
fn a_reset_answer_or_a_port_unreachable_is_refused() {
    let mut recs = healthy();
    recs.push(at(20_000, 50000, true, seg(SYN, 77, 0, 0)));
    recs.push(at(20_001, 50000, false, seg(RST | ACK, 0, 78, 0)));
    let q = craft::udp(C, 5353, S, 53, 20);
    recs.push(Rec::new(T0 + 21_000 * MS, q.clone()));
    recs.push(Rec::new(
        T0 + 21_001 * MS,
        craft::icmp_error(S, C, 3, 3, &q),
    ));
    let f = findings_of(&recs, 0);
    assert_eq!(kinds(&f), ["refused"]);
    assert_eq!(f[0]["count"], 2);
}

#[test]
fn an_established_connection_reset_is_a_reset() {
    let mut recs = healthy();
    recs.extend(connection(50000, 20_000, 10, 0, true));
    let f = findings_of(&recs, 0);
    assert_eq!(kinds(&f), ["reset"]);
    assert!(
        f[0]["summary"]
            .as_str()
            .unwrap()
            .contains("1 by the remote side"),
        "{f:?}"
    );
}

#[test]
fn retransmissions_over_5_percent_are_a_storm_and_under_are_not() {
    let mut recs = healthy();
    // 3 of 16 client packets retransmitted: 19 %.
    recs.extend(connection(50000, 20_000, 10, 3, false));
    let f = findings_of(&recs, 0);
    assert_eq!(kinds(&f), ["retransmissions"]);
    assert_eq!(f[0]["count"], 3);
    // 2 retransmissions: under the minimum of 3.
    let mut recs = healthy();
    recs.extend(connection(50000, 20_000, 10, 2, false));
    assert_eq!(kinds(&findings_of(&recs, 0)), Vec::<String>::new());
}

#[test]
fn a_zero_window_is_a_stall() {
    let mut recs = healthy();
    recs.push(at(
        30_000,
        40001,
        false,
        Seg {
            win: 0,
            ..seg(ACK, 5001, 2001, 0)
        },
    ));
    let f = findings_of(&recs, 0);
    assert_eq!(kinds(&f), ["zero_window"]);
}

#[test]
fn packet_too_big_is_path_mtu_trouble() {
    let mut recs = healthy();
    let big = craft::tcp_seg(C, 40002, S, 443, seg(ACK, 1500, 5000, 1400));
    recs.push(Rec::new(T0 + 30_000 * MS, big.clone()));
    recs.push(Rec::new(
        T0 + 30_001 * MS,
        craft::icmp_error("10.0.0.1", C, 3, 4, &big),
    ));
    let f = findings_of(&recs, 0);
    assert!(kinds(&f).contains(&"path_mtu".to_string()), "{f:?}");
    // A port unreachable is a refusal, not MTU trouble.
    let mut recs = healthy();
    recs.push(Rec::new(T0 + 30_000 * MS, big.clone()));
    recs.push(Rec::new(
        T0 + 30_001 * MS,
        craft::icmp_error(S, C, 3, 3, &big),
    ));
    assert!(!kinds(&findings_of(&recs, 0)).contains(&"path_mtu".to_string()));
}

#[test]
fn a_handshake_far_slower_than_the_median_is_slow() {
    let mut recs = healthy();
    recs.extend(connection(50000, 20_000, 200, 0, false));
    let f = findings_of(&recs, 0);
    assert_eq!(kinds(&f), ["slow_handshake"]);
    assert_eq!(f[0]["severity"], "low");
    // 30 ms: 3x the median, under the factor of 4.
    let mut recs = healthy();
    recs.extend(connection(50000, 20_000, 30, 0, false));
    assert_eq!(kinds(&findings_of(&recs, 0)), Vec::<String>::new());
}

#[test]
fn a_snap_length_that_cuts_ports_is_a_capture_warning_and_the_table_leads_with_findings() {
    let recs = healthy();
    let f = findings_of(&recs, 34);
    assert!(kinds(&f).contains(&"capture".to_string()), "{f:?}");
    assert_eq!(f.last().unwrap()["severity"], "info");
    // Severity order: the no-answer attempt comes before the capture warning.
    let mut more = recs.clone();
    more.push(at(20_000, 50000, true, seg(SYN, 77, 0, 0)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.pcap");
    std::fs::write(&path, craft::pcap(&more, false, true, 0)).unwrap();
    let t = nwcap(&[
        "analyze",
        "--health",
        path.to_str().unwrap(),
        "--local-ip",
        C,
        "-o",
        "table",
    ]);
    assert!(
        t.stdout
            .starts_with("Findings:\n  [high] 1 TCP connection attempts"),
        "{}",
        t.stdout
    );
}

/// The JSON report of `bytes` written as `name`, with the healthy connections' local address.
fn report_of(bytes: &[u8], name: &str, threads: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join(name);
    std::fs::write(&f, bytes).unwrap();
    if let Ok(keep) = std::env::var("NWCAP_DUMP_CRAFTED") {
        std::fs::write(std::path::Path::new(&keep).join(name), bytes).unwrap();
    }
    let r = nwcap(&[
        "analyze",
        f.to_str().unwrap(),
        "--local-ip",
        C,
        "--threads",
        threads,
        "-o",
        "json",
    ]);
    r.ok();
    r.json()
}

fn capture_findings(j: &Value) -> Vec<Value> {
    j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "capture")
        .cloned()
        .collect()
}

/// Two sections: the first with two interfaces, a statistics block for interface 0 among the
/// packets (3 dropped) and, at the end, newer ones for both (interface 0: 5 by the interface,
/// 2 by the OS; interface 1: 7 by the interface); the second with one interface (number 2 in
/// the file) that dropped 4, and one block of an interface that section does not describe.
/// The last block of each interface counts: 18 packets. tshark's file-pcapng dissector reads
/// the first section's blocks the same way (`scripts/oracle-capture` on the file that
/// `NWCAP_DUMP_CRAFTED=DIR` keeps prints `0:5:2,1:7:-`) and stops at the second section;
/// capinfos 4.0 counts that section's blocks as interface #0's and #1's (it looks a block's
/// interface up among the first section's), where the pcapng specification, and nwcap, take
/// the section's own.
fn dropping(drops: [[Option<u64>; 2]; 4]) -> Vec<u8> {
    let recs = healthy();
    let (first, second) = recs.split_at(recs.len() / 2);
    let mut ng = craft::Ng::new();
    ng.section(false).interface(1, 6).interface(1, 9);
    let (a, b) = first.split_at(first.len() / 2);
    for r in a {
        ng.packet(0, r, None);
    }
    ng.statistics(0, Some(3), None);
    for r in b {
        ng.packet(1, r, None);
    }
    ng.statistics(0, drops[0][0], drops[0][1])
        .statistics(1, drops[1][0], drops[1][1]);
    ng.section(true).interface(1, 6);
    for r in second {
        ng.packet(0, r, None);
    }
    ng.statistics(0, drops[2][0], drops[2][1]);
    // A block of an interface the section does not describe is not read.
    ng.statistics(1, drops[3][0], drops[3][1]);
    ng.f.clone()
}

#[test]
fn packets_the_capture_dropped_are_a_capture_warning() {
    let bytes = dropping([
        [Some(5), Some(2)],
        [Some(7), None],
        [Some(4), None],
        [Some(100), None],
    ]);
    let j = report_of(&bytes, "drops.pcapng", "1");
    let file = &j["summary"]["files"][0];
    assert_eq!(
        file["dropped"],
        serde_json::json!({"packets": 18, "interfaces": [
            {"interface": 0, "ifdrop": 5, "osdrop": 2},
            {"interface": 1, "ifdrop": 7, "osdrop": null},
            {"interface": 2, "ifdrop": 4, "osdrop": null}]})
    );
    assert_eq!(file["time_backwards"], Value::Null);
    let f = capture_findings(&j);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0]["severity"].clone(), f[0]["count"].clone()),
        ("low".into(), 18.into())
    );
    let summary = f[0]["summary"].as_str().unwrap();
    assert!(
        summary.contains(
            "dropped 18 packets (interface 0: 5 by the interface and 2 by the operating system; \
             interface 1: 7 by the interface; interface 2: 4 by the interface)"
        ),
        "{summary}"
    );
    // The table says so in the file's lines.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("drops.pcapng");
    std::fs::write(&p, &bytes).unwrap();
    let t = nwcap(&["analyze", p.to_str().unwrap(), "-o", "table"]);
    assert!(
        t.stdout
            .contains("  dropped:       18 packets (as the interface statistics say)\n"),
        "{}",
        t.stdout
    );
}

#[test]
fn statistics_without_drops_are_no_warning() {
    // The last blocks say 0, or give no drop count (the earlier 3 of interface 0 is replaced).
    let j = report_of(
        &dropping([
            [Some(0), Some(0)],
            [None, None],
            [Some(0), None],
            [None, None],
        ]),
        "none.pcapng",
        "1",
    );
    assert_eq!(
        j["summary"]["files"][0]["dropped"],
        serde_json::json!({"packets": 0, "interfaces": [
            {"interface": 0, "ifdrop": 0, "osdrop": 0},
            {"interface": 2, "ifdrop": 0, "osdrop": null}]})
    );
    assert_eq!(capture_findings(&j), Vec::<Value>::new());
    // A pcap says nothing of drops.
    let j = report_of(&craft::pcap(&healthy(), false, true, 0), "h.pcap", "1");
    assert_eq!(j["summary"]["files"][0]["dropped"], Value::Null);
}

/// The healthy connections, then DNS queries at 30.0, 29.0, 29.5 and 29.4 s: two packets go
/// back in time, by 1 s and by 0.1 s, the first of them the second query.
#[test]
fn time_going_back_is_a_capture_warning() {
    let mut recs = healthy();
    recs.sort_by_key(|r| r.ts_ns);
    let n = recs.len() as u64;
    for ms in [30_000, 29_000, 29_500, 29_400] {
        recs.push(Rec::new(T0 + ms * MS, craft::udp(C, 5353, S, 53, 30)));
    }
    for (name, bytes) in [
        ("back.pcap", craft::pcap(&recs, false, true, 0)),
        ("back.pcapng", craft::pcapng_section(&recs, true, 9, &[])),
    ] {
        let j = report_of(&bytes, name, "1");
        assert_eq!(
            j["summary"]["files"][0]["time_backwards"],
            serde_json::json!({"packets": 2, "largest_s": 1.0, "first_packet": n + 2}),
            "{name}"
        );
        let f = capture_findings(&j);
        assert_eq!(f.len(), 1, "{name}: {f:?}");
        assert_eq!(f[0]["severity"], "info");
        assert_eq!(f[0]["count"], 2);
        let summary = f[0]["summary"].as_str().unwrap();
        assert!(
            summary.contains(&format!(
                "2 packets are timestamped earlier than the packet before them (by up to 1 s; \
                 the first is packet {})",
                n + 2
            )),
            "{summary}"
        );
        // The first and last times are the extremes, not the first and last packets'.
        assert_eq!(
            j["summary"]["last_ts"], "2023-11-14T22:13:50.000000000Z",
            "{name}"
        );
    }
    // In order, or at equal times: nothing went back.
    recs.truncate(recs.len() - 3);
    recs.push(Rec::new(T0 + 30_000 * MS, craft::udp(C, 5353, S, 53, 30)));
    let j = report_of(&craft::pcap(&recs, false, true, 0), "same.pcap", "1");
    assert_eq!(j["summary"]["files"][0]["time_backwards"], Value::Null);
    assert_eq!(capture_findings(&j), Vec::<Value>::new());
}

/// Every corpus capture's steps back and drops are tshark's (`scripts/oracle-capture`,
/// `testdata/oracle/capture-quality.tsv`), and a capture finding names each file with steps
/// back or drops.
#[test]
fn capture_quality_is_tsharks_on_the_corpus() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let oracle = std::fs::read_to_string(root.join("oracle/capture-quality.tsv")).unwrap();
    let (mut stepped, mut with_stats) = (0, 0);
    for line in oracle.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let [name, steps, largest, first, drops] = cols[..] else {
            panic!("{line}")
        };
        let path = root.join("corpus").join(name);
        let r = nwcap(&["analyze", path.to_str().unwrap(), "-o", "json"]);
        let j = r.json();
        let file = &j["summary"]["files"][0];
        let steps: u64 = steps.parse().unwrap();
        if steps == 0 {
            assert_eq!(file["time_backwards"], Value::Null, "{name}");
        } else {
            stepped += 1;
            let largest: f64 = largest.parse::<f64>().unwrap() / 1e9;
            assert_eq!(
                file["time_backwards"],
                serde_json::json!({"packets": steps, "largest_s": largest,
                                   "first_packet": first.parse::<u64>().unwrap()}),
                "{name}"
            );
        }
        let got = match &file["dropped"] {
            Value::Null => "-".to_string(),
            d => {
                with_stats += 1;
                let n = |v: &Value| v.as_u64().map_or("-".into(), |n| n.to_string());
                d["interfaces"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| format!("{}:{}:{}", i["interface"], n(&i["ifdrop"]), n(&i["osdrop"])))
                    .collect::<Vec<_>>()
                    .join(",")
            }
        };
        assert_eq!(got, drops, "{name}");
        // (Other capture findings, of snap lengths, are not this test's.)
        let warned = capture_findings(&j)
            .iter()
            .filter(|f| {
                let s = f["summary"].as_str().unwrap();
                s.contains("timestamped earlier") || s.contains("dropped")
            })
            .count();
        assert_eq!(warned, usize::from(steps > 0), "{name}");
    }
    assert_eq!((stepped, with_stats), (4, 2));
}
