//! A chunk of rendered report rows: the bytes a renderer appends, as to a `Vec<u8>`, or
//! writes in place into room it asks for ahead. It owns only the buffer; what goes in is the
//! renderers'.
//!
//! The room is what makes it more than a `Vec`: a JSON row is written piece by piece with
//! fixed-size stores into a window of [`Chunk::room`], then kept by [`Chunk::advance`]. Rows
//! used to be written into a scratch array and copied onto the `Vec`, a `memcpy` of ~500
//! bytes for every row; a `Vec`'s spare capacity cannot be written without `unsafe`, so the
//! buffer here is all initialized, and keeps its zeros (or old rows) past what is used.

use std::io;

/// Rendered bytes, `bytes[..len]`; the bytes past `len` are room, initialized and kept from
/// chunk to chunk.
#[derive(Debug, Default)]
pub(super) struct Chunk {
    bytes: Vec<u8>,
    len: usize,
}

impl Chunk {
    /// An empty chunk with `n` bytes of room.
    pub(super) fn with_room(n: usize) -> Chunk {
        Chunk {
            bytes: vec![0; n],
            len: 0,
        }
    }

    /// What was rendered.
    pub(super) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Forgets what was rendered, keeping the room.
    pub(super) fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends one byte.
    #[inline]
    pub(super) fn push(&mut self, b: u8) {
        self.room::<1>()[0] = b;
        self.len += 1;
    }

    /// Appends `s`.
    #[inline]
    pub(super) fn extend_from_slice(&mut self, s: &[u8]) {
        self.reserve(s.len());
        self.bytes[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    /// The next `N` bytes, to write in place; they count once [`Chunk::advance`] keeps them.
    #[inline]
    pub(super) fn room<const N: usize>(&mut self) -> &mut [u8; N] {
        self.reserve(N);
        let room = &mut self.bytes[self.len..self.len + N];
        room.try_into().expect("a slice of N bytes")
    }

    /// Keeps the first `n` bytes written in the room; `n` is at most what was asked.
    #[inline]
    pub(super) fn advance(&mut self, n: usize) {
        self.len = (self.len + n).min(self.bytes.len());
    }

    #[inline]
    fn reserve(&mut self, extra: usize) {
        if self.bytes.len() - self.len < extra {
            self.grow(extra);
        }
    }

    #[cold]
    fn grow(&mut self, extra: usize) {
        let need = self.len + extra;
        self.bytes.resize(need.max(2 * self.bytes.len()), 0);
    }
}

impl io::Write for Chunk {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends and rows written in place make the bytes a `Vec` would hold, past the room
    /// first given and across a `clear` that leaves old bytes in the room.
    #[test]
    fn holds_what_a_vec_would() {
        let mut c = Chunk::with_room(10);
        for round in 0..3u8 {
            let mut v = Vec::new();
            c.clear();
            for i in 0..200u8 {
                match i % 3 {
                    0 => {
                        c.push(i);
                        v.push(i);
                    }
                    1 => {
                        let s = [round, i, i.wrapping_mul(7)];
                        c.extend_from_slice(&s);
                        v.extend_from_slice(&s);
                    }
                    _ => {
                        let room = c.room::<8>();
                        room.fill(i ^ round);
                        let keep = usize::from(i % 9);
                        let keep = keep.min(8);
                        c.advance(keep);
                        v.extend(std::iter::repeat_n(i ^ round, keep));
                    }
                }
            }
            assert_eq!(c.as_slice(), &v[..], "round {round}");
        }
    }
}
