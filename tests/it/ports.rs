//! Top server ports: flows grouped by protocol and the port of the side that answered (a
//! SYN's receiver, else the remote side), by bytes and by flows, on a crafted capture whose
//! figures are counted here from the frames written.

use serde_json::{json, Value};

use crate::craft::{self, Rec, ACK, SYN};
use crate::support::nwcap;

const C: &str = "10.1.0.4";

#[test]
fn server_ports_by_bytes_and_by_flows() {
    let t = |i: i64| 1_700_000_000_000_000_000 + i * 1_000_000;
    let frames = vec![
        // Two connections to 443 with a payload: the most bytes and the most flows.
        craft::tcp(C, 40001, "10.9.0.7", 443, SYN, 0),
        craft::tcp("10.9.0.7", 443, C, 40001, SYN | ACK, 0),
        craft::tcp(C, 40001, "10.9.0.7", 443, ACK, 500),
        craft::tcp(C, 40002, "10.9.0.7", 443, SYN, 0),
        craft::tcp("10.9.0.7", 443, C, 40002, SYN | ACK, 0),
        // One to 22.
        craft::tcp(C, 40003, "10.9.0.8", 22, SYN, 0),
        // The remote side connects to the local 8080: its server port is 8080.
        craft::tcp("10.9.0.9", 50000, C, 8080, SYN, 0),
        craft::tcp(C, 8080, "10.9.0.9", 50000, SYN | ACK, 100),
        // UDP has no SYN: the remote side's port.
        craft::udp(C, 53000, "10.9.0.10", 53, 30),
        craft::udp("10.9.0.10", 53, C, 53000, 900),
    ];
    let len = |r: std::ops::Range<usize>| frames[r].iter().map(|f| f.len() as u64).sum::<u64>();
    let row = |p: &str, port: u16, flows: u64, packets: u64, bytes: u64| json!({"protocol": p, "port": port, "flows": flows, "packets": packets, "bytes": bytes});
    let https = row("TCP", 443, 2, 5, len(0..5));
    let ssh = row("TCP", 22, 1, 1, len(5..6));
    let web = row("TCP", 8080, 1, 2, len(6..8));
    let dns = row("UDP", 53, 1, 2, len(8..10));
    // By hand: 443 carries 500 payload bytes + 5 headers, DNS 930 + 2 headers, 8080 100 + 2.
    assert!(len(8..10) > len(0..5) && len(0..5) > len(6..8) && len(6..8) > len(5..6));

    let recs: Vec<Rec> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| Rec::new(t(i as i64), f.clone()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ports.pcap");
    std::fs::write(&f, craft::pcap(&recs, false, true, 0)).unwrap();
    let p = f.to_str().unwrap();
    let r = nwcap(&["analyze", p, "--local-ip", C, "-o", "json", "--top", "4"]);
    r.ok();
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["top_ports"]["by_bytes"],
        json!([dns.clone(), https.clone(), web.clone(), ssh.clone()])
    );
    // Ties on flows go to bytes.
    assert_eq!(v["top_ports"]["by_flows"], json!([https, dns, web, ssh]));
    // --top cuts both lists.
    let r = nwcap(&["analyze", p, "--local-ip", C, "-o", "json", "--top", "1"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["top_ports"]["by_bytes"].as_array().unwrap().len(), 1);

    let table = nwcap(&["analyze", p, "--local-ip", C, "-o", "table"]);
    table.ok();
    assert!(
        table.stdout.contains("Top server ports by bytes"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("UDP/53"), "{}", table.stdout);
    assert!(table.stdout.contains("TCP/8080"), "{}", table.stdout);
}
