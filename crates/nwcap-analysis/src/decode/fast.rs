//! The fast path: the packet shape that makes up nearly all of a Network Watcher capture
//! (Ethernet with at most two VLAN tags, an unfragmented IPv4 header or an IPv6 header
//! straight followed by TCP/UDP, ports and TCP flags captured) read in one straight pass.
//!
//! [`tuple()`] answers `None` for anything else, and the caller takes the general decoder
//! ([`super::decode`]), which gives the same answer for every packet the fast path takes
//! (`tests/differential.rs` checks it on the corpus and random packets). It borrows the
//! packet, never panics, and copies nothing but the fields it returns.

use super::proto;
use super::tcp::{Segment, SynOptions};
use crate::capture::linktype::ETHERNET;
use crate::inspect::screen;

/// The fields flow accounting needs from a fast-path packet. Addresses are two words each
/// in memory order (IPv4: the four bytes in the low half of the first word, zeros after),
/// as `flow::PackedKey` stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    /// Source address words.
    pub src: [u64; 2],
    /// Destination address words.
    pub dst: [u64; 2],
    /// 1 for IPv6, 0 for IPv4: an integer, not a `bool`, so that what is computed from it
    /// stays arithmetic (LLVM turns work on a `bool` into branches, on a coin toss here).
    pub v6: u8,
    /// TCP or UDP.
    pub proto: u8,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// TCP flags (0 for UDP).
    pub tcp_flags: u8,
    /// Whether the payload may start a message `inspect` reads: see
    /// [`crate::inspect::screen`], whose test this is, made here where the transport
    /// header's bytes are at hand.
    pub screened: bool,
    /// TCP sequence fields (`ok == false` for UDP, or a TCP header not analysable).
    pub seg: Segment,
}

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

/// How [`tuple()`] reads one IP version: row 0 IPv4, row 1 IPv6 (picked by the ethertype's
/// top bit). Fields both versions have at different places are read at both and masked, so
/// that no offset comes from the row (each would cost a bounds check).
struct Version {
    /// The ethertype.
    ethertype: u16,
    /// The lowest first byte taken, and how far above it the highest is.
    first: u8,
    first_span: u8,
    /// The bits of bytes 6..8 that mark a fragment.
    fragment: u16,
    /// The Don't-Fragment bit in byte 6 (IPv4), and 1 where every packet counts as such
    /// (IPv6, whose routers never fragment): read with sequence analysis only.
    df_mask: u8,
    df_always: u8,
    /// Mask of the header length from the first byte (IPv4), and the fixed header length
    /// (IPv6): exactly one of them is not 0.
    ihl: usize,
    header: usize,
    /// Masks of IPv4's total length (bytes 2..4) and IPv6's payload length (4..6), and what
    /// to add to the length for the end of the transport header.
    total: usize,
    payload: usize,
    length_plus: usize,
    /// An end below the transport header's start plus this means "all".
    all_below: usize,
    /// Masks of IPv4's protocol (byte 9) and IPv6's next header (byte 6).
    proto4: u8,
    proto6: u8,
    /// How the address words come from bytes 8..40 (see [`tuple()`]): IPv4's are the high
    /// half of bytes 8..16 and the low half of 16..24.
    src_shift: u32,
    v4_only: u64,
    v6_only: u64,
    /// [`Tuple::v6`].
    v6: u8,
}

/// How [`tuple()`] reads a transport header besides its ports, per IP protocol: the byte it
/// reads (0: not TCP or UDP, not this path's) and the mask of the flags in it.
#[derive(Clone, Copy)]
struct Transport {
    flags_at: u8,
    flags_mask: u8,
    /// All ones for TCP (the header's length is its data offset), 0 for UDP (8 bytes).
    tcp: usize,
    /// The screen's bit for this protocol (see `inspect::screen`).
    screen: u8,
    /// Where DNS's question count is in the payload (after TCP's 2-byte length prefix).
    questions_at: usize,
    /// Bytes of the header sequence analysis needs captured: 16 for TCP (up to the window).
    need: u8,
}

/// [`tuple()`]'s tables, in one static so that one `black_box` hides both.
struct Tables {
    versions: [Version; 2],
    transports: [Transport; 256],
    /// Per first payload byte, the protocols whose messages may start with it (bits of
    /// `Transport::screen`; see `inspect::screen`).
    first_byte: [u8; 256],
}

/// The tables; and the same with every TCP payload screened in, while the inspector gathers
/// a message split over segments.
static TABLES: Tables = tables(screen::FIRST_BYTE);
static TABLES_GATHERING: Tables = tables(screen::all_tcp(screen::FIRST_BYTE));

const fn tables(first_byte: [u8; 256]) -> Tables {
    Tables {
        versions: [
            Version {
                ethertype: 0x0800,
                first: 0x45,
                first_span: 10,
                fragment: 0x3fff,
                df_mask: 0x40,
                df_always: 0,
                ihl: usize::MAX,
                header: 0,
                total: usize::MAX,
                payload: 0,
                length_plus: 0,
                all_below: 0,
                proto4: 0xff,
                proto6: 0,
                src_shift: 32,
                v4_only: 0xFFFF_FFFF,
                v6_only: 0,
                v6: 0,
            },
            Version {
                ethertype: 0x86DD,
                first: 0x60,
                first_span: 15,
                fragment: 0,
                df_mask: 0,
                df_always: 1,
                ihl: 0,
                header: 40,
                total: 0,
                payload: usize::MAX,
                length_plus: 40,
                all_below: 1,
                proto4: 0,
                proto6: 0xff,
                src_shift: 0,
                v4_only: 0,
                v6_only: u64::MAX,
                v6: 1,
            },
        ],
        transports: {
            let mut t = [Transport {
                flags_at: 0,
                flags_mask: 0,
                tcp: 0,
                screen: 0,
                questions_at: 0,
                need: 0,
            }; 256];
            t[proto::TCP as usize] = Transport {
                flags_at: 13,
                flags_mask: 0xff,
                tcp: usize::MAX,
                screen: screen::TCP,
                questions_at: 6,
                need: 16,
            };
            t[proto::UDP as usize] = Transport {
                flags_at: 3,
                flags_mask: 0,
                tcp: 0,
                screen: screen::UDP,
                questions_at: 4,
                need: 4,
            };
            t
        },
        first_byte,
    }
}

/// The tuple of a common-shape packet, `None` for any other: [`Decoder::tuple`].
#[inline(always)]
pub fn tuple(linktype: u16, d: &[u8]) -> Option<Tuple> {
    Decoder::new().tuple(linktype, d)
}

/// The fast path, its tables hidden from the optimizer (see [`Decoder::tuple`]) once, for as
/// many packets as a loop that holds it decodes: hiding them for every packet stored their
/// address on the stack and read it back.
#[derive(Clone, Copy)]
pub struct Decoder(&'static Tables);

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// The decoder.
    #[inline(always)]
    pub fn new() -> Self {
        Decoder(std::hint::black_box(&TABLES))
    }

    /// The decoder for while the inspector gathers a message: it screens in every TCP
    /// payload (see [`Tuple::screened`]).
    #[inline(always)]
    pub fn gathering() -> Self {
        Decoder(std::hint::black_box(&TABLES_GATHERING))
    }

    /// The tuple of a common-shape packet, `None` for any other. Always inlined: it is most
    /// of the pass's decoding, and a call returns the tuple through memory.
    #[inline(always)]
    pub fn tuple(self, linktype: u16, d: &[u8]) -> Option<Tuple> {
        tuple_in::<true, true>(self.0, linktype, d)
    }

    /// [`Decoder::tuple`], with [`Tuple::screened`] left `false` unless `SCREEN`, and
    /// [`Tuple::seg`] not read ([`Segment::NONE`]) unless `SEQ`.
    #[inline(always)]
    pub fn tuple_as<const SCREEN: bool, const SEQ: bool>(
        self,
        linktype: u16,
        d: &[u8],
    ) -> Option<Tuple> {
        tuple_in::<SCREEN, SEQ>(self.0, linktype, d)
    }
}

#[inline(always)]
fn tuple_in<const SCREEN: bool, const SEQ: bool>(
    tables: &Tables,
    linktype: u16,
    d: &[u8],
) -> Option<Tuple> {
    // Network Watcher writes Ethernet; any other link type is the general decoder's.
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
    // IPv4 or IPv6, and TCP or UDP, are coin tosses per packet too: a branch on either was
    // mispredicted for a good part of the packets. So both versions are read by the same
    // instructions, with offsets and masks from a table row that the ethertype picks; an IPv4
    // packet shorter than IPv6's 40-byte header (a 28-byte UDP datagram cut by the snap length)
    // is left to the general decoder. The rows are read through `black_box` (in
    // `Decoder::new`): LLVM, knowing their contents, would otherwise compare the ethertype and
    // branch again (as it does for `if`, `select`, or masks made from a comparison).
    let h: &[u8; 40] = ip.get(..40)?.try_into().ok()?;
    let v = &tables.versions[usize::from(et >> 15)];
    let field = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    // IPv4 with a header of at least 20 bytes starts 0x45..=0x4f; IPv6 0x60..=0x6f.
    let version_bad = u64::from(h[0].wrapping_sub(v.first) > v.first_span);
    let fragment = u64::from(field(6) & v.fragment);
    if u64::from(et ^ v.ethertype) | version_bad | fragment != 0 {
        return None;
    }
    // The transport header, up to the end the IP header gives, cut to what was captured.
    // IPv4's total length counts its header, IPv6's payload length not. Below the header's own
    // length (0 included) means "all": IPv4 under TSO, Ethernet padding after a short total,
    // or an IPv6 jumbogram (whose hop-by-hop option is not this path's business, but the
    // general path takes everything captured, and so do we).
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let start = (ihl & v.ihl) | v.header;
    let declared =
        (usize::from(field(2)) & v.total) + (usize::from(field(4)) & v.payload) + v.length_plus;
    let all = declared < start + v.all_below;
    let end = if all {
        ip.len()
    } else {
        declared.min(ip.len())
    };
    let l4 = ip.get(start..end)?;
    let proto = (h[9] & v.proto4) | (h[6] & v.proto6);
    // TCP's flags are byte 13; UDP reads byte 3 (a port's, there anyway) and masks it off.
    let t = tables.transports[usize::from(proto)];
    if t.flags_at == 0 {
        return None;
    }
    let tcp_flags = *l4.get(usize::from(t.flags_at))? & t.flags_mask;
    // The payload starts after TCP's data offset or UDP's 8 bytes, picked by mask (see above);
    // an offset below TCP's 20-byte header makes it start at the end (no payload).
    // (An invalid offset below 20 reads a header byte: the inspector, which takes the general
    // decoder's payload, then finds none.)
    let sport = be16(l4, 0)?;
    let dport = be16(l4, 2)?;
    let screened = SCREEN && {
        let doff = usize::from(l4.get(12).copied().unwrap_or(0) >> 4) * 4;
        let header = (doff & t.tcp) | (8 & !t.tcp);
        let first = l4.get(header).copied().unwrap_or(0);
        // DNS: port 53 and a question count's low byte that is not 0 (it is at most 16).
        let questions = l4.get(header + t.questions_at + 1).copied().unwrap_or(0);
        let dns = (sport == screen::DNS_PORT) | (dport == screen::DNS_PORT);
        (tables.first_byte[usize::from(first)] & t.screen != 0) | (dns & (questions != 0))
    };
    let seg = if SEQ {
        // TCP's sequence fields, read by the same instructions for UDP and masked off: a TCP
        // header cut before its window is the general decoder's.
        if l4.len() < usize::from(t.need) {
            return None;
        }
        static ZERO: [u8; 16] = [0; 16];
        let f: &[u8; 16] = l4.get(..16).unwrap_or(&ZERO).try_into().ok()?;
        let l4_len = if all { ip.len() } else { declared } - start;
        let doff = usize::from(f[12] >> 4) * 4;
        let tcp = t.flags_mask != 0;
        let ok = tcp & (doff >= 20) & (doff <= l4_len);
        let m = u32::from(ok).wrapping_neg();
        let be32 = |i: usize| u32::from_be_bytes([f[i], f[i + 1], f[i + 2], f[i + 3]]);
        let seg = Segment {
            seq: be32(4) & m,
            ack: be32(8) & m,
            len: (l4_len.wrapping_sub(doff) as u32) & m,
            captured: (l4.len().saturating_sub(doff) as u32) & m,
            win: u16::from_be_bytes([f[14], f[15]]) & m as u16,
            ok,
            df: ok & ((h[6] & v.df_mask) | v.df_always != 0),
            opts: SynOptions(0),
        };
        if ok & (tcp_flags & super::tcp_flags::SYN != 0) {
            Segment {
                df: seg.df,
                ..Segment::parse(l4, l4_len)
            }
        } else {
            seg
        }
    } else {
        Segment::NONE
    };
    let (w8, w16) = (le64(h, 8), le64(h, 16));
    let (src, dst) = (
        [w8 >> v.src_shift, w16 & v.v6_only],
        [
            (le64(h, 24) & v.v6_only) | (w16 & v.v4_only),
            le64(h, 32) & v.v6_only,
        ],
    );
    Some(Tuple {
        src,
        dst,
        v6: v.v6,
        proto,
        sport,
        dport,
        tcp_flags,
        screened,
        seg,
    })
}
