//! Section Header Blocks: where a section starts, and the byte order of every block up to the
//! next one.
//!
//! This file owns the block's type, its byte-order magic and the least its body holds. It keeps
//! no state: the reader takes the byte order and clears the section's interfaces.

use crate::capture::CaptureError;

pub(super) const SHB: u32 = 0x0A0D_0D0A;
pub(super) const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// The byte-order magic, the version and the section length.
pub(super) const MIN_BODY: usize = 16;

/// Whether the section whose header block starts at file offset `at` is big-endian, from the
/// byte-order magic read little-endian at `at + 8`; the byte order of everything up to the
/// next section header comes from it.
#[inline(always)]
pub(super) fn big_endian(magic_le: u32, at: usize) -> Result<bool, CaptureError> {
    match magic_le {
        BYTE_ORDER_MAGIC => Ok(false),
        m if m.swap_bytes() == BYTE_ORDER_MAGIC => Ok(true),
        m => Err(CaptureError::Corrupt {
            offset: at as u64 + 8,
            what: "pcapng section header",
            detail: format!("byte-order magic {m:#010x}"),
        }),
    }
}
