//! Network Watcher filters across address families, on a capture built here whose flows are
//! known by hand: an IPv4 range never takes an IPv6 flow, an IPv4-mapped IPv6 address is an
//! IPv6 address (neither the IPv4 one nor matched by IPv4 filters), and a local address known
//! in IPv6 orients the flows it is in, so a filter's local port is the local side's.

use std::collections::BTreeSet;

use crate::craft::*;
use crate::support::nwcap;

/// Four TCP handshakes (SYN, SYN-ACK, ACK) and one UDP exchange:
/// - v6:  2001:db8::4:40000 -> 2001:db8::5:443
/// - v6b: 2001:db8::6:40000 -> 2001:db8::7:443
/// - v4:  10.0.0.4:40001 -> 10.0.0.5:443
/// - mapped (UDP, one packet each way): ::ffff:10.0.0.4:5353 <-> ::ffff:10.0.0.5:53
fn capture(dir: &std::path::Path) -> String {
    let mut recs = Vec::new();
    let mut ts = 1_700_000_000_000_000_000i64;
    let mut push = |data: Vec<u8>| {
        ts += 1_000_000;
        recs.push(Rec::new(ts, data));
    };
    for (c, s, cport) in [
        ("2001:db8::4", "2001:db8::5", 40000),
        ("2001:db8::6", "2001:db8::7", 40000),
        ("10.0.0.4", "10.0.0.5", 40001),
    ] {
        push(tcp(c, cport, s, 443, SYN, 0));
        push(tcp(s, 443, c, cport, SYN | ACK, 0));
        push(tcp(c, cport, s, 443, ACK, 0));
    }
    push(udp("::ffff:10.0.0.4", 5353, "::ffff:10.0.0.5", 53, 20));
    push(udp("::ffff:10.0.0.5", 53, "::ffff:10.0.0.4", 5353, 40));
    let path = dir.join("families.pcap");
    std::fs::write(&path, pcap(&recs, false, false, 65535)).unwrap();
    path.to_str().unwrap().to_string()
}

/// The flows `analyze` keeps with `filters`, each as its two addresses, sorted.
fn kept(path: &str, filters: &[&str]) -> BTreeSet<[String; 2]> {
    let mut args = vec!["analyze", path, "--output", "json"];
    for f in filters {
        args.extend(["--filter", f]);
    }
    let r = nwcap(&args);
    r.ok();
    r.json()["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut ends = [
                f["local_ip"].as_str().unwrap().to_string(),
                f["remote_ip"].as_str().unwrap().to_string(),
            ];
            ends.sort();
            ends
        })
        .collect()
}

fn flows(list: &[[&str; 2]]) -> BTreeSet<[String; 2]> {
    list.iter()
        .map(|[a, b]| [a.to_string(), b.to_string()])
        .collect()
}

const V6: [&str; 2] = ["2001:db8::4", "2001:db8::5"];
const V6B: [&str; 2] = ["2001:db8::6", "2001:db8::7"];
const V4: [&str; 2] = ["10.0.0.4", "10.0.0.5"];
const MAPPED: [&str; 2] = ["::ffff:10.0.0.4", "::ffff:10.0.0.5"];

#[test]
fn an_ipv4_range_takes_no_ipv6_flow() {
    let dir = tempfile::tempdir().unwrap();
    let p = capture(dir.path());
    // Every IPv4 address, as a range: only the IPv4 flow.
    assert_eq!(
        kept(&p, &["remoteIPAddress=0.0.0.0-255.255.255.255"]),
        flows(&[V4])
    );
    assert_eq!(
        kept(&p, &["localIPAddress=10.0.0.1-10.0.0.9"]),
        flows(&[V4])
    );
    // And an IPv6 range only IPv6 flows of it.
    assert_eq!(
        kept(&p, &["remoteIPAddress=2001:db8::-2001:db8::ffff"]),
        flows(&[V6, V6B])
    );
}

#[test]
fn an_ipv4_mapped_address_is_ipv6() {
    let dir = tempfile::tempdir().unwrap();
    let p = capture(dir.path());
    assert_eq!(
        kept(&p, &["localIPAddress=::ffff:10.0.0.4"]),
        flows(&[MAPPED])
    );
    assert_eq!(kept(&p, &["localIPAddress=10.0.0.4"]), flows(&[V4]));
    assert_eq!(
        kept(&p, &["remoteIPAddress=::ffff:10.0.0.0-::ffff:10.0.0.255"]),
        flows(&[MAPPED])
    );
}

#[test]
fn a_local_ipv6_address_orients_its_flows() {
    let dir = tempfile::tempdir().unwrap();
    let p = capture(dir.path());
    // 2001:db8::5 is local: its flow is shown from it, the server (port 443), which sent the
    // SYN-ACK (1 packet) and received the SYN and the ACK (2).
    let r = nwcap(&[
        "analyze",
        &p,
        "--output",
        "json",
        "--filter",
        "localIPAddress=2001:db8::5",
    ]);
    r.ok();
    let v = r.json();
    let f = &v["flows"][0];
    assert_eq!(v["flows"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(
        (
            &f["local_ip"],
            &f["local_port"],
            &f["remote_ip"],
            &f["remote_port"]
        ),
        (
            &"2001:db8::5".into(),
            &443.into(),
            &"2001:db8::4".into(),
            &40000.into()
        ),
        "{f}"
    );
    assert_eq!(
        (&f["out"]["packets"], &f["in"]["packets"]),
        (&1.into(), &2.into()),
        "{f}"
    );

    // With 2001:db8::5 known as local, `localPort=40000` is about its port (443): its flow
    // does not match, while the flow between two other addresses, whose local side is not
    // known, matches either way round.
    let got = kept(
        &p,
        &["localIPAddress=2001:db8::5,protocol=UDP", "localPort=40000"],
    );
    assert_eq!(got, flows(&[V6B]));
}
