//! Link layers: Ethernet (802.1Q/802.1ad VLAN, QinQ, MPLS, PPPoE session), Linux cooked
//! SLL and SLL2, raw IP, BSD loopback (NULL/LOOP). Finds where the IP header starts.
//!
//! Which link types this reads is `capture::linktype`'s table: a test holds the dispatch
//! below to it, both ways.

use super::NonIp;
use crate::capture::linktype::{
    DLT_RAW, DLT_RAW_OPENBSD, ETHERNET, IPV4, IPV6, LINUX_SLL, LINUX_SLL2, LOOP, NULL, RAW,
};

/// Which IP version the link layer announced (or `Any` when the first nibble decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum L3 {
    V4,
    V6,
    Any,
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86DD;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88A8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;
const ETH_PPPOE: u16 = 0x8864;

#[inline]
fn be16(d: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(off)?, *d.get(off + 1)?]))
}

/// Returns the IP version hint and the bytes starting at the IP header.
#[inline]
pub(super) fn network_layer(linktype: u16, d: &[u8]) -> Result<(L3, &[u8]), NonIp> {
    match linktype {
        ETHERNET => {
            let et = be16(d, 12).ok_or(NonIp::TruncatedLink)?;
            ethertype(et, &d[14..])
        }
        LINUX_SLL => {
            let et = be16(d, 14).ok_or(NonIp::TruncatedLink)?;
            ethertype(et, d.get(16..).ok_or(NonIp::TruncatedLink)?)
        }
        LINUX_SLL2 => {
            let et = be16(d, 0).ok_or(NonIp::TruncatedLink)?;
            ethertype(et, d.get(20..).ok_or(NonIp::TruncatedLink)?)
        }
        NULL | LOOP => {
            let fam: [u8; 4] = d
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(NonIp::TruncatedLink)?;
            // NULL stores the family in the capturing host's byte order, LOOP in network order.
            let fam = if linktype == LOOP {
                u32::from_be_bytes(fam)
            } else if u32::from_le_bytes(fam) < 256 {
                u32::from_le_bytes(fam)
            } else {
                u32::from_be_bytes(fam)
            };
            match fam {
                2 => Ok((L3::V4, &d[4..])),
                10 | 24 | 28 | 30 => Ok((L3::V6, &d[4..])),
                _ => Err(NonIp::OtherProtocol),
            }
        }
        RAW | DLT_RAW | DLT_RAW_OPENBSD => Ok((L3::Any, d)),
        IPV4 => Ok((L3::V4, d)),
        IPV6 => Ok((L3::V6, d)),
        _ => Err(NonIp::UnsupportedLinkType),
    }
}

/// Follows VLAN tags, MPLS labels and PPPoE to the IP header.
#[inline]
fn ethertype(mut et: u16, mut d: &[u8]) -> Result<(L3, &[u8]), NonIp> {
    loop {
        match et {
            ETH_IPV4 => return Ok((L3::V4, d)),
            ETH_IPV6 => return Ok((L3::V6, d)),
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
                et = be16(d, 2).ok_or(NonIp::TruncatedLink)?;
                d = &d[4..];
            }
            ETH_MPLS | ETH_MPLS_MC => {
                // Walk the label stack to the bottom-of-stack bit; the payload type is not
                // signalled, so the IP version nibble decides (as tshark does).
                loop {
                    let label = d.get(..4).ok_or(NonIp::TruncatedLink)?;
                    d = &d[4..];
                    if label[2] & 1 == 1 {
                        break;
                    }
                }
                return match d.first().map(|b| b >> 4) {
                    Some(4) => Ok((L3::V4, d)),
                    Some(6) => Ok((L3::V6, d)),
                    Some(_) => Err(NonIp::OtherProtocol),
                    None => Err(NonIp::TruncatedLink),
                };
            }
            ETH_PPPOE => {
                let ppp = be16(d, 6).ok_or(NonIp::TruncatedLink)?;
                // The session header's length (PPP protocol field included) ends the packet:
                // what follows is the frame's padding, as tshark reads it.
                let len = usize::from(be16(d, 4).ok_or(NonIp::TruncatedLink)?);
                let rest = &d[8..d.len().min(6 + len.max(2))];
                return match ppp {
                    0x0021 => Ok((L3::V4, rest)),
                    0x0057 => Ok((L3::V6, rest)),
                    _ => Err(NonIp::OtherProtocol),
                };
            }
            _ => return Err(NonIp::OtherProtocol),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::network_layer;
    use crate::capture::linktype::{self, TABLE};
    use crate::decode::{decode, Addr, Decoded, NonIp};

    /// A UDP datagram from port 1234 to 53 in a 20-byte IPv4 header, 10.0.0.1 to 10.0.0.2.
    const V4: [u8; 28] = [
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x04, 0xd2, 0, 53, 0,
        8, 0, 0,
    ];

    /// The same datagram in an IPv6 header, fd00::1 to fd00::2.
    fn v6() -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0, 0, 8, 17, 64];
        for last in [1, 2] {
            p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]);
        }
        p.extend_from_slice(&[0x04, 0xd2, 0, 53, 0, 8, 0, 0]);
        p
    }

    /// `ip` behind the link-layer header of `lt`, `None` when `lt` cannot carry its version.
    /// Every link type the table marks decoded needs a frame here.
    fn frame(lt: u16, ip: &[u8]) -> Option<Vec<u8>> {
        let v6 = ip[0] >> 4 == 6;
        let ethertype: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
        let head: Vec<u8> = match lt {
            linktype::NULL => vec![if v6 { 30 } else { 2 }, 0, 0, 0],
            linktype::LOOP => vec![0, 0, 0, if v6 { 24 } else { 2 }],
            linktype::ETHERNET => [&[0x02; 12][..], &ethertype].concat(),
            linktype::LINUX_SLL => [&[0; 14][..], &ethertype].concat(),
            linktype::LINUX_SLL2 => [&ethertype[..], &[0; 18]].concat(),
            linktype::RAW | linktype::DLT_RAW | linktype::DLT_RAW_OPENBSD => vec![],
            linktype::IPV4 if !v6 => vec![],
            linktype::IPV6 if v6 => vec![],
            linktype::IPV4 | linktype::IPV6 => return None,
            _ => panic!("no test frame for link type {lt}: add one"),
        };
        Some([&head[..], ip].concat())
    }

    /// The decoder decodes exactly the link types the table marks decoded: each of those
    /// yields a minimal IPv4 or IPv6 datagram's fields, and every other number, of all
    /// 65 536, is refused as an unsupported link type.
    #[test]
    fn decodes_exactly_the_table_s_decoded_link_types() {
        let v6 = v6();
        for e in TABLE.iter().filter(|e| e.decoded) {
            let mut any = false;
            for ip in [&V4[..], &v6] {
                let Some(f) = frame(e.number, ip) else {
                    continue;
                };
                any = true;
                let Decoded::Ip(p) = decode(e.number, &f) else {
                    panic!(
                        "link type {} ({}): {:?}",
                        e.number,
                        e.name,
                        decode(e.number, &f)
                    );
                };
                let (src, dst) = if ip[0] >> 4 == 6 {
                    let a = |last| {
                        let mut b = [0; 16];
                        (b[0], b[15]) = (0xfd, last);
                        Addr::v6(b)
                    };
                    (a(1), a(2))
                } else {
                    (Addr::v4([10, 0, 0, 1]), Addr::v4([10, 0, 0, 2]))
                };
                assert_eq!(
                    (p.src, p.dst, p.proto, p.ports),
                    (src, dst, 17, Some((1234, 53))),
                    "link type {}",
                    e.number
                );
            }
            assert!(any, "link type {} decodes no test frame", e.number);
        }
        let frame = [0u8; 64];
        for lt in 0..=u16::MAX {
            let refused = network_layer(lt, &frame) == Err(NonIp::UnsupportedLinkType);
            assert_eq!(refused, !linktype::decoded(lt), "link type {lt}");
        }
    }
}
