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
/// Points whose record density [`balanced_targets`] samples.
const SAMPLES: usize = 32;
/// Records walked per sample.
const SAMPLE_RECORDS: usize = 32;
/// Bytes read at a sample point, to find a record boundary in and walk records from.
const SAMPLE_SCAN: usize = 64 << 10;
/// The work of one record, in bytes' worth of a copied window (see [`balanced_targets`]).
const RECORD_COST: f64 = 270.0;
/// The work of a byte in a window walked in the file's map, against 1 for a copied one.
const MAPPED_BYTE: f64 = 0.26;
/// Below this many bytes per shard, threads cost more than they save.
pub const MIN_SHARD: usize = 256 << 10;

/// Reads up to `buf.len()` bytes of the file at an offset into `buf`; returns how many.
pub type Peek<'p> = &'p dyn Fn(usize, &mut [u8]) -> usize;

/// Finds a record boundary in up to `scan` bytes of `d` from `at`: `find(d, at, scan)`.
type Find<'f> = &'f dyn Fn(&[u8], usize, usize) -> Option<usize>;

/// Splits `reader`'s remaining records into up to `parts` shards; `None` when the file is too
/// small or no boundary was found. Records under `mapped_below` bytes are read in place, at
/// less work per byte (the reading's choice, see `source::window::MAP_BELOW`). The record
/// density samples are read through `peek` when there is one, rather than from `data`: where
/// `data` maps a file whose page cache holds large folios, Linux maps each touched folio
/// whole, so a few samples would map megabytes; a read copies 64 KiB each.
pub fn split<'a>(
    reader: &Reader<'a>,
    data: &'a [u8],
    parts: usize,
    peek: Option<Peek<'_>>,
    mapped_below: usize,
) -> Option<Vec<Reader<'a>>> {
    if parts < 2 || data.len() / parts < MIN_SHARD {
        return None;
    }
    // What `take` makes of the bytes from `at` on (at most SAMPLE_SCAN of them); pcapng
    // blocks start on 4-byte boundaries, so the stretch does too.
    let sampled = |at: usize, take: &dyn Fn(&[u8]) -> Option<f64>| {
        let at = (at + 3) & !3;
        match peek {
            Some(peek) => {
                let mut buf = vec![0u8; SAMPLE_SCAN];
                let n = peek(at, &mut buf);
                take(&buf[..n])
            }
            None => take(data.get(at..data.len().min(at + SAMPLE_SCAN))?),
        }
    };
    // Shard starts from `first` on (see `boundaries`), by the format's `find` and `walk`.
    let cut = |first: usize, find: Find<'_>, walk: &dyn Fn(&[u8], usize) -> Walk| {
        let density = |at| sampled(at, &|d| walk(d, find(d, 0, d.len())?).density());
        boundaries(
            first,
            data.len(),
            parts,
            |at| find(data, at, SCAN),
            density,
            mapped_below,
        )
    };
    match reader {
        Reader::Pcap(r) => {
            let first_sec = u32_at(data, 24, r.big_endian())?;
            let find = |d: &[u8], at: usize, scan: usize| {
                (at..d.len().min(at + scan)).find(|&c| pcap_chain(r, d, c, first_sec))
            };
            let walk = |d: &[u8], c| pcap_walk(r, d, c, SAMPLE_RECORDS, first_sec);
            let starts = cut(r.position(), &find, &walk)?;
            let shards = shard_ranges(&starts).map(|(s, e)| Reader::Pcap(r.shard(s, e)));
            Some(shards.collect())
        }
        Reader::Pcapng(r) => {
            let mut head = r.clone();
            if !head.skip_to_first_packet() {
                return None;
            }
            let be = head.big_endian();
            let find = |d: &[u8], at: usize, scan: usize| {
                let at = (at + 3) & !3;
                (at..d.len().min(at + scan))
                    .step_by(4)
                    .find(|&c| pcapng_chain(d, c, be))
            };
            let walk = |d: &[u8], c| pcapng_walk(d, c, be, SAMPLE_RECORDS);
            let starts = cut(head.position(), &find, &walk)?;
            let shards = shard_ranges(&starts).map(|(s, e)| Reader::Pcapng(head.shard(s, e)));
            Some(shards.collect())
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

/// Shard start offsets: `first`, then one found by `find` at or after each point that
/// divides the estimated work of the rest equally ([`balanced_targets`], from the record
/// `density` around sample points). Two points that find the same boundary make one shard
/// fewer.
fn boundaries(
    first: usize,
    len: usize,
    parts: usize,
    find: impl Fn(usize) -> Option<usize>,
    density: impl Fn(usize) -> Option<f64>,
    mapped_below: usize,
) -> Option<Vec<usize>> {
    let mut starts = vec![first];
    for target in balanced_targets(first, len, parts, density, mapped_below) {
        let b = find(target)?;
        if b >= len {
            return None;
        }
        if b > *starts.last()? {
            starts.push(b);
        }
    }
    (starts.len() > 1).then_some(starts)
}

/// The estimated work of a byte where records come `density` to a byte, those under
/// `mapped_below` bytes read in place (see [`balanced_targets`]).
fn work_per_byte(density: f64, mapped_below: usize) -> f64 {
    let mapped = density * mapped_below as f64 > 1.0;
    (if mapped { MAPPED_BYTE } else { 1.0 }) + RECORD_COST * density
}

/// Points that cut `first..len` into `parts` of equal estimated work. A pass costs per byte
/// (the copy or the map, the walk) and per record (decoding, the flow table): as measured on
/// the development VM, a record weighs [`RECORD_COST`] bytes of a copied window, and a mapped
/// byte [`MAPPED_BYTE`] of one (see docs/performance.md). Records per byte come from `density`
/// at [`SAMPLES`] evenly spaced points, each standing for the stretch up to the next (the mean
/// of the others where it has none). Cut into equal bytes instead, a capture whose halves hold
/// records of very different sizes gave shards of very different times.
fn balanced_targets(
    first: usize,
    len: usize,
    parts: usize,
    density: impl Fn(usize) -> Option<f64>,
    mapped_below: usize,
) -> Vec<usize> {
    if first >= len {
        return Vec::new();
    }
    let step = ((len - first) / SAMPLES).max(1);
    let points: Vec<usize> = (first..len).step_by(step).collect();
    let sampled: Vec<Option<f64>> = points.iter().map(|&p| density(p)).collect();
    let known: Vec<f64> = sampled.iter().flatten().copied().collect();
    let mean = known.iter().sum::<f64>() / known.len().max(1) as f64;
    let end = |k: usize| points.get(k + 1).copied().unwrap_or(len);
    let work: Vec<f64> = (0..points.len())
        .map(|k| {
            (end(k) - points[k]) as f64 * work_per_byte(sampled[k].unwrap_or(mean), mapped_below)
        })
        .collect();
    let total: f64 = work.iter().sum();
    let (mut k, mut done) = (0, 0.0);
    (1..parts)
        .map(|i| {
            let goal = total * i as f64 / parts as f64;
            while k + 1 < work.len() && done + work[k] < goal {
                done += work[k];
                k += 1;
            }
            let into = ((goal - done) / work[k]).clamp(0.0, 1.0);
            points[k] + (into * (end(k) - points[k]) as f64) as usize
        })
        .collect()
}

/// Whether `CHAIN` plausible pcap record headers start at `c` (or reach the end exactly).
fn pcap_chain(r: &PcapReader<'_>, data: &[u8], c: usize, first_sec: u32) -> bool {
    pcap_walk(r, data, c, CHAIN, first_sec).plausible
}

/// Up to `n` records from `c`, stopping at the end of the data or at a header that is not
/// plausible. Zero-filled stretches (padding, payloads) look like empty records; real records
/// have a length and a time near the file's first record's, `first_sec`.
fn pcap_walk(r: &PcapReader<'_>, data: &[u8], mut c: usize, n: usize, first_sec: u32) -> Walk {
    let be = r.big_endian();
    let hl = r.record_header_len();
    let mut walk = Walk::from(c);
    let frac_max = if r.nanos() { 1_000_000_000 } else { 1_000_000 };
    let cap_max = r.snaplen().max(262_144);
    for _ in 0..n {
        if c == data.len() {
            break;
        }
        let (Some(sec), Some(frac), Some(caplen), Some(wire)) = (
            u32_at(data, c, be),
            u32_at(data, c + 4, be),
            u32_at(data, c + 8, be),
            u32_at(data, c + 12, be),
        ) else {
            return walk.stop();
        };
        if frac >= frac_max
            || caplen > cap_max
            || caplen > wire
            || wire == 0
            || wire > 0x0100_0000
            || sec.abs_diff(first_sec) > MAX_TIME_SPREAD
        {
            return walk.stop();
        }
        c += hl + caplen as usize;
        walk.step(c);
    }
    walk
}

/// Whether `CHAIN` plausible pcapng packet blocks start at `c`.
fn pcapng_chain(data: &[u8], c: usize, be: bool) -> bool {
    pcapng_walk(data, c, be, CHAIN).plausible
}

/// Up to `n` packet blocks from `c`, stopping at the end of the data or at a block that is
/// not a plausible packet block.
fn pcapng_walk(data: &[u8], mut c: usize, be: bool, n: usize) -> Walk {
    let mut walk = Walk::from(c);
    for _ in 0..n {
        if c == data.len() {
            break;
        }
        let (Some(t), Some(len)) = (u32_at(data, c, be), u32_at(data, c + 4, be)) else {
            return walk.stop();
        };
        if !(t == 6 || t == 3) || len < 16 || len % 4 != 0 || len > 1 << 24 {
            return walk.stop();
        }
        if u32_at(data, c + len as usize - 4, be) != Some(len) {
            return walk.stop();
        }
        c += len as usize;
        walk.step(c);
    }
    walk
}

/// How far a walk over record headers got.
#[derive(Debug, Clone, Copy)]
struct Walk {
    /// Where it started.
    start: usize,
    /// Offset after the last record walked.
    end: usize,
    /// Records walked.
    records: usize,
    /// `false` when it stopped at a header that is not plausible.
    plausible: bool,
}

impl Walk {
    fn from(start: usize) -> Walk {
        Walk {
            start,
            end: start,
            records: 0,
            plausible: true,
        }
    }

    fn step(&mut self, end: usize) {
        self.end = end;
        self.records += 1;
    }

    fn stop(self) -> Walk {
        Walk {
            plausible: false,
            ..self
        }
    }

    /// Records per byte over the walk, when it walked any.
    fn density(&self) -> Option<f64> {
        (self.records > 0).then(|| self.records as f64 / (self.end - self.start) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::{balanced_targets, split, work_per_byte, MAPPED_BYTE, RECORD_COST};
    use crate::capture::Reader;

    /// The reading's threshold (`source::window::MAP_BELOW`) when these figures were made.
    const MAPPED_BELOW: usize = 400;

    /// A pcap of 60-byte records, then as many bytes of 1500-byte ones.
    fn small_then_big() -> Vec<u8> {
        let mut f = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&65535u32.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        let sizes = std::iter::repeat_n(60u32, 20_000).chain(std::iter::repeat_n(1500, 1_000));
        for (i, len) in sizes.enumerate() {
            for w in [1_700_000_000, i as u32 % 1_000_000, len, len] {
                f.extend_from_slice(&w.to_le_bytes());
            }
            f.resize(f.len() + len as usize, 0);
        }
        f
    }

    /// The cut falls in the dense first half, where the estimated work is halved, whether
    /// the samples are read through `peek` or from the bytes in place.
    #[test]
    fn dense_records_draw_the_cut() {
        let data = small_then_big();
        let dense_end = 24 + 20_000 * 76;
        let reader = Reader::new(&data).unwrap();
        let starts = |peek: Option<super::Peek<'_>>| -> Vec<usize> {
            split(&reader, &data, 2, peek, MAPPED_BELOW)
                .unwrap()
                .iter()
                .map(Reader::position)
                .collect()
        };
        let copy = |at: usize, buf: &mut [u8]| {
            let n = buf.len().min(data.len().saturating_sub(at));
            buf[..n].copy_from_slice(&data[at..at + n]);
            n
        };
        let in_place = starts(None);
        assert_eq!(starts(Some(&copy)), in_place);
        // By hand: the small records are 1 520 000 bytes walked in the map + 20 000 records of
        // work, the big ones 1 516 000 copied bytes + 1 000 records; half the total is reached
        // 65 % into the small ones, at ~990 000 (sampling and interpolation leave a few
        // percent).
        let w = |bytes: f64, records: f64| bytes + RECORD_COST * records;
        let small = w(1_520_000.0 * MAPPED_BYTE, 20_000.0);
        let big = w(1_516_000.0, 1_000.0);
        let expect = 24.0 + (small + big) / 2.0 / small * 1_520_000.0;
        assert!(in_place[1] < dense_end, "{in_place:?}");
        assert!(
            (in_place[1] as f64 - expect).abs() < 40_000.0,
            "{in_place:?} vs {expect}"
        );
    }

    /// Uniform density cuts into equal bytes; a denser first half moves the cut into it, to
    /// where the hand-computed work is halved; a stretch without samples counts at the mean.
    #[test]
    fn targets_divide_the_estimated_work() {
        let uniform = balanced_targets(0, 1_000_000, 4, |_| Some(0.001), MAPPED_BELOW);
        for (t, expect) in uniform.iter().zip([250_000, 500_000, 750_000]) {
            assert!(t.abs_diff(expect) <= 1, "{uniform:?}");
        }
        // Work per byte: 0.26 + 270 / 100 = 2.96 in the first half (100-byte records, walked
        // in the map), 1 + 270 / 1000 = 1.27 in the second. Half of the total,
        // (2.96 + 1.27) / 2 * 500 000, is reached at 1 057 500 / 2.96 = 357 264.
        let dense = |at: usize| Some(if at < 500_000 { 0.01 } else { 0.001 });
        let [t] = balanced_targets(0, 1_000_000, 2, dense, MAPPED_BELOW)[..] else {
            panic!("one cut expected");
        };
        let w = |d: f64, byte: f64| byte + RECORD_COST * d;
        let (first, second) = (w(0.01, MAPPED_BYTE), w(0.001, 1.0));
        assert_eq!(
            (
                work_per_byte(0.01, MAPPED_BELOW),
                work_per_byte(0.001, MAPPED_BELOW)
            ),
            (first, second)
        );
        let expect = (first + second) / 2.0 * 500_000.0 / first;
        assert!((t as f64 - expect).abs() < 2.0, "{t} vs {expect}");
        // Unsampled stretches take the others' mean, here the same density all over.
        let half = balanced_targets(
            0,
            1_000_000,
            2,
            |at| (at >= 500_000).then_some(0.01),
            MAPPED_BELOW,
        );
        assert!(half[0].abs_diff(500_000) <= 1, "{half:?}");
        // No sample anywhere: equal bytes, from the first record on.
        let blind = balanced_targets(100, 1_000_100, 2, |_| None, MAPPED_BELOW);
        assert!(blind[0].abs_diff(500_100) <= 1, "{blind:?}");
        assert!(balanced_targets(10, 10, 2, |_| Some(1.0), MAPPED_BELOW).is_empty());
    }
}
