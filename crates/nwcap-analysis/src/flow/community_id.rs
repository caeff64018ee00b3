//! Community ID flow hashing, version 1 (as Zeek, Suricata, Arkime and Wireshark write it):
//! `1:` and the base64 of a SHA-1 over the seed, the two endpoints in canonical order, the
//! protocol, a pad byte and the two ports. A flow key's endpoints are already in that order
//! (lower address, then lower port, first), so the hash needs nothing else.
//!
//! It hashes a key; it never sees a packet. ICMP and ICMPv6 flows get none: their ID depends
//! on the message type, which a flow key does not hold.

use base64::Engine;
use sha1::{Digest, Sha1};

use super::FlowKey;

/// Length of an ID: `1:` and 28 base64 characters.
pub const LEN: usize = 30;

/// The flow's Community ID (seed 0), or `None` for ICMP/ICMPv6 and for TCP, UDP and SCTP
/// flows whose ports were not captured.
pub fn community_id(key: &FlowKey) -> Option<[u8; LEN]> {
    let with_ports = match key.proto {
        1 | 58 => return None,
        6 | 17 | 132 if !key.ports_known => return None,
        6 | 17 | 132 => true,
        _ => false,
    };
    let width = if key.lo.0.v6 { 16 } else { 4 };
    let mut h = Sha1::new();
    h.update([0u8, 0]);
    h.update(&key.lo.0.bytes[..width]);
    h.update(&key.hi.0.bytes[..width]);
    h.update([key.proto, 0]);
    if with_ports {
        h.update(key.lo.1.to_be_bytes());
        h.update(key.hi.1.to_be_bytes());
    }
    let mut out = [0u8; LEN];
    out[..2].copy_from_slice(b"1:");
    let n = base64::engine::general_purpose::STANDARD
        .encode_slice(h.finalize(), &mut out[2..])
        .ok()?;
    (n == LEN - 2).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Addr;

    fn key(proto: u8, a: ([u8; 4], u16), b: ([u8; 4], u16)) -> FlowKey {
        FlowKey {
            proto,
            ports_known: true,
            lo: (Addr::v4(a.0), a.1),
            hi: (Addr::v4(b.0), b.1),
            icmp_id: None,
        }
    }

    /// The spec's baseline (baseline/baseline_deflt.json of corelight/community-id-spec):
    /// TCP 128.232.110.120:34855 -> 66.35.250.204:80, and UDP 192.168.1.52:54585 ->
    /// 8.8.8.8:53.
    #[test]
    fn the_specs_examples() {
        let tcp = key(6, ([66, 35, 250, 204], 80), ([128, 232, 110, 120], 34855));
        assert_eq!(
            community_id(&tcp).map(|b| String::from_utf8(b.to_vec()).unwrap()),
            Some("1:LQU9qZlK+B5F3KDmev6m5PMibrg=".to_string())
        );
        let udp = key(17, ([8, 8, 8, 8], 53), ([192, 168, 1, 52], 54585));
        assert_eq!(
            community_id(&udp).map(|b| String::from_utf8(b.to_vec()).unwrap()),
            Some("1:d/FP5EW3wiY1vCndhwleRRKHowQ=".to_string())
        );
        let sctp = key(132, ([192, 168, 170, 8], 7), ([192, 168, 170, 56], 7));
        assert_eq!(
            community_id(&sctp).map(|b| String::from_utf8(b.to_vec()).unwrap()),
            Some("1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=".to_string())
        );
        // RSVP (46): no ports in the hash.
        let mut rsvp = key(46, ([10, 1, 12, 1], 0), ([10, 1, 12, 2], 0));
        rsvp.ports_known = false;
        assert_eq!(
            community_id(&rsvp).map(|b| String::from_utf8(b.to_vec()).unwrap()),
            Some("1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=".to_string())
        );
        let v6 = |s: &str| Addr::from(s.parse::<std::net::IpAddr>().unwrap());
        let tcp6 = FlowKey {
            proto: 6,
            ports_known: true,
            lo: (v6("2001:470:e5bf:dead:4957:2174:e82c:4887"), 63943),
            hi: (v6("2607:f8b0:400c:c03::1a"), 25),
            icmp_id: None,
        };
        assert_eq!(
            community_id(&tcp6).map(|b| String::from_utf8(b.to_vec()).unwrap()),
            Some("1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=".to_string())
        );
        let mut icmp = udp;
        icmp.proto = 1;
        assert_eq!(community_id(&icmp), None);
        let mut cut = tcp;
        cut.ports_known = false;
        assert_eq!(community_id(&cut), None);
    }
}
