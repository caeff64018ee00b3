//! Classic libpcap files: both byte orders, micro- and nanosecond timestamps, and
//! Kuznetzov's "modified" variant with 24-byte record headers.

use super::bytes::u32_at;
use super::{CaptureError, FileInfo, Format, Record};

const FILE_HEADER: usize = 24;
/// libpcap refuses records above this captured length unless the header's snaplen is larger;
/// beyond it a length field is taken as corrupt rather than as a cut-off file.
const MAX_SANE_CAPLEN: u32 = 262_144;
/// How far ahead of the record walk to prefetch.
const PREFETCH_AHEAD: usize = 16 << 10;

/// Record walker over a pcap buffer.
#[derive(Debug, Clone)]
pub struct PcapReader<'a> {
    data: &'a [u8],
    pos: usize,
    big_endian: bool,
    nanos: bool,
    modified: bool,
    snaplen: u32,
    linktype: u16,
    /// Records starting at or after this offset belong to the next shard.
    end: usize,
    done: bool,
}

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
            data,
            pos: FILE_HEADER,
            big_endian,
            nanos,
            modified,
            snaplen,
            linktype,
            end: usize::MAX,
            done: false,
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
        }
    }

    /// Byte offset of the next record header.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// A reader for the records that start in `[start, end)`; `start` must be a record
    /// boundary (see `capture::shard`).
    pub fn shard(&self, start: usize, end: usize) -> Self {
        let mut r = self.clone();
        r.pos = start.max(FILE_HEADER);
        r.end = end;
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
        self.header_len()
    }

    fn header_len(&self) -> usize {
        if self.modified {
            24
        } else {
            16
        }
    }

    /// The next record, or the damage that ends the walk.
    #[inline]
    pub fn next_record(&mut self) -> Option<Result<Record<'a>, CaptureError>> {
        if self.done {
            return None;
        }
        let d = self.data;
        let pos = self.pos;
        let rest = d.len().saturating_sub(pos);
        if rest == 0 || pos >= self.end {
            self.done = true;
            return None;
        }
        let hl = self.header_len();
        let be = self.big_endian;
        let fields = (
            u32_at(d, pos, be),
            u32_at(d, pos + 4, be),
            u32_at(d, pos + 8, be),
            u32_at(d, pos + 12, be),
        );
        let (Some(sec), Some(frac), Some(caplen), Some(wire_len)) = fields else {
            return self.fail(CaptureError::Truncated {
                offset: pos as u64,
                what: "pcap record header",
                need: hl as u64,
                have: rest as u64,
            });
        };
        if rest < hl {
            return self.fail(CaptureError::Truncated {
                offset: pos as u64,
                what: "pcap record header",
                need: hl as u64,
                have: rest as u64,
            });
        }
        if caplen > MAX_SANE_CAPLEN.max(self.snaplen) {
            return self.fail(CaptureError::Corrupt {
                offset: pos as u64,
                what: "pcap record",
                detail: format!(
                    "captured length {caplen} exceeds the maximum {}",
                    MAX_SANE_CAPLEN.max(self.snaplen)
                ),
            });
        }
        // Touch the file well ahead of the walk: page-cache pages are cold and the hardware
        // prefetcher stops at every 4 KiB page boundary.
        crate::hint::prefetch(d.as_ptr().wrapping_add(pos + PREFETCH_AHEAD));
        let start = pos + hl;
        let end = start + caplen as usize;
        let Some(data) = d.get(start..end) else {
            return self.fail(CaptureError::Truncated {
                offset: pos as u64,
                what: "pcap record",
                need: (hl + caplen as usize) as u64,
                have: rest as u64,
            });
        };
        self.pos = end;
        let frac_ns = if self.nanos {
            frac as i64
        } else {
            frac as i64 * 1000
        };
        Some(Ok(Record {
            ts_ns: Some(sec as i64 * 1_000_000_000 + frac_ns),
            wire_len,
            linktype: self.linktype,
            data,
            offset: pos as u64,
        }))
    }

    fn fail(&mut self, e: CaptureError) -> Option<Result<Record<'a>, CaptureError>> {
        self.done = true;
        Some(Err(e))
    }
}
