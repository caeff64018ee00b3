//! Packet blocks: the Enhanced Packet Block (nearly every block of a real file), the Simple
//! Packet Block and the obsolete Packet Block.
//!
//! This file owns the three block types, the Enhanced Packet Block's straight path into a
//! [`Record`] that borrows the packet bytes, and its one-comparison length test. It never
//! changes the section's state (byte order, interfaces), never words damage and never copies
//! a packet. The general reading of all three bodies, for every block the straight path
//! leaves, stays in the walk (`PcapngReader::next_block`): see there why.

use super::{PcapngReader, MAX_BLOCK};
use crate::capture::bytes::{u32_at, u32s};
use crate::capture::Record;

pub(super) const OBSOLETE_PB: u32 = 0x0000_0002;
pub(super) const SPB: u32 = 0x0000_0003;
pub(super) const EPB: u32 = 0x0000_0006;

impl<'a> PcapngReader<'a> {
    /// The record of the Enhanced Packet Block at `pos` when it is whole in `d`, sound, and of
    /// an interface the section described; `None` for anything else, left to
    /// [`Self::next_block`]'s general reading, which also words any error. Nearly every block
    /// is one of these: read straight, with one byte-order branch for its seven fields, it
    /// costs about a third fewer instructions than through the general reading.
    #[inline(always)]
    pub(super) fn packet_block(
        &mut self,
        d: &'a [u8],
        pos: usize,
        at: usize,
    ) -> Option<Record<'a>> {
        let raw = u32s::<7>(d.get(pos..)?, false)?;
        let [btype, total, if_id, hi, lo, caplen, wire_len] = if self.big_endian {
            raw.map(u32::swap_bytes)
        } else {
            raw
        };
        let end = pos + total as usize;
        if !((btype == EPB) & epb_lengths_sound(total, caplen)) || end > d.len() {
            return None;
        }
        let iface = self.interfaces.get(if_id as usize).copied()?;
        // Both lengths in the file's byte order: equal bytes, no need to swap either.
        if u32_at(d, end - 4, false) != Some(raw[1]) {
            return None;
        }
        // Besides the headers, the walk reads the trailing length at the block's end: every
        // line of a small block.
        crate::capture::prefetch_ahead(d, pos, [64, 128, total as usize - 4]);
        self.cur.pos = end;
        let ticks = (u64::from(hi) << 32) | u64::from(lo);
        Some(Record {
            ts_ns: Some(iface.ns(ticks)),
            wire_len,
            linktype: iface.linktype,
            data: &d[pos + 28..pos + 28 + caplen as usize],
            offset: at as u64,
        })
    }
}

/// Whether an Enhanced Packet Block of `total` bytes can hold `caplen` captured bytes: 32 bytes
/// of header and trailing length around the packet, padded to 4 bytes, at most `MAX_BLOCK`.
/// The rotation leaves a multiple of 4 in range small and moves any other remainder into the
/// top bits: one comparison for the three tests of the total.
#[inline(always)]
pub(super) fn epb_lengths_sound(total: u32, caplen: u32) -> bool {
    (total.wrapping_sub(32).rotate_right(2) <= (MAX_BLOCK - 32) / 4)
        & (u64::from(caplen) + 32 <= u64::from(total))
}

#[cfg(test)]
mod tests {
    use super::super::interface::IDB;
    use super::super::section::{BYTE_ORDER_MAGIC, SHB};
    use super::*;

    /// The Enhanced Packet Block shortcut takes a block exactly when its lengths are sound:
    /// its one-comparison range test against the three plain ones around every bound, then
    /// whole blocks of every small length, with the trailing length equal or not, in both byte
    /// orders.
    #[test]
    fn packet_block_shortcut_takes_exactly_the_sound_blocks() {
        let plain = |total: u32, caplen: u32| {
            total >= 32
                && total.is_multiple_of(4)
                && total <= MAX_BLOCK
                && u64::from(caplen) + 32 <= u64::from(total)
        };
        for edge in [0, 32, MAX_BLOCK, 1 << 30, 1 << 31, u32::MAX - 31, u32::MAX] {
            for total in (0..80).map(|d| edge.wrapping_sub(40).wrapping_add(d)) {
                for caplen in [
                    0,
                    total.wrapping_sub(33),
                    total.wrapping_sub(32),
                    total.wrapping_sub(31),
                ] {
                    assert_eq!(
                        epb_lengths_sound(total, caplen),
                        plain(total, caplen),
                        "total {total} caplen {caplen}"
                    );
                }
            }
        }
        let totals: Vec<u32> = (0..=72).collect();
        for be in [false, true] {
            let w = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
            let shb = [&w(BYTE_ORDER_MAGIC)[..], &[1, 0, 0, 0], &[0xff; 8]].concat();
            let mut head = Vec::new();
            block(&mut head, SHB, &shb, be);
            block(&mut head, IDB, &[0; 8], be);
            for &total in &totals {
                for caplen in [0, total.wrapping_sub(32), total.wrapping_sub(31), 8] {
                    for trailer_ok in [true, false] {
                        let mut d = head.clone();
                        let pos = d.len();
                        for v in [EPB, total, 0, 0, 1, caplen, caplen] {
                            d.extend_from_slice(&w(v));
                        }
                        // Room for every block up to 72 bytes; the larger ones do not fit.
                        d.resize(pos + 72, 0);
                        let fits = total as usize <= 72;
                        if fits && total >= 4 {
                            let t = if trailer_ok { total } else { total ^ 0x100 };
                            let end = pos + total as usize;
                            d[end - 4..end].copy_from_slice(&w(t));
                        }
                        let sound = plain(total, caplen) && fits && trailer_ok;
                        // A reader that has read the section's interface.
                        let mut r = PcapngReader::new(&head).unwrap();
                        assert!(r.pull().is_none() && r.take_error().is_none());
                        let rec = r.packet_block(&d, pos, pos);
                        assert_eq!(
                            rec.is_some(),
                            sound,
                            "be {be} total {total} caplen {caplen}"
                        );
                        if let Some(rec) = rec {
                            assert_eq!(rec.data.len(), caplen as usize);
                            assert_eq!(r.cur.pos, pos + total as usize);
                        }
                    }
                }
            }
        }
    }

    /// A block of type `btype` around `body`, in either byte order.
    fn block(f: &mut Vec<u8>, btype: u32, body: &[u8], be: bool) {
        let put = |f: &mut Vec<u8>, v: u32| {
            f.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() })
        };
        let total = (12 + body.len().div_ceil(4) * 4) as u32;
        put(f, btype);
        put(f, total);
        f.extend_from_slice(body);
        f.resize(f.len() + (4 - body.len() % 4) % 4, 0);
        put(f, total);
    }

    /// The obsolete Packet Block (a 16-bit interface id and drop count where the Enhanced
    /// Packet Block has a 32-bit id) and an EPB, both byte orders.
    #[test]
    fn obsolete_and_enhanced_packet_blocks() {
        for be in [false, true] {
            let (w16, w32) = (
                |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() },
                |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() },
            );
            let mut f = Vec::new();
            let shb = [&w32(BYTE_ORDER_MAGIC)[..], &w16(1), &w16(0), &[0xff; 8]].concat();
            block(&mut f, SHB, &shb, be);
            // Two Ethernet interfaces, microseconds.
            for _ in 0..2 {
                block(&mut f, IDB, &[&w16(1)[..], &w16(0), &w32(0)].concat(), be);
            }
            let data = [0xAB; 5];
            let times = (w32(0), w32(1_500_000));
            // Interface 1, 7 drops.
            let pb = [
                &w16(1)[..],
                &w16(7),
                &times.0,
                &times.1,
                &w32(5),
                &w32(60),
                &data,
            ]
            .concat();
            block(&mut f, OBSOLETE_PB, &pb, be);
            let epb = [&w32(1)[..], &times.0, &times.1, &w32(5), &w32(61), &data].concat();
            block(&mut f, EPB, &epb, be);
            // An interface the section does not describe.
            let epb = [&w32(2)[..], &times.0, &times.1, &w32(5), &w32(62), &data].concat();
            block(&mut f, EPB, &epb, be);

            let mut r = crate::capture::Reader::new(&f).unwrap();
            for wire_len in [60, 61] {
                let rec = r.next().unwrap().unwrap();
                assert_eq!((rec.wire_len, rec.data), (wire_len, &data[..]), "be {be}");
                assert_eq!(rec.ts_ns, Some(1_500_000_000), "be {be}");
            }
            let err = r.next().unwrap().unwrap_err().to_string();
            assert!(err.contains("interface 2 not described"), "be {be}: {err}");
        }
    }
}
