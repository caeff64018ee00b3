//! `--threads N` must give exactly the report of one pass, also when IP fragments straddle a
//! shard boundary and for pcapng.

use crate::craft::*;
use crate::support::nwcap;
use nwcap_analysis::capture::{shard, Reader};

/// ~4 MB: 24 000 packets over 3 000 TCP/UDP flows, plus 2 000 fragmented UDP datagrams whose
/// second fragment comes 50 packets after the first.
fn big_capture() -> Vec<Rec> {
    let mut recs = Vec::new();
    let mut pending = std::collections::VecDeque::new();
    let mut ts = 1_700_000_000_000_000_000i64;
    for i in 0..24_000u32 {
        ts += 1_000_000;
        let flow = i % 3000;
        let peer = format!("10.{}.{}.{}", flow % 7, flow / 256 % 256, flow % 256);
        let data = if flow % 3 == 0 {
            udp(
                "10.1.0.4",
                20000 + flow as u16,
                &peer,
                53,
                (i % 400) as usize,
            )
        } else if (3000..6000).contains(&i) {
            // SYN-ACKs; the handshake's ACKs come later, often in another shard.
            tcp(&peer, 443, "10.1.0.4", 30000 + flow as u16, SYN | ACK, 0)
        } else {
            let flags = if i < 3000 { SYN } else { ACK };
            tcp(
                "10.1.0.4",
                30000 + flow as u16,
                &peer,
                443,
                flags,
                (i % 1200) as usize,
            )
        };
        recs.push(Rec::new(ts, data));
        if i % 12 == 0 {
            let (first, later) = udp_fragments(
                &peer,
                53,
                "10.1.0.4",
                40000 + (i % 97) as u16,
                (i / 12) as u16,
                600,
            );
            recs.push(Rec::new(ts + 1, first));
            pending.push_back((i + 50, later));
        }
        while pending.front().is_some_and(|(due, _)| *due <= i) {
            let (_, later) = pending.pop_front().unwrap();
            recs.push(Rec::new(ts + 2, later));
        }
    }
    for (_, later) in pending {
        recs.push(Rec::new(ts + 3, later));
    }
    recs
}

fn report(path: &str, threads: &str) -> String {
    let r = nwcap(&[
        "analyze",
        path,
        "--output",
        "json",
        "--threads",
        threads,
        "-vv",
    ]);
    r.ok();
    // The parallel path must really run (a wrong split falls back to one pass).
    assert!(
        r.stderr.contains(&format!("read in {threads} shard(s)")),
        "{}",
        r.stderr
    );
    r.stdout
}

#[test]
fn threads_give_the_single_pass_report() {
    let dir = tempfile::tempdir().unwrap();
    let recs = big_capture();
    for (name, bytes) in [
        ("big.pcap", pcap(&recs, false, false, 65535)),
        ("big-be-ns.pcap", pcap(&recs, true, true, 65535)),
        ("big.pcapng", pcapng_section(&recs, false, 9, &[])),
    ] {
        // The split must really happen, or this test proves nothing.
        let reader = Reader::new(&bytes).unwrap();
        let shards = shard::split(
            &reader,
            &bytes,
            4,
            None,
            nwcap_analysis::source::window::MAP_BELOW,
        )
        .expect("split");
        assert_eq!(shards.len(), 4, "{name}");

        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let p = path.to_str().unwrap();
        let one = report(p, "1");
        let v: serde_json::Value = serde_json::from_str(&one).unwrap();
        // 24 000 + 2 × 2 000 packets; every later fragment joined its datagram's flow.
        assert_eq!(v["summary"]["packets"], 28_000, "{name}");
        assert!(v["flows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["remote_port"].is_null()));
        // Handshakes complete, some across shard boundaries.
        let complete = v["flows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["tcp"]["handshake_rtt_s"].is_number())
            .count();
        assert_eq!(complete, 2000, "{name}");
        for threads in ["2", "3", "4"] {
            assert_eq!(report(p, threads), one, "{name} with {threads} threads");
        }
    }
}

#[test]
fn damaged_tail_with_threads_reports_like_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = pcap(&big_capture(), false, false, 65535);
    let path = dir.path().join("cut.pcap");
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let p = path.to_str().unwrap();
    let run = |t: &str| nwcap(&["analyze", p, "--output", "json", "--threads", t]);
    let (one, two) = (run("1"), run("2"));
    assert_eq!(one.code, 3);
    assert_eq!(two.code, 3);
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(one.stderr, two.stderr);
    // Equal reports prove nothing if the damage made the pass fall back to one shard.
    let verbose = nwcap(&["analyze", p, "--output", "json", "--threads", "2", "-vv"]);
    assert_eq!(verbose.code, 3);
    assert!(
        verbose.stderr.contains("read in 2 shard(s)"),
        "{}",
        verbose.stderr
    );
}
