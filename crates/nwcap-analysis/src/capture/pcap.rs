//! Classic libpcap files: both byte orders, micro- and nanosecond timestamps, and
//! Kuznetzov's "modified" variant with 24-byte record headers.
//!
//! A record can be up to `max(262144, snaplen)` bytes plus its header, so a window-fed reader
//! may ask for a window larger than the usual one.

use super::bytes::{u32_at, u32s};
use super::cursor::{windowed_reader, Cursor};
use super::{CaptureError, FileInfo, Format, Record};

const FILE_HEADER: usize = 24;
/// libpcap refuses records above this captured length unless the header's snaplen is larger;
/// beyond it a length field is taken as corrupt rather than as a cut-off file.
const MAX_SANE_CAPLEN: u32 = 262_144;

/// What all the records of a pcap file share: byte order, time unit, header length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Fields in big-endian order.
    pub big_endian: bool,
    /// Nanosecond timestamps (else microseconds).
    pub nanos: bool,
    /// Bytes of a record header: 16, or 24 in the modified format.
    pub header_len: usize,
}

/// Record walker over a pcap file, or over a window of it (see `capture`'s contract).
#[derive(Debug, Clone)]
pub struct PcapReader<'a> {
    /// Where the walk stands in the file and in the window it holds.
    cur: Cursor<'a>,
    big_endian: bool,
    nanos: bool,
    modified: bool,
    snaplen: u32,
    /// The largest captured length taken as sound: `max(MAX_SANE_CAPLEN, snaplen)`, worked
    /// out once rather than for every record.
    max_caplen: u32,
    /// Bytes of a record header: 16, or 24 in the modified format.
    header_len: usize,
    linktype: u16,
}

// position, with_len, file_len, need, detach, attach and take_error: see `capture::cursor`.
windowed_reader!(PcapReader);

impl<'a> PcapReader<'a> {
    /// Reads the 24-byte file header.
    pub fn new(data: &'a [u8]) -> Result<Self, CaptureError> {
        let Format::Pcap {
            big_endian,
            nanos,
            modified,
        } = super::detect(data)?
        else {
            return Err(CaptureError::UnknownFormat("pcapng, not pcap".into()));
        };
        if data.len() < FILE_HEADER {
            return Err(CaptureError::Truncated {
                offset: 0,
                what: "pcap file header",
                need: FILE_HEADER as u64,
                have: data.len() as u64,
            });
        }
        let be = big_endian;
        let snaplen = u32_at(data, 16, be).unwrap_or(0);
        // The upper bits of the link-type field carry FCS information, not the type.
        let linktype = (u32_at(data, 20, be).unwrap_or(0) & 0xffff) as u16;
        Ok(PcapReader {
            cur: Cursor::new(data, FILE_HEADER),
            big_endian,
            nanos,
            modified,
            snaplen,
            max_caplen: MAX_SANE_CAPLEN.max(snaplen),
            header_len: if modified { 24 } else { 16 },
            linktype,
        })
    }

    /// The format this reader detected.
    pub fn format(&self) -> Format {
        Format::Pcap {
            big_endian: self.big_endian,
            nanos: self.nanos,
            modified: self.modified,
        }
    }

    /// Link type from the file header.
    pub fn linktype(&self) -> u16 {
        self.linktype
    }

    /// Header facts.
    pub fn info(&self) -> FileInfo {
        FileInfo {
            snaplen: self.snaplen,
            interfaces: 1,
            skipped_blocks: 0,
            drops: Default::default(),
        }
    }

    /// This reader with `cur` applied to its cursor, which may change the window's
    /// lifetime: spelled out field by field, as struct update syntax cannot change it.
    fn rebase<'b>(self, cur: impl FnOnce(Cursor<'a>) -> Cursor<'b>) -> PcapReader<'b> {
        PcapReader {
            cur: cur(self.cur),
            big_endian: self.big_endian,
            nanos: self.nanos,
            modified: self.modified,
            snaplen: self.snaplen,
            max_caplen: self.max_caplen,
            header_len: self.header_len,
            linktype: self.linktype,
        }
    }

    /// A reader for the records that start in `[start, end)`; `start` must be a record
    /// boundary (see `capture::shard`) and this reader must hold the whole file.
    pub fn shard(&self, start: usize, end: usize) -> Self {
        let mut r = self.clone();
        r.cur.shard(start.max(FILE_HEADER), end);
        r
    }

    /// Snap length from the header.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// Whether the file's timestamps are nanoseconds.
    pub fn nanos(&self) -> bool {
        self.nanos
    }

    /// Whether records are in big-endian order.
    pub fn big_endian(&self) -> bool {
        self.big_endian
    }

    /// Record header length (16, or 24 in the modified format).
    pub fn record_header_len(&self) -> usize {
        self.header_len
    }

    /// The next record; `None` at the end of the file, of the shard, or of the window (then
    /// [`need`](Self::need) says how much more it needs), or at the damage that ends the walk,
    /// left for [`take_error`](Self::take_error): the record alone stays in registers, where a
    /// `Result` carrying an error would go through memory on every call.
    #[inline(always)]
    pub fn pull(&mut self) -> Option<Record<'a>> {
        if self.cur.done {
            return None;
        }
        self.pull_shaped(self.shape())
    }

    /// What every record of this file shares: see [`pull_shaped`](Self::pull_shaped).
    pub fn shape(&self) -> Shape {
        Shape {
            big_endian: self.big_endian,
            nanos: self.nanos,
            header_len: self.header_len,
        }
    }

    /// Whether the walk has stopped: [`pull`](Self::pull) would return `None`.
    pub fn is_done(&self) -> bool {
        self.cur.done
    }

    /// [`pull`](Self::pull) for a reader that is not [done](Self::is_done), whose
    /// [`shape`](Self::shape) is `shape`. A pass that spells the shape out as constants has
    /// this inlined without the tests of byte order, time unit and header length, and of
    /// `done`, that the general walk makes on every record. Every `None` leaves the reader
    /// done, so that a loop stopping at the first needs no test of its own.
    #[inline(always)]
    pub fn pull_shaped(&mut self, shape: Shape) -> Option<Record<'a>> {
        debug_assert!(!self.cur.done && shape == self.shape());
        let d = self.cur.data;
        let pos = self.cur.pos;
        let at = self.cur.base + pos;
        if pos >= self.cur.stop {
            self.cur.done = true;
            return None;
        }
        let hl = shape.header_len;
        // The first 16 bytes hold every field (the modified format's 8 more are not used).
        let be = shape.big_endian;
        let Some((rest, [sec, frac, caplen, wire_len])) =
            d.get(pos..).and_then(|h| Some((h, u32s::<4>(h, be)?)))
        else {
            self.short(at, "pcap record header", hl);
            return None;
        };
        if rest.len() < hl {
            self.short(at, "pcap record header", hl);
            return None;
        }
        if caplen > self.max_caplen {
            self.cur.fail(CaptureError::Corrupt {
                offset: at as u64,
                what: "pcap record",
                detail: format!(
                    "captured length {caplen} exceeds the maximum {}",
                    self.max_caplen
                ),
            });
            return None;
        }
        // The walk reads the record header and the packet's headers: 64 bytes and a few more.
        super::prefetch_ahead(d, pos, [64]);
        // Bounded by what is left of the window: one comparison, no sum to overflow.
        let Some(data) = rest.get(hl..hl + caplen as usize) else {
            self.short(at, "pcap record", hl + caplen as usize);
            return None;
        };
        self.cur.pos = pos + hl + data.len();
        let frac_ns = if shape.nanos {
            frac as i64
        } else {
            frac as i64 * 1000
        };
        Some(Record {
            ts_ns: Some(sec as i64 * 1_000_000_000 + frac_ns),
            wire_len,
            linktype: self.linktype,
            data,
            offset: at as u64,
        })
    }

    /// `need` bytes at file offset `at` are not all in the window: the clean end when the
    /// file ends at `at`, cut short when it ends before `at + need`, else a stop to wait for a
    /// window that holds them. Like [`Cursor::fail`], it returns nothing, and `pull` returns
    /// `None` itself: a record returned from a call is written through a pointer to the
    /// caller's record, which then stays in memory for every packet.
    #[cold]
    fn short(&mut self, at: usize, what: &'static str, need: usize) {
        let left = self.cur.len.saturating_sub(at);
        if left == 0 {
            self.cur.done = true;
            return;
        }
        if left < need {
            return self.cur.fail(CaptureError::Truncated {
                offset: at as u64,
                what,
                need: need as u64,
                have: left as u64,
            });
        }
        self.cur.wait(need);
    }
}
