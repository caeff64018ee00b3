//! Bounds-checked integer reads shared by the format readers.

/// Reads a `u16` at `off` in the given byte order, `None` past the end.
#[inline]
pub(crate) fn u16_at(d: &[u8], off: usize, be: bool) -> Option<u16> {
    let b: [u8; 2] = d.get(off..off.checked_add(2)?)?.try_into().ok()?;
    Some(if be {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

/// Reads a `u32` at `off` in the given byte order, `None` past the end.
#[inline]
pub(crate) fn u32_at(d: &[u8], off: usize, be: bool) -> Option<u32> {
    let b: [u8; 4] = d.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// Reads the `N` consecutive `u32`s at the start of `d` in the given byte order, `None` when
/// `d` is shorter. The byte order is settled once for all of them: a branch per field cost
/// the record walks a tenth of their instructions.
#[inline(always)]
pub(crate) fn u32s<const N: usize>(d: &[u8], be: bool) -> Option<[u32; N]> {
    let mut w = [0u32; N];
    for (w, c) in w.iter_mut().zip(d.get(..4 * N)?.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    Some(if be { w.map(u32::swap_bytes) } else { w })
}

/// Reads a `u64` at `off` in the given byte order, `None` past the end.
#[inline]
pub(crate) fn u64_at(d: &[u8], off: usize, be: bool) -> Option<u64> {
    let b: [u8; 8] = d.get(off..off.checked_add(8)?)?.try_into().ok()?;
    Some(if be {
        u64::from_be_bytes(b)
    } else {
        u64::from_le_bytes(b)
    })
}
