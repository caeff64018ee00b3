//! pcapng files: several sections (each with its own byte order), several interfaces per
//! section (each with its own link type, snap length and timestamp resolution), Enhanced,
//! Simple and obsolete Packet Blocks, and the drop counts of Interface Statistics Blocks.
//! Other blocks are skipped and counted.
//!
//! This file owns the reader: its walk from block to block (each block's framing, its length
//! checks and the damage they word, the general reading of every block's fields), the shaped
//! walk of a section's Enhanced Packet Blocks, and its windows, through `capture::cursor`.
//! Each block kind has a file of its own for its types, constants and the reading it does
//! alone: `section` (byte order), `interface` (options, timestamp conversion, what the
//! interfaces share), `packet` (the Enhanced Packet Block's straight path) and `statistics`
//! (an Interface Statistics Block's drop counts). Nothing here
//! copies a packet or does I/O.
//!
//! A block can be up to `MAX_BLOCK` (128 MiB), so a window-fed reader may ask for a window
//! larger than the usual one.

mod interface;
mod packet;
mod section;
mod statistics;

use self::interface::{Interface, Uniform, IDB};
use self::packet::{epb_lengths_sound, EPB, OBSOLETE_PB, SPB};
use self::section::SHB;
use self::statistics::ISB;
use super::bytes::{u16_at, u32_at, u32s};
use super::cursor::{windowed_reader, Cursor};
use super::{CaptureError, FileInfo, Record};

/// Guards against a corrupt length making the reader skip most of a file as one block.
const MAX_BLOCK: u32 = 128 << 20;

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
        r.info.drops.clear();
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
    /// `done` for every block.
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
    /// memory, stored and loaded again for every packet.
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

    /// Reads one block; `Ok(Some)` for a packet, `Ok(None)` for anything else. When the block
    /// is not all in the window it changes nothing but `need`, so that the same block is read
    /// again, whole, from the next window. Every block kind's fields are read here in line:
    /// moved out to the kind's file, even inlined, they changed the register allocation of the
    /// whole pass, whose loops for both formats are one function (see docs/performance.md).
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
                section::BYTE_ORDER_MAGIC => false,
                m if m.swap_bytes() == section::BYTE_ORDER_MAGIC => true,
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
                if body.len() < section::MIN_BODY {
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
                interface::parse_idb_options(body.get(8..).unwrap_or(&[]), be, &mut iface);
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
            ISB => {
                self.statistics(body, be);
                Ok(None)
            }
            _ => {
                self.info.skipped_blocks += 1;
                Ok(None)
            }
        }
    }

    /// Keeps the drop counts of an Interface Statistics Block of this section's interfaces,
    /// in place of any earlier block's for the same interface. A block too short for its
    /// header, or of an interface the section did not describe, is skipped: statistics never
    /// stop the reading of packets. Out of line: a few blocks a file, at most.
    #[cold]
    #[inline(never)]
    fn statistics(&mut self, body: &[u8], be: bool) {
        match statistics::parse_isb(body, be) {
            Some((id, drops)) if (id as usize) < self.interfaces.len() => {
                // The section's interfaces are the last ones the file described.
                let first = self
                    .info
                    .interfaces
                    .saturating_sub(self.interfaces.len() as u32);
                self.info.drops.insert(first + id, drops);
            }
            _ => self.info.skipped_blocks += 1,
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
