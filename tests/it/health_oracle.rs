//! nwcap's TCP health held to tshark's `tcp.analysis.*` on every corpus capture: per flow
//! and direction, retransmissions (fast and spurious included), fast retransmissions,
//! out-of-order segments, duplicate ACKs, zero windows and keep-alives. The expected counts
//! are tshark 4.0's, committed under `testdata/oracle/tcp/` by `scripts/oracle-tcp`. On the
//! corpus the definitions agree everywhere; where they differ (the out-of-order window, see
//! the README) `health.rs` tests the exception on a crafted capture.

use std::net::IpAddr;

use serde_json::Value;

use crate::support::nwcap;

const COUNTS: [&str; 6] = [
    "retransmissions",
    "fast_retransmissions",
    "out_of_order",
    "duplicate_acks",
    "zero_windows",
    "keep_alives",
];

/// An endpoint in tshark's order: IPv4 before IPv6, then address bytes, then port.
fn endpoint(ip: &str, port: u64) -> (u8, Vec<u8>, u64) {
    match ip.parse::<IpAddr>().unwrap() {
        IpAddr::V4(a) => (4, a.octets().to_vec(), port),
        IpAddr::V6(a) => (6, a.octets().to_vec(), port),
    }
}

/// The health objects of the TCP flow of `report` (nwcap's JSON) that oracle row `want` names
/// by its `lo` and `hi` endpoints: what `lo` sent, then what `hi` sent.
pub(crate) fn directions<'r>(report: &'r Value, want: &Value, name: &str) -> [&'r Value; 2] {
    let end = |e: &Value| endpoint(e[0].as_str().unwrap(), e[1].as_u64().unwrap());
    let (lo, hi) = (end(&want["lo"]), end(&want["hi"]));
    let got = report["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["protocol"] == "TCP" && {
                let ends = [
                    endpoint(
                        f["local_ip"].as_str().unwrap(),
                        f["local_port"].as_u64().unwrap_or(0),
                    ),
                    endpoint(
                        f["remote_ip"].as_str().unwrap(),
                        f["remote_port"].as_u64().unwrap_or(0),
                    ),
                ];
                ends == [lo.clone(), hi.clone()] || ends == [hi.clone(), lo.clone()]
            }
        })
        .unwrap_or_else(|| panic!("{name}: no flow {want}"));
    let local_is_lo = endpoint(
        got["local_ip"].as_str().unwrap(),
        got["local_port"].as_u64().unwrap(),
    ) == lo;
    let (out, inbound) = (&got["tcp"]["health_out"], &got["tcp"]["health_in"]);
    if local_is_lo {
        [out, inbound]
    } else {
        [inbound, out]
    }
}

#[test]
fn per_flow_counts_equal_tsharks_on_every_corpus_capture() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/oracle/tcp");
    let mut compared = [0u64; 6];
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let oracle: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let flows = oracle["flows"].as_array().unwrap();
        if flows.is_empty() {
            continue;
        }
        files += 1;
        let name = oracle["file"].as_str().unwrap();
        let capture = crate::support::corpus(name);
        let r = nwcap(&[
            "analyze",
            capture.to_str().unwrap(),
            "--health",
            "-o",
            "json",
        ]);
        let report = r.json();
        for want in flows {
            let [from_lo, from_hi] = directions(&report, want, name);
            for (theirs, ours) in [(&want["from_lo"], from_lo), (&want["from_hi"], from_hi)] {
                for (n, c) in COUNTS.iter().enumerate() {
                    assert_eq!(ours[c], theirs[c], "{name}: {c} of {want}");
                    compared[n] += theirs[c].as_u64().unwrap();
                }
            }
        }
    }
    assert!(files >= 20, "only {files} captures with TCP");
    // The corpus exercises retransmissions, out-of-order segments, duplicate ACKs and
    // keep-alives (the crafted captures in `health.rs` cover the rest).
    assert!(
        compared[0] > 200 && compared[2] > 0 && compared[3] > 30 && compared[5] > 20,
        "{compared:?}"
    );
}
