//! nwcap's timeline held to tshark's frames on every corpus capture: per interval (of the
//! width nwcap picks by itself), packets, bytes and new flows of every flow; and with the
//! busiest address given as local (`--local-ip`), its flows' traffic out and in as well. The
//! expected figures are computed by `scripts/oracle` from tshark 4.0's dissection and
//! committed under `testdata/oracle/` ("timeline", "timeline_local"). Crafted captures test
//! what the corpus does not show: a silence, time going backwards, a width asked for, and the
//! `--timeline` view.

use serde_json::Value;

use crate::craft::{self, Rec, ACK, SYN};
use crate::support::{corpus, nwcap};

/// The report's timeline as the oracle's rows: start (ns), packets, bytes, out and in
/// packets and bytes (`None` where the report leaves them out), new flows.
fn rows(t: &Value) -> Vec<[Option<u64>; 8]> {
    t["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let start = ns(i["start"].as_str().unwrap());
            let n = |v: &Value| v.as_u64();
            [
                Some(start),
                n(&i["packets"]),
                n(&i["bytes"]),
                n(&i["out"]["packets"]),
                n(&i["out"]["bytes"]),
                n(&i["in"]["packets"]),
                n(&i["in"]["bytes"]),
                n(&i["new_flows"]),
            ]
        })
        .collect()
}

/// An RFC 3339 time with nine fraction digits (`…T08:00:01.500000000Z`) as ns since the
/// epoch, for times from 1970 on.
fn ns(t: &str) -> u64 {
    let (date, time) = t.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap();
    let h: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h[0] * 3600 + h[1] * 60 + h[2];
    (secs as u64) * 1_000_000_000 + frac.parse::<u64>().unwrap()
}

/// The oracle's rows; with `split` false, out and in left out.
fn oracle_rows(o: &Value, split: bool) -> Vec<[Option<u64>; 8]> {
    o["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let v: Vec<u64> = r
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            let s = |x: u64| split.then_some(x);
            [
                Some(v[0]),
                Some(v[1]),
                Some(v[2]),
                s(v[3]),
                s(v[4]),
                s(v[5]),
                s(v[6]),
                Some(v[7]),
            ]
        })
        .collect()
}

fn oracles() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/oracle");
    let mut out: Vec<Value> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "json")
                .then(|| serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap())
        })
        .collect();
    out.sort_by_key(|o| o["file"].as_str().unwrap().to_owned());
    out
}

#[test]
fn every_interval_equals_tsharks_frames_on_every_corpus_capture() {
    let (mut files, mut intervals, mut split) = (0, 0, 0);
    for o in oracles() {
        let Some(want) = o.get("timeline").filter(|t| !t.is_null()) else {
            continue;
        };
        let name = o["file"].as_str().unwrap();
        let path = corpus(name);
        let report = nwcap(&["analyze", path.to_str().unwrap(), "-o", "json"]).json();
        let t = &report["timeline"];
        assert_eq!(
            t["interval_s"].as_f64().unwrap() * 1e9,
            want["interval_ns"].as_u64().unwrap() as f64,
            "{name}: interval"
        );
        // Out and in where the pass could tell the local side, and it is the oracle's.
        let local = report["local"]["addresses"][0].as_str();
        let directed = t.get("direction").is_none() && local == want["local"].as_str();
        let got = rows(t);
        let got: Vec<_> = if directed {
            got
        } else {
            got.into_iter()
                .map(|r| [r[0], r[1], r[2], None, None, None, None, r[7]])
                .collect()
        };
        assert_eq!(got, oracle_rows(want, directed), "{name}");
        files += 1;
        intervals += got.len();
        split += usize::from(directed);

        // The busiest address's flows, it local.
        let want = &o["timeline_local"];
        let local = want["local"].as_str().unwrap();
        let report = nwcap(&[
            "analyze",
            path.to_str().unwrap(),
            "--local-ip",
            local,
            "-o",
            "json",
        ])
        .json();
        assert_eq!(
            rows(&report["timeline"]),
            oracle_rows(want, true),
            "{name}, {local} local"
        );
    }
    assert!(files >= 30, "{files} captures with a timeline");
    assert!(intervals >= 1000, "{intervals} intervals");
    assert!(split >= 20, "out and in compared on {split} captures only");
}

/// A crafted capture whose figures are counted here from the frames written: a local client
/// at 10.1.0.4, a connection in the first second, a silence of three seconds, a UDP exchange,
/// and a packet whose time goes back into the first second.
#[test]
fn a_crafted_timeline_shows_silence_and_time_going_back() {
    const C: &str = "10.1.0.4";
    const S: i64 = 1_000_000_000;
    let t0 = 1_700_000_000 * S; // a whole second
    let frames = [
        (t0 + S / 10, craft::tcp(C, 40001, "10.9.0.7", 443, SYN, 0)),
        (
            t0 + S / 5,
            craft::tcp("10.9.0.7", 443, C, 40001, SYN | ACK, 0),
        ),
        (t0 + S / 2, craft::tcp(C, 40001, "10.9.0.7", 443, ACK, 300)),
        // Nothing in the 2nd, 3rd and 4th seconds.
        (t0 + 4 * S + 1, craft::udp(C, 53000, "10.9.0.10", 53, 40)),
        (
            t0 + 4 * S + S / 2,
            craft::udp("10.9.0.10", 53, C, 53000, 200),
        ),
        // Back in time, into the first second (time going backwards).
        (t0 + S - 1, craft::tcp("10.9.0.7", 443, C, 40001, ACK, 0)),
    ];
    let len = |i: usize| frames[i].1.len() as u64;
    let recs: Vec<Rec> = frames
        .iter()
        .map(|(t, f)| Rec::new(*t, f.clone()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("timeline.pcap");
    std::fs::write(&f, craft::pcap(&recs, false, true, 0)).unwrap();
    let p = f.to_str().unwrap();

    // 0.1 s to 4.5 s: 50 ms gives 89 intervals, 20 ms 221.
    let v = nwcap(&["analyze", p, "--local-ip", C, "-o", "json"]).json();
    let t = &v["timeline"];
    assert_eq!(t["interval_s"].as_f64(), Some(0.05));
    let iv = t["intervals"].as_array().unwrap();
    assert_eq!(iv.len(), 89, "{t}");
    let total: u64 = iv.iter().map(|i| i["packets"].as_u64().unwrap()).sum();
    assert_eq!(total, 6);

    // Asked for 1 s: five intervals, three of them empty.
    let v = nwcap(&[
        "analyze",
        p,
        "--local-ip",
        C,
        "--interval",
        "1s",
        "-o",
        "json",
    ])
    .json();
    let got = rows(&v["timeline"]);
    let s = |k: i64| Some((t0 + k * S) as u64);
    let n = Some;
    assert_eq!(
        got,
        vec![
            [
                s(0),
                n(4),
                n(len(0) + len(1) + len(2) + len(5)),
                n(2),
                n(len(0) + len(2)),
                n(2),
                n(len(1) + len(5)),
                n(1)
            ],
            [s(1), n(0), n(0), n(0), n(0), n(0), n(0), n(0)],
            [s(2), n(0), n(0), n(0), n(0), n(0), n(0), n(0)],
            [s(3), n(0), n(0), n(0), n(0), n(0), n(0), n(0)],
            [
                s(4),
                n(2),
                n(len(3) + len(4)),
                n(1),
                n(len(3)),
                n(1),
                n(len(4)),
                n(1)
            ],
        ]
    );

    // The view: a row per interval in CSV and NDJSON; the table's sparklines show the
    // silence as blanks.
    let csv = nwcap(&[
        "analyze",
        p,
        "--local-ip",
        C,
        "--interval",
        "1s",
        "--timeline",
        "-o",
        "csv",
    ]);
    csv.ok();
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "start,interval_s,packets,bytes,out_packets,out_bytes,in_packets,in_bytes,new_flows"
    );
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[2], "2023-11-14T22:13:21.000000000Z,1,0,0,0,0,0,0,0");
    let nd = nwcap(&[
        "analyze",
        p,
        "--local-ip",
        C,
        "--interval",
        "1s",
        "--timeline",
        "-o",
        "ndjson",
    ]);
    let first: Value = serde_json::from_str(nd.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["out_bytes"].as_u64(), Some(len(0) + len(2)));
    let table = nwcap(&[
        "analyze",
        p,
        "--local-ip",
        C,
        "--interval",
        "1s",
        "-o",
        "table",
    ]);
    table.ok();
    let out = table
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("out "))
        .unwrap();
    assert!(
        out.contains("█   █") || out.contains("█   ▂") || out.contains("▂   █"),
        "{}",
        table.stdout
    );
}

/// Flags that make no sense together or no interval at all are refused with a usage error.
#[test]
fn bad_intervals_are_refused() {
    let path = corpus("tcpdump__LINKTYPE_IPV6.pcap");
    for bad in ["0s", "1.5us", "fast"] {
        let r = nwcap(&["analyze", path.to_str().unwrap(), "--interval", bad]);
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
    }
    let r = nwcap(&["analyze", path.to_str().unwrap(), "--timeline", "--by-file"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}
