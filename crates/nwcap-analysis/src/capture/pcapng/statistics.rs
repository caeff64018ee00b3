//! Interface Statistics Blocks: what the capturing system says it dropped on an interface.
//!
//! This file owns the block's type and the reading of its body into the drop counts nwcap
//! reports (`isb_ifdrop`, dropped by the interface for lack of resources, and `isb_osdrop`,
//! dropped by the operating system, both counted from the start of the capture). It borrows
//! the body and reads every field through bounds-checked accessors: a short body or a
//! malformed option ends the reading, never panics. It never walks blocks, never keeps which
//! block came last (the reader does: a later block for the same interface replaces an
//! earlier one) and never reads the other counters (received, accepted, delivered), which
//! no finding needs.

use crate::capture::bytes::{u16_at, u32_at, u64_at};
use crate::capture::IsbDrops;

pub(super) const ISB: u32 = 0x0000_0005;

/// Option codes (draft-ietf-opsawg-pcapng, "Interface Statistics Block").
const OPT_END: u16 = 0;
const ISB_IFDROP: u16 = 5;
const ISB_OSDROP: u16 = 7;

/// The interface (its id in the section) and drop counts of an Interface Statistics Block's
/// `body` (after the type and length, before the trailing length), in the section's byte
/// order; `None` when the body cannot hold the interface id and timestamp.
pub(super) fn parse_isb(body: &[u8], be: bool) -> Option<(u32, IsbDrops)> {
    let if_id = u32_at(body, 0, be)?;
    // The 64-bit timestamp at 4, then the options.
    let mut opts = body.get(12..)?;
    let mut drops = IsbDrops::default();
    while let (Some(code), Some(len)) = (u16_at(opts, 0, be), u16_at(opts, 2, be)) {
        let len = usize::from(len);
        let Some(val) = opts.get(4..4 + len) else {
            break;
        };
        match code {
            OPT_END => break,
            ISB_IFDROP if len == 8 => drops.ifdrop = u64_at(val, 0, be),
            ISB_OSDROP if len == 8 => drops.osdrop = u64_at(val, 0, be),
            _ => {}
        }
        let padded = (len + 3) & !3;
        opts = opts.get(4 + padded..).unwrap_or_default();
    }
    Some((if_id, drops))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(be: bool, if_id: u32, opts: &[(u16, &[u8])]) -> Vec<u8> {
        let w16 = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let w32 = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut b = [&w32(if_id)[..], &w32(0), &w32(1)].concat();
        for (code, val) in opts {
            b.extend_from_slice(&w16(*code));
            b.extend_from_slice(&w16(val.len() as u16));
            b.extend_from_slice(val);
            b.resize(b.len().div_ceil(4) * 4, 0);
        }
        b
    }

    /// Both counts in either byte order, among options nwcap does not read (a comment of
    /// an odd length, isb_ifrecv), up to the end-of-options.
    #[test]
    fn drops_are_read_in_both_byte_orders() {
        for be in [false, true] {
            let w64 = |v: u64| if be { v.to_be_bytes() } else { v.to_le_bytes() };
            let b = body(
                be,
                3,
                &[
                    (1, b"hello"),
                    (4, &w64(100)),
                    (5, &w64(7)),
                    (7, &w64(2)),
                    (0, b""),
                    (5, &w64(99)),
                ],
            );
            let want = IsbDrops {
                ifdrop: Some(7),
                osdrop: Some(2),
            };
            assert_eq!(parse_isb(&b, be), Some((3, want)), "be {be}");
        }
    }

    /// Without options, no count; a count of the wrong length is not read; a body too short
    /// for its header is no block at all; every cut of a good body reads without panicking.
    #[test]
    fn short_and_malformed_bodies() {
        let none = IsbDrops::default();
        assert_eq!(parse_isb(&body(false, 0, &[]), false), Some((0, none)));
        let b = body(false, 1, &[(5, &[1, 2, 3, 4])]);
        assert_eq!(parse_isb(&b, false), Some((1, none)));
        let good = body(false, 2, &[(5, &7u64.to_le_bytes()), (7, &[9; 8])]);
        for cut in 0..good.len() {
            let r = parse_isb(&good[..cut], false);
            assert_eq!(r.is_some(), cut >= 12, "cut {cut}");
        }
        // An option whose length runs past the body ends the reading.
        let mut b = body(false, 4, &[(5, &7u64.to_le_bytes())]);
        b.extend_from_slice(&[7, 0, 0xff, 0xff, 1, 2]);
        assert_eq!(
            parse_isb(&b, false).map(|r| r.1.ifdrop),
            Some(Some(7)),
            "{b:?}"
        );
    }
}
