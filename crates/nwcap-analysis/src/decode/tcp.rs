//! The TCP header fields sequence analysis reads: sequence and acknowledgement numbers, the
//! window, the segment's payload length (from the IP header's length, as tshark's
//! `tcp.len`, not from what the snap length kept) and a SYN's options (MSS, window scale,
//! SACK-permitted). Reads borrow the header, never panic, and give `None`/nothing for fields
//! that were not captured.

/// A TCP segment's sequence fields. `ok` is `false` (and the rest zero) when the header was
/// not captured up to its window, or its data offset is impossible: such a segment is
/// counted but not analysed, as tshark stops dissecting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (whatever the field holds, ACK flag or not).
    pub ack: u32,
    /// Payload bytes, from the IP length (the snap length does not shorten it; a frame
    /// shorter than the IP length does, see [`Segment::on_wire`]).
    pub len: u32,
    /// Payload bytes captured (the rest of `len` was cut by the snap length, or is missing
    /// from the frame).
    pub captured: u32,
    /// Window field, unscaled.
    pub win: u16,
    /// Whether the fields above were read.
    pub ok: bool,
    /// Sent with IPv4's Don't-Fragment bit set, or over IPv6 (whose routers never fragment):
    /// read only with sequence analysis (`false` otherwise, and when `ok` is `false`).
    pub df: bool,
    /// A SYN's options ([`SynOptions`]); 0 for other segments and when none were captured.
    pub opts: SynOptions,
}

/// A SYN's options in 4 bytes: bit 31 set when the options were read, MSS in bits 0..16
/// (0 = absent), window scale + 1 in bits 16..24 (0 = absent), SACK-permitted in bit 24.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct SynOptions(pub u32);

impl SynOptions {
    const READ: u32 = 1 << 31;
    const SACK: u32 = 1 << 24;

    /// Whether a SYN's options were read.
    pub fn is_read(self) -> bool {
        self.0 & Self::READ != 0
    }

    /// Maximum segment size, if given.
    pub fn mss(self) -> Option<u16> {
        let m = self.0 as u16;
        (self.is_read() && m != 0).then_some(m)
    }

    /// Window scale shift, if given.
    pub fn window_scale(self) -> Option<u8> {
        let w = (self.0 >> 16) as u8;
        (self.is_read() && w != 0).then(|| w - 1)
    }

    /// Whether SACK was permitted (`None` when the options were not read).
    pub fn sack_permitted(self) -> Option<bool> {
        self.is_read().then_some(self.0 & Self::SACK != 0)
    }

    /// Reads the options of a SYN from `opts`, the header bytes after the fixed 20 (as many
    /// as were captured). A cut or malformed option ends the walk with what came before.
    pub fn parse(opts: &[u8]) -> SynOptions {
        let mut v = Self::READ;
        let mut i = 0;
        while let Some(&kind) = opts.get(i) {
            match kind {
                0 => break,
                1 => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            let Some(&len) = opts.get(i + 1) else { break };
            let len = usize::from(len);
            if len < 2 {
                break;
            }
            let Some(body) = opts.get(i + 2..i + len) else {
                break;
            };
            match (kind, body) {
                (2, &[a, b]) => v = (v & !0xffff) | u32::from(u16::from_be_bytes([a, b])),
                (3, &[s]) => v = (v & !(0xff << 16)) | (u32::from(s.min(254)) + 1) << 16,
                (4, &[]) => v |= Self::SACK,
                _ => {}
            }
            i += len;
        }
        SynOptions(v)
    }
}

impl Segment {
    /// No fields read: not TCP, or not analysed.
    pub const NONE: Segment = Segment {
        seq: 0,
        ack: 0,
        len: 0,
        captured: 0,
        win: 0,
        ok: false,
        df: false,
        opts: SynOptions(0),
    };

    /// The segment of a frame of `wire` bytes of which `cap` were captured: a payload the IP
    /// header claims beyond the frame's end is not there (tshark: "IPv4 total length
    /// exceeds packet length"), so the length is what the frame holds.
    #[inline(always)]
    pub fn on_wire(mut self, wire: u32, cap: u32) -> Segment {
        self.len = self
            .len
            .min(self.captured.saturating_add(wire.saturating_sub(cap)));
        self
    }

    /// The segment of the TCP header `h` (the captured bytes from the header's start) whose
    /// header and payload take `l4_len` bytes by the IP header. Never panics.
    #[inline]
    pub fn parse(h: &[u8], l4_len: usize) -> Segment {
        let Some(f) = h.get(..16) else {
            return Segment::default();
        };
        let doff = usize::from(f[12] >> 4) * 4;
        if doff < 20 || doff > l4_len {
            return Segment::default();
        }
        let be32 = |i: usize| u32::from_be_bytes([f[i], f[i + 1], f[i + 2], f[i + 3]]);
        let syn = f[13] & super::tcp_flags::SYN != 0;
        Segment {
            seq: be32(4),
            ack: be32(8),
            len: (l4_len - doff) as u32,
            captured: h.len().min(l4_len).saturating_sub(doff) as u32,
            win: u16::from_be_bytes([f[14], f[15]]),
            ok: true,
            df: false,
            opts: if syn {
                syn_options(h, doff)
            } else {
                SynOptions(0)
            },
        }
    }
}

/// A SYN's options, out of line: one segment in many.
#[cold]
#[inline(never)]
fn syn_options(h: &[u8], doff: usize) -> SynOptions {
    let end = doff.min(h.len());
    SynOptions::parse(h.get(20..end).unwrap_or(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_options_are_read_and_damage_stops_the_walk() {
        // MSS 1460, NOP, window scale 7, SACK-permitted, timestamps, end.
        let o = [
            2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 0,
        ];
        let s = SynOptions::parse(&o);
        assert_eq!(
            (s.mss(), s.window_scale(), s.sack_permitted()),
            (Some(1460), Some(7), Some(true))
        );
        let s = SynOptions::parse(&o[..6]);
        assert_eq!(
            (s.mss(), s.window_scale(), s.sack_permitted()),
            (Some(1460), None, Some(false))
        );
        // A zero-length option ends the walk; nothing read is `None`.
        assert_eq!(SynOptions::parse(&[2, 0, 5, 0xb4]).mss(), None);
        assert_eq!(SynOptions(0).sack_permitted(), None);
    }

    #[test]
    fn segment_length_comes_from_the_ip_length() {
        let mut h = [0u8; 20];
        h[4..8].copy_from_slice(&100u32.to_be_bytes());
        h[8..12].copy_from_slice(&7u32.to_be_bytes());
        h[12] = 5 << 4;
        h[13] = 0x10;
        h[14..16].copy_from_slice(&512u16.to_be_bytes());
        let s = Segment::parse(&h, 1020);
        assert_eq!(
            (s.seq, s.ack, s.len, s.win, s.ok),
            (100, 7, 1000, 512, true)
        );
        assert!(!Segment::parse(&h[..15], 1020).ok);
        assert!(!Segment::parse(&h, 19).ok);
        h[12] = 4 << 4;
        assert!(!Segment::parse(&h, 1020).ok);
    }
}
