//! A capture whose bytes arrive over a channel while it is analyzed (`analyze --capture`: a
//! blob being downloaded), served to the analysis core as its plain [`Stream`]: the head at
//! once, the rest through window reads ([`ReadAt`]) in file order.
//!
//! Owns the waiting for bytes, the first bytes kept for the format's header, and, when asked,
//! the copy of everything for a second pass (`--write`). It never downloads (the sender
//! does, and vouches for the bytes only when its transfer ends well) and never parses.

use std::io;
use std::sync::Mutex;

use bytes::{Buf, Bytes};
use tokio::sync::mpsc::Receiver;

use nwcap_analysis::source::window::ReadAt;
use nwcap_analysis::source::Stream;

/// Bytes kept from the start for the format's header, or the whole capture when smaller: more
/// than any file header (pcap's 24 bytes, a pcapng section header's options).
const HEAD: usize = 64 << 10;

/// A capture of known length arriving as chunks in order.
pub struct Streamed {
    /// The first [`HEAD`] bytes (fewer when the capture, or the stream, is shorter).
    head: Vec<u8>,
    /// Length the sender announced.
    len: u64,
    rest: Mutex<Rest>,
}

/// What arrives after the head.
struct Rest {
    rx: Receiver<Bytes>,
    /// Unread bytes of the last chunk received.
    chunk: Bytes,
    /// Offset of `chunk`'s first byte.
    pos: u64,
    /// Everything read after the head, when the caller wants the whole capture afterwards.
    kept: Option<Vec<u8>>,
}

impl Streamed {
    /// Waits for the head of a capture of `len` bytes arriving on `rx`. Call from a thread
    /// outside the async runtime that sends: it blocks.
    pub fn open(rx: Receiver<Bytes>, len: u64) -> Streamed {
        let mut rest = Rest {
            rx,
            chunk: Bytes::new(),
            pos: 0,
            kept: None,
        };
        let want = usize::try_from(len).map_or(HEAD, |n| n.min(HEAD));
        let mut head = vec![0; want];
        let mut have = 0;
        while have < want {
            match rest.read(&mut head[have..]) {
                0 => break,
                n => have += n,
            }
        }
        head.truncate(have);
        Streamed {
            head,
            len,
            rest: Mutex::new(rest),
        }
    }

    /// Keeps every byte for [`Streamed::finish`] to return the whole capture (for a second
    /// pass, or to inflate it); `false` when bytes after the head were read already.
    pub fn keep(&mut self) -> bool {
        let head = self.head.len() as u64;
        let rest = self.rest.get_mut().unwrap_or_else(|p| p.into_inner());
        if rest.pos > head {
            return false;
        }
        rest.kept.get_or_insert_with(Vec::new);
        true
    }

    /// Reads what is left, to let the sender finish (its checks cover every byte), and returns
    /// the whole capture when [`Streamed::keep`] was called.
    pub fn finish(self) -> Option<Vec<u8>> {
        let mut rest = self.rest.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut sink = [0u8; 64 << 10];
        while rest.read(&mut sink) > 0 {}
        rest.kept.map(|k| {
            let mut all = self.head;
            all.extend_from_slice(&k);
            all
        })
    }
}

impl Rest {
    /// Reads the next bytes into `buf`; 0 at the end of the stream.
    fn read(&mut self, buf: &mut [u8]) -> usize {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(c) => self.chunk = c,
                None => return 0,
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        if let Some(k) = &mut self.kept {
            k.extend_from_slice(&buf[..n]);
        }
        self.chunk.advance(n);
        self.pos += n as u64;
        n
    }
}

impl Stream for Streamed {
    fn head(&self) -> &[u8] {
        &self.head
    }

    fn total_len(&self) -> u64 {
        self.len
    }
}

impl ReadAt for Streamed {
    /// Bytes of the head from anywhere in it; after it, only the next bytes in order (a
    /// window walk reads so). 0 when the stream ended early: its sender then failed, and says
    /// why.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let head = self.head.len() as u64;
        if offset < head {
            let n = buf.len().min((head - offset) as usize);
            let at = offset as usize;
            buf[..n].copy_from_slice(&self.head[at..at + n]);
            return Ok(n);
        }
        let mut rest = self.rest.lock().unwrap_or_else(|p| p.into_inner());
        if offset != rest.pos {
            return Err(io::Error::other(format!(
                "a streamed capture is read in order: byte {offset} was asked for at byte {}",
                rest.pos
            )));
        }
        Ok(rest.read(buf))
    }

    fn len_now(&self) -> Option<u64> {
        Some(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `data` sent in chunks of `size` bytes from a thread, as a download would.
    fn sent(data: &[u8], size: usize, keep: bool) -> Streamed {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let chunks: Vec<Bytes> = data.chunks(size).map(Bytes::copy_from_slice).collect();
        std::thread::spawn(move || {
            for c in chunks {
                if tx.blocking_send(c).is_err() {
                    return;
                }
            }
        });
        let mut s = Streamed::open(rx, data.len() as u64);
        if keep {
            assert!(s.keep());
        }
        s
    }

    #[test]
    fn reads_in_order_give_the_bytes_and_keep_them_when_asked() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for (size, read) in [(1000, 4096), (70_000, 100), (3, 65_536)] {
            let s = sent(&data, size, true);
            assert_eq!(s.head(), &data[..HEAD]);
            // The head again from its middle, then the rest in order.
            let mut got = data[..100].to_vec();
            let mut buf = vec![0; read];
            loop {
                let n = s.read_at(&mut buf, got.len() as u64).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, data, "chunks of {size}, reads of {read}");
            assert_eq!(s.finish().unwrap(), data);
        }
    }

    #[test]
    fn out_of_order_reads_are_errors_and_finish_drains() {
        let data = vec![5u8; 150_000];
        let s = sent(&data, 10_000, false);
        assert!(s.read_at(&mut [0; 10], HEAD as u64 + 1).is_err());
        assert_eq!(s.read_at(&mut [0; 10], HEAD as u64).unwrap(), 10);
        let mut s = s;
        assert!(!s.keep(), "too late to keep everything");
        assert!(s.finish().is_none());
        // A short stream: a short head, then the end.
        let s = sent(&data[..100], 30, true);
        assert_eq!(s.head().len(), 100);
        assert_eq!(s.read_at(&mut [0; 10], 100).unwrap(), 0);
        assert_eq!(s.finish().unwrap(), &data[..100]);
    }
}
