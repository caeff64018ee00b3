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
