//! Splitting one capture into consecutive shards on record boundaries, for parallel passes.
//!
//! Walking every record to find boundaries would cost as much as a single-threaded pass, so
//! the split guesses: from a byte offset it scans forward for a position where several
//! consecutive record headers are plausible. A guess can be wrong, so the caller must check,
//! after the pass, that each shard stopped exactly where the next began (and, for pcapng, that
//! no shard but the last met a section or interface block); [`verify`] does that. A failed
//! check means: redo the file in one pass.

use super::bytes::u32_at;
use super::pcap::PcapReader;
use super::Reader;

/// Consecutive headers that must look right before a position is taken as a boundary.
const CHAIN: usize = 8;
/// How far past the target offset to look for a boundary.
const SCAN: usize = 1 << 20;
/// Seconds a record's time may be from the first record's for a resync to trust it (a year).
const MAX_TIME_SPREAD: u32 = 366 * 86_400;
/// Below this many bytes per shard, threads cost more than they save.
pub const MIN_SHARD: usize = 256 << 10;

/// Splits `reader`'s remaining records into up to `parts` shards; `None` when the file is too
/// small or no boundary was found.
pub fn split<'a>(reader: &Reader<'a>, data: &'a [u8], parts: usize) -> Option<Vec<Reader<'a>>> {
    if parts < 2 || data.len() / parts < MIN_SHARD {
        return None;
    }
    match reader {
        Reader::Pcap(r) => {
            let starts = boundaries(r.position(), data.len(), parts, |at| {
                (at..data.len().min(at + SCAN)).find(|&c| pcap_chain(r, data, c))
            })?;
            Some(
                shard_ranges(&starts)
                    .map(|(s, e)| Reader::Pcap(r.shard(s, e)))
                    .collect(),
            )
        }
        Reader::Pcapng(r) => {
            let mut head = r.clone();
            if !head.skip_to_first_packet() {
                return None;
            }
            let be = head.big_endian();
            let starts = boundaries(head.position(), data.len(), parts, |at| {
                let at = (at + 3) & !3;
                (at..data.len().min(at + SCAN))
                    .step_by(4)
                    .find(|&c| pcapng_chain(data, c, be))
            })?;
            Some(
                shard_ranges(&starts)
                    .map(|(s, e)| Reader::Pcapng(head.shard(s, e)))
                    .collect(),
            )
        }
    }
}

/// Header facts of the part before the first shard (pcapng blocks before the first packet);
/// shards count only what they read themselves.
pub fn head_info(reader: &mut Reader<'_>) -> super::FileInfo {
    match reader {
        Reader::Pcap(r) => r.info(),
        Reader::Pcapng(r) => {
            r.skip_to_first_packet();
            let mut i = r.info();
            // Shards report the interfaces they knew, this included; only skips are summed.
            i.interfaces = 0;
            i
        }
    }
}

/// Checks a finished parallel pass: shard `i` must have stopped at shard `i + 1`'s start.
pub fn verify(shards: &[Reader<'_>], starts: &[usize]) -> bool {
    shards.iter().enumerate().all(|(i, r)| {
        let last = i + 1 == shards.len();
        let layout_ok = match r {
            Reader::Pcapng(n) => last || !n.saw_layout_block(),
            Reader::Pcap(_) => true,
        };
        layout_ok && (last || r.position() == starts[i + 1])
    })
}

fn shard_ranges(starts: &[usize]) -> impl Iterator<Item = (usize, usize)> + '_ {
    starts
        .iter()
        .enumerate()
        .map(move |(i, &s)| (s, starts.get(i + 1).copied().unwrap_or(usize::MAX)))
}

/// Shard start offsets: `first`, then one found near each equal division of the rest.
fn boundaries(
    first: usize,
    len: usize,
    parts: usize,
    find: impl Fn(usize) -> Option<usize>,
) -> Option<Vec<usize>> {
    let mut starts = vec![first];
    for i in 1..parts {
        let target = first + (len - first) / parts * i;
        let b = find(target)?;
        if b <= *starts.last()? || b >= len {
            return None;
        }
        starts.push(b);
    }
    Some(starts)
}

/// Whether `CHAIN` plausible pcap record headers start at `c` (or reach the end exactly).
fn pcap_chain(r: &PcapReader<'_>, data: &[u8], mut c: usize) -> bool {
    let be = r.big_endian();
    let hl = r.record_header_len();
    // Zero-filled stretches (padding, payloads) look like empty records; real records have a
    // length and a time near the file's first record.
    let Some(first_sec) = u32_at(data, 24, be) else {
        return false;
    };
    let frac_max = if r.nanos() { 1_000_000_000 } else { 1_000_000 };
    let cap_max = r.snaplen().max(262_144);
    for _ in 0..CHAIN {
        if c == data.len() {
            return true;
        }
        let (Some(sec), Some(frac), Some(caplen), Some(wire)) = (
            u32_at(data, c, be),
            u32_at(data, c + 4, be),
            u32_at(data, c + 8, be),
            u32_at(data, c + 12, be),
        ) else {
            return false;
        };
        if frac >= frac_max
            || caplen > cap_max
            || caplen > wire
            || wire == 0
            || wire > 0x0100_0000
            || sec.abs_diff(first_sec) > MAX_TIME_SPREAD
        {
            return false;
        }
        c += hl + caplen as usize;
    }
    true
}

/// Whether `CHAIN` plausible pcapng packet blocks start at `c`.
fn pcapng_chain(data: &[u8], mut c: usize, be: bool) -> bool {
    for _ in 0..CHAIN {
        if c == data.len() {
            return true;
        }
        let (Some(t), Some(len)) = (u32_at(data, c, be), u32_at(data, c + 4, be)) else {
            return false;
        };
        if !(t == 6 || t == 3) || len < 16 || len % 4 != 0 || len > 1 << 24 {
            return false;
        }
        if u32_at(data, c + len as usize - 4, be) != Some(len) {
            return false;
        }
        c += len as usize;
    }
    true
}
