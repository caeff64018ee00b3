//! A chunk of rendered report rows, and the [`Row`] writer that puts each row in place into
//! it. It owns the buffer and how pieces are written; what a row says is the renderers'
//! (`json`, `csv`).
//!
//! Rows are written piece by piece with fixed-size stores into a window of the chunk's room.
//! They used to be written into a scratch array and copied onto a `Vec`, a `memcpy` of ~500
//! bytes for every row; a `Vec`'s spare capacity cannot be written without `unsafe`, so the
//! buffer here is all initialized, and keeps its zeros (or old rows) past what is used.

use super::digits::{DIGIT_PAIRS, POW10};

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
        self.reserve(1);
        self.bytes[self.len] = b;
        self.len += 1;
    }

    /// Appends bytes of any length after the rows (a row's part read from the wire, whose
    /// length has no bound a [`Row`] could take).
    pub(super) fn extend(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Writes one row in place with `write`, and keeps it.
    #[inline]
    pub(super) fn write_row<T>(&mut self, write: impl FnOnce(&mut Row) -> T) -> T {
        self.reserve(ROW_MAX);
        let room = &mut self.bytes[self.len..self.len + ROW_MAX];
        let mut row = Row {
            b: room.try_into().expect("a slice of ROW_MAX bytes"),
            n: 0,
        };
        let done = write(&mut row);
        self.len += row.n.min(ROW_SPAN);
        done
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

/// Longer than any row can be (~2300 bytes with `--health`: every number at its widest,
/// IPv6 addresses of 39 characters, seconds in exponent notation). A power of two: every write goes at an offset masked to
/// it, which tells the compiler that the fixed-size writes fit [`ROW_MAX`], where a bounds
/// check before each of a row's ~60 writes cost ~5 % of it.
pub(super) const ROW_SPAN: usize = 4096;

/// A row's room: its span, and past it room for the widest fixed-size write (an IPv6
/// address's 39 bytes) and the bytes some writes put past a piece's end.
const ROW_MAX: usize = ROW_SPAN + 64;

/// A row being written in place in a chunk (see [`Chunk::write_row`]): pieces go in with
/// fixed-size copies and digits written in place. Appending each piece to a `Vec`, as rows
/// once were, called `memcpy` for each of a row's ~25 pieces of varying length and checked
/// the capacity for each, a fifth of a row's cost.
pub(super) struct Row<'a> {
    b: &'a mut [u8; ROW_MAX],
    n: usize,
}

impl Row<'_> {
    /// Where the next piece goes (see [`ROW_SPAN`]).
    #[inline(always)]
    fn at(&self) -> usize {
        self.n & (ROW_SPAN - 1)
    }

    /// A literal.
    #[inline(always)]
    pub(super) fn lit<const N: usize>(&mut self, s: &[u8; N]) {
        let at = self.at();
        self.b[at..at + N].copy_from_slice(s);
        self.n = at + N;
    }

    /// A string of up to 64 bytes (protocol names, states, a float's digits: a few a row).
    #[inline(always)]
    pub(super) fn bytes(&mut self, s: &[u8]) {
        let at = self.at();
        self.b[at..at + s.len()].copy_from_slice(s);
        self.n = at + s.len();
    }

    /// Keeps `n` more bytes of those written at the end.
    #[inline(always)]
    pub(super) fn advance(&mut self, n: usize) {
        self.n += n;
    }

    /// The first `len` bytes of `s` (at most `N`), written as all `N`: one fixed-size copy
    /// for a piece whose length varies (flag letters, a fraction's digits); the bytes past
    /// `len` are written over next.
    #[inline(always)]
    pub(super) fn part<const N: usize>(&mut self, s: &[u8; N], len: usize) {
        let at = self.at();
        self.b[at..at + N].copy_from_slice(s);
        self.n = at + len.min(N);
    }

    /// The next `N` bytes, for a renderer that writes in place and then says how many it
    /// used ([`Row::advance`]).
    #[inline(always)]
    pub(super) fn room<const N: usize>(&mut self) -> &mut [u8; N] {
        let at = self.at();
        let room = &mut self.b[at..at + N];
        room.try_into().expect("a slice of N bytes")
    }

    /// An integer in decimal, as `itoa` (and so `serde_json`) writes it: digits by pairs,
    /// from the last, straight into place. Returns where they start and how many there are.
    #[inline(always)]
    pub(super) fn int(&mut self, v: impl Into<u64>) -> (usize, usize) {
        let mut v: u64 = v.into();
        // Digits: the power of ten just below 2^bits, corrected by one comparison.
        let bits = 64 - (v | 1).leading_zeros() as usize;
        let guess = (bits * 1233) >> 12;
        let len = guess + usize::from(v >= POW10[guess]);
        let at = self.at();
        let mut end = len.max(1);
        // At most 20 digits: indexes masked to 32 in a window of 64 need no bounds check.
        let d = self.room::<64>();
        while v >= 100 {
            let i = 2 * (v % 100) as usize;
            v /= 100;
            end -= 2;
            let e = end & 31;
            d[e..e + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
        }
        if v >= 10 {
            let i = 2 * v as usize;
            d[(end - 2) & 31..((end - 2) & 31) + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
        } else {
            d[(end - 1) & 31] = b'0' + v as u8;
        }
        self.n = at + len.max(1);
        (at, len.max(1))
    }

    /// The `len` bytes written at `from` (fewer than 32: a number's digits) again.
    #[inline(always)]
    pub(super) fn again(&mut self, from: usize, len: usize) {
        let from = from & (ROW_SPAN - 1);
        let mut text = [0; 32];
        text.copy_from_slice(&self.b[from..from + 32]);
        let at = self.at();
        self.b[at..at + 32].copy_from_slice(&text);
        self.n = at + (len & 31);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes pushed and rows written in place make the bytes a `Vec` would hold, past the
    /// room first given and across a `clear` that leaves old bytes in the room.
    #[test]
    fn holds_what_a_vec_would() {
        let mut c = Chunk::with_room(10);
        for round in 0..3u8 {
            let mut v = Vec::new();
            c.clear();
            for i in 0..200u8 {
                match i % 2 {
                    0 => {
                        c.push(i ^ round);
                        v.push(i ^ round);
                    }
                    _ => {
                        let keep = usize::from(i % 9);
                        c.write_row(|r| {
                            r.room::<8>().fill(i ^ round);
                            r.advance(keep);
                            r.part(b"ab", 1);
                            let (from, len) = r.int(u64::from(i) * 1001);
                            r.again(from, len);
                        });
                        v.extend(std::iter::repeat_n(i ^ round, keep));
                        v.push(b'a');
                        let digits = (u64::from(i) * 1001).to_string();
                        v.extend(digits.as_bytes());
                        v.extend(digits.as_bytes());
                    }
                }
            }
            assert_eq!(c.as_slice(), &v[..], "round {round}");
        }
    }

    /// Integers at every digit count's edges, as `itoa` writes them.
    #[test]
    fn integers_match_itoa() {
        let mut values = vec![0, u64::MAX, u64::MAX - 1];
        for p in POW10 {
            values.extend([p - 1, p, p + 1, p / 2 * 3]);
        }
        for b in 0..64 {
            values.extend([1u64 << b, (1u64 << b) - 1]);
        }
        for v in values {
            let mut mine = Chunk::default();
            mine.write_row(|r| r.int(v));
            assert_eq!(
                mine.as_slice(),
                itoa::Buffer::new().format(v).as_bytes(),
                "{v}"
            );
        }
    }
}
