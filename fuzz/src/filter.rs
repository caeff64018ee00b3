//! Any text as Network Watcher filters (`field=value,...`, one filter a line, as `--filter`
//! takes them): parsing never panics; every range parsed holds both its ends, is in order and
//! does not mix families; a compiled set answers for flows of either family, a set of filters
//! that name nothing keeps every flow, and one filter's answer does not depend on which
//! endpoint comes first when nwcap does not know which one is local.

use nwcap_analysis::decode::Addr;
use nwcap_analysis::filter::{parse_ips, parse_ports, Endpoint, FilterSet, FilterSpec, Side};

/// Flows to ask about: IPv4, IPv6, IPv4-mapped IPv6, with and without ports.
fn flows() -> Vec<(u8, Endpoint, Endpoint)> {
    let v4 = |a, b, c, d| Addr::v4([a, b, c, d]);
    let v6 = |last: u8| {
        let mut b = [0u8; 16];
        b[..2].copy_from_slice(&[0x20, 0x01]);
        b[15] = last;
        Addr::v6(b)
    };
    let mut mapped = [0u8; 16];
    mapped[10..12].copy_from_slice(&[0xff, 0xff]);
    mapped[12..].copy_from_slice(&[10, 0, 0, 1]);
    vec![
        (
            6,
            (v4(10, 0, 0, 1), Some(80)),
            (v4(10, 0, 0, 5), Some(50000)),
        ),
        (
            17,
            (v4(10, 0, 0, 4), Some(53)),
            (v4(192, 168, 1, 1), Some(53)),
        ),
        (6, (v6(1), Some(443)), (v6(2), Some(40000))),
        (1, (v4(10, 0, 0, 1), None), (v4(8, 8, 8, 8), None)),
        (6, (Addr::v6(mapped), Some(80)), (v6(9), Some(1))),
    ]
}

pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut specs = Vec::new();
    for line in text.lines().take(8) {
        if let Ok(s) = FilterSpec::parse_kv(line) {
            specs.push(s);
        }
        for part in line.split(',') {
            let value = part.split_once('=').map_or(part, |(_, v)| v);
            if let Ok(set) = parse_ips(value, "ip") {
                for &(lo, hi) in &set.0 {
                    assert!(lo <= hi && lo.v6 == hi.v6, "{value}: {lo} - {hi}");
                    assert!(set.contains(lo) && set.contains(hi), "{value}");
                }
            }
            if let Ok(set) = parse_ports(value, "port") {
                for &(lo, hi) in &set.0 {
                    assert!(lo <= hi, "{value}: {lo} - {hi}");
                    assert!(set.contains(lo) && set.contains(hi), "{value}");
                }
            }
        }
    }
    let Ok(set) = FilterSet::compile(&specs) else {
        return;
    };
    let keeps_all = specs.iter().all(FilterSpec::is_empty);
    for (proto, a, b) in flows() {
        let either = set.matches_flow(proto, a, b, Side::Either);
        assert_eq!(
            either,
            set.matches_flow(proto, b, a, Side::Either),
            "{specs:?}"
        );
        if keeps_all {
            assert!(either, "{specs:?} keeps nothing of {a:?} <-> {b:?}");
        }
        // Knowing the local side narrows, never widens, what a filter keeps.
        for side in [Side::A, Side::B] {
            assert!(either || !set.matches_flow(proto, a, b, side), "{specs:?}");
        }
    }
}
