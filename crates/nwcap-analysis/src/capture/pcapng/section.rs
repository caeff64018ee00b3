//! Section Header Blocks: where a section starts, and the byte order of every block up to the
//! next one.
//!
//! This file owns the block's type, its byte-order magic and the least its body holds. It reads
//! nothing and keeps no state: the walk (`PcapngReader::next_block`) reads the header in line,
//! as it must learn the byte order before it can read the block's length, then takes the byte
//! order and clears the section's interfaces.

pub(super) const SHB: u32 = 0x0A0D_0D0A;
/// Read in the section's byte order, it says which that is.
pub(super) const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// The least a body holds: the byte-order magic, the version and the section length.
pub(super) const MIN_BODY: usize = 16;
