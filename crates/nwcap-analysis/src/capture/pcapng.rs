//! pcapng files: several sections (each with its own byte order), several interfaces per
//! section (each with its own link type, snap length and timestamp resolution), Enhanced,
//! Simple and obsolete Packet Blocks. Other blocks are skipped and counted.
//!
//! A block can be up to `MAX_BLOCK` (128 MiB), so a window-fed reader may ask for a window
//! larger than the usual one.

use super::bytes::{u16_at, u32_at, u32s, u64_at};
use super::cursor::{windowed_reader, Cursor};
use super::{CaptureError, FileInfo, Record};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const OBSOLETE_PB: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Guards against a corrupt length making the reader skip most of a file as one block.
const MAX_BLOCK: u32 = 128 << 20;

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u16,
    snaplen: u32,
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
    fn new(linktype: u16, snaplen: u32) -> Self {
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
    fn settled(mut self) -> Self {
        (self.fast_below, self.scale) = match (self.tsresol, self.tsoffset) {
            (9, 0) => (i64::MAX as u64, 1),
            (6, 0) => ((i64::MAX / 1000) as u64 + 1, 1000),
            _ => (0, 0),
        };
        self
    }

    /// Nanoseconds since the epoch of a timestamp of `ticks` of this interface.
    #[inline(always)]
    fn ns(&self, ticks: u64) -> i64 {
        if ticks < self.fast_below {
            ticks as i64 * self.scale
        } else {
            ticks_to_ns(ticks, self.tsresol, self.tsoffset)
        }
    }
}

/// What every packet block of the current section shares when its interfaces all have one
/// link type and one of the two common timestamp units without an offset; a pass that spells
/// it out as constants walks those blocks without the tests of byte order and interface (see
/// [`PcapngReader::pull_shaped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Fields in big-endian order.
    pub big_endian: bool,
    /// Nanoseconds per timestamp tick: 1000 or 1; 0 when the interfaces differ, use another
    /// unit or an offset, or none is described yet (every block takes the general reading).
    pub scale: i64,
}

/// The interfaces of the current section, when they are alike (see [`Shape`]).
#[derive(Debug, Clone, Copy, Default)]
struct Uniform {
    /// How many interfaces there are; 0 when they are not alike.
    interfaces: u32,
    linktype: u16,
    /// As [`Shape::scale`].
    scale: i64,
}

impl Uniform {
    /// What the interfaces share once `added` has joined the `n - 1` that shared `self`, the
    /// first of them being `first`. Kept as they come: going over them all at each one would
    /// make a file of many interface blocks quadratic.
    fn with(self, first: &Interface, added: &Interface, n: usize) -> Uniform {
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

/// Block walker over a pcapng file, or over a window of it (see `capture`'s contract).
#[derive(Debug, Clone)]
pub struct PcapngReader<'a> {
    /// Where the walk stands in the file and in the window it holds.
    cur: Cursor<'a>,
    big_endian: bool,
    interfaces: Vec<Interface>,
    /// What the interfaces share, kept with them.
    uniform: Uniform,
    info: FileInfo,
    /// Whether a section header or interface block was read since this reader was made or
    /// sharded: a later shard that assumed the earlier state would then be wrong.
    saw_layout_block: bool,
}

// position, with_len, file_len, need, detach, attach and take_error: see `capture::cursor`.
windowed_reader!(PcapngReader);

impl<'a> PcapngReader<'a> {
    /// Checks that the buffer starts with a Section Header Block.
    pub fn new(data: &'a [u8]) -> Result<Self, CaptureError> {
        if u32_at(data, 0, false) != Some(SHB) {
            return Err(CaptureError::UnknownFormat(
                "not a pcapng section header".into(),
            ));
        }
        if data.len() < 12 {
            return Err(CaptureError::Truncated {
                offset: 0,
                what: "pcapng section header block",
                need: 28,
                have: data.len() as u64,
            });
        }
        Ok(PcapngReader {
            cur: Cursor::new(data, 0),
            big_endian: false,
            interfaces: Vec::new(),
            uniform: Uniform::default(),
            info: FileInfo::default(),
            saw_layout_block: false,
        })
    }

    /// Interfaces and skipped blocks seen so far.
    pub fn info(&self) -> FileInfo {
        self.info.clone()
    }

    /// This reader (section byte order, interfaces, counters) with `cur` applied to its
    /// cursor, which may change the window's lifetime: spelled out field by field, as struct
    /// update syntax cannot change it.
    fn rebase<'b>(self, cur: impl FnOnce(Cursor<'a>) -> Cursor<'b>) -> PcapngReader<'b> {
        PcapngReader {
            cur: cur(self.cur),
            big_endian: self.big_endian,
            interfaces: self.interfaces,
            uniform: self.uniform,
            info: self.info,
            saw_layout_block: self.saw_layout_block,
        }
    }

    /// Whether the byte order is big-endian in the current section.
    pub fn big_endian(&self) -> bool {
        self.big_endian
    }

    /// Whether a section header or interface block was read since creation or sharding.
    pub fn saw_layout_block(&self) -> bool {
        self.saw_layout_block
    }

    /// Reads up to the first packet block, so that the interfaces before it are known.
    /// Returns `false` when the file (or the window) ends, or is damaged, first.
    pub fn skip_to_first_packet(&mut self) -> bool {
        loop {
            let pos = self.cur.pos;
            match self.next_block() {
                Ok(Some(_)) => {
                    self.cur.pos = pos;
                    self.saw_layout_block = false;
                    return true;
                }
                Ok(None) if !self.cur.done => {}
                _ => return false,
            }
        }
    }

    /// A reader for the blocks that start in `[start, end)`, with this reader's section
    /// state; `start` must be a block boundary (see `capture::shard`) and this reader must
    /// hold the whole file.
    pub fn shard(&self, start: usize, end: usize) -> Self {
        let mut r = self.clone();
        r.cur.shard(start, end);
        r.saw_layout_block = false;
        r.info.skipped_blocks = 0;
        r
    }

    /// The next packet record; `None` at the end of the file, of the shard, or of the window
    /// (then [`need`](Self::need) says how much more it needs), or at the damage that ends the
    /// walk, left for [`take_error`](Self::take_error).
    #[inline(always)]
    pub fn pull(&mut self) -> Option<Record<'a>> {
        if self.cur.done {
            return None;
        }
        self.pull_live()
    }

    /// Whether the walk has stopped: [`pull`](Self::pull) would return `None`.
    pub fn is_done(&self) -> bool {
        self.cur.done
    }

    /// [`pull`](Self::pull) for a reader that is not [done](Self::is_done). Every `None`
    /// leaves it done, so a loop that stops at the first `None` calls this without testing
    /// `done` for every block (3 of ~470 instructions a packet).
    #[inline(always)]
    pub fn pull_live(&mut self) -> Option<Record<'a>> {
        debug_assert!(!self.cur.done);
        loop {
            let rec = self.next_kept();
            // Not a packet: a block to step over, or the end.
            if rec.is_some() || self.cur.done {
                return rec;
            }
        }
    }

    /// [`Self::next_block`], its damage kept for [`take_error`](Self::take_error): the record
    /// of a packet block, else `None`, the reader done at the end or at damage.
    #[inline(always)]
    fn next_kept(&mut self) -> Option<Record<'a>> {
        self.next_block().unwrap_or_else(|e| {
            self.cur.done = true;
            self.cur.error = Some(e);
            None
        })
    }

    /// What the packet blocks of the current section share: see [`Shape`].
    pub fn shape(&self) -> Shape {
        Shape {
            big_endian: self.big_endian,
            scale: self.uniform.scale,
        }
    }

    /// [`pull_live`](Self::pull_live) for a reader whose [`shape`](Self::shape) is `shape`, a
    /// fast one (`scale` not 0). A pass that spells the shape out as constants has this
    /// inlined without the tests of byte order and interface the general walk makes on every
    /// block, nor its loop: an Enhanced Packet Block whole in the window, sound, of a
    /// described interface, is read here, and any other block by `step_over`, which
    /// never returns a record (see there why). `None` leaves the reader done, or of another
    /// shape: the pass goes on in that one.
    #[inline(always)]
    pub fn pull_shaped(&mut self, shape: Shape) -> Option<Record<'a>> {
        debug_assert!(!self.cur.done && shape == self.shape() && shape.scale != 0);
        let be = shape.big_endian;
        // Timestamps whose high word is below this convert to the general conversion's
        // result: see `Interface::settled`'s bounds. A bound on the high word alone is one
        // comparison with a constant; the few timestamps just below the exact bound that it
        // sends to the general reading lie past the year 2262.
        let hi_below = if shape.scale == 1 {
            (i64::MAX as u64 >> 32) as u32
        } else {
            ((i64::MAX / shape.scale) as u64 >> 32) as u32
        };
        loop {
            let d = self.cur.data;
            let pos = self.cur.pos;
            let at = self.cur.base + pos;
            if let Some((rest, [btype, total, if_id, hi, lo, caplen, wire_len])) =
                d.get(pos..).and_then(|h| Some((h, u32s::<7>(h, be)?)))
            {
                // Bounded by what is left of the window: one comparison, no sum to overflow.
                let block = rest.get(..total as usize).unwrap_or_default();
                if (pos < self.cur.stop)
                    & (btype == EPB)
                    & epb_lengths_sound(total, caplen)
                    & (if_id < self.uniform.interfaces)
                    & (hi < hi_below)
                    && u32_at(block, block.len().wrapping_sub(4), be) == Some(total)
                {
                    super::prefetch_ahead(d, pos, [64, 128, total as usize - 4]);
                    self.cur.pos = pos + block.len();
                    let ticks = (u64::from(hi) << 32) | u64::from(lo);
                    return Some(Record {
                        ts_ns: Some(ticks as i64 * shape.scale),
                        wire_len,
                        linktype: self.uniform.linktype,
                        data: block.get(28..28 + caplen as usize).unwrap_or_default(),
                        offset: at as u64,
                    });
                }
            }
            if !self.step_over(shape) {
                return None;
            }
        }
    }

    /// Reads the block [`Self::pull_shaped`] did not take, by the general reading; whether
    /// the shaped walk goes on with the next block. It stops at the end, at damage, and after
    /// a section header or interface block that changed the shape. It stops before a packet
    /// block it would have to return (a Simple or obsolete Packet Block, or a timestamp
    /// beyond the shape's bound), and leaves the section to the general walk until the next
    /// interface block. Were a record returned from here too, the two records would meet in
    /// memory, stored and loaded again for every packet: 32 instructions a packet more on
    /// small.pcapng.
    #[cold]
    #[inline(never)]
    fn step_over(&mut self, shape: Shape) -> bool {
        let pos = self.cur.pos;
        if self.next_kept().is_some() {
            self.cur.pos = pos;
            self.uniform.scale = 0;
            return false;
        }
        !self.cur.done && self.shape() == shape
    }

    /// [`pull_live`](Self::pull_live) for a reader whose [`shape`](Self::shape) is `shape`,
    /// until a section header or an interface block changes it: then `None`, the reader not
    /// done, for the pass to go on in the new shape. A packet block never changes it.
    #[inline(always)]
    pub fn pull_general(&mut self, shape: Shape) -> Option<Record<'a>> {
        debug_assert!(!self.cur.done);
        while self.shape() == shape {
            let rec = self.next_kept();
            if rec.is_some() || self.cur.done {
                return rec;
            }
        }
        None
    }

    /// The record of the Enhanced Packet Block at `pos` when it is whole in `d`, sound, and of
    /// an interface the section described; `None` for anything else, left to
    /// [`Self::next_block`]'s general reading, which also words any error. Nearly every block
    /// is one of these: read straight, with one byte-order branch for its seven fields, it
    /// costs about a third fewer instructions than through the general reading.
    #[inline(always)]
    fn packet_block(&mut self, d: &'a [u8], pos: usize, at: usize) -> Option<Record<'a>> {
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
        super::prefetch_ahead(d, pos, [64, 128, total as usize - 4]);
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

    /// Reads one block; `Ok(Some)` for a packet, `Ok(None)` for anything else. When the block
    /// is not all in the window it changes nothing but `need`, so that the same block is read
    /// again, whole, from the next window.
    #[inline(always)]
    fn next_block(&mut self) -> Result<Option<Record<'a>>, CaptureError> {
        let d = self.cur.data;
        let pos = self.cur.pos;
        let at = self.cur.base + pos;
        if pos >= self.cur.stop {
            self.cur.done = true;
            return Ok(None);
        }
        if let Some(rec) = self.packet_block(d, pos, at) {
            return Ok(Some(rec));
        }
        // Every check before the length is known reads the first 12 bytes.
        let Some(h) = d.get(pos..).and_then(<[u8]>::first_chunk::<12>) else {
            let left = self.cur.len.saturating_sub(at);
            let rest = d.len().saturating_sub(pos);
            if rest < left {
                self.cur.wait(left.min(12));
                return Ok(None);
            }
            if rest == 0 {
                self.cur.done = true;
                return Ok(None);
            }
            return Err(self.cut_in_header(d.get(pos..).unwrap_or_default(), at));
        };
        let le = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let btype_le = le(0);
        let shb = btype_le == SHB;
        let be = if shb {
            // The byte order of everything up to the next SHB comes from this magic.
            match le(8) {
                BYTE_ORDER_MAGIC => false,
                m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
                m => {
                    return Err(CaptureError::Corrupt {
                        offset: at as u64 + 8,
                        what: "pcapng section header",
                        detail: format!("byte-order magic {m:#010x}"),
                    })
                }
            }
        } else {
            self.big_endian
        };
        let field = |i: usize| if be { le(i).swap_bytes() } else { le(i) };
        let (btype, total) = (field(0), field(4));
        check_length(total, at)?;
        // Besides the headers, the walk reads the trailing length at the block's end: every
        // line of a small block.
        super::prefetch_ahead(d, pos, [64, 128, total as usize - 4]);
        let Some(block) = d.get(pos..pos + total as usize) else {
            let left = self.cur.len.saturating_sub(at);
            if total as usize > left {
                return Err(CaptureError::Truncated {
                    offset: at as u64,
                    what: "pcapng block",
                    need: total.into(),
                    have: left as u64,
                });
            }
            self.cur.wait(total as usize);
            return Ok(None);
        };
        if shb {
            self.big_endian = be;
            self.interfaces.clear();
            self.uniform = Uniform::default();
            self.saw_layout_block = true;
        }
        if u32_at(block, total as usize - 4, be) != Some(total) {
            return Err(CaptureError::Corrupt {
                offset: at as u64,
                what: "pcapng block",
                detail: format!("trailing length does not match leading length {total}"),
            });
        }
        self.cur.pos = pos + total as usize;
        let body = &block[8..total as usize - 4];
        let corrupt = |detail: String| CaptureError::Corrupt {
            offset: at as u64,
            what: block_name(btype),
            detail,
        };
        match btype {
            SHB => {
                if body.len() < 16 {
                    return Err(corrupt(format!("body of {} bytes", body.len())));
                }
                Ok(None)
            }
            IDB => {
                let (Some(linktype), Some(snaplen)) = (u16_at(body, 0, be), u32_at(body, 4, be))
                else {
                    return Err(corrupt(format!("body of {} bytes", body.len())));
                };
                let mut iface = Interface::new(linktype, snaplen);
                parse_idb_options(body.get(8..).unwrap_or(&[]), be, &mut iface);
                let iface = iface.settled();
                let first = self.interfaces.first().unwrap_or(&iface);
                self.uniform = self.uniform.with(first, &iface, self.interfaces.len() + 1);
                self.interfaces.push(iface);
                self.saw_layout_block = true;
                self.info.interfaces += 1;
                self.info.snaplen = self.info.snaplen.max(snaplen);
                Ok(None)
            }
            EPB | OBSOLETE_PB => {
                let Some([mut if_id, hi, lo, caplen, wire_len]) = u32s::<5>(body, be) else {
                    return Err(corrupt(format!("body of {} bytes", body.len())));
                };
                if btype == OBSOLETE_PB {
                    // A 16-bit interface id, then a 16-bit drop count.
                    if_id = u32::from(if be {
                        (if_id >> 16) as u16
                    } else {
                        if_id as u16
                    });
                }
                let hdr = 20;
                let Some(iface) = self.interfaces.get(if_id as usize).copied() else {
                    return Err(corrupt(format!(
                        "interface {if_id} not described ({} interfaces in this section)",
                        self.interfaces.len()
                    )));
                };
                let Some(data) = body.get(hdr..hdr + caplen as usize) else {
                    return Err(corrupt(format!(
                        "captured length {caplen} exceeds the block"
                    )));
                };
                let ticks = (u64::from(hi) << 32) | u64::from(lo);
                Ok(Some(Record {
                    ts_ns: Some(iface.ns(ticks)),
                    wire_len,
                    linktype: iface.linktype,
                    data,
                    offset: at as u64,
                }))
            }
            SPB => {
                let Some(iface) = self.interfaces.first().copied() else {
                    return Err(corrupt("no interface described in this section".into()));
                };
                let Some(wire_len) = u32_at(body, 0, be) else {
                    return Err(corrupt(format!("body of {} bytes", body.len())));
                };
                let mut caplen = (body.len() - 4).min(wire_len as usize);
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen as usize);
                }
                Ok(Some(Record {
                    ts_ns: None,
                    wire_len,
                    linktype: iface.linktype,
                    data: &body[4..4 + caplen],
                    offset: at as u64,
                }))
            }
            _ => {
                self.info.skipped_blocks += 1;
                Ok(None)
            }
        }
    }
}

impl PcapngReader<'_> {
    /// The damage of a file that ends `tail.len()` (1 to 11) bytes into the block at `at`, as
    /// `next_block` would find it reading the type, the section's byte-order magic and the
    /// length in that order.
    #[cold]
    fn cut_in_header(&self, tail: &[u8], at: usize) -> CaptureError {
        let truncated = |what, need| CaptureError::Truncated {
            offset: at as u64,
            what,
            need,
            have: tail.len() as u64,
        };
        let Some(btype_le) = u32_at(tail, 0, false) else {
            return truncated("pcapng block header", 12);
        };
        if btype_le == SHB {
            // The byte-order magic at 8 is missing.
            return truncated("pcapng section header block", 28);
        }
        let Some(total) = u32_at(tail, 4, self.big_endian) else {
            return truncated("pcapng block header", 12);
        };
        match check_length(total, at) {
            Err(e) => e,
            Ok(()) => truncated("pcapng block", total.into()),
        }
    }
}

/// Whether an Enhanced Packet Block of `total` bytes can hold `caplen` captured bytes: 32 bytes
/// of header and trailing length around the packet, padded to 4 bytes, at most `MAX_BLOCK`.
/// The rotation leaves a multiple of 4 in range small and moves any other remainder into the
/// top bits: one comparison for the three tests of the total.
#[inline(always)]
fn epb_lengths_sound(total: u32, caplen: u32) -> bool {
    (total.wrapping_sub(32).rotate_right(2) <= (MAX_BLOCK - 32) / 4)
        & (u64::from(caplen) + 32 <= u64::from(total))
}

/// A block length that cannot be right: below the 12 bytes of header and trailer, not a
/// multiple of 4, or beyond `MAX_BLOCK`.
fn check_length(total: u32, at: usize) -> Result<(), CaptureError> {
    if total < 12 || !total.is_multiple_of(4) || total > MAX_BLOCK {
        return Err(CaptureError::Corrupt {
            offset: at as u64,
            what: "pcapng block",
            detail: format!("block length {total}"),
        });
    }
    Ok(())
}

fn block_name(btype: u32) -> &'static str {
    match btype {
        SHB => "pcapng section header block",
        IDB => "pcapng interface description block",
        EPB => "pcapng enhanced packet block",
        SPB => "pcapng simple packet block",
        OBSOLETE_PB => "pcapng packet block",
        _ => "pcapng block",
    }
}

fn parse_idb_options(mut opts: &[u8], be: bool, iface: &mut Interface) {
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
