//! Capture file formats: pcap and pcapng records over a borrowed byte slice.
//!
//! The readers walk records in a `&[u8]`, either the whole file or a window of it that a
//! caller refills (see `crate::source::window`), and hand out [`Record`]s whose packet bytes borrow
//! from that slice; nothing is copied and nothing here does I/O. Every length read from the
//! file is checked before it is used, so any input yields either records or a
//! [`CaptureError`] naming the file offset of the damage; the readers never panic. A record
//! that runs past the window but not past the file is not damage: the reader stops and says
//! how many bytes it needs ([`Reader::need`]), and a window-fed walk yields exactly the
//! records and error of a whole-file walk. Decoding the packet bytes is `decode`'s job.
//!
//! A file per format or concern: `pcap`, `pcapng` (a file per block kind), `cursor` (the
//! window state both readers embed), `linktype` (the table of link types), `shard` (cutting a
//! file for parallel passes) and `write` (records back out as a capture).

mod bytes;
mod cursor;
pub mod linktype;
pub mod pcap;
pub mod pcapng;
pub mod shard;
pub mod write;

use std::collections::BTreeMap;
use std::fmt;

/// How far ahead of the record walk [`prefetch_ahead`] asks for bytes.
const PREFETCH_AHEAD: usize = 4 << 10;

/// Starts loading the stream [`PREFETCH_AHEAD`] bytes past the record at `pos`: the line
/// there and the lines `more` bytes past it. Records tile the stream, so each record asking
/// for the lines of its own length asks for every line the walk reads: walking a map or a
/// whole-file buffer, every line comes cold from memory, and the hardware prefetcher alone
/// leaves small records' lines late (see docs/performance.md). In an L2-hot window the hints
/// cost next to nothing.
#[inline(always)]
fn prefetch_ahead<const N: usize>(d: &[u8], pos: usize, more: [usize; N]) {
    let p = d.as_ptr().wrapping_add(pos + PREFETCH_AHEAD);
    crate::hint::prefetch(p);
    for m in more {
        crate::hint::prefetch(p.wrapping_add(m));
    }
}

/// One captured packet, borrowed from the capture buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Nanoseconds since the Unix epoch; `None` when the format carries no timestamp
    /// (pcapng Simple Packet Block).
    pub ts_ns: Option<i64>,
    /// Length of the packet on the wire (the original length).
    pub wire_len: u32,
    /// Link-layer type (LINKTYPE_* value) of the interface the packet came from.
    pub linktype: u16,
    /// The captured bytes: `data.len()` is the captured length, at most `wire_len`
    /// unless the file says otherwise.
    pub data: &'a [u8],
    /// File offset of the record header.
    pub offset: u64,
}

/// The container formats nwcap reads, as detected from the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap; `modified` is Kuznetzov's patched format with 24-byte record headers.
    Pcap {
        big_endian: bool,
        nanos: bool,
        modified: bool,
    },
    /// pcapng; byte order may change per section.
    Pcapng,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Format::Pcap {
                big_endian,
                nanos,
                modified,
            } => write!(
                f,
                "pcap{} ({}, {})",
                if modified {
                    " (Kuznetzov modified)"
                } else {
                    ""
                },
                if big_endian {
                    "big-endian"
                } else {
                    "little-endian"
                },
                if nanos { "nanoseconds" } else { "microseconds" }
            ),
            Format::Pcapng => f.write_str("pcapng"),
        }
    }
}

/// Why a capture could not be read (any further).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// Zero bytes.
    #[error("empty file: no capture header at offset 0")]
    Empty,
    /// First bytes are no known capture magic.
    #[error("not a pcap or pcapng capture: bytes at offset 0 are {0}")]
    UnknownFormat(String),
    /// A recognised but unsupported format.
    #[error(
        "{0} capture (magic at offset 0): not supported; convert it with `editcap -F pcap IN OUT`"
    )]
    Unsupported(&'static str),
    /// The data ends inside a header or record.
    #[error("file cut short at offset {offset}: {what} needs {need} bytes, only {have} left")]
    Truncated {
        offset: u64,
        what: &'static str,
        need: u64,
        have: u64,
    },
    /// A length or field that cannot be right.
    #[error("corrupt {what} at offset {offset}: {detail}")]
    Corrupt {
        offset: u64,
        what: &'static str,
        detail: String,
    },
}

impl CaptureError {
    /// File offset of the damage.
    pub fn offset(&self) -> u64 {
        match self {
            CaptureError::Truncated { offset, .. } | CaptureError::Corrupt { offset, .. } => {
                *offset
            }
            _ => 0,
        }
    }
}

/// What a reader knows about the file besides its records (for the capinfos-like summary).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileInfo {
    /// Snap length from the pcap header or the largest pcapng interface snaplen (0 = none).
    pub snaplen: u32,
    /// Number of interfaces described (1 for pcap).
    pub interfaces: u32,
    /// pcapng blocks skipped because nwcap does not know or need them.
    pub skipped_blocks: u64,
    /// What pcapng Interface Statistics Blocks say each interface dropped: the last block of
    /// each, by the interface's number in the file (from 0, across sections, as tshark and
    /// capinfos number them). Empty for pcap, and for pcapng without such blocks.
    pub drops: BTreeMap<u32, IsbDrops>,
}

/// The drop counts of an interface's Interface Statistics Block, each counted from the start
/// of the capture; `None` where the block does not give it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IsbDrops {
    /// `isb_ifdrop`: dropped by the interface for lack of resources.
    pub ifdrop: Option<u64>,
    /// `isb_osdrop`: dropped by the operating system.
    pub osdrop: Option<u64>,
}

/// Detects the format from the magic number, never from a file name.
pub fn detect(data: &[u8]) -> Result<Format, CaptureError> {
    if data.is_empty() {
        return Err(CaptureError::Empty);
    }
    let Some(magic) = data.get(..4) else {
        return Err(CaptureError::Truncated {
            offset: 0,
            what: "file magic",
            need: 4,
            have: data.len() as u64,
        });
    };
    let m = [magic[0], magic[1], magic[2], magic[3]];
    let pcap = |big_endian, nanos, modified| {
        Ok(Format::Pcap {
            big_endian,
            nanos,
            modified,
        })
    };
    match m {
        [0xd4, 0xc3, 0xb2, 0xa1] => pcap(false, false, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => pcap(true, false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => pcap(false, true, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => pcap(true, true, false),
        [0x34, 0xcd, 0xb2, 0xa1] => pcap(false, false, true),
        [0xa1, 0xb2, 0xcd, 0x34] => pcap(true, false, true),
        [0x0a, 0x0d, 0x0d, 0x0a] => Ok(Format::Pcapng),
        [b'G', b'M', b'B', b'U'] => Err(CaptureError::Unsupported("Microsoft Network Monitor 2.x")),
        [b'R', b'T', b'S', b'S'] => Err(CaptureError::Unsupported("Microsoft Network Monitor 1.x")),
        [0x1f, 0x8b, ..] => Err(CaptureError::Unsupported("gzip-compressed")),
        _ => Err(CaptureError::UnknownFormat(format!(
            "{:02x} {:02x} {:02x} {:02x}",
            m[0], m[1], m[2], m[3]
        ))),
    }
}

/// A record reader over any supported format.
#[derive(Debug)]
pub enum Reader<'a> {
    Pcap(pcap::PcapReader<'a>),
    Pcapng(pcapng::PcapngReader<'a>),
}

impl<'a> Reader<'a> {
    /// Detects the format and reads the file header; `data` is the whole file.
    pub fn new(data: &'a [u8]) -> Result<Self, CaptureError> {
        Ok(match detect(data)? {
            Format::Pcap { .. } => Reader::Pcap(pcap::PcapReader::new(data)?),
            Format::Pcapng => Reader::Pcapng(pcapng::PcapngReader::new(data)?),
        })
    }

    /// The detected format (for pcapng, of the first section).
    pub fn format(&self) -> Format {
        match self {
            Reader::Pcap(r) => r.format(),
            Reader::Pcapng(_) => Format::Pcapng,
        }
    }

    /// Header facts gathered so far (pcapng learns interfaces as it reads).
    pub fn info(&self) -> FileInfo {
        match self {
            Reader::Pcap(r) => r.info(),
            Reader::Pcapng(r) => r.info(),
        }
    }

    /// File offset of the next record or block.
    pub fn position(&self) -> usize {
        match self {
            Reader::Pcap(r) => r.position(),
            Reader::Pcapng(r) => r.position(),
        }
    }

    /// The same reader, for a file of which the bytes it was made from are only the first
    /// (a capture streamed in: the rest comes window by window) and whose length is `len`.
    pub fn with_len(self, len: usize) -> Self {
        match self {
            Reader::Pcap(r) => Reader::Pcap(r.with_len(len)),
            Reader::Pcapng(r) => Reader::Pcapng(r.with_len(len)),
        }
    }

    /// Length of the whole file.
    pub fn file_len(&self) -> usize {
        match self {
            Reader::Pcap(r) => r.file_len(),
            Reader::Pcapng(r) => r.file_len(),
        }
    }

    /// When the walk stopped at the end of the window before the end of the file (and of the
    /// shard): how many bytes from [`position`](Self::position) the next window must hold.
    /// `None` when the walk is over.
    pub fn need(&self) -> Option<usize> {
        match self {
            Reader::Pcap(r) => r.need(),
            Reader::Pcapng(r) => r.need(),
        }
    }

    /// The reader's state without its window (so it outlives the buffer), to be
    /// [attached](Self::attach) to the next window.
    pub fn detach(self) -> Reader<'static> {
        match self {
            Reader::Pcap(r) => Reader::Pcap(r.detach()),
            Reader::Pcapng(r) => Reader::Pcapng(r.detach()),
        }
    }

    /// Goes on in `window`, whose first byte is the file's byte at
    /// [`position`](Self::position); a reader that was waiting for more bytes resumes.
    pub fn attach<'b>(self, window: &'b [u8]) -> Reader<'b> {
        match self {
            Reader::Pcap(r) => Reader::Pcap(r.attach(window)),
            Reader::Pcapng(r) => Reader::Pcapng(r.attach(window)),
        }
    }

    /// The next record, `None` at a clean end (or at the end of the window, see
    /// [`need`](Self::need)), or the error that stops the walk. After an error the reader
    /// returns `None`.
    #[inline]
    pub fn next_record(&mut self) -> Option<Result<Record<'a>, CaptureError>> {
        let rec = match self {
            Reader::Pcap(r) => r.pull(),
            Reader::Pcapng(r) => r.pull(),
        };
        match rec {
            Some(r) => Some(Ok(r)),
            None => match self {
                Reader::Pcap(r) => r.take_error(),
                Reader::Pcapng(r) => r.take_error(),
            }
            .map(Err),
        }
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Record<'a>, CaptureError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}
