//! The fast path: the packet shape that makes up nearly all of a Network Watcher capture
//! (Ethernet with at most two VLAN tags, an unfragmented IPv4 header or an IPv6 header
//! straight followed by TCP/UDP, ports and TCP flags captured) read in one straight pass.
//!
//! [`tuple()`] answers `None` for anything else, and the caller takes the general decoder
//! ([`super::decode`]), which gives the same answer for every packet the fast path takes
//! (`tests/differential.rs` checks it on the corpus and random packets). It borrows the
//! packet, never panics, and copies nothing but the fields it returns.

use std::hint::select_unpredictable;

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
fn le64(h: &[u8; 40], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&h[i..i + 8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn be16_at(h: &[u8; 40], i: usize) -> usize {
    usize::from(u16::from_be_bytes([h[i], h[i + 1]]))
}

/// The tuple of a common-shape packet, `None` for any other. Always inlined: it is most
/// of the pass's decoding, and a call returns the tuple through memory.
#[inline(always)]
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
    // IPv4 or IPv6, and TCP or UDP, are coin tosses per packet too, so both readings are made
    // and the right one selected without a branch: branches on them were ~6 M of a 10 M-packet
    // pass's 15 M mispredictions. The first 40 bytes are read whatever the version; an IPv4
    // packet shorter than that (a 28-byte UDP datagram cut by the snap length) is left to the
    // general decoder.
    let h: &[u8; 40] = ip.get(..40)?.try_into().ok()?;
    let v6 = et == 0x86DD;
    let sel = select_unpredictable::<usize>;
    // What disqualifies the packet is gathered as integer bits and tested once: LLVM splits a
    // test of `a || b` into a branch each, which would bring the coin toss back.
    // IPv4 with a header of at least 20 bytes starts 0x45..=0x4f; IPv6 0x60..=0x6f.
    let first = h[0].wrapping_sub(select_unpredictable(v6, 0x60, 0x45));
    let version_bad = usize::from(first > select_unpredictable(v6, 15, 10));
    let not_v4 = usize::from(et ^ 0x0800) & sel(v6, 0, usize::MAX);
    // IPv4's "more fragments" flag and fragment offset.
    let fragment = be16_at(h, 6) & sel(v6, 0, 0x3fff);
    if version_bad | not_v4 | fragment != 0 {
        return None;
    }
    // The transport header, up to the end the IP header gives, cut to what was captured.
    // IPv4 also counts its header, IPv6 not. Below the header's own length (0 included)
    // means "all": IPv4 under TSO, Ethernet padding after a short total, or an IPv6
    // jumbogram (whose hop-by-hop option is not this path's business, but the general path
    // takes everything captured, and so do we).
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let start = sel(v6, 40, ihl);
    let declared = sel(v6, 40 + be16_at(h, 4), be16_at(h, 2));
    let end = sel(
        declared <= sel(v6, 40, ihl.wrapping_sub(1)),
        ip.len(),
        declared.min(ip.len()),
    );
    let l4 = ip.get(start..end)?;
    let proto = select_unpredictable(v6, h[6], h[9]);
    // TCP or UDP, as a bit of a mask: LLVM makes a lookup table, or a test of one protocol
    // or the other, into two branches, the first a coin toss.
    const TCP_OR_UDP: u32 = 1 << proto::TCP | 1 << proto::UDP;
    if u32::from(proto >> 5) | (!TCP_OR_UDP >> (proto & 31) & 1) != 0 {
        return None;
    }
    let tcp = proto == proto::TCP;
    // TCP's flags are byte 13; UDP reads byte 3 (a port's, there anyway) and masks it off.
    let tcp_flags = *l4.get(sel(tcp, 13, 3))? & u8::from(tcp).wrapping_neg();
    // IPv4's addresses are the high half of bytes 8..16 and the low half of 16..24.
    let (w8, w16) = (le64(h, 8), le64(h, 16));
    let pick = select_unpredictable::<u64>;
    Some(Tuple {
        src: [pick(v6, w8, w8 >> 32), pick(v6, w16, 0)],
        dst: [
            pick(v6, le64(h, 24), w16 & 0xFFFF_FFFF),
            pick(v6, le64(h, 32), 0),
        ],
        v6,
        proto,
        sport: be16(l4, 0)?,
        dport: be16(l4, 2)?,
        tcp_flags,
    })
}
