//! ICMP and ICMPv6 errors: which packet they quote. Destination unreachable, time exceeded
//! and ICMPv6 packet too big carry the start of the packet that caused them (its IP header
//! and at least 8 bytes after it); [`quoted`] reads its addresses, protocol and ports, so
//! that the error can be counted on that packet's flow. Reads borrow, never panic, and give
//! `None` for what was not captured.

use super::{proto, Addr};

/// The packet an ICMP error quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted {
    /// Its source address.
    pub src: Addr,
    /// Its destination address.
    pub dst: Addr,
    /// Its transport protocol.
    pub proto: u8,
    /// Its ports, when TCP/UDP and captured.
    pub ports: Option<(u16, u16)>,
}

/// Whether ICMP (`v6 == false`) or ICMPv6 type `ty` is an error that quotes a packet:
/// destination unreachable, time exceeded, (ICMPv6) packet too big.
pub fn is_error(v6: bool, ty: u8) -> bool {
    if v6 {
        matches!(ty, 1..=3)
    } else {
        matches!(ty, 3 | 11)
    }
}

/// The packet quoted by the ICMP message `m` (from its type byte on), if it is an error
/// and the quoted header was captured.
pub fn quoted(v6: bool, m: &[u8]) -> Option<Quoted> {
    if !is_error(v6, *m.first()?) {
        return None;
    }
    let q = m.get(8..)?;
    let (src, dst, protocol, rest) = if v6 {
        let h: &[u8; 40] = q.get(..40)?.try_into().ok()?;
        let (next, rest) = v6_transport(h[6], q.get(40..));
        (
            Addr::v6(h[8..24].try_into().ok()?),
            Addr::v6(h[24..40].try_into().ok()?),
            next,
            rest,
        )
    } else {
        let h: &[u8; 20] = q.get(..20)?.try_into().ok()?;
        if h[0] >> 4 != 4 {
            return None;
        }
        let ihl = usize::from(h[0] & 0x0f) * 4;
        let first = u16::from_be_bytes([h[6], h[7]]) & 0x1fff == 0;
        (
            Addr::v4([h[12], h[13], h[14], h[15]]),
            Addr::v4([h[16], h[17], h[18], h[19]]),
            h[9],
            if first && ihl >= 20 {
                q.get(ihl..)
            } else {
                None
            },
        )
    };
    let ports = match protocol {
        proto::TCP | proto::UDP => rest.and_then(|t| t.get(..4)).map(|p| {
            (
                u16::from_be_bytes([p[0], p[1]]),
                u16::from_be_bytes([p[2], p[3]]),
            )
        }),
        _ => None,
    };
    Some(Quoted {
        src,
        dst,
        proto: protocol,
        ports,
    })
}

/// The transport protocol after a quoted IPv6 header's hop-by-hop, routing, fragment and
/// destination-options headers, and its bytes (`None` when cut, or after a non-first
/// fragment).
fn v6_transport(mut next: u8, mut rest: Option<&[u8]>) -> (u8, Option<&[u8]>) {
    // A bounded walk: a quote holds a few headers at most.
    for _ in 0..8 {
        let Some(r) = rest else { break };
        match next {
            0 | 43 | 60 => {
                let (Some(&nh), Some(&len)) = (r.first(), r.get(1)) else {
                    return (next, None);
                };
                next = nh;
                rest = r.get((usize::from(len) + 1) * 8..);
            }
            44 => {
                let Some(f) = r.get(..8) else {
                    return (next, None);
                };
                next = f[0];
                let offset = u16::from_be_bytes([f[2], f[3]]) >> 3;
                rest = if offset == 0 { r.get(8..) } else { None };
            }
            _ => break,
        }
    }
    (next, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_unreachable_quotes_the_udp_datagram() {
        let mut m = vec![3, 3, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0, 0, 64, 17, 0, 0]);
        m.extend_from_slice(&[10, 1, 0, 4, 10, 9, 0, 7]);
        m.extend_from_slice(&[0x13, 0x88, 0, 53, 0, 20, 0, 0]);
        let q = quoted(false, &m).unwrap();
        assert_eq!(q.src, Addr::v4([10, 1, 0, 4]));
        assert_eq!((q.proto, q.ports), (17, Some((5000, 53))));
        // Cut before the ports: the addresses only. An echo quotes nothing.
        assert_eq!(quoted(false, &m[..30]).unwrap().ports, None);
        assert_eq!(quoted(false, &m[..20]), None);
        m[0] = 8;
        assert_eq!(quoted(false, &m), None);
        assert_eq!(quoted(false, &[]), None);
    }
}
