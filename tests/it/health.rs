//! TCP health: the sequence analysis of each flow (retransmissions, fast ones, out-of-order
//! segments, duplicate ACKs, zero windows, keep-alives, SYN retries, first RSTs, SYN
//! options, window-full segments, DF segments over the peer's MSS, data→ACK RTTs) on crafted
//! captures whose figures were computed by hand (and which tshark 4.0
//! flags the same way, see the README's "TCP health"), and its exactness over threads.
//! `NWCAP_DUMP_CRAFTED=DIR` keeps the crafted captures there, to show them to tshark.

use serde_json::Value;

use crate::craft::{self, Rec, Seg, ACK, FIN, RST, SYN};
use crate::support::nwcap;

const CLIENT: &str = "10.1.0.4";
const SERVER: &str = "10.9.0.7";
const MS: i64 = 1_000_000;
const T0: i64 = 1_700_000_000_000_000_000;

/// A segment at `ms` milliseconds, from the client (`true`) or the server.
type At = (i64, bool, Seg);

fn capture(segs: &[At]) -> Vec<Rec> {
    segs.iter()
        .map(|&(ms, from_client, s)| {
            let p = if from_client {
                craft::tcp_seg(CLIENT, 40000, SERVER, 443, s)
            } else {
                craft::tcp_seg(SERVER, 443, CLIENT, 40000, s)
            };
            Rec::new(T0 + ms * MS, p)
        })
        .collect()
}

/// The one TCP flow's `tcp` object of the JSON report, the client local.
fn analyse(name: &str, segs: &[At]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join(format!("{name}.pcap"));
    let bytes = craft::pcap(&capture(segs), false, true, 0);
    std::fs::write(&f, &bytes).unwrap();
    if let Ok(keep) = std::env::var("NWCAP_DUMP_CRAFTED") {
        std::fs::write(
            std::path::Path::new(&keep).join(format!("{name}.pcap")),
            &bytes,
        )
        .unwrap();
    }
    let r = nwcap(&[
        "analyze",
        "--health",
        f.to_str().unwrap(),
        "--local-ip",
        CLIENT,
        "--output",
        "json",
    ]);
    r.ok();
    let flows = r.json()["flows"].as_array().unwrap().clone();
    assert_eq!(flows.len(), 1, "{flows:?}");
    flows[0]["tcp"].clone()
}

/// The counters of one direction as (name, value) pairs that are not 0 (the RTTs apart:
/// nearly every segment has one, and their tests look at them).
fn nonzero(h: &Value) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = h
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, v)| v.as_u64() != Some(0) && !k.starts_with("ack_rtt"))
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    v.sort();
    v
}

fn counts(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    v.sort();
    v
}

fn check(t: &Value, out: &[(&str, u64)], inbound: &[(&str, u64)]) {
    assert_eq!(nonzero(&t["health_out"]), counts(out), "out: {t}");
    assert_eq!(nonzero(&t["health_in"]), counts(inbound), "in: {t}");
}

fn syn(seq: u32) -> Seg {
    Seg {
        flags: SYN,
        seq,
        ack: 0,
        win: 64240,
        len: 0,
        syn_opts: Some((1460, 7, true)),
    }
}

fn synack(seq: u32, ack: u32) -> Seg {
    Seg {
        flags: SYN | ACK,
        seq,
        ack,
        win: 65160,
        len: 0,
        syn_opts: Some((1400, 0, false)),
    }
}

/// A handshake (client ISN 1000, server ISN 5000) at 0, 10 and 11 ms.
fn handshake() -> Vec<At> {
    vec![
        (0, true, syn(999)),
        (10, false, synack(4999, 1000)),
        (11, true, Seg::data(1000, 5000, 0)),
    ]
}

#[test]
fn healthy_traffic_counts_nothing_and_shows_syn_options() {
    let mut s = handshake();
    s.extend([
        (20, true, Seg::data(1000, 5000, 100)),
        (30, false, Seg::data(5000, 1100, 300)),
        (40, true, Seg::data(1100, 5300, 0)),
    ]);
    let t = analyse("healthy", &s);
    check(&t, &[], &[]);
    assert_eq!(
        t["syn_options_out"],
        serde_json::json!({"mss": 1460, "window_scale": 7, "sack_permitted": true})
    );
    assert_eq!(
        t["syn_options_in"],
        serde_json::json!({"mss": 1400, "window_scale": 0, "sack_permitted": false})
    );
    assert_eq!(t["first_rst_out_s"], Value::Null);
}

#[test]
fn a_segment_sent_again_after_a_timeout_is_a_retransmission() {
    let mut s = handshake();
    s.extend([
        (20, true, Seg::data(1000, 5000, 100)),
        (320, true, Seg::data(1000, 5000, 100)),
        (330, false, Seg::data(5000, 1100, 0)),
    ]);
    let t = analyse("rto", &s);
    check(
        &t,
        &[("retransmissions", 1), ("retransmitted_bytes", 100)],
        &[],
    );
}

#[test]
fn three_duplicate_acks_then_the_missing_segment_is_a_fast_retransmission() {
    let mut s = handshake();
    s.extend([
        (20, true, Seg::data(1000, 5000, 100)),
        (21, true, Seg::data(1100, 5000, 100)),
        (22, true, Seg::data(1200, 5000, 100)),
        (23, true, Seg::data(1300, 5000, 100)),
        // The server got the first only: it acknowledges 1100 four times.
        (30, false, Seg::data(5000, 1100, 0)),
        (31, false, Seg::data(5000, 1100, 0)),
        (32, false, Seg::data(5000, 1100, 0)),
        (33, false, Seg::data(5000, 1100, 0)),
        (35, true, Seg::data(1100, 5000, 100)),
        (40, false, Seg::data(5000, 1400, 0)),
    ]);
    let t = analyse("fast", &s);
    check(
        &t,
        &[
            ("retransmissions", 1),
            ("retransmitted_bytes", 100),
            ("fast_retransmissions", 1),
        ],
        &[("duplicate_acks", 3)],
    );
}

#[test]
fn a_segment_below_the_highest_within_3_ms_is_out_of_order() {
    let mut s = handshake();
    s.extend([
        (20, true, Seg::data(1000, 5000, 100)),
        (21, true, Seg::data(1200, 5000, 100)),
        (22, true, Seg::data(1100, 5000, 100)),
        (30, false, Seg::data(5000, 1300, 0)),
    ]);
    let t = analyse("ooo", &s);
    check(&t, &[("out_of_order", 1)], &[]);
}

#[test]
fn a_zero_window_then_a_window_update() {
    let mut s = handshake();
    let zero = Seg {
        win: 0,
        ..Seg::data(5000, 1100, 0)
    };
    s.extend([
        (20, true, Seg::data(1000, 5000, 100)),
        (30, false, zero),
        (500, false, Seg::data(5000, 1100, 0)),
        (510, true, Seg::data(1100, 5000, 100)),
    ]);
    let t = analyse("zero-window", &s);
    check(&t, &[], &[("zero_windows", 1)]);
}

#[test]
fn keep_alives_are_not_retransmissions_nor_their_acks_duplicates() {
    let mut s = handshake();
    s.extend([
        (20, true, Seg::data(1000, 5000, 100)),
        (30, false, Seg::data(5000, 1100, 0)),
        (10_030, true, Seg::data(1099, 5000, 0)),
        (10_040, false, Seg::data(5000, 1100, 0)),
        (20_030, true, Seg::data(1099, 5000, 1)),
        (20_040, false, Seg::data(5000, 1100, 0)),
    ]);
    let t = analyse("keep-alive", &s);
    check(&t, &[("keep_alives", 2)], &[]);
}

#[test]
fn syn_retries_without_an_answer() {
    let s = [
        (0, true, syn(999)),
        (1000, true, syn(999)),
        (3000, true, syn(999)),
    ];
    let t = analyse("syn-retries", &s);
    assert_eq!(t["state"], "S0");
    check(
        &t,
        &[("retransmissions", 2), ("syn_retransmissions", 2)],
        &[],
    );
}

#[test]
fn the_first_rst_of_each_side_with_its_time() {
    // Refused: the server answers the SYN with RST-ACK 5 ms later.
    let refused = [
        (0, true, syn(999)),
        (
            5,
            false,
            Seg {
                flags: RST | ACK,
                ..Seg::data(0, 1000, 0)
            },
        ),
    ];
    let t = analyse("refused", &refused);
    assert_eq!(t["first_rst_in_s"], 0.005);
    assert_eq!(t["first_rst_out_s"], Value::Null);
    // Reset mid-stream by the client, 250 ms into the flow, twice; the server's FIN after.
    let mut s = handshake();
    let rst = Seg {
        flags: RST | ACK,
        ..Seg::data(1100, 5000, 0)
    };
    s.extend([
        (20, true, Seg::data(1000, 5000, 100)),
        (250, true, rst),
        (260, true, rst),
        (
            270,
            false,
            Seg {
                flags: FIN | ACK,
                ..Seg::data(5000, 1100, 0)
            },
        ),
    ]);
    let t = analyse("reset", &s);
    assert_eq!(t["first_rst_out_s"], 0.25);
    assert_eq!(t["first_rst_in_s"], Value::Null);
    assert_eq!(t["syn_fin_rst_out"], serde_json::json!([1, 0, 2]));
}

/// A documented difference: nwcap's out-of-order window is always 3 ms after the highest
/// segment; tshark 4.0 uses the handshake's RTT when it saw one (11 ms here), and calls this
/// segment, 5 ms after the highest, out of order where nwcap counts a retransmission.
#[test]
fn going_back_after_3_ms_is_a_retransmission_whatever_the_rtt() {
    let mut s = handshake();
    s.extend([
        (20, true, Seg::data(1000, 5000, 100)),
        (21, true, Seg::data(1200, 5000, 100)),
        (26, true, Seg::data(1100, 5000, 100)),
    ]);
    let t = analyse("ooo-after-3ms", &s);
    check(
        &t,
        &[("retransmissions", 1), ("retransmitted_bytes", 100)],
        &[],
    );
}

/// Data the peer had already acknowledged, sent again within 3 ms of the highest segment:
/// a retransmission for tshark (spurious) and for nwcap, which checks for it before
/// out-of-order as tshark does.
#[test]
fn data_already_acknowledged_is_a_retransmission_even_within_3_ms() {
    let mut s = handshake();
    s.extend([
        (20, true, Seg::data(1000, 5000, 100)),
        (21, true, Seg::data(1100, 5000, 100)),
        (21, false, Seg::data(5000, 1100, 0)),
        (22, true, Seg::data(1000, 5000, 100)),
    ]);
    let t = analyse("spurious", &s);
    check(
        &t,
        &[("retransmissions", 1), ("retransmitted_bytes", 100)],
        &[],
    );
}

/// Data→ACK RTTs, hand-computed: the client's SYN is answered after 10 ms, its segments
/// after 30 and 20 ms, and a segment sent again 300 ms later is acknowledged 305 ms after
/// its first transmission (tshark counts from the oldest copy); the server's SYN-ACK is
/// acknowledged after 1 ms. Out: 10, 20, 30, 305 ms: 4 samples, lower median 20, maximum
/// 305. In: one sample of 1 ms.
#[test]
fn ack_rtts_per_direction_with_their_median_and_maximum() {
    let mut s = handshake();
    s.extend([
        (20, true, Seg::data(1000, 5000, 100)),
        (50, false, Seg::data(5000, 1100, 0)),
        (60, true, Seg::data(1100, 5000, 100)),
        (80, false, Seg::data(5000, 1200, 0)),
        (100, true, Seg::data(1200, 5000, 100)),
        (400, true, Seg::data(1200, 5000, 100)),
        (405, false, Seg::data(5000, 1300, 0)),
    ]);
    let t = analyse("ack-rtt", &s);
    let rtt = |h: &Value| {
        (
            h["ack_rtt_samples"].clone(),
            h["ack_rtt_median_s"].clone(),
            h["ack_rtt_max_s"].clone(),
        )
    };
    assert_eq!(
        rtt(&t["health_out"]),
        (4.into(), 0.02.into(), 0.305.into()),
        "{t}"
    );
    assert_eq!(
        rtt(&t["health_in"]),
        (1.into(), 0.001.into(), 0.001.into()),
        "{t}"
    );
    check(
        &t,
        &[("retransmissions", 1), ("retransmitted_bytes", 100)],
        &[],
    );
}

/// The server (window scale 0 in its SYN-ACK, so windows are as sent) advertises 300 bytes
/// at 1000: the client's 300 bytes from 1000 fill it (window-full), then 299 bytes from 1300
/// against the next 300 at 1300 do not.
#[test]
fn a_segment_that_fills_the_peers_window_is_window_full() {
    let mut s = handshake();
    let win = |ack: u32| Seg {
        win: 300,
        ..Seg::data(5000, ack, 0)
    };
    s.extend([
        (12, false, win(1000)),
        (20, true, Seg::data(1000, 5000, 300)),
        (30, false, win(1300)),
        (40, true, Seg::data(1300, 5000, 299)),
        (50, false, win(1599)),
    ]);
    let t = analyse("window-full", &s);
    assert_eq!(t["health_out"]["window_full"], 1, "{t}");
    assert_eq!(t["health_in"]["window_full"], 0, "{t}");
}

/// With window scaling (client shift 2, server shift 7), the server's window is taken as sent
/// until its first ACK after its SYN-ACK (600 bytes from 1000: filled by 600 bytes), and
/// scaled from then on (4 × 128 = 512 bytes from 1000: filled by 512 bytes, even sent again;
/// 511 more from 1512 do not fill it). tshark 4.0 flags the same two.
#[test]
fn window_full_follows_the_window_scale_from_the_first_ack() {
    let opts = |mss, ws| Some((mss, ws, false));
    let s = [
        (
            0,
            true,
            Seg {
                win: 100,
                syn_opts: opts(1460, 2),
                ..syn(999)
            },
        ),
        (
            1,
            false,
            Seg {
                win: 600,
                syn_opts: opts(1400, 7),
                ..synack(4999, 1000)
            },
        ),
        (
            2,
            true,
            Seg {
                win: 100,
                ..Seg::data(1000, 5000, 600)
            },
        ),
        (
            3,
            false,
            Seg {
                win: 4,
                ..Seg::data(5000, 1000, 0)
            },
        ),
        (
            4,
            true,
            Seg {
                win: 100,
                ..Seg::data(1000, 5000, 512)
            },
        ),
        (
            5,
            true,
            Seg {
                win: 100,
                ..Seg::data(1512, 5000, 511)
            },
        ),
    ];
    let t = analyse("window-full-scaled", &s);
    assert_eq!(t["health_out"]["window_full"], 2, "{t}");
    assert_eq!(t["health_in"]["window_full"], 0, "{t}");
}

/// The server announced MSS 1400: a DF segment of 1401 bytes is over it, one of 1400 is
/// not, nor is a 1500-byte segment without DF (routers may fragment it). On IPv6, where
/// nothing is fragmented on the way, every segment counts as DF.
#[test]
fn df_segments_over_the_peers_mss_count_and_make_a_path_mtu_finding() {
    let mut s = handshake();
    s.extend([
        (20, true, Seg::data(1000, 5000, 1401)),
        (21, true, Seg::data(2401, 5000, 1400)),
        (22, true, Seg::data(3801, 5000, 1500)),
        (30, false, Seg::data(5000, 5301, 0)),
    ]);
    // Don't-Fragment on all but the third segment.
    let recs: Vec<Rec> = capture(&s)
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            if i != 5 {
                r.data[20] |= 0x40;
            }
            r
        })
        .collect();
    let flow = flow_of("df-over-mss", &recs, CLIENT, "TCP");
    assert_eq!(flow["tcp"]["health_out"]["df_over_mss"], 1, "{flow}");
    assert_eq!(flow["tcp"]["health_in"]["df_over_mss"], 0, "{flow}");
    let report = findings_of("df-over-mss", &recs, CLIENT);
    let mtu = report
        .iter()
        .find(|f| f["kind"] == "path_mtu")
        .unwrap_or_else(|| panic!("no path_mtu finding: {report:?}"));
    assert_eq!(mtu["count"], 1, "{mtu}");
    assert!(
        mtu["summary"]
            .as_str()
            .unwrap()
            .starts_with("1 Don't-Fragment segments"),
        "{mtu}"
    );
    // IPv6: the same segments, no DF bit, all but the 1400-byte one over 1400.
    let (c, srv) = ("2001:db8::4", "2001:db8:9::7");
    let v6: Vec<Rec> = s
        .iter()
        .map(|&(ms, from_client, seg)| {
            let p = if from_client {
                craft::tcp_seg(c, 40000, srv, 443, seg)
            } else {
                craft::tcp_seg(srv, 443, c, 40000, seg)
            };
            Rec::new(T0 + ms * MS, p)
        })
        .collect();
    let flow = flow_of("df-over-mss-v6", &v6, c, "TCP");
    assert_eq!(flow["tcp"]["health_out"]["df_over_mss"], 2, "{flow}");
}

/// The findings of a JSON report of `recs` with `--health`, local `local`.
fn findings_of(name: &str, recs: &[Rec], local: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join(format!("{name}.pcap"));
    std::fs::write(&f, craft::pcap(recs, false, true, 0)).unwrap();
    let r = nwcap(&[
        "analyze",
        "--health",
        f.to_str().unwrap(),
        "--local-ip",
        local,
        "-o",
        "json",
    ]);
    r.ok();
    r.json()["findings"].as_array().unwrap().clone()
}

/// The one flow of `proto` in a JSON report of `recs`, local `local`.
fn flow_of(name: &str, recs: &[Rec], local: &str, proto: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join(format!("{name}.pcap"));
    let bytes = craft::pcap(recs, false, true, 0);
    std::fs::write(&f, &bytes).unwrap();
    if let Ok(keep) = std::env::var("NWCAP_DUMP_CRAFTED") {
        std::fs::write(
            std::path::Path::new(&keep).join(format!("{name}.pcap")),
            &bytes,
        )
        .unwrap();
    }
    let r = nwcap(&[
        "analyze",
        "--health",
        f.to_str().unwrap(),
        "--local-ip",
        local,
        "-o",
        "json",
    ]);
    r.ok();
    let flows = r.json()["flows"].as_array().unwrap().clone();
    let mine: Vec<&Value> = flows.iter().filter(|f| f["protocol"] == proto).collect();
    assert_eq!(mine.len(), 1, "{flows:?}");
    mine[0].clone()
}

#[test]
fn a_port_unreachable_counts_on_the_udp_flow_it_quotes() {
    let query = craft::udp(CLIENT, 5353, SERVER, 53, 30);
    let recs = [
        Rec::new(T0, query.clone()),
        Rec::new(T0 + MS, craft::icmp_error(SERVER, CLIENT, 3, 3, &query)),
        Rec::new(T0 + 1000 * MS, query.clone()),
        Rec::new(
            T0 + 1001 * MS,
            craft::icmp_error(SERVER, CLIENT, 3, 3, &query),
        ),
        // Another UDP flow, answered: nothing quotes it.
        Rec::new(T0 + 2000 * MS, craft::udp(CLIENT, 5354, SERVER, 123, 48)),
    ];
    let udp = flow_of("unreachable", &recs[..4], CLIENT, "UDP");
    assert_eq!(udp["icmp_error_count"], 2);
    assert_eq!(
        udp["icmp_errors"],
        serde_json::json!([{"type": 3, "code": 3, "count": 2}])
    );
    let icmp = flow_of("unreachable", &recs[..4], CLIENT, "ICMP");
    assert_eq!(
        (icmp["icmp_type"].clone(), icmp["icmp_code"].clone()),
        (3.into(), 3.into())
    );
    // The ICMP packets still count as ICMP traffic.
    assert_eq!(icmp["in"]["packets"], 2);
    let other = flow_of("answered", &recs[4..], CLIENT, "UDP");
    assert_eq!(other["icmp_error_count"], 0);
    assert_eq!(other["icmp_errors"], serde_json::json!([]));
    assert_eq!(other["icmp_type"], Value::Null);
}

#[test]
fn a_packet_too_big_counts_on_the_tcp_flow_it_quotes() {
    let (c, s) = ("2001:db8::4", "2001:db8:9::7");
    let big = craft::tcp_seg(c, 40000, s, 443, Seg::data(1000, 5000, 1400));
    let recs = [
        Rec::new(T0, big.clone()),
        Rec::new(T0 + MS, craft::icmp_error("2001:db8:1::1", c, 2, 0, &big)),
    ];
    let tcp = flow_of("packet-too-big", &recs, c, "TCP");
    assert_eq!(
        tcp["icmp_errors"],
        serde_json::json!([{"type": 2, "code": 0, "count": 1}])
    );
    let icmp = flow_of("packet-too-big", &recs, c, "ICMPv6");
    assert_eq!(icmp["icmp_type"], 2);
}

/// Without `--health` nothing is claimed: no counts (absent from JSON, empty in CSV), no SYN
/// options, whether the fast path (Ethernet) or the general decoder (raw IP in pcapng) read
/// the segments; what needs no sequence analysis (state, first RST) is still there. With
/// `--health`, both give the retransmission and the options.
#[test]
fn without_health_no_count_or_option_is_claimed_on_either_decoder() {
    let mut s = handshake();
    s.extend([
        (20, true, Seg::data(1000, 5000, 100)),
        (320, true, Seg::data(1000, 5000, 100)),
        (330, false, Seg::data(5000, 1100, 0)),
        (
            340,
            false,
            Seg {
                flags: RST,
                ..Seg::data(5000, 1100, 0)
            },
        ),
    ]);
    let recs = capture(&s);
    let dir = tempfile::tempdir().unwrap();
    let eth = dir.path().join("eth.pcap");
    std::fs::write(&eth, craft::pcap(&recs, false, true, 0)).unwrap();
    // The same packets without their Ethernet header, on a raw IP interface (link type 101).
    let mut ng = craft::Ng::new();
    ng.section(false).interface(101, 9);
    for r in &recs {
        ng.packet(0, &Rec::new(r.ts_ns, r.data[14..].to_vec()), None);
    }
    let raw = dir.path().join("raw.pcapng");
    std::fs::write(&raw, &ng.f).unwrap();
    for f in [&eth, &raw] {
        let run = |extra: &[&str]| {
            let mut args = vec!["analyze", f.to_str().unwrap(), "--local-ip", CLIENT];
            args.extend_from_slice(extra);
            let r = nwcap(&args);
            r.ok();
            r.stdout
        };
        let json: Value = serde_json::from_str(&run(&["-o", "json"])).unwrap();
        let t = &json["flows"][0]["tcp"];
        for k in [
            "health_out",
            "health_in",
            "syn_options_out",
            "syn_options_in",
        ] {
            assert!(t.get(k).is_none(), "{k} in {f:?}: {t}");
        }
        assert_eq!(t["state"], "RSTR", "{f:?}");
        assert!(t["first_rst_in_s"].is_number(), "{f:?}: {t}");
        let csv = run(&["-o", "csv"]);
        let (head, row) = csv.split_once('\n').unwrap();
        let col = |name: &str| {
            let i = head.split(',').position(|h| h == name).unwrap();
            row.trim_end().split(',').nth(i).unwrap().to_string()
        };
        for c in [
            "tcp_retrans_out",
            "tcp_mss_out",
            "tcp_window_full_out",
            "tcp_df_over_mss_in",
            "tcp_ack_rtt_samples_out",
            "tcp_ack_rtt_median_s_in",
            "tcp_ack_rtt_max_s_out",
        ] {
            assert_eq!(col(c), "", "{c} in {f:?}");
        }

        let json: Value = serde_json::from_str(&run(&["--health", "-o", "json"])).unwrap();
        let t = &json["flows"][0]["tcp"];
        assert_eq!(t["health_out"]["retransmissions"], 1, "{f:?}: {t}");
        assert_eq!(t["syn_options_out"]["mss"], 1460, "{f:?}: {t}");
        // The SYN, the first data segment and its retransmission (from the first copy).
        assert_eq!(t["health_out"]["ack_rtt_samples"], 2, "{f:?}: {t}");
        assert_eq!(t["health_out"]["ack_rtt_max_s"], 0.31, "{f:?}: {t}");
    }
}
