//! Link layers: Ethernet (802.1Q/802.1ad VLAN, QinQ, MPLS, PPPoE session), Linux cooked
//! SLL and SLL2, raw IP, BSD loopback (NULL/LOOP). Finds where the IP header starts.

use super::NonIp;

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

/// Human name of a link type.
pub fn linktype_name(lt: u16) -> String {
    match lt {
        0 => "NULL (BSD loopback)".into(),
        1 => "Ethernet".into(),
        101 => "raw IP".into(),
        108 => "LOOP (OpenBSD loopback)".into(),
        113 => "Linux cooked (SLL)".into(),
        228 => "raw IPv4".into(),
        229 => "raw IPv6".into(),
        276 => "Linux cooked v2 (SLL2)".into(),
        n => format!("link type {n} (unsupported)"),
    }
}

#[inline]
fn be16(d: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(off)?, *d.get(off + 1)?]))
}

/// Returns the IP version hint and the bytes starting at the IP header.
#[inline]
pub(super) fn network_layer(linktype: u16, d: &[u8]) -> Result<(L3, &[u8]), NonIp> {
    match linktype {
        1 => {
            let et = be16(d, 12).ok_or(NonIp::TruncatedLink)?;
            ethertype(et, &d[14..])
        }
        113 => {
            let et = be16(d, 14).ok_or(NonIp::TruncatedLink)?;
            ethertype(et, d.get(16..).ok_or(NonIp::TruncatedLink)?)
        }
        276 => {
            let et = be16(d, 0).ok_or(NonIp::TruncatedLink)?;
            ethertype(et, d.get(20..).ok_or(NonIp::TruncatedLink)?)
        }
        0 | 108 => {
            let fam: [u8; 4] = d
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(NonIp::TruncatedLink)?;
            // NULL stores the family in the capturing host's byte order, LOOP in network order.
            let fam = if linktype == 108 {
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
        101 | 12 | 14 => Ok((L3::Any, d)),
        228 => Ok((L3::V4, d)),
        229 => Ok((L3::V6, d)),
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
                let rest = &d[8..];
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
