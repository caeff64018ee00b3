//! Interface Description Blocks: the link type, snap length and timestamp unit of the packets
//! of each interface, and the conversion of their timestamp ticks to nanoseconds.
//!
//! This file owns [`Interface`], what one block describes (its options read here), and
//! [`Uniform`], what the section's interfaces share for the shaped walk. It never walks blocks
//! or keeps the section's list of interfaces: the reader does, and reads a block's link type
//! and snap length in line in its walk.

#[cfg(doc)]
use super::Shape;
use crate::capture::bytes::{u16_at, u64_at};

pub(super) const IDB: u32 = 0x0000_0001;

/// One interface of the section, as its Interface Description Block describes it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Interface {
    pub(super) linktype: u16,
    pub(super) snaplen: u32,
    /// if_tsresol: bit 7 clear = 10^-n seconds, set = 2^-n seconds.
    tsresol: u8,
    /// if_tsoffset in seconds.
    tsoffset: i64,
    /// Ticks below this are `ticks * scale` nanoseconds (see [`Interface::ns`]); 0 when the
    /// interface's resolution and offset need the general conversion.
    fast_below: u64,
    scale: i64,
}

impl Interface {
    /// An interface with the default resolution (microseconds) and no offset.
    pub(super) fn new(linktype: u16, snaplen: u32) -> Self {
        Interface {
            linktype,
            snaplen,
            tsresol: 6,
            tsoffset: 0,
            fast_below: 0,
            scale: 0,
        }
        .settled()
    }

    /// Sets the shortcut of [`Interface::ns`] for the resolution and offset now set: the two
    /// resolutions real files use, without an offset, convert by one multiplication instead of
    /// the general 128-bit arithmetic (a power and a wide multiply per packet) and its four
    /// tests of the interface's fields. Each bound keeps the result below the general path's
    /// clamp (`i64::MAX - 1`): the same results. (A bound of `i64::MAX / 1000` for both sent
    /// every nanosecond timestamp after 1970-04-17, all of them, the slow way.)
    pub(super) fn settled(mut self) -> Self {
        (self.fast_below, self.scale) = match (self.tsresol, self.tsoffset) {
            (9, 0) => (i64::MAX as u64, 1),
            (6, 0) => ((i64::MAX / 1000) as u64 + 1, 1000),
            _ => (0, 0),
        };
        self
    }

    /// Nanoseconds since the epoch of a timestamp of `ticks` of this interface.
    #[inline(always)]
    pub(super) fn ns(&self, ticks: u64) -> i64 {
        if ticks < self.fast_below {
            ticks as i64 * self.scale
        } else {
            ticks_to_ns(ticks, self.tsresol, self.tsoffset)
        }
    }
}

/// The interfaces of the current section, when they are alike (see [`Shape`]).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Uniform {
    /// How many interfaces there are; 0 when they are not alike.
    pub(super) interfaces: u32,
    pub(super) linktype: u16,
    /// As [`Shape::scale`].
    pub(super) scale: i64,
}

impl Uniform {
    /// What the interfaces share once `added` has joined the `n - 1` that shared `self`, the
    /// first of them being `first`. Kept as they come: going over them all at each one would
    /// make a file of many interface blocks quadratic.
    pub(super) fn with(self, first: &Interface, added: &Interface, n: usize) -> Uniform {
        let key = |i: &Interface| (i.linktype, i.tsresol, i.tsoffset);
        let alike = (n == 1 || self.interfaces != 0) && key(first) == key(added);
        match u32::try_from(n) {
            Ok(n) if alike && added.scale != 0 => Uniform {
                interfaces: n,
                linktype: added.linktype,
                scale: added.scale,
            },
            _ => Uniform::default(),
        }
    }
}

/// Reads the options of an Interface Description Block that nwcap uses (if_tsresol and
/// if_tsoffset) into `iface`, up to the end of the options or the first malformed one.
pub(super) fn parse_idb_options(mut opts: &[u8], be: bool, iface: &mut Interface) {
    while let (Some(code), Some(len)) = (u16_at(opts, 0, be), u16_at(opts, 2, be)) {
        let len = len as usize;
        let Some(val) = opts.get(4..4 + len) else {
            return;
        };
        match code {
            0 => return,
            9 if len >= 1 => iface.tsresol = val[0],
            14 if len >= 8 => iface.tsoffset = u64_at(val, 0, be).unwrap_or(0) as i64,
            _ => {}
        }
        let padded = (len + 3) & !3;
        opts = opts.get(4 + padded..).unwrap_or(&[]);
    }
}

/// Converts interface ticks to nanoseconds since the epoch, saturating on absurd values one
/// short of the `i64` ends, which the flow table reserves for "no timestamp". The common
/// cases take [`Interface::ns`]'s shortcut instead.
#[inline(never)]
fn ticks_to_ns(ticks: u64, tsresol: u8, tsoffset: i64) -> i64 {
    let exp = u32::from(tsresol & 0x7f);
    let ns: i128 = if tsresol & 0x80 == 0 {
        if exp <= 9 {
            i128::from(ticks) * 10i128.pow(9 - exp)
        } else {
            i128::from(ticks) / 10i128.pow(exp.min(38) - 9)
        }
    } else if exp <= 64 {
        (i128::from(ticks) * 1_000_000_000) >> exp
    } else {
        0
    };
    let ns = ns + i128::from(tsoffset) * 1_000_000_000;
    ns.clamp(i64::MIN as i128 + 1, i64::MAX as i128 - 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_decimal_and_binary() {
        // Through an interface, shortcut or not, and always the general conversion too.
        let ns = |ticks: u64, tsresol: u8, tsoffset: i64| {
            let mut iface = Interface::new(1, 0);
            (iface.tsresol, iface.tsoffset) = (tsresol, tsoffset);
            let fast = iface.settled().ns(ticks);
            assert_eq!(
                fast,
                ticks_to_ns(ticks, tsresol, tsoffset),
                "{ticks} {tsresol}"
            );
            fast
        };
        assert_eq!(ns(1_500_000, 6, 0), 1_500_000_000);
        assert_eq!(ns(7, 9, 0), 7);
        assert_eq!(ns(3, 0, 2), 5_000_000_000);
        assert_eq!(ns(1 << 20, 0x80 | 20, 0), 1_000_000_000);
        assert_eq!(ns(12_345, 12, 0), 12);
        assert_eq!(ns(u64::MAX, 9, 0), i64::MAX - 1);
        // Both sides of the nanosecond shortcut's bound, and a time of today.
        assert_eq!(ns(i64::MAX as u64, 9, 0), i64::MAX - 1);
        assert_eq!(ns(i64::MAX as u64 - 1, 9, 0), i64::MAX - 1);
        assert_eq!(ns(i64::MAX as u64 - 2, 9, 0), i64::MAX - 2);
        let today = 1_764_806_400_123_456_789;
        assert_eq!(ns(today, 9, 0), today as i64);
        assert_eq!(ns(today / 1000, 6, 0), today as i64 / 1000 * 1000);
        assert_eq!(ns(u64::MAX / 100, 6, 0), i64::MAX - 1);
        assert_eq!(ns(0, 9, i64::MIN / 1_000_000_000 - 1), i64::MIN + 1);
        assert_eq!(ns(i64::MAX as u64 / 1000, 6, 0), i64::MAX / 1000 * 1000);
    }
}
