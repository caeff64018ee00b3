//! IPv4 and IPv6 (hop-by-hop, routing, fragment and destination-options headers; AH and
//! ESP end the walk, as in tshark): addresses, transport protocol
//! and the transport bytes that were captured.

use super::link::L3;
use super::{transport, Addr, Fragment, IpPacket};

const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const DEST_OPTS: u8 = 60;

/// Decodes the IP header at the start of `d`; `None` when the addresses were not captured
/// or the version is not 4 or 6. Also gives the transport bytes that were captured (empty
/// for a later fragment or a header cut short).
#[inline]
pub(super) fn decode(hint: L3, d: &[u8]) -> Option<(IpPacket, &[u8])> {
    let version = d.first()? >> 4;
    match (hint, version) {
        (L3::V4 | L3::Any, 4) => v4(d),
        (L3::V6 | L3::Any, 6) => v6(d),
        _ => None,
    }
}

#[inline]
fn v4(d: &[u8]) -> Option<(IpPacket, &[u8])> {
    let h: &[u8; 20] = d.get(..20)?.try_into().ok()?;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    if ihl < 20 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let id = u32::from(u16::from_be_bytes([h[4], h[5]]));
    let frag = u16::from_be_bytes([h[6], h[7]]);
    let more = frag & 0x2000 != 0;
    let offset = frag & 0x1fff;
    let proto = h[9];
    let src = Addr::v4([h[12], h[13], h[14], h[15]]);
    let dst = Addr::v4([h[16], h[17], h[18], h[19]]);
    let fragment = if offset != 0 {
        Fragment::Later { id, proto }
    } else if more {
        Fragment::First { id, proto }
    } else {
        Fragment::None
    };
    // Ethernet padding follows short packets; a total length of 0 (TSO) means "all of it".
    let end = if total >= ihl {
        total.min(d.len())
    } else {
        d.len()
    };
    let payload = if offset == 0 { d.get(ihl..end) } else { None };
    // The transport length by the header (tshark's `tcp.len` counts from it), or what was
    // captured when the header does not say.
    let l4_len = if total >= ihl {
        total - ihl
    } else {
        d.len().saturating_sub(ihl)
    };
    let mut p = transport::fill(src, dst, proto, fragment, payload, l4_len);
    // Don't-Fragment, on the segments sequence analysis reads.
    p.seg.df = p.seg.ok & (frag & 0x4000 != 0);
    Some((p, payload.unwrap_or(&[])))
}

#[inline]
fn v6(d: &[u8]) -> Option<(IpPacket, &[u8])> {
    let h: &[u8; 40] = d.get(..40)?.try_into().ok()?;
    let payload_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let src = Addr::v6(h[8..24].try_into().ok()?);
    let dst = Addr::v6(h[24..40].try_into().ok()?);
    // A payload length of 0 is a jumbogram (hop-by-hop jumbo option): take what was captured.
    let declared_end = if payload_len == 0 {
        d.len()
    } else {
        40 + payload_len
    };
    let end = declared_end.min(d.len());
    let mut rest = d.get(40..end).unwrap_or(&[]);
    let mut next = h[6];
    let mut fragment = Fragment::None;
    let mut later_fragment = false;
    while !later_fragment {
        match next {
            HOP_BY_HOP | ROUTING | DEST_OPTS => {
                let (Some(&nh), Some(&len)) = (rest.first(), rest.get(1)) else {
                    return Some((transport::fill(src, dst, next, fragment, None, 0), &[]));
                };
                // A header cut off by the snap length ends the walk on its own number.
                let Some(after) = rest.get((usize::from(len) + 1) * 8..) else {
                    return Some((transport::fill(src, dst, next, fragment, None, 0), &[]));
                };
                next = nh;
                rest = after;
            }
            FRAGMENT => {
                let Some(f) = rest.get(..8) else {
                    return Some((transport::fill(src, dst, next, fragment, None, 0), &[]));
                };
                let off_m = u16::from_be_bytes([f[2], f[3]]);
                let id = u32::from_be_bytes([f[4], f[5], f[6], f[7]]);
                next = f[0];
                rest = &rest[8..];
                let offset = off_m >> 3;
                let more = off_m & 1 != 0;
                if offset != 0 {
                    // The rest is the middle of a datagram: its next header is all we know.
                    fragment = Fragment::Later { id, proto: next };
                    later_fragment = true;
                } else if more {
                    fragment = Fragment::First { id, proto: next };
                }
                // An atomic fragment (offset 0, no more) is a whole datagram.
            }
            _ => break,
        }
    }
    let payload = if later_fragment { None } else { Some(rest) };
    let l4_len = declared_end.saturating_sub(end - rest.len());
    let mut p = transport::fill(src, dst, next, fragment, payload, l4_len);
    // IPv6 routers never fragment: every segment is as if Don't-Fragment were set.
    p.seg.df = p.seg.ok;
    Some((p, payload.unwrap_or(&[])))
}
