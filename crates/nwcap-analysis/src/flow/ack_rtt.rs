//! Data→ACK round-trip times per flow and direction, as tshark's `tcp.analysis.ack_rtt`
//! (`packet-tcp.c`, the end of `tcp_analyze_sequence_number`): [`FlowRtt`] keeps each
//! direction's unacknowledged segments and a [`Summary`] of the samples; [`FlowRtt::step`]
//! takes one segment; [`FlowRtt::join`] joins a later shard's flow to the same flow before it.
//!
//! tshark remembers every segment that carries data (or SYN/FIN), with its time and the
//! sequence number after it, retransmissions included, newest first. A segment, whatever its
//! flags, acknowledging exactly one of the peer's remembered ends gets as its RTT the time
//! since the oldest segment with that end (so a retransmitted segment's RTT counts from its
//! first transmission); every remembered segment of the peer that ends at or before the
//! acknowledgement is then forgotten. An RTT of exactly 0 is not shown. nwcap does the same,
//! with two bounds so that memory stays bounded per flow (the README says what they change):
//! at most [`UNACKED_MAX`] unacknowledged segments per direction are remembered (tshark keeps
//! up to 10 000; a segment sent while that many wait is not remembered, as there), and the
//! samples are summarised, exactly up to [`EXACT_MAX`] per direction, then as a log-scale
//! histogram ([`Summary`]).
//!
//! It never looks a flow up or reads packet bytes; it exists only with `--health`.

use crate::decode::tcp::Segment;
use crate::decode::tcp_flags::{FIN, SYN};
use smallvec::SmallVec;

/// A direction's samples or histogram entries, in 16-bit words (see [`Summary`]); the first
/// few inline.
type Words = SmallVec<[u16; 8]>;
/// The first few waiting segments of a flow, inline.
type Waiting = SmallVec<[Unacked; 2]>;

/// Unacknowledged segments remembered per direction, 16 bytes each. The corpus gives
/// tshark's RTTs from a bound of 20 up (not with 16); 64 leaves room for faster paths.
pub const UNACKED_MAX: usize = 64;
/// Samples per direction kept exactly; beyond, the median comes from the histogram.
pub const EXACT_MAX: u32 = 16;
/// The histogram's finest resolution: 2^4 = 16 buckets per doubling, each at most 1/16 of its
/// lower bound wide, so that its middle is within 1/32 (3.2 %) of any value in it.
const SUB_BITS: u8 = 4;
/// Buckets a direction's histogram holds at most (4 bytes each): past it, adjacent buckets
/// are merged in pairs (half the resolution, twice the error bound), down to one bucket per
/// doubling. 32 keep the finest resolution over RTTs within a factor of 4, 1/16 within 16,
/// 1/8 within 256.
const BUCKETS_MAX: usize = 32;
/// A later shard holds back at most this many acknowledgements per direction (see
/// [`FlowRtt::join`]).
const HELD_MAX: usize = 8;

/// `a > b` in sequence space.
#[inline]
fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// One remembered segment: its direction, the sequence after it and its time (opaque).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unacked {
    nextseq: u32,
    dir: u8,
    ts: i64,
}

/// The samples of one direction: their number and maximum exactly, and either the samples
/// themselves (up to [`EXACT_MAX`]) or a log-scale histogram of them, for the median.
///
/// Why not every sample: a capture of tens of millions of packets has about as many; a
/// direction keeps at most 64 bytes of samples (128 if one is 4.3 s or more), then at most
/// [`BUCKETS_MAX`] buckets. The histogram's resolution depends only on the samples (the
/// finest at which they fall in at most [`BUCKETS_MAX`] buckets), so summaries of a flow's
/// parts merge into the summary of the whole, whatever the order.
///
/// Stored in 16-bit words, narrow when the values allow, as most flows were spending more
/// on these than on everything else they keep: a sample in [0, 2^32) ns takes two words
/// (four for any other), a histogram entry whose count is at most [`NARROW_COUNT`] one
/// (two for any other). Narrow exactly when every value fits, so that equal samples give
/// equal summaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Samples.
    pub n: u32,
    /// The largest (ns); `i64::MIN` with none.
    pub max: i64,
    /// The histogram's resolution: 2^`bits` buckets per doubling.
    bits: u8,
    /// Whether `words` holds its values wide.
    wide: bool,
    /// Up to [`EXACT_MAX`] samples: the samples, in order (as `u32` or `i64` bits, low word
    /// first); beyond: the entries (bucket << 22 | count) by bucket, sparse: narrow as
    /// (bucket << [`NARROW_BITS`] | count), wide as `u32` (low word first).
    words: Words,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            n: 0,
            max: i64::MIN,
            bits: SUB_BITS,
            wide: false,
            words: Words::new(),
        }
    }
}

/// The bucket of `v` ns at resolution `k`: exact below 2^(k+1), then 2^k per doubling, each
/// an aligned range of a power of two (so a bucket at `k` - 1 is two at `k`). A negative
/// sample (time going backwards) counts as 0.
fn bucket(v: i64, k: u8) -> u64 {
    let v = v.max(0) as u64;
    if v < 2 << k {
        return v;
    }
    let e = 63 - u64::from(v.leading_zeros()) - u64::from(k);
    (e << k) + (v >> e)
}

/// The lowest value in bucket `b` at resolution `k`, and the bucket's width.
fn range(b: u64, k: u8) -> (u64, u64) {
    if b < 2 << k {
        return (b, 1);
    }
    let e = (b >> k) - 1;
    let t = (b & ((1 << k) - 1)) + (1 << k);
    (t << e, 1 << e)
}

/// The middle of bucket `b` at resolution `k`.
fn middle(b: u64, k: u8) -> i64 {
    let (lo, w) = range(b, k);
    (lo + w / 2) as i64
}

/// A histogram entry: (bucket << 22 | count), a bucket's index being below 2^10 (976 at
/// the finest resolution). A bucket with more than [`COUNT`] samples takes several entries,
/// all full but the last, so that the entries depend only on the samples.
const COUNT_BITS: u32 = 22;
const COUNT: u32 = (1 << COUNT_BITS) - 1;
/// A narrow entry's count bits: the bucket's 10 bits and these make one word.
const NARROW_BITS: u32 = 6;
/// The largest count a narrow entry holds.
const NARROW_COUNT: u32 = (1 << NARROW_BITS) - 1;

/// The entries of a bucket with `total` samples.
fn entries(b: u32, total: u64) -> impl Iterator<Item = u32> {
    let full = total / u64::from(COUNT);
    let rest = (total % u64::from(COUNT)) as u32;
    let full = std::iter::repeat_n(b << COUNT_BITS | COUNT, full as usize);
    full.chain((rest > 0).then_some(b << COUNT_BITS | rest))
}

/// Histogram entries being worked on (see [`Summary::count`]).
type Entries = SmallVec<[u32; BUCKETS_MAX]>;

/// Words of a sample, or of a histogram entry, in the given width.
fn words_of(v: u64, wide_words: usize) -> impl Iterator<Item = u16> {
    (0..wide_words).map(move |k| (v >> (16 * k)) as u16)
}

/// The word capacity for `len` words: 4 more than a multiple of 8, so that an allocation's
/// bytes plus the allocator's 8-byte header fill its 16-byte granules (glibc's).
fn fitting(len: usize) -> usize {
    len + (12 - len % 8) % 8
}

impl Summary {
    /// Words per exact sample.
    fn per_sample(&self) -> usize {
        if self.wide {
            4
        } else {
            2
        }
    }

    /// Makes room for `extra` more words, in steps of 16 bytes rather than doubling.
    fn reserve(&mut self, extra: usize) {
        let need = self.words.len() + extra;
        if need > self.words.capacity() {
            self.words.reserve_exact(fitting(need) - self.words.len());
        }
    }

    /// The exact samples, in order (up to [`EXACT_MAX`] samples).
    fn samples(&self) -> impl Iterator<Item = i64> + '_ {
        self.words
            .chunks_exact(self.per_sample())
            .map(|w| w.iter().rev().fold(0u64, |a, &x| a << 16 | u64::from(x)) as i64)
    }

    /// Sets the exact samples to `vals` (in order), narrow if they all fit.
    fn set_samples(&mut self, vals: &[i64]) {
        self.words.clear();
        self.wide = vals.iter().any(|&v| !(0..1 << 32).contains(&v));
        let per = self.per_sample();
        self.reserve(vals.len() * per);
        for &v in vals {
            self.words.extend(words_of(v as u64, per));
        }
    }

    /// The histogram's entries, (bucket << 22 | count) by bucket.
    fn entries(&self) -> Entries {
        if self.wide {
            let e = self.words.chunks_exact(2);
            e.map(|w| u32::from(w[0]) | u32::from(w[1]) << 16).collect()
        } else {
            let e = self.words.iter().map(|&w| u32::from(w));
            e.map(|w| (w >> NARROW_BITS) << COUNT_BITS | w & NARROW_COUNT)
                .collect()
        }
    }

    /// Sets the histogram's entries, narrow if their counts all fit.
    fn set_entries(&mut self, e: &[u32]) {
        self.words.clear();
        self.wide = e.iter().any(|&e| e & COUNT > NARROW_COUNT);
        if self.wide {
            self.reserve(2 * e.len());
            for &e in e {
                self.words.extend(words_of(u64::from(e), 2));
            }
        } else {
            self.reserve(e.len());
            let narrow = |e: u32| ((e >> COUNT_BITS) << NARROW_BITS | e & NARROW_COUNT) as u16;
            self.words.extend(e.iter().map(|&e| narrow(e)));
        }
    }

    /// Adds a sample of `v` ns.
    pub fn add(&mut self, v: i64) {
        self.n += 1;
        self.max = self.max.max(v);
        if self.n <= EXACT_MAX {
            // Kept in order, so that a summary is the same whatever order its samples came
            // in (shards add theirs at the merge).
            let at = self.samples().take_while(|&x| x < v).count();
            if self.wide || (0..1 << 32).contains(&v) {
                let per = self.per_sample();
                self.reserve(per);
                self.words.insert_many(per * at, words_of(v as u64, per));
            } else {
                let mut all = [0i64; EXACT_MAX as usize];
                let m = self.n as usize;
                for (e, x) in all.iter_mut().zip(self.samples()) {
                    *e = x;
                }
                all.copy_within(at..m - 1, at + 1);
                all[at] = v;
                self.set_samples(&all[..m]);
            }
            return;
        }
        if self.n == EXACT_MAX + 1 {
            self.make_histogram();
        }
        self.count(v, 1);
    }

    /// Turns the exact samples into a histogram: at most as many buckets as samples, so it
    /// grows (to at most [`BUCKETS_MAX`]) only when they spread.
    fn make_histogram(&mut self) {
        let mut exact = [0i64; EXACT_MAX as usize];
        let mut m = 0;
        for (e, v) in exact.iter_mut().zip(self.samples()) {
            *e = v;
            m += 1;
        }
        // The samples' room, given back as the histogram needs less.
        self.words = Words::new();
        self.wide = false;
        self.bits = SUB_BITS;
        for &v in &exact[..m] {
            self.count(v, 1);
        }
    }

    /// Adds `k` samples of `v` ns (or of a bucket whose lowest value is `v`, at a resolution
    /// at least this one's), halving the resolution first while their bucket would need
    /// entries beyond [`BUCKETS_MAX`]: the resolution ends as the finest at which all
    /// samples fit. Most samples only add to a narrow entry, or insert one: done in place;
    /// the rest on the entries unpacked.
    fn count(&mut self, v: i64, k: u64) {
        if !self.wide && k <= u64::from(NARROW_COUNT) {
            let b = bucket(v, self.bits) as u16;
            let k = k as u16;
            let lo = self.words.partition_point(|&w| w >> NARROW_BITS < b);
            if self.words.get(lo).is_some_and(|&w| w >> NARROW_BITS == b) {
                let w = &mut self.words[lo];
                if u32::from(*w & NARROW_COUNT as u16) + u32::from(k) <= NARROW_COUNT {
                    *w += k;
                    return;
                }
            } else if self.words.len() < BUCKETS_MAX {
                self.reserve(1);
                self.words.insert(lo, b << NARROW_BITS | k);
                return;
            }
        }
        let mut e = self.entries();
        count_in(&mut e, &mut self.bits, v, k);
        self.set_entries(&e);
    }

    /// Adds the samples of `o`.
    pub fn merge(&mut self, o: &Summary) {
        let n = self.n + o.n;
        self.max = self.max.max(o.max);
        if n <= EXACT_MAX {
            let mut all = [0i64; EXACT_MAX as usize];
            let mut m = 0;
            for (e, v) in all.iter_mut().zip(self.samples().chain(o.samples())) {
                *e = v;
                m += 1;
            }
            all[..m].sort_unstable();
            self.set_samples(&all[..m]);
            self.n = n;
            return;
        }
        if self.n <= EXACT_MAX {
            self.make_histogram();
        }
        self.n = n;
        if o.n <= EXACT_MAX {
            for v in o.samples() {
                self.count(v, 1);
            }
            return;
        }
        let mut e = self.entries();
        while self.bits > o.bits {
            coarsen(&mut e, &mut self.bits);
        }
        for oe in o.entries() {
            let lo = range(u64::from(oe >> COUNT_BITS), o.bits).0 as i64;
            count_in(&mut e, &mut self.bits, lo, u64::from(oe & COUNT));
        }
        self.set_entries(&e);
    }

    /// Whether [`Summary::median`] is exact.
    pub fn exact(&self) -> bool {
        self.n <= EXACT_MAX
    }

    /// The lower median (the ⌈n/2⌉-th smallest sample, ns): exact up to [`EXACT_MAX`]
    /// samples, else the middle of its histogram bucket (within 1/32 at the finest
    /// resolution, twice that at each halving), never above the maximum.
    pub fn median(&self) -> Option<i64> {
        if self.n == 0 {
            return None;
        }
        let rank = u64::from((self.n - 1) / 2);
        if self.exact() {
            return self.samples().nth(rank as usize);
        }
        let mut seen = 0;
        for e in self.entries() {
            seen += u64::from(e & COUNT);
            if seen > rank {
                return Some(middle(u64::from(e >> COUNT_BITS), self.bits).min(self.max));
            }
        }
        Some(self.max)
    }
}

/// [`Summary::count`] on unpacked entries `e` at resolution `bits`.
fn count_in(e: &mut Entries, bits: &mut u8, v: i64, k: u64) {
    loop {
        let b = bucket(v, *bits) as u32;
        let lo = e.partition_point(|&x| x >> COUNT_BITS < b);
        let had = e[lo..].partition_point(|&x| x >> COUNT_BITS == b);
        if had == 1 && u64::from(e[lo] & COUNT) + k <= u64::from(COUNT) {
            e[lo] += k as u32;
            return;
        }
        let total = e[lo..lo + had]
            .iter()
            .map(|&x| u64::from(x & COUNT))
            .sum::<u64>()
            + k;
        let need = total.div_ceil(u64::from(COUNT)) as usize;
        if e.len() - had + need > BUCKETS_MAX && need > had && *bits > 0 {
            coarsen(e, bits);
            continue;
        }
        e.drain(lo..lo + had);
        e.insert_many(lo, entries(b, total));
        return;
    }
}

/// Halves the resolution of entries `e` at `bits`: each bucket joins its pair.
fn coarsen(e: &mut Entries, bits: &mut u8) {
    let k = *bits - 1;
    let mut merged: Vec<(u32, u64)> = Vec::with_capacity(e.len());
    for &x in e.iter() {
        let b = bucket(range(u64::from(x >> COUNT_BITS), *bits).0 as i64, k) as u32;
        match merged.last_mut() {
            Some((l, c)) if *l == b => *c += u64::from(x & COUNT),
            _ => merged.push((b, u64::from(x & COUNT))),
        }
    }
    e.clear();
    for (b, c) in merged {
        e.extend(entries(b, c));
    }
    *bits = k;
}

/// An acknowledgement a later shard held back (see [`FlowRtt::join`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    ack: u32,
    ts: i64,
    /// The RTT the shard found alone (0 = none).
    own: i64,
    /// The most segments of the acknowledged direction remembered since the one held before.
    most: u16,
}

/// A later shard's bookkeeping, per acknowledged (data) direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Holding {
    held: [Vec<Held>; 2],
    /// Holding stopped (an acknowledgement reached the first segment the shard saw, or
    /// [`HELD_MAX`] were held).
    stopped: [bool; 2],
    /// An acknowledgement came after holding stopped.
    more: [bool; 2],
    /// The sequence of the direction's first remembered segment in the shard.
    first: [Option<u32>; 2],
    /// The most segments remembered since the last held acknowledgement.
    most: [u16; 2],
}

/// The RTT state of one flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowRtt {
    /// Unacknowledged segments of both directions, oldest first.
    unacked: Waiting,
    /// The samples per data direction (the RTT of direction `d`'s segments, measured at the
    /// other direction's acknowledgements).
    pub stats: [Summary; 2],
    /// A later shard's held-back acknowledgements (`None` elsewhere).
    holding: Option<Box<Holding>>,
}

impl FlowRtt {
    /// A flow of a later shard, which holds back its first acknowledgements.
    pub fn holding() -> FlowRtt {
        let mut f = FlowRtt::default();
        f.hold();
        f
    }

    /// Makes a flow of a later shard hold back its first acknowledgements, from its first
    /// segment (a no-op after).
    #[inline]
    pub fn hold(&mut self) {
        if self.holding.is_none() {
            self.holding = Some(Box::default());
        }
    }

    /// Whether nothing was seen: no segment waits, no sample, nothing held back.
    pub fn is_empty(&self) -> bool {
        self.unacked.is_empty() && self.holding.is_none() && self.stats.iter().all(|s| s.n == 0)
    }

    fn waiting(&self, d: usize) -> usize {
        self.unacked
            .iter()
            .filter(|u| usize::from(u.dir) == d)
            .count()
    }

    /// Takes segment `s` with `flags`, sent at `ts` in direction `d`.
    #[inline]
    pub fn step(&mut self, d: usize, s: &Segment, flags: u8, ts: i64) {
        let (f, r) = (d & 1, (d & 1) ^ 1);
        let synfin = flags & (SYN | FIN) != 0;
        if s.len > 0 || synfin {
            // Both directions' together below the bound: this one's too, without counting.
            let n = if self.unacked.len() < UNACKED_MAX && self.holding.is_none() {
                0
            } else {
                self.waiting(f)
            };
            if n < UNACKED_MAX {
                let nextseq = s.seq.wrapping_add(s.len).wrapping_add(u32::from(synfin));
                self.unacked.push(Unacked {
                    nextseq,
                    dir: f as u8,
                    ts,
                });
                if let Some(h) = &mut self.holding {
                    h.first[f].get_or_insert(s.seq);
                    h.most[f] = h.most[f].max(n as u16 + 1);
                }
            }
        }
        self.acknowledge(r, s.ack, ts);
    }

    /// Direction `o`'s segments acknowledged by `ack` at `ts`.
    fn acknowledge(&mut self, o: usize, ack: u32, ts: i64) {
        if self.unacked.is_empty() && self.holding.is_none() {
            return;
        }
        // Of equal ends the oldest counts (an RTT of 0 from it is none); one pass finds it
        // and forgets what is acknowledged.
        let (mut rtt, mut found) = (0, false);
        self.unacked.retain(|u| {
            if usize::from(u.dir) != o {
                return true;
            }
            if !found && u.nextseq == ack {
                found = true;
                rtt = ts.wrapping_sub(u.ts);
            }
            gt(u.nextseq, ack)
        });
        // All acknowledged: a burst's room is given back (most flows end so).
        if self.unacked.is_empty() && self.unacked.spilled() {
            self.unacked = Waiting::new();
        }
        // An acknowledgement not beyond the last one held can neither answer nor forget a
        // segment from before the shard (the last one forgot those up to it): its RTT is
        // the true one, not held.
        let advances = |h: &Holding| h.held[o].last().is_none_or(|l| gt(ack, l.ack));
        if let Some(h) = self.holding.as_mut().filter(|h| advances(h)) {
            if !h.stopped[o] {
                h.held[o].push(Held {
                    ack,
                    ts,
                    own: rtt,
                    most: h.most[o],
                });
                let reached = h.first[o].is_some_and(|s| !gt(s, ack));
                h.stopped[o] = reached || h.held[o].len() >= HELD_MAX;
                h.most[o] = self
                    .unacked
                    .iter()
                    .filter(|u| usize::from(u.dir) == o)
                    .count() as u16;
                return;
            }
            h.more[o] = true;
        }
        if rtt != 0 {
            self.stats[o].add(rtt);
        }
    }

    /// Starts loading the vectors [`FlowRtt::step`] will read.
    #[inline(always)]
    pub fn prefetch(&self) {
        crate::hint::prefetch(self.unacked.as_ptr().cast());
        for s in &self.stats {
            crate::hint::prefetch(s.words.as_ptr().cast());
        }
    }

    /// Forgets the unacknowledged segments, as for a new input (the samples stay).
    pub fn forget(&mut self) {
        self.unacked = Waiting::new();
    }

    /// Counts the acknowledgements held back as if nothing came before the shard.
    pub fn settle(&mut self) {
        if let Some(h) = self.holding.take() {
            for (o, held) in h.held.iter().enumerate() {
                for e in held {
                    if e.own != 0 {
                        self.stats[o].add(e.own);
                    }
                }
            }
        }
    }

    /// Whether a later shard's flow (`after`) joins the same flow before it (`self`)
    /// exactly (`scratch`: room to work in). The later shard started with nothing
    /// remembered; it held back its first acknowledgements of each direction (each beyond
    /// the one held before), up to one that reaches the first segment it remembered itself,
    /// at most [`HELD_MAX`]. They are replayed here on the
    /// earlier segments still waiting: an earlier segment acknowledged is older than any of
    /// the shard's, so its RTT counts instead. Exact when the earlier segments are all
    /// acknowledged within the held ones (or nothing was acknowledged after them), and the
    /// bound on remembered segments was never reached by both together.
    pub fn joinable(&self, after: &FlowRtt, scratch: &mut Vec<Unacked>) -> bool {
        scratch.clear();
        scratch.extend_from_slice(&self.unacked);
        match &after.holding {
            Some(h) => replay(scratch, h, None),
            None => true,
        }
    }

    /// Joins `self`, a flow before the shard of `after`, into `after` (which
    /// [`FlowRtt::joinable`] found joinable): `after` then holds the flow's state.
    pub fn join_into(&self, after: &mut FlowRtt) {
        let mut earlier = self.unacked.to_vec();
        match after.holding.take() {
            Some(h) => {
                replay(&mut earlier, &h, Some(&mut after.stats));
            }
            // Not held back (the first shard of an input, after `forget`): nothing earlier
            // waits.
            None if !after.unacked.is_empty() => earlier.clear(),
            None => {}
        }
        for (a, s) in after.stats.iter_mut().zip(&self.stats) {
            a.merge(s);
        }
        earlier.extend_from_slice(&after.unacked);
        after.unacked = Waiting::from_vec(earlier);
    }
}

/// Replays the acknowledgements a later shard held back (`h`) on `earlier`, the segments
/// still waiting before it, adding the RTTs they give to `stats` when given (see
/// [`FlowRtt::joinable`]); `false` when the join cannot be exact.
fn replay(earlier: &mut Vec<Unacked>, h: &Holding, mut stats: Option<&mut [Summary; 2]>) -> bool {
    let fits = |earlier: &[Unacked], o: usize, most: u16| {
        earlier.iter().filter(|u| usize::from(u.dir) == o).count() + usize::from(most)
            <= UNACKED_MAX
    };
    for (o, held) in h.held.iter().enumerate() {
        for e in held {
            if !fits(earlier, o, e.most) {
                return false;
            }
            let first = earlier
                .iter()
                .find(|u| usize::from(u.dir) == o && u.nextseq == e.ack);
            let rtt = match first {
                Some(u) => e.ts.wrapping_sub(u.ts),
                None => e.own,
            };
            if let (Some(s), true) = (stats.as_deref_mut(), rtt != 0) {
                s[o].add(rtt);
            }
            earlier.retain(|u| usize::from(u.dir) != o || gt(u.nextseq, e.ack));
        }
        let left = earlier.iter().any(|u| usize::from(u.dir) == o);
        if left && (h.more[o] || !fits(earlier, o, h.most[o])) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::ACK;

    fn seg(seq: u32, ack: u32, len: u32) -> Segment {
        Segment {
            seq,
            ack,
            len,
            captured: len,
            win: 100,
            ok: true,
            df: false,
            opts: Default::default(),
        }
    }

    /// Hand-computed: a SYN answered after 10 ms (and the SYN-ACK by the first data, 10 ms
    /// later), two segments acknowledged together after 5 and 4 ms (one sample: the later
    /// segment's, 4 ms), a retransmission whose ACK counts from the first transmission
    /// (300 ms), and a partial ACK (none).
    #[test]
    fn samples_as_tshark() {
        let ms = 1_000_000;
        let mut f = FlowRtt::default();
        f.step(0, &seg(999, 0, 0), SYN, 0);
        f.step(1, &seg(4999, 1000, 0), SYN | ACK, 10 * ms);
        f.step(0, &seg(1000, 5000, 100), ACK, 20 * ms);
        f.step(0, &seg(1100, 5000, 100), ACK, 21 * ms);
        f.step(1, &seg(5000, 1200, 0), ACK, 25 * ms);
        f.step(0, &seg(1200, 5000, 100), ACK, 30 * ms);
        f.step(0, &seg(1200, 5000, 100), ACK, 300 * ms);
        f.step(1, &seg(5000, 1250, 0), ACK, 320 * ms);
        f.step(1, &seg(5000, 1300, 0), ACK, 330 * ms);
        let s = &f.stats[0];
        assert_eq!((s.n, s.max), (3, 300 * ms));
        assert_eq!(s.median(), Some(10 * ms));
        assert_eq!((f.stats[1].n, f.stats[1].max), (1, 10 * ms));
        assert!(f.unacked.is_empty());
    }

    /// A flow cut anywhere: the later part held back its first acknowledgements; joined,
    /// it is the flow read in one pass, or the join says it cannot be.
    #[test]
    fn a_cut_flow_joins_exactly_or_refuses() {
        // Bursts of 1-12 segments each way, acknowledged late, partly or twice; some sent
        // again.
        let mut x = 0x9E37_79B9_u64;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut next = [1000u32, 9000u32];
        let mut segs = Vec::new();
        for _ in 0..400 {
            let d = rnd(2) as usize;
            for _ in 0..=rnd(12) {
                let len = 1 + rnd(1400) as u32;
                let seq = if rnd(10) == 0 {
                    next[d].wrapping_sub(len)
                } else {
                    next[d]
                };
                next[d] = next[d].max(seq.wrapping_add(len));
                segs.push((
                    d,
                    seg(seq, next[d ^ 1].wrapping_sub(rnd(3) as u32 * 100), len),
                ));
            }
            let ack = next[d].wrapping_sub(rnd(2) as u32 * 50);
            segs.push((d ^ 1, seg(next[d ^ 1], ack, 0)));
        }
        let times: Vec<i64> = (0..segs.len() as i64)
            .map(|i| i * 997 + (i % 7) * 13)
            .collect();
        let mut one = FlowRtt::default();
        for ((d, s), &t) in segs.iter().zip(&times) {
            one.step(*d, s, ACK, t);
        }
        let (mut exact, mut refused) = (0, 0);
        for cut in (1..segs.len()).step_by(7) {
            let (mut a, mut b) = (FlowRtt::default(), FlowRtt::holding());
            for (k, ((d, s), &t)) in segs.iter().zip(&times).enumerate() {
                let f = if k < cut { &mut a } else { &mut b };
                f.step(*d, s, ACK, t);
            }
            if a.joinable(&b, &mut Vec::new()) {
                a.join_into(&mut b);
                assert_eq!(b, one, "cut at {cut}");
                exact += 1;
            } else {
                refused += 1;
            }
        }
        assert!(
            exact > 10 * refused && refused > 0,
            "{exact} exact, {refused} refused"
        );
    }

    /// The state kept in place per flow: two waiting segments and four samples a direction
    /// inline, in as much room as the vectors alone took plus 16 bytes.
    #[test]
    fn the_state_is_128_bytes() {
        assert_eq!(std::mem::size_of::<FlowRtt>(), 128);
    }

    /// A bucket with more samples than an entry counts takes several, the same however the
    /// samples came.
    #[test]
    fn a_bucket_past_an_entry_s_count_takes_several() {
        let big = u64::from(COUNT) * 2 + 5;
        let (mut a, mut b) = (Summary::default(), Summary::default());
        for v in 0..20 {
            a.add(1000 + v);
            b.add(1000 + v);
        }
        a.count(1000, big);
        for k in [u64::from(COUNT), 3, u64::from(COUNT), 2] {
            b.count(1000, k);
        }
        assert_eq!(a, b);
        assert_eq!(
            a.entries().iter().filter(|&&e| e & COUNT == COUNT).count(),
            2
        );
        a.n += big as u32;
        assert_eq!(
            a.median(),
            Some(middle(bucket(1000, a.bits), a.bits).min(a.max))
        );
    }

    /// Samples of 4.3 s and more, negative ones, and buckets past a narrow entry's count
    /// widen a summary: its medians stay exact up to [`EXACT_MAX`], and it is the same
    /// however its samples came, narrow again where none needs width.
    #[test]
    fn wide_values_widen_and_summaries_stay_canonical() {
        let big = 5_000_000_000i64;
        let vals = [7, big, 3, -2, 1 << 32, 9, 1, 8, 2, 6, 5, 4, 11, 10, 12, 13];
        let mut s = Summary::default();
        for (i, &v) in vals.iter().enumerate() {
            s.add(v);
            let mut sorted = vals[..=i].to_vec();
            sorted.sort_unstable();
            assert_eq!(s.median(), Some(sorted[i / 2]), "after {}", i + 1);
        }
        assert!(s.wide);
        let mut narrow = Summary::default();
        vals.iter()
            .filter(|&&v| (0..1 << 32).contains(&v))
            .for_each(|&v| narrow.add(v));
        assert!(!narrow.wide);
        // 100 samples in a few buckets: counts past 63, then more buckets.
        let many: Vec<i64> = (0..300)
            .map(|i| 1_000_000 + (i % 3) * 1000 + i / 100 * 900_000)
            .collect();
        let mut one = Summary::default();
        many.iter().for_each(|&v| one.add(v));
        assert!(one.wide && one.entries().iter().all(|&e| e & COUNT <= 100));
        for cut in [1, 16, 17, 150, 299] {
            let (mut a, mut b) = (Summary::default(), Summary::default());
            many[..cut].iter().for_each(|&v| a.add(v));
            many[cut..].iter().for_each(|&v| b.add(v));
            a.merge(&b);
            assert_eq!(a, one, "cut {cut}");
        }
    }

    #[test]
    fn the_histogram_median_is_within_1_in_32() {
        let mut s = Summary::default();
        let vals: Vec<i64> = (0..1001)
            .map(|i| 1_000_000 + i * 7919 % 5_000_000)
            .collect();
        for &v in &vals {
            s.add(v);
        }
        let mut sorted = vals.clone();
        sorted.sort_unstable();
        let exact = sorted[500];
        let got = s.median().unwrap();
        assert!((got - exact).abs() * 32 <= exact, "{got} vs {exact}");
        assert_eq!(s.max, *sorted.last().unwrap());
        // Merged in two parts, the same summary.
        let (mut a, mut b) = (Summary::default(), Summary::default());
        vals[..10].iter().for_each(|&v| a.add(v));
        vals[10..].iter().for_each(|&v| b.add(v));
        a.merge(&b);
        assert_eq!(a, s);
        for k in 0..=SUB_BITS {
            for v in [0, 1, 31, 32, 33, 1000, 1 << 40, i64::MAX] {
                let m = middle(bucket(v, k), k);
                let bound = v as f64 / f64::from(2u32 << k);
                assert!((m - v).abs() as f64 <= bound, "{v} at {k}: {m}");
                if k > 0 {
                    // Nested: the coarser bucket holds the finer one's lowest value.
                    let lo = range(bucket(v, k), k).0 as i64;
                    assert_eq!(bucket(lo, k - 1), bucket(v, k - 1), "{v} at {k}");
                }
            }
        }
        // Spread over a factor of 2^20: coarsened, merged in any split, the same.
        let wide: Vec<i64> = (0..500)
            .map(|i| (1_000 + i * 37 % 1_000) << (i % 21))
            .collect();
        let mut one = Summary::default();
        wide.iter().for_each(|&v| one.add(v));
        assert!(
            one.entries().len() <= BUCKETS_MAX && one.bits < SUB_BITS,
            "{one:?}"
        );
        for cut in [1, 17, 100, 499] {
            let (mut a, mut b) = (Summary::default(), Summary::default());
            wide[..cut].iter().for_each(|&v| a.add(v));
            wide[cut..].iter().for_each(|&v| b.add(v));
            b.merge(&a);
            assert_eq!(b, one, "cut {cut}");
        }
    }
}
