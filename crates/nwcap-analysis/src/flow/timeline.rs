//! Traffic over time, summed during the pass at a few instructions a packet: each flow has a
//! class, decided when the flow is created, and each packet adds its packets and bytes to
//! its class and direction in the interval of its timestamp. Which flows pass the filters and
//! which side is local are only known after the pass (the local address may be inferred),
//! so a class holds what decides them: whether each endpoint is one of a few candidate
//! addresses (or local, when the local addresses are known before the pass), and whether the
//! flow passes the filters with either endpoint local ([`Classes`]). A class depends on the
//! flow's key alone, so a flow has the same class in every shard of a file. The report
//! resolves the classes once the local side is decided.
//!
//! Intervals are whole multiples of a [`Grid`] width since the Unix epoch, so that grids
//! nest: a width of 10 µs, then 100 µs as the capture grows, then whatever the report picks
//! (a multiple of every width the pass used). It owns the grid, the classes and the sums; it
//! never decodes a packet nor decides which side is local.

use std::sync::Arc;

use super::key::addr_words;
use super::{FlowKey, PackedKey};
use crate::decode::Addr;

/// The finest width, 1 µs (timestamps are in ns).
pub const MIN_WIDTH: i64 = 1_000;

/// Intervals over the time seen below which the automatic grid stays; the report's automatic
/// interval gives at most 200 (see [`Grid::wanted`]).
const PASS_INTERVALS: i64 = 200;

/// Intervals a grid of a width asked for keeps before it is widened tenfold (with a note in
/// the report): each holds a few sums per class.
const MAX_PASS_INTERVALS: usize = 1 << 20;

/// [`Grid::lo`] before the first packet: no timestamp is within a width of it (`i64::MIN`,
/// a packet without one, is just below it), so every packet's test fails until one sets it.
const UNSET: i64 = i64::MIN + 1;

/// Candidate addresses a table's classes tell apart.
pub const CANDIDATES: usize = 3;

/// Classes: two bits per endpoint (candidate 0–2, or 3 for none) and three for the filters
/// (see [`Class`]); with a direction, one byte.
pub const CLASSES: usize = 128;

/// A class, as its bits say: `lo` and `hi` are the endpoints' candidate indexes (3 = none);
/// `passes[s]` whether the flow passes the filters with side `s` local (0 = either or
/// unknown, 1 = `lo`, 2 = `hi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    /// The low endpoint's candidate, 3 for none.
    pub lo: u8,
    /// The high endpoint's candidate, 3 for none.
    pub hi: u8,
    /// Whether the flow passes the filters with either side, `lo` or `hi` local.
    pub passes: [bool; 3],
}

impl Class {
    /// The class's byte.
    pub fn bits(self) -> u8 {
        self.lo
            | self.hi << 2
            | u8::from(self.passes[0]) << 4
            | u8::from(self.passes[1]) << 5
            | u8::from(self.passes[2]) << 6
    }

    /// The class of a byte.
    pub fn of(b: u8) -> Class {
        Class {
            lo: b & 3,
            hi: b >> 2 & 3,
            passes: [b >> 4 & 1 == 1, b >> 5 & 1 == 1, b >> 6 & 1 == 1],
        }
    }
}

/// Whether a flow passes the filters with either side (0), its low (1) or its high endpoint
/// (2) local: the filters' test, given by the pass.
pub type Passes = Arc<dyn Fn(&FlowKey) -> [bool; 3] + Send + Sync>;

/// Whether an address is local: the local addresses' test, when the pass knows them.
pub type IsLocal = Arc<dyn Fn(&Addr) -> bool + Send + Sync>;

/// What a table's classes tell apart.
#[derive(Clone)]
pub struct Classes {
    /// Which addresses the endpoints' indexes name.
    pub candidates: Candidates,
    /// The filters' test; `None` when nothing is filtered.
    passes: Option<Passes>,
    /// The [`Candidates::Seen`] addresses as packed keys hold them ([`addr_words`]), and
    /// [`NO_WORDS`] beyond them: a new flow's endpoints are matched without being unpacked,
    /// as a new flow is every 50th packet of some captures.
    words: [[u64; 3]; CANDIDATES],
}

/// [`Classes::words`] of no candidate: a family no key has.
const NO_WORDS: [u64; 3] = [0, 0, 2];

impl std::fmt::Debug for Classes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classes")
            .field("candidates", &self.candidates)
            .field("filtered", &self.passes.is_some())
            .finish()
    }
}

impl Default for Classes {
    fn default() -> Self {
        Classes {
            candidates: Candidates::Seen(Vec::new()),
            passes: None,
            words: [NO_WORDS; CANDIDATES],
        }
    }
}

/// The addresses whose packets a class can tell: the local ones, when they are known before
/// the pass, or the first addresses seen (the capturing VM's is in nearly every packet of a
/// Network Watcher capture, so in the first).
#[derive(Clone)]
pub enum Candidates {
    /// Index 0 is "local": the test is the local addresses'.
    Local(IsLocal),
    /// The first [`CANDIDATES`] addresses of the flows, in the order the flows were created
    /// (each flow's sender first).
    Seen(Vec<Addr>),
}

impl std::fmt::Debug for Candidates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Candidates::Local(_) => f.write_str("Local"),
            Candidates::Seen(a) => f.debug_tuple("Seen").field(a).finish(),
        }
    }
}

impl Classes {
    /// Classes that tell local endpoints by `is_local`, and filters by `passes`.
    pub fn new(is_local: Option<IsLocal>, passes: Option<Passes>) -> Self {
        Classes {
            candidates: is_local.map_or(Candidates::Seen(Vec::new()), Candidates::Local),
            passes,
            words: [NO_WORDS; CANDIDATES],
        }
    }

    /// Notes the addresses of a new flow's first packet, `src` then `dst`, as candidates
    /// while there is room.
    pub fn see(&mut self, src: &Addr, dst: &Addr) {
        if let Candidates::Seen(c) = &mut self.candidates {
            for a in [src, dst] {
                if c.len() < CANDIDATES && !c.contains(a) {
                    self.words[c.len()] = addr_words(a);
                    c.push(*a);
                }
            }
        }
    }

    /// Whether there is room for more candidates.
    pub fn seeing(&self) -> bool {
        matches!(&self.candidates, Candidates::Seen(c) if c.len() < CANDIDATES)
    }

    /// The index of `a` among the candidates, 3 when it is none.
    fn index(&self, a: &Addr) -> u8 {
        match &self.candidates {
            Candidates::Local(is_local) => {
                if is_local(a) {
                    0
                } else {
                    3
                }
            }
            Candidates::Seen(_) => self.index_of_words(&addr_words(a)),
        }
    }

    /// The index of the address whose [`addr_words`] are `w` among the candidates, 3 when it
    /// is none (or the candidates are local addresses).
    #[inline]
    fn index_of_words(&self, w: &[u64; 3]) -> u8 {
        let hit = |c: &[u64; 3]| (c[0] ^ w[0]) | (c[1] ^ w[1]) | (c[2] ^ w[2]) == 0;
        match &self.words {
            [a, ..] if hit(a) => 0,
            [_, b, ..] if hit(b) => 1,
            [_, _, c] if hit(c) => 2,
            _ => 3,
        }
    }

    /// The class of a new flow `k` whose first packet went in direction `first` (which
    /// orders its addresses as candidates). Without filters only the addresses' words are
    /// read from the packed key.
    #[inline]
    pub fn class(&mut self, k: &PackedKey, first: usize) -> u8 {
        if self.seeing() {
            let (lo, hi) = (k.lo_addr(), k.hi_addr());
            let (src, dst) = if first == 0 { (&lo, &hi) } else { (&hi, &lo) };
            self.see(src, dst);
        }
        let [lo, hi] = match &self.candidates {
            Candidates::Seen(_) => k.addr_words().map(|w| self.index_of_words(&w)),
            Candidates::Local(_) => [self.index(&k.lo_addr()), self.index(&k.hi_addr())],
        };
        Class {
            lo,
            hi,
            passes: self.passes.as_ref().map_or([true; 3], |p| p(&k.unpack())),
        }
        .bits()
    }

    /// The address candidate `i` names, for [`Candidates::Seen`].
    pub fn candidate(&self, i: u8) -> Option<&Addr> {
        match &self.candidates {
            Candidates::Seen(c) => c.get(usize::from(i)),
            Candidates::Local(_) => None,
        }
    }

    /// Whether `other` classes flows as these do.
    pub fn same_as(&self, other: &Classes) -> bool {
        match (&self.candidates, &other.candidates) {
            (Candidates::Seen(a), Candidates::Seen(b)) => a == b,
            (Candidates::Local(_), Candidates::Local(_)) => true,
            _ => false,
        }
    }

    /// Takes `other`'s candidates too, while there is room.
    pub fn take_candidates(&mut self, other: &Classes) {
        if let Candidates::Seen(c) = &other.candidates {
            for a in c {
                self.see(a, a);
            }
        }
    }

    /// Class byte `b` of `other`'s classes as one of these (an endpoint that is none of these
    /// candidates becomes 3).
    pub fn translate(&self, other: &Classes, b: u8) -> u8 {
        let mut c = Class::of(b);
        for e in [&mut c.lo, &mut c.hi] {
            *e = match (other.candidate(*e), &self.candidates) {
                (Some(a), Candidates::Seen(_)) => self.index(a),
                _ => *e,
            };
        }
        c.bits()
    }
}

/// Packets and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sum {
    /// Packets.
    pub packets: u64,
    /// Wire bytes.
    pub bytes: u64,
}

impl Sum {
    fn add(&mut self, o: Sum) {
        self.packets += o.packets;
        self.bytes += o.bytes;
    }
}

/// One interval's sums, by class and direction (`class << 1 | direction`), those not 0.
/// A few inline: an interval moves every few packets early in a capture, and a vector's
/// allocation was most of a move's cost.
pub type Sums = smallvec::SmallVec<[(u16, Sum); 4]>;

/// The intervals of the pass: their width, and the one the latest packets fell into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Width in ns: a power of ten from [`MIN_WIDTH`] up, or the width asked for.
    pub width: i64,
    /// `true` when the width was asked for: it then does not grow with the capture.
    pub fixed: bool,
    /// Start of the interval of the latest packets; [`UNSET`] before the first.
    pub lo: i64,
    /// Earliest and latest timestamps that moved the interval (the span the width follows).
    first: i64,
    last: i64,
}

impl Grid {
    /// A grid that widens with the capture.
    pub fn auto() -> Self {
        Grid {
            width: MIN_WIDTH,
            fixed: false,
            lo: UNSET,
            first: i64::MAX,
            last: i64::MIN,
        }
    }

    /// A grid of a fixed width (ns, at least 1).
    pub fn fixed(width: i64) -> Self {
        Grid {
            width: width.max(1),
            fixed: true,
            ..Grid::auto()
        }
    }

    /// Counts `t`, a time some packet of the capture has, as seen: a grid that widens then
    /// starts as wide as the time from `t` calls for, rather than walking up from
    /// [`MIN_WIDTH`] through every width in between.
    pub fn seen(&mut self, t: i64) {
        self.first = self.first.min(t);
    }

    /// The earliest time seen, if any.
    pub fn first_seen(&self) -> Option<i64> {
        (self.first != i64::MAX).then_some(self.first)
    }

    /// The interval index of `t`.
    #[inline]
    pub fn index(&self, t: i64) -> i64 {
        t.div_euclid(self.width)
    }

    /// The width the time seen calls for: the largest power of ten at most a
    /// [`PASS_INTERVALS`]th of it, from [`MIN_WIDTH`] (for a grid that widens).
    fn wanted(&self) -> i64 {
        let mut w = self.width;
        if !self.fixed {
            while self.last.saturating_sub(self.first) / PASS_INTERVALS >= w.saturating_mul(10) {
                w *= 10;
            }
        }
        w
    }
}

/// The sums of a table's packets over time.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The pass's intervals.
    pub grid: Grid,
    /// What the classes of the table's flows tell apart.
    pub classes: Classes,
    /// The sums of the interval that starts at `grid.lo`, by class and direction
    /// (`class << 1 | direction`).
    current: Box<[Sum; CLASSES * 2]>,
    /// The sums of every other interval, by index on the grid.
    past: Past,
    /// How many times the grid was widened tenfold beyond the width asked for.
    pub widened: u32,
    /// Bit `c` set when a flow of class `4c` to `4c + 3` may have sums in `current` (eight
    /// sums, a chunk of [`Timeline::retire`]'s scan): a move then scans only those, four
    /// chunks of 32 without filters.
    used: u32,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline::on(Grid::auto())
    }
}

impl Timeline {
    /// A timeline on `grid`.
    pub fn on(grid: Grid) -> Self {
        Timeline {
            grid,
            classes: Classes::default(),
            current: Box::new([Sum::default(); CLASSES * 2]),
            past: Past::default(),
            widened: 0,
            used: 0,
        }
    }

    /// Adds a packet of `wire` bytes at `t` to the sums at `key` (`class << 1 | direction`).
    /// The common case, a packet in the latest interval, is a comparison and two additions.
    #[inline(always)]
    pub fn add(&mut self, key: u8, t: i64, wire: u32) {
        if (t.wrapping_sub(self.grid.lo) as u64) < self.grid.width as u64 {
            let s = &mut self.current[usize::from(key)];
            s.packets += 1;
            s.bytes += u64::from(wire);
        } else {
            self.add_elsewhere(key, t, wire);
        }
    }

    /// [`Timeline::add`] of a packet outside the latest interval: a later one moves it, an
    /// earlier one (time going backwards) is added where it belongs. A packet without a time
    /// (`i64::MIN`) is in no interval.
    #[cold]
    #[inline(never)]
    fn add_elsewhere(&mut self, key: u8, t: i64, wire: u32) {
        if t == i64::MIN {
            return;
        }
        let key = u16::from(key);
        let sum = Sum {
            packets: 1,
            bytes: u64::from(wire),
        };
        if self.grid.lo != UNSET && t < self.grid.lo {
            add_to(self.past.entry(self.grid.index(t)), key, sum);
            return;
        }
        self.retire();
        let g = &mut self.grid;
        g.first = g.first.min(t);
        g.last = g.last.max(t);
        let w = g.wanted();
        if w != g.width {
            self.rekey(w);
        }
        self.grid.lo = self.grid.index(t) * self.grid.width;
        // The interval may have sums already (packets that went back in time into it).
        if let Some(sums) = self.past.remove(self.grid.index(t)) {
            for (k, s) in sums {
                self.used |= 1 << (k >> 3);
                self.current[usize::from(k)].add(s);
            }
        }
        self.current[usize::from(key)].add(sum);
        if self.grid.fixed && self.past.len() > MAX_PASS_INTERVALS {
            let w = self.grid.width.saturating_mul(10);
            self.retire();
            self.rekey(w);
            self.widened += 1;
            self.grid.lo = UNSET;
        }
    }

    /// Notes that flows of class `class` add to the sums: call before any does.
    #[inline]
    pub fn note(&mut self, class: u8) {
        self.used |= 1 << (class >> 2);
    }

    /// Moves the latest interval's sums to the others.
    fn retire(&mut self) {
        if self.grid.lo == UNSET {
            return;
        }
        // A scan of the sums the table's classes may have touched (see `used`) per interval,
        // rather than noting which were touched packet by packet: eight at a time, most 0.
        debug_assert!(
            (0..32).all(|c| self.used & 1 << c != 0
                || self.current[c * 8..c * 8 + 8]
                    .iter()
                    .all(|s| s.packets == 0)),
            "sums of a class not noted"
        );
        let at = self.grid.index(self.grid.lo);
        let (current, past) = (&mut self.current, &mut self.past);
        let mut into = None;
        let mut used = self.used;
        while used != 0 {
            let c = used.trailing_zeros() as usize;
            used &= used - 1;
            let chunk = &mut current[c * 8..c * 8 + 8];
            if chunk.iter().fold(0, |a, s| a | s.packets) == 0 {
                continue;
            }
            for (k, s) in chunk.iter_mut().enumerate() {
                if s.packets != 0 {
                    let into = *into.get_or_insert_with(|| past.position(at));
                    add_to(&mut past.0[into].1, (c * 8 + k) as u16, std::mem::take(s));
                }
            }
        }
    }

    /// Puts the retired intervals on a grid of width `w`, a multiple of the current one.
    fn rekey(&mut self, w: i64) {
        let old = self.grid.width;
        self.grid.width = w;
        if self.past.is_empty() {
            return;
        }
        let past = std::mem::take(&mut self.past);
        for (i, sums) in past.0 {
            let j = (i.saturating_mul(old)).div_euclid(w);
            let into = self.past.entry(j);
            for (k, s) in sums {
                add_to(into, k, s);
            }
        }
    }

    /// Every interval's sums, on the grid's width, in time order.
    pub fn intervals(&self) -> Vec<(i64, Sums)> {
        let mut t = self.clone();
        t.settle();
        t.past.0
    }

    /// Ends the pass: the latest interval joins the others.
    pub fn settle(&mut self) {
        self.retire();
        self.grid.lo = UNSET;
    }

    /// Adds a settled timeline of later packets (its classes translated into these).
    pub fn merge(&mut self, mut other: Timeline) {
        self.settle();
        other.settle();
        let w = self.grid.width.max(other.grid.width);
        self.rekey(w);
        other.rekey(w);
        self.grid.first = self.grid.first.min(other.grid.first);
        self.grid.last = self.grid.last.max(other.grid.last);
        self.widened = self.widened.max(other.widened);
        let same = self.classes.same_as(&other.classes);
        self.classes.take_candidates(&other.classes);
        for (i, sums) in other.past.0 {
            let into = self.past.entry(i);
            for (k, s) in sums {
                let k = if same {
                    k
                } else {
                    (u16::from(self.classes.translate(&other.classes, (k >> 1) as u8)) << 1)
                        | (k & 1)
                };
                add_to(into, k, s);
            }
        }
    }
}

/// The sums of the intervals other than the latest, in time order: a vector, which a pass
/// moving forward appends to (a map's nodes cost more per interval).
#[derive(Debug, Clone, Default)]
struct Past(Vec<(i64, Sums)>);

impl Past {
    /// The sums of interval `i`, made empty if there were none.
    fn entry(&mut self, i: i64) -> &mut Sums {
        let at = self.position(i);
        &mut self.0[at].1
    }

    /// Where the sums of interval `i` are, made empty if there were none.
    fn position(&mut self, i: i64) -> usize {
        match self.0.last() {
            Some(&(last, _)) if last == i => self.0.len() - 1,
            Some(&(last, _)) if last > i => match self.0.binary_search_by_key(&i, |e| e.0) {
                Ok(at) => at,
                Err(at) => {
                    self.0.insert(at, (i, Sums::new()));
                    at
                }
            },
            _ => {
                self.0.push((i, Sums::new()));
                self.0.len() - 1
            }
        }
    }

    /// Takes the sums of interval `i` out, if any.
    fn remove(&mut self, i: i64) -> Option<Sums> {
        match self.0.last() {
            Some(&(last, _)) if last < i => None,
            _ => {
                let at = self.0.binary_search_by_key(&i, |e| e.0).ok()?;
                Some(self.0.remove(at).1)
            }
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Adds `s` to the sums under `key`.
fn add_to(sums: &mut Sums, key: u16, s: Sum) {
    match sums.iter_mut().find(|(k, _)| *k == key) {
        Some((_, x)) => x.add(s),
        None => sums.push((key, s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const MS: i64 = 1_000_000;

    fn total(t: &Timeline) -> BTreeMap<(i64, u16), Sum> {
        t.intervals()
            .into_iter()
            .flat_map(|(i, s)| s.into_iter().map(move |(k, v)| ((i, k), v)))
            .collect()
    }

    #[test]
    fn the_auto_grid_keeps_at_least_200_intervals_over_the_time_seen() {
        let mut t = Timeline::default();
        t.note(0);
        t.add(0, 5 * MS, 100);
        assert_eq!(t.grid.width, MIN_WIDTH);
        assert_eq!(t.grid.lo, 5 * MS);
        // 10 s seen: 200 intervals of 50 ms; the largest power of ten at most that is 10 ms.
        t.add(1, 10_005 * MS, 60);
        assert_eq!(t.grid.width, 10 * MS);
        assert_eq!(t.grid.lo, 10_000 * MS);
        t.add(0, 5 * MS + 1, 40); // back in time, into the first interval
        t.settle();
        let s = total(&t);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[&(0, 0)],
            Sum {
                packets: 2,
                bytes: 140
            }
        );
        assert_eq!(
            s[&(1000, 1)],
            Sum {
                packets: 1,
                bytes: 60
            }
        );
    }

    #[test]
    fn a_fixed_grid_stays_and_intervals_count_from_the_epoch() {
        let mut t = Timeline::on(Grid::fixed(3 * MS));
        t.note(10 >> 1);
        for ts in [-1, 0, 3 * MS - 1, 3 * MS, 1_000_000 * MS, i64::MIN] {
            t.add(10, ts, 1);
        }
        t.settle();
        assert_eq!(t.grid.width, 3 * MS);
        let idx: Vec<(i64, u64)> = t
            .intervals()
            .into_iter()
            .map(|(i, s)| (i, s[0].1.packets))
            .collect();
        assert_eq!(idx, [(-1, 1), (0, 2), (1, 1), (333_333, 1)]);
    }

    #[test]
    fn classes_keep_their_bits() {
        for b in 0..CLASSES as u8 {
            assert_eq!(Class::of(b).bits(), b);
        }
    }

    #[test]
    fn merging_adds_on_the_wider_grid_and_translates_candidates() {
        let a4 = |x| Addr::v4([10, 0, 0, x]);
        let key = |x, y| FlowKey {
            proto: 6,
            ports_known: true,
            lo: (a4(x), 1),
            hi: (a4(y), 2),
            icmp_id: None,
        };
        let mut one = Timeline::default();
        let c = one.classes.class(&key(1, 2).pack(), 0);
        one.note(c);
        one.add(c << 1, 10 * MS, 10);
        one.add(c << 1, 20 * MS, 10);
        let mut two = Timeline::default();
        // Its first flow's addresses come in the other order: candidates 2 then 1.
        let c2 = two.classes.class(&key(1, 2).pack(), 1);
        assert_eq!(Class::of(c2).lo, 1);
        two.note(c2);
        two.add(c2 << 1 | 1, 2000 * MS, 5);
        one.merge(two);
        // 10 ms seen by the first: 10 µs; none by the second.
        assert_eq!(one.grid.width, 10_000);
        let s = total(&one);
        let k2 = (u16::from(c) << 1) | 1;
        assert_eq!(
            s[&(200_000, k2)],
            Sum {
                packets: 1,
                bytes: 5
            }
        );
        assert_eq!(s[&(1000, u16::from(c) << 1)].packets, 1);
        assert_eq!(s[&(2000, u16::from(c) << 1)].packets, 1);
    }
}
