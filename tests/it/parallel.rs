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

/// The JSON report of `path` read on `threads` threads; with `--health` too when `health`.
fn report(path: &str, threads: &str, health: bool) -> String {
    let mut args = vec![
        "analyze",
        path,
        "--output",
        "json",
        "--threads",
        threads,
        "-vv",
    ];
    if health {
        args.push("--health");
    }
    let r = nwcap(&args);
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
        let one = report(p, "1", false);
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
            assert_eq!(
                report(p, threads, false),
                one,
                "{name} with {threads} threads"
            );
        }
        // TCP sequence analysis merges exactly too.
        let one = report(p, "1", true);
        for threads in ["2", "3", "4"] {
            let got = report(p, threads, true);
            assert_eq!(got, one, "{name} with {threads} threads and --health");
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

/// More flows than the sizes the flow table and the writers switch at in production (unit
/// tests shrink them): four slots per flow up to 2^19 flows (`ROOMY_FLOWS`), 2^20 flows
/// reserved at once (`RESERVED_FLOWS`), a merging thread per 4096 flows
/// (`MIN_MERGE_SHARE`), rows rendered in chunks of 1024 (`CHUNK`). 1 100 000 UDP packets,
/// each its own flow (10.x.y.z:1000 -> 10.255.0.1:53, 50 bytes on the wire), on two threads
/// (each shard's table passes 2^19 flows, the merged one 2^20): every flow is there once,
/// with one packet of 50 bytes.
#[test]
fn production_sized_tables_merge_and_write_every_flow() {
    const FLOWS: u32 = 1_100_000;
    let recs: Vec<Rec> = (0..FLOWS)
        .map(|i| {
            let src = format!("10.{}.{}.{}", i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff);
            let data = udp(&src, 1000, "10.255.0.1", 53, 8);
            Rec::new(1_700_000_000_000_000_000 + i64::from(i) * 1000, data)
        })
        .collect();
    assert_eq!(recs[0].data.len(), 50);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.pcap");
    std::fs::write(&path, pcap(&recs, false, false, 65535)).unwrap();
    drop(recs);
    let p = path.to_str().unwrap();
    for threads in ["1", "2"] {
        let r = nwcap(&[
            "analyze",
            p,
            "--output",
            "ndjson",
            "--threads",
            threads,
            "-vv",
        ]);
        r.ok();
        assert!(
            r.stderr.contains(&format!("read in {threads} shard(s)")),
            "{}",
            r.stderr
        );
        // 10.255.0.1, in every flow, is the local address nwcap infers; each remote sent one
        // packet of 50 bytes and got none. (Plain text checks: a million JSON parses would
        // take most of a minute in a debug build.)
        let mut sources = std::collections::HashSet::new();
        for line in r.stdout.lines() {
            let remote = line
                .split_once("\"remote_ip\":\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(ip, _)| ip)
                .unwrap_or_else(|| panic!("no remote_ip: {line}"));
            assert!(
                line.starts_with("{\"protocol\":\"UDP\",\"protocol_number\":17,\"local_ip\":\"10.255.0.1\",\"local_port\":53,")
                    && line.contains("\"out\":{\"packets\":0,\"bytes\":0,")
                    && line.contains("\"in\":{\"packets\":1,\"bytes\":50,"),
                "{line}"
            );
            assert!(sources.insert(remote.to_string()), "twice: {line}");
        }
        assert_eq!(sources.len(), FLOWS as usize, "{threads} thread(s)");
    }
}

/// `recs` written as pcap (microseconds) or as one pcapng section (nanoseconds) with
/// statistics blocks for its interface after a third of the records (1 dropped) and at the end
/// (9 dropped by the interface, 4 by the OS); with each record's file offset.
fn written(recs: &[Rec], ng: bool) -> (Vec<u8>, Vec<usize>) {
    if !ng {
        let mut at = 24;
        let offsets = recs
            .iter()
            .map(|r| {
                let o = at;
                at += 16 + r.data.len();
                o
            })
            .collect();
        return (pcap(recs, false, false, 65535), offsets);
    }
    let mut w = Ng::new();
    w.section(false).interface(1, 9);
    let mut offsets = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        if i == recs.len() / 3 {
            w.statistics(0, Some(1), None);
        }
        offsets.push(w.f.len());
        w.packet(0, r, None);
    }
    w.statistics(0, Some(9), Some(4));
    (w.f.clone(), offsets)
}

/// Where 2, 3 and 4 threads cut `bytes`: the indexes of the records the later shards start at.
fn cuts(bytes: &[u8], offsets: &[usize]) -> Vec<usize> {
    let reader = Reader::new(bytes).unwrap();
    let mut at = Vec::new();
    for parts in 2..=4 {
        let shards = shard::split(
            &reader,
            bytes,
            parts,
            None,
            nwcap_analysis::source::window::MAP_BELOW,
        )
        .expect("split");
        assert_eq!(shards.len(), parts);
        for s in &shards[1..] {
            at.push(
                offsets
                    .binary_search(&s.position())
                    .expect("a record's offset"),
            );
        }
    }
    at.sort_unstable();
    at.dedup();
    at
}

/// The first record of every shard of 2, 3 and 4 threads is timestamped earlier than the
/// record before it (the k-th such cut by k + 1 ms), and a pcapng file has interface statistics
/// in a shard's middle and at its end: every thread count reports the steps back and the drops
/// of one pass, figures by hand (each record 1 ms after the one before, but at the cuts).
#[test]
fn time_going_back_and_drops_at_shard_cuts_report_like_one_pass() {
    const T0: i64 = 1_700_000_000_000_000_000;
    const MS: i64 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let mut recs = big_capture();
    for (j, r) in recs.iter_mut().enumerate() {
        r.ts_ns = T0 + j as i64 * MS;
    }
    for ng in [false, true] {
        let (bytes, offsets) = written(&recs, ng);
        let at = cuts(&bytes, &offsets);
        assert!(at.windows(2).all(|w| w[1] > w[0] + 1), "{at:?}");
        let mut back = recs.clone();
        for (k, &j) in at.iter().enumerate() {
            back[j].ts_ns = T0 + (j as i64 - 1) * MS - (k as i64 + 1) * MS;
        }
        let (bytes, offsets) = written(&back, ng);
        // Times are no part of where a file is cut.
        assert_eq!(cuts(&bytes, &offsets), at);
        let path = dir
            .path()
            .join(if ng { "back.pcapng" } else { "back.pcap" });
        std::fs::write(&path, &bytes).unwrap();
        let p = path.to_str().unwrap();
        let one = report(p, "1", false);
        let v: serde_json::Value = serde_json::from_str(&one).unwrap();
        let file = &v["summary"]["files"][0];
        assert_eq!(
            file["time_backwards"],
            serde_json::json!({
                "packets": at.len(),
                "largest_s": at.len() as f64 / 1000.0,
                "first_packet": at[0] + 1,
            }),
            "ng {ng}"
        );
        let dropped = if ng {
            serde_json::json!({"packets": 13, "interfaces": [
                {"interface": 0, "ifdrop": 9, "osdrop": 4}]})
        } else {
            serde_json::Value::Null
        };
        assert_eq!(file["dropped"], dropped);
        for threads in ["2", "3", "4"] {
            assert_eq!(report(p, threads, false), one, "ng {ng}, {threads} threads");
        }
    }
}
