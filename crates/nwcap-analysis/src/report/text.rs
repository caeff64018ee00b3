//! Report values that print as text: addresses ([`IpText`]), protocols ([`Proto`]) and TCP
//! flags ([`Flags`]), each with its `Display` and `Serialize`, and the hand-written renderers
//! (with their lookup tables) that the row writers copy straight into their output. It owns
//! how one value reads; it never decides which values a row holds, nor writes a row.

use serde::Serialize;

use crate::decode::{proto_name, Addr};

/// An address that serializes as text without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpText(pub Addr);

impl std::fmt::Display for IpText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl IpText {
    /// Longest text of an address (eight groups of four hex digits and seven colons).
    pub const MAX_LEN: usize = 39;

    /// Writes the address into `buf` exactly as [`std::net::IpAddr`] displays it, without the
    /// formatting machinery: most report rows hold two addresses, and the formatter was the
    /// slow part of a row.
    pub fn render(self, buf: &mut [u8; Self::MAX_LEN]) -> &str {
        let n = self.render_ascii(buf);
        std::str::from_utf8(&buf[..n]).unwrap_or_default()
    }

    /// Like [`IpText::render`], as ASCII bytes: the report writers copy them straight into
    /// their output. Returns the length.
    pub(crate) fn render_ascii(self, buf: &mut [u8; Self::MAX_LEN]) -> usize {
        let a = self.0;
        if !a.v6 {
            put_v4(buf, 0, [a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]])
        } else {
            let groups: [u16; 8] =
                std::array::from_fn(|i| u16::from_be_bytes([a.bytes[2 * i], a.bytes[2 * i + 1]]));
            if groups[..6] == [0, 0, 0, 0, 0, 0xffff] {
                // IPv4-mapped addresses keep their dotted quad, as std writes them.
                buf[..7].copy_from_slice(b"::ffff:");
                put_v4(buf, 7, [a.bytes[12], a.bytes[13], a.bytes[14], a.bytes[15]])
            } else {
                // The first longest run of at least two zero groups becomes `::` (RFC 5952).
                let zeros = (0..8).fold(0u8, |m, i| m | u8::from(groups[i] == 0) << i);
                let (start, len) = ZERO_RUNS[usize::from(zeros)];
                let (start, len) = (usize::from(start), usize::from(len));
                if len > 1 {
                    let n = put_groups(buf, 0, &groups[..start]);
                    buf[n..n + 2].copy_from_slice(b"::");
                    put_groups(buf, n + 2, &groups[start + len..])
                } else {
                    put_groups(buf, 0, &groups)
                }
            }
        }
    }
}

/// For each set of zero groups (bit `i` for group `i`), where the first longest run of them
/// starts and how long it is: the run is found without a branch per group, which varies from
/// one address to the next.
const ZERO_RUNS: [(u8, u8); 256] = {
    let mut t = [(0u8, 0u8); 256];
    let mut zeros = 0;
    while zeros < 256 {
        let (mut run, mut best) = ((0u8, 0u8), (0u8, 0u8));
        let mut i = 0;
        while i < 8 {
            if zeros >> i & 1 == 0 {
                run = (i as u8 + 1, 0);
            } else {
                run.1 += 1;
                if run.1 > best.1 {
                    best = run;
                }
            }
            i += 1;
        }
        t[zeros] = best;
        zeros += 1;
    }
    t
};

/// Each octet's decimal digits followed by a dot, as the bytes of a little-endian `u32`, and
/// how many digits: a dotted quad is written without a branch on each octet's length, which
/// varies from one address to the next.
const OCTETS: [(u32, u8); 256] = {
    let mut t = [(0u32, 0u8); 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if i >= 100 {
            (
                digit(i / 100)
                    | digit(i / 10 % 10) << 8
                    | digit(i % 10) << 16
                    | (b'.' as u32) << 24,
                3,
            )
        } else if i >= 10 {
            (digit(i / 10) | digit(i % 10) << 8 | (b'.' as u32) << 16, 2)
        } else {
            (digit(i) | (b'.' as u32) << 8, 1)
        };
        i += 1;
    }
    t
};

/// The ASCII digit `v` (0–9) as a `u32`.
const fn digit(v: usize) -> u32 {
    b'0' as u32 + v as u32
}

/// Writes a dotted quad at `at`, and up to three bytes past it, which `buf` must have room
/// for; returns where it ends.
fn put_v4(buf: &mut [u8], mut at: usize, octets: [u8; 4]) -> usize {
    for o in octets {
        let (text, len) = OCTETS[usize::from(o)];
        buf[at..at + 4].copy_from_slice(&text.to_le_bytes());
        at += usize::from(len) + 1;
    }
    // Without the last octet's dot.
    at - 1
}

/// Writes IPv6 groups in lowercase hex without leading zeros, colon-separated, at `at`, and
/// up to three bytes past their end, which `buf` must have room for; returns where they end.
/// Each group's four digits are made at once and shifted past its leading zeros: a branch per
/// digit varied from group to group.
fn put_groups(buf: &mut [u8], mut at: usize, groups: &[u16]) -> usize {
    for (i, &g) in groups.iter().enumerate() {
        // The first group's colon is written over by its digits.
        buf[at] = b':';
        at += usize::from(i > 0);
        let g = u32::from(g);
        // One nibble a byte, the most significant first (in memory order).
        let x = (g >> 12) | (g >> 8 & 0xf) << 8 | (g >> 4 & 0xf) << 16 | (g & 0xf) << 24;
        // Bytes of 10 and more carry into their bit 4 when 6 is added: those become letters.
        let letters = (x + 0x0606_0606) >> 4 & 0x0101_0101;
        let text = x + 0x3030_3030 + letters * (u32::from(b'a') - u32::from(b'0') - 10);
        let digits = (32 - g.leading_zeros() as usize).div_ceil(4).max(1);
        buf[at..at + 4].copy_from_slice(&(text >> (8 * (4 - digits))).to_le_bytes());
        at += digits;
    }
    at
}

impl Serialize for IpText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; IpText::MAX_LEN];
        s.serialize_str(self.render(&mut buf))
    }
}

/// An IP protocol, as text: its name (`TCP`, `GRE`, `ICMPv6`, ... see `decode::proto_name`), or
/// its number as text when it has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proto(pub u8);

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&proto_name(self.0))
    }
}

impl Serialize for Proto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&proto_name(self.0))
    }
}

/// A flow's Community ID (`1:` and base64), as [`crate::flow::community_id`] makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommunityId(pub [u8; crate::flow::community_id::LEN]);

impl CommunityId {
    /// The ID as text.
    pub fn as_str(&self) -> &str {
        // Base64 and `1:`: always ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl Serialize for CommunityId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// TCP flags as letters `FSRPAUEC` (FIN first), without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub u8);

impl std::fmt::Display for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const L: [char; 8] = ['F', 'S', 'R', 'P', 'A', 'U', 'E', 'C'];
        for (i, c) in L.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                std::fmt::Write::write_char(f, *c)?;
            }
        }
        Ok(())
    }
}

impl Flags {
    /// The letters of the flags set, in `FSRPAUEC` order, at the start of eight bytes, and
    /// how many there are: from a table, for the writers that copy all eight and keep the
    /// letters (writing each letter and keeping those of set flags cost ~70 instructions).
    pub(crate) fn letters(self) -> (&'static [u8; 8], usize) {
        let text = &FLAG_LETTERS[usize::from(self.0)];
        (text, self.0.count_ones() as usize)
    }
}

/// [`Flags::letters`] of each flags byte, zeros after them.
static FLAG_LETTERS: [[u8; 8]; 256] = {
    let mut t = [[0; 8]; 256];
    let mut f = 0;
    while f < 256 {
        let (mut n, mut i) = (0, 0);
        while i < 8 {
            if f >> i & 1 != 0 {
                t[f][n] = b"FSRPAUEC"[i];
                n += 1;
            }
            i += 1;
        }
        f += 1;
    }
    t
};

impl Serialize for Flags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::IpText;
    use crate::decode::Addr;
    use crate::report::testing::xorshift;

    #[test]
    fn ipv4_text_matches_display() {
        for a in [
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            [10, 1, 0, 4],
            [192, 168, 100, 9],
            [1, 20, 200, 99],
        ] {
            let ip = IpText(Addr::v4(a));
            assert_eq!(serde_json::to_string(&ip).unwrap(), format!("\"{ip}\""));
        }
        let v6 = IpText(Addr::v6([
            0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        ]));
        assert_eq!(serde_json::to_string(&v6).unwrap(), "\"2001:db8::1\"");
    }

    /// The hand-written text of every kind of address equals std's: zero runs of every
    /// length and position (ties go to the first), IPv4-mapped and -compatible forms, and
    /// random addresses.
    #[test]
    fn rendering_matches_std() {
        let check = |a: Addr| {
            let mut buf = [0u8; IpText::MAX_LEN];
            assert_eq!(IpText(a).render(&mut buf), a.to_ip().to_string(), "{a:?}");
        };
        // Every pattern of zero and non-zero groups, with non-zero values of every width.
        for mask in 0..256u32 {
            for v in [1u16, 0xa, 0xff, 0x100, 0xabc, 0x1000, 0xffff] {
                let mut bytes = [0u8; 16];
                for g in 0..8 {
                    if mask & (1 << g) != 0 {
                        bytes[2 * g..2 * g + 2]
                            .copy_from_slice(&v.wrapping_add(g as u16).to_be_bytes());
                    }
                }
                check(Addr::v6(bytes));
            }
        }
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        for _ in 0..100_000 {
            let x = next();
            let b = x.to_be_bytes();
            check(Addr::v4([b[0], b[1], b[2], b[3]]));
            let mut bytes = [0u8; 16];
            bytes[8..].copy_from_slice(&b);
            check(Addr::v6(bytes));
            bytes[..8].copy_from_slice(&x.rotate_left(17).to_le_bytes());
            check(Addr::v6(bytes));
            let mut mapped = [
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, b[0], b[1], b[2], b[3],
            ];
            check(Addr::v6(mapped));
            mapped[10] = 0;
            check(Addr::v6(mapped));
            mapped[11] = 0;
            check(Addr::v6(mapped));
        }
    }
}
