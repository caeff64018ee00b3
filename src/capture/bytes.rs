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
