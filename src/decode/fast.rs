//! The fast path: the packet shape that makes up nearly all of a Network Watcher capture
//! (Ethernet with at most two VLAN tags, an unfragmented IPv4 header or an IPv6 header
//! straight followed by TCP/UDP, ports and TCP flags captured) read in one straight pass.
//!
//! [`tuple()`] answers `None` for anything else, and the caller takes the general decoder
//! ([`super::decode`]), which gives the same answer for every packet the fast path takes
//! (`tests/differential.rs` checks it on the corpus and random packets). It borrows the
//! packet, never panics, and copies nothing but the fields it returns.

use super::proto;

/// The fields flow accounting needs from a fast-path packet. Addresses are two words each
/// in memory order (IPv4: the four bytes in the low half of the first word, zeros after),
/// as `flow::PackedKey` stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    /// Source address words.
    pub src: [u64; 2],
    /// Destination address words.
    pub dst: [u64; 2],
    /// IPv6.
    pub v6: bool,
    /// TCP or UDP.
    pub proto: u8,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// TCP flags (0 for UDP).
    pub tcp_flags: u8,
}

const ETHERNET: u16 = 1;

#[inline(always)]
fn be16(d: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(i..i + 2)?.try_into().ok()?))
}

#[inline(always)]
fn le64(d: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(i..i + 8)?.try_into().ok()?))
}

#[inline(always)]
fn le32(d: &[u8], i: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        d.get(i..i + 4)?.try_into().ok()?,
    )))
}

/// The tuple of a common-shape packet, `None` for any other.
#[inline]
pub fn tuple(linktype: u16, d: &[u8]) -> Option<Tuple> {
    if linktype != ETHERNET {
        return None;
    }
    // 802.1Q, and QinQ's outer tag: Azure hosts see at most these. Whether a frame is tagged
    // is a coin toss per packet, so the tags are stepped over by arithmetic: a branch on them
    // was mispredicted for about every tagged frame.
    let tag = |et: u16| usize::from((et == 0x8100) | (et == 0x88A8));
    let at = 12 + 4 * tag(be16(d, 12)?);
    // Untagged, this reads offset 12 again, which is not a tag.
    let at = at + 4 * tag(be16(d, at)?);
    let et = be16(d, at)?;
    let ip = d.get(at + 2..)?;
    let (src, dst, v6, proto, l4) = match et {
        0x0800 => {
            let vihl = *ip.first()?;
            let ihl = usize::from(vihl & 0x0f) * 4;
            // Version 4, a sane header length, and neither "more fragments" nor an offset.
            if vihl >> 4 != 4 || ihl < 20 || be16(ip, 6)? & 0x3fff != 0 {
                return None;
            }
            let total = usize::from(be16(ip, 2)?);
            // Ethernet padding follows short packets; a total length of 0 (TSO) means "all".
            let end = if total >= ihl {
                total.min(ip.len())
            } else {
                ip.len()
            };
            let l4 = ip.get(ihl..end)?;
            let src = [le32(ip, 12)?, 0];
            let dst = [le32(ip, 16)?, 0];
            (src, dst, false, ip[9], l4)
        }
        0x86DD => {
            if *ip.first()? >> 4 != 6 {
                return None;
            }
            let payload = usize::from(be16(ip, 4)?);
            // 0 is a jumbogram (hop-by-hop option): not this path's business, but the general
            // path takes everything captured, and so do we.
            let end = if payload == 0 {
                ip.len()
            } else {
                (40 + payload).min(ip.len())
            };
            let l4 = ip.get(40..end)?;
            let src = [le64(ip, 8)?, le64(ip, 16)?];
            let dst = [le64(ip, 24)?, le64(ip, 32)?];
            (src, dst, true, ip[6], l4)
        }
        _ => return None,
    };
    let tcp_flags = match proto {
        proto::TCP => *l4.get(13)?,
        proto::UDP => 0,
        _ => return None,
    };
    Some(Tuple {
        src,
        dst,
        v6,
        proto,
        sport: be16(l4, 0)?,
        dport: be16(l4, 2)?,
        tcp_flags,
    })
}
