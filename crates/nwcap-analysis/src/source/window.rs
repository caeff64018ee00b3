//! Reading a capture file window by window: each window copied into one reused buffer, or,
//! where records are small, walked where the file's memory map holds it (see [`walk`]).
//!
//! Owns the positioned reads into the buffer, the choice between copy and map per window, the
//! carry of a record that straddles two windows, the growth of the buffer for a record larger
//! than it, and letting mapped pages behind the walk go. It never parses (the `capture`
//! readers do, and say how many bytes they need to go on) and never decides what a record
//! means (the caller drains the reader of each window). Records borrow from the window: the
//! one copy of the packet bytes, if any, is the kernel's, into it.

use std::fs::File;
use std::io;

use memmap2::Mmap;

use crate::capture::Reader;

/// Bytes read per window: about a core's L2, where the copied window stays while it is
/// walked. Why copy rather than map, and how the size was chosen: docs/performance.md
/// ("Figures behind the code's choices").
pub const WINDOW: usize = 1 << 20;

/// Positioned reads, as `pread(2)`: files in production, byte slices in tests.
pub trait ReadAt {
    /// Reads up to `buf.len()` bytes at `offset`; 0 at the end of the data.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// The length of the data now, where another process may change it (a file); `None` when
    /// it cannot change or cannot be known.
    fn len_now(&self) -> Option<u64> {
        None
    }
}

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        #[cfg(unix)]
        return std::os::unix::fs::FileExt::read_at(self, buf, offset);
        // Moves the file cursor, which nothing else here uses.
        #[cfg(windows)]
        return std::os::windows::fs::FileExt::seek_read(self, buf, offset);
    }

    fn len_now(&self) -> Option<u64> {
        self.metadata().ok().map(|m| m.len())
    }
}

impl ReadAt for [u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset).map_or(self.len(), |o| o.min(self.len()));
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        (**self).read_at(buf, offset)
    }

    fn len_now(&self) -> Option<u64> {
        (**self).len_now()
    }
}

/// A read that failed in the middle of a walk: the file is unreadable from `offset` on.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the file at offset {offset}: {source}")]
pub struct ReadError {
    /// File offset of the failed read.
    pub offset: u64,
    /// What the system said; `UnexpectedEof` when the file got shorter after it was opened.
    pub source: io::Error,
}

/// Below this many bytes per record, a window's records are walked where the file's map
/// holds them rather than copied out (see [`walk`]).
pub const MAP_BELOW: usize = 400;

/// Map pages behind the walk are let go in steps of this many bytes (see [`release`]).
const RELEASE_STEP: usize = 4 << 20;

/// Walks `reader` over `src` window by window, from the reader's position: reads up to
/// `window` bytes (more when one record needs more), lets `drain` take the records of that
/// window (it must call `next_record` until `None`, and returns how many records it took),
/// carries the bytes of an unfinished record over, and goes on until the reader is done: at
/// the end of the file, of its shard, or at the damage that stopped it. Returns the reader,
/// for its position and header facts, and the read error that stopped the walk, if any; every
/// record before the failed offset has then been drained.
///
/// With `map` (the same file, memory-mapped: only a map of a file may have its pages let go),
/// a window that follows one of small records (under [`MAP_BELOW`] bytes each) is walked in
/// the map instead of copied: there the copy would cost more than the walk, while lines read
/// through the map stream in ahead of it (see `capture::prefetch_ahead`). Large records are
/// still copied: the hardware prefetcher fetches their payloads anyway, and two threads bound
/// by memory bandwidth walked them faster copied (figures in docs/performance.md). Mapped
/// pages behind the walk are let go as it goes, so the file adds only a few MiB to the
/// process's resident memory. The file's length is checked before each mapped window (an
/// `fstat` per MiB), so that a file cut short is read, and reported as a read error, where the
/// map would raise SIGBUS; only a cut in the millisecond a window takes can still raise it,
/// the hazard every mmap-based reader (tshark's too) accepts.
pub fn walk<S: ReadAt + ?Sized>(
    reader: Reader<'_>,
    src: &S,
    map: Option<&Mmap>,
    window: usize,
    mut drain: impl FnMut(&mut Reader<'_>) -> u64,
) -> (Reader<'static>, Option<ReadError>) {
    let mut reader = reader.detach();
    let window = window.max(1);
    let mut buf = vec![0u8; window];
    // `buf[..have]` holds the file's bytes from the reader's position on.
    let mut have = 0;
    // What the reader asked for when it stopped at the end of the last window.
    let mut need = 0;
    let mut failed = None;
    // Whether the last window's records were small; the first window is copied.
    let mut small = false;
    // Map bytes from the walk's start to this offset were let go. (Bytes before the start are
    // another shard's, which its own walk may still be reading.)
    let mut released = reader.position();
    loop {
        let at = reader.position();
        let want = window.max(need).min(reader.file_len().saturating_sub(at));
        // Past the end of a file that shrank, the map raises SIGBUS; a read reports it.
        let mapped = map.filter(|m| {
            small && m.len() >= at + want && src.len_now().is_none_or(|n| n >= (at + want) as u64)
        });
        let (r, used, taken) = if let Some(m) = mapped {
            // The bytes carried in `buf` are in the map too.
            have = 0;
            let mut r = reader.attach(&m[at..at + want]);
            let taken = drain(&mut r);
            let used = r.position().saturating_sub(at).min(want);
            released = release(m, released, at + used);
            (r.detach(), used, taken)
        } else {
            if buf.len() < want {
                // A record larger than the window: grown once, then reads go back to
                // `window` bytes so that the working set stays small.
                buf.resize(want, 0);
            }
            while have < want && failed.is_none() {
                let offset = (at + have) as u64;
                match src.read_at(&mut buf[have..want], offset) {
                    Ok(0) => {
                        failed = Some(ReadError {
                            offset,
                            source: io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                format!(
                                    "the file ends here but had {} bytes when it was opened \
                                     (cut short while nwcap read it?)",
                                    reader.file_len()
                                ),
                            ),
                        })
                    }
                    Ok(n) => have += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(source) => failed = Some(ReadError { offset, source }),
                }
            }
            if have < need {
                // The reader asks only for bytes the file has (it knows the file's length),
                // so this is a failed read.
                return (reader, failed);
            }
            let mut r = reader.attach(&buf[..have]);
            let taken = drain(&mut r);
            let used = r.position().saturating_sub(at).min(have);
            (r.detach(), used, taken)
        };
        reader = r;
        small = taken > 0 && (used as u64) < taken.saturating_mul(MAP_BELOW as u64);
        let Some(n) = reader.need() else {
            return (reader, None);
        };
        // A mapped window carries nothing over: the map holds the rest.
        if have > 0 {
            buf.copy_within(used..have, 0);
            have -= used;
        }
        need = n;
    }
}

/// Lets the kernel drop the map's pages from `released` up to about `upto` (in steps of at
/// least [`RELEASE_STEP`], on 2 MiB boundaries so that large folios go whole) out of the
/// process's resident memory; returns the new start of what is kept. The pages stay in the
/// page cache, and touching them again would map the file's same bytes back.
fn release(map: &Mmap, released: usize, upto: usize) -> usize {
    const HUGE: usize = 2 << 20;
    let base = map.as_ptr() as usize;
    let end = (base + upto) / HUGE * HUGE;
    let start = (base + released).next_multiple_of(HUGE);
    if end < start + RELEASE_STEP {
        return released;
    }
    #[cfg(unix)]
    // SAFETY: the range lies inside the map, which is read-only and private and never
    // written: MADV_DONTNEED only unmaps its pages, and a later read maps the file's same
    // bytes again.
    unsafe {
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
    }
    end - base
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that fail to read from `bad` on.
    struct Faulty<'a> {
        data: &'a [u8],
        bad: u64,
    }

    impl ReadAt for Faulty<'_> {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            if offset >= self.bad {
                return Err(io::Error::from_raw_os_error(5));
            }
            let n = buf.len().min((self.bad - offset) as usize);
            self.data.read_at(&mut buf[..n], offset)
        }
    }

    /// A pcap header and `n` records of 100 bytes each (116 with the record header).
    fn pcap(n: usize) -> Vec<u8> {
        let mut f = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        f.extend([0; 8]);
        f.extend(65535u32.to_le_bytes());
        f.extend(1u32.to_le_bytes());
        for i in 0..n as u32 {
            f.extend(i.to_le_bytes());
            f.extend(0u32.to_le_bytes());
            f.extend(100u32.to_le_bytes());
            f.extend(100u32.to_le_bytes());
            f.extend([i as u8; 100]);
        }
        f
    }

    fn offsets(
        data: &[u8],
        src: &(impl ReadAt + ?Sized),
        window: usize,
    ) -> (Vec<u64>, Option<ReadError>) {
        let mut seen = Vec::new();
        let (_, e) = walk(Reader::new(data).unwrap(), src, None, window, |r| {
            let before = seen.len();
            while let Some(rec) = r.next_record() {
                seen.push(rec.unwrap().offset);
            }
            (seen.len() - before) as u64
        });
        (seen, e)
    }

    #[test]
    fn a_failed_read_stops_after_every_record_before_it() {
        let data = pcap(10);
        // Record 4 starts at 24 + 4 * 116 = 488; the read fails inside it.
        let src = Faulty {
            data: &data,
            bad: 500,
        };
        for window in [1, 7, 116, 4096] {
            let (seen, e) = offsets(&data, &src, window);
            assert_eq!(seen, [24, 140, 256, 372], "window {window}");
            let e = e.expect("read error");
            assert_eq!(e.offset, 500, "window {window}");
            assert_eq!(
                e.to_string(),
                format!(
                    "cannot read the file at offset 500: {}",
                    io::Error::from_raw_os_error(5)
                )
            );
        }
    }

    #[test]
    fn a_file_that_shrank_is_a_read_error() {
        let data = pcap(10);
        let (seen, e) = offsets(&data, &data[..600], 64);
        assert_eq!(seen.len(), 4);
        let e = e.expect("read error");
        assert_eq!(
            (e.offset, e.source.kind()),
            (600, io::ErrorKind::UnexpectedEof)
        );
        assert!(e.to_string().contains("had 1184 bytes"), "{e}");
    }

    #[test]
    fn a_record_larger_than_the_window_grows_it() {
        let data = pcap(3);
        let (seen, e) = offsets(&data, &data[..], 16);
        assert_eq!(seen, [24, 140, 256]);
        assert!(e.is_none());
    }
}
