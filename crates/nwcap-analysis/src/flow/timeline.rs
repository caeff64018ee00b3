//! Traffic over time, kept during the pass at the cost of a comparison per packet: each flow
//! counts its packets on its own line as always, and only when a flow's packet falls into
//! another interval than the flow's last one are the counts so far written out, as a
//! [`Record`] of that interval. A flow that never changed interval needs no record at all: all
//! of it is in the interval of its last packet. Which flows count, and which side of each is
//! local, is known only after the pass (filters and the local address apply to whole flows),
//! which is why the counts are kept per flow and not summed per interval here.
//!
//! The intervals are whole multiples of a [`Grid`] width since the Unix epoch, so that grids
//! nest: a width of 10 µs, then 100 µs as the capture grows, then whatever the report picks
//! (a multiple of every width the pass used). It owns the grid and the records; it never
//! reads a packet nor decides which flows are shown.

/// Intervals a pass keeps at least, over the time it has seen, before it widens them tenfold.
/// The report's auto interval gives at most 200 over the whole capture, a multiple of this
/// width: see [`Grid::coarsen_for`].
pub const PASS_INTERVALS: i64 = 200;

/// The finest width, 1 µs (timestamps are in ns).
pub const MIN_WIDTH: i64 = 1_000;

/// Records kept before widening the grid to hold fewer, besides [`RECORDS_PER_FLOW`] a flow:
/// 12 MiB of them, within the 64 MiB a pass may take besides its flows.
const BASE_RECORDS: usize = 1 << 19;
/// Records allowed per flow beyond [`BASE_RECORDS`].
const RECORDS_PER_FLOW: usize = 2;

/// A flow's packets and bytes in one interval (some of them: a flow may have several records
/// of one interval), in the flow's two directions (`lo → hi`, `hi → lo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// The latest timestamp among the packets: it names the interval.
    pub ts: i64,
    /// Wire bytes per direction.
    pub bytes: [u32; 2],
    /// Packets per direction.
    pub packets: [u16; 2],
    /// The flow's index in its table.
    pub flow: u32,
}

/// The intervals of the pass: their width, and the one the latest packets fell into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Width in ns: a power of ten from [`MIN_WIDTH`] up, or the width asked for.
    pub width: i64,
    /// `true` when the width was asked for: it then does not grow with the capture.
    pub fixed: bool,
    /// The interval of the latest packet seen: `[lo, hi)`. Empty before the first.
    pub lo: i64,
    /// See `lo`.
    pub hi: i64,
    /// Earliest and latest timestamps that moved the interval (the span the width follows).
    first: i64,
    last: i64,
}

impl Default for Grid {
    fn default() -> Self {
        Grid::auto()
    }
}

impl Grid {
    /// A grid that widens with the capture.
    pub fn auto() -> Self {
        Grid {
            width: MIN_WIDTH,
            fixed: false,
            lo: i64::MIN,
            hi: i64::MIN,
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

    /// The interval index of `t`.
    #[inline]
    pub fn index(&self, t: i64) -> i64 {
        t.div_euclid(self.width)
    }

    /// Moves the current interval to that of `t`, a timestamp at or past it, widening the
    /// grid first if the time seen calls for it.
    pub fn advance(&mut self, t: i64) {
        self.first = self.first.min(t);
        self.last = self.last.max(t);
        if !self.fixed {
            while self.last.saturating_sub(self.first) / PASS_INTERVALS >= self.width * 10 {
                self.width *= 10;
            }
        }
        let lo = self.index(t) * self.width;
        self.lo = lo;
        self.hi = lo.saturating_add(self.width);
    }

    /// Widens the grid tenfold (to hold fewer records), keeping the current interval's start.
    fn widen(&mut self) {
        self.width = self.width.saturating_mul(10);
        if self.hi != i64::MIN {
            let t = self.lo;
            self.lo = self.index(t) * self.width;
            self.hi = self.lo.saturating_add(self.width);
        }
    }

    /// This grid and `other`'s, for a table that holds both tables' flows: the wider width
    /// (the widths nest: both are powers of ten, or both the width asked for), the span of
    /// both, and the later current interval.
    pub fn join(&self, other: &Grid) -> Grid {
        let mut g = if other.width > self.width {
            *other
        } else {
            *self
        };
        g.first = self.first.min(other.first);
        g.last = self.last.max(other.last);
        if self.hi != i64::MIN || other.hi != i64::MIN {
            let latest = self.lo.max(other.lo);
            g.lo = g.index(latest) * g.width;
            g.hi = g.lo.saturating_add(g.width);
        }
        g
    }
}

/// The records of a table, and the grid they were taken on.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// The pass's intervals.
    pub grid: Grid,
    /// Every record written, in the order written.
    pub records: Vec<Record>,
    /// How many times the grid was widened to bound the records, beyond what the time seen
    /// called for.
    pub widened: u32,
}

impl Timeline {
    /// A timeline on `grid`.
    pub fn on(grid: Grid) -> Self {
        Timeline {
            grid,
            records: Vec::new(),
            widened: 0,
        }
    }

    /// Whether packets at `a` and `b` fall in one interval.
    #[inline]
    pub fn same_interval(&self, a: i64, b: i64) -> bool {
        self.grid.index(a) == self.grid.index(b)
    }

    /// Keeps the records within their bound for a table of `flows` flows: while they exceed
    /// it, widens the grid tenfold and adds up each flow's records that now share an interval.
    pub fn bound(&mut self, flows: usize) {
        let limit = BASE_RECORDS + RECORDS_PER_FLOW * flows;
        while self.records.len() > limit && self.grid.width < i64::MAX / 10 {
            self.grid.widen();
            self.widened += 1;
            self.compact(flows);
        }
    }

    /// Adds up each flow's records that share an interval of the current grid. A flow's
    /// records are in time order, so those of one interval follow each other among its own.
    fn compact(&mut self, flows: usize) {
        let mut last = vec![u32::MAX; flows];
        let mut kept: Vec<Record> = Vec::with_capacity(self.records.len() / 2);
        for r in &self.records {
            let at = last.get(r.flow as usize).copied().unwrap_or(u32::MAX);
            if let Some(k) = kept.get_mut(at as usize) {
                if self.grid.index(k.ts) == self.grid.index(r.ts) && fits(k, r) {
                    for d in 0..2 {
                        k.packets[d] += r.packets[d];
                        k.bytes[d] += r.bytes[d];
                    }
                    k.ts = k.ts.max(r.ts);
                    continue;
                }
            }
            if let Some(l) = last.get_mut(r.flow as usize) {
                *l = kept.len() as u32;
            }
            kept.push(*r);
        }
        self.records = kept;
    }
}

/// Writes out `packets` and `bytes` (per direction, any size) of flow `flow` in the interval
/// of `ts`, in as many records as their fields need.
pub fn push_total(
    records: &mut Vec<Record>,
    flow: usize,
    ts: i64,
    mut packets: [u64; 2],
    mut bytes: [u64; 2],
) {
    while packets != [0; 2] || bytes != [0; 2] {
        let mut r = Record {
            ts,
            bytes: [0; 2],
            packets: [0; 2],
            flow: flow as u32,
        };
        for d in 0..2 {
            let p = packets[d].min(u64::from(u16::MAX));
            let b = bytes[d].min(u64::from(u32::MAX));
            r.packets[d] = p as u16;
            r.bytes[d] = b as u32;
            packets[d] -= p;
            bytes[d] -= b;
        }
        records.push(r);
    }
}

/// Whether `r`'s counts can be added to `k`'s without overflow.
fn fits(k: &Record, r: &Record) -> bool {
    (0..2).all(|d| {
        k.packets[d].checked_add(r.packets[d]).is_some()
            && k.bytes[d].checked_add(r.bytes[d]).is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    #[test]
    fn the_auto_grid_keeps_at_least_200_intervals_over_the_time_seen() {
        let mut g = Grid::auto();
        g.advance(5 * MS);
        assert_eq!(g.width, MIN_WIDTH);
        assert_eq!((g.lo, g.hi), (5 * MS, 5 * MS + MIN_WIDTH));
        // 10 s seen: 200 intervals of 50 ms; the largest power of ten at most that is 10 ms.
        g.advance(10_005 * MS);
        assert_eq!(g.width, 10 * MS);
        assert_eq!(g.lo, 10_000 * MS);
        // A fixed grid stays.
        let mut f = Grid::fixed(3 * MS);
        f.advance(0);
        f.advance(1_000_000 * MS);
        assert_eq!(f.width, 3 * MS);
    }

    #[test]
    fn intervals_count_from_the_epoch_also_before_it() {
        let g = Grid::fixed(10);
        assert_eq!(g.index(-1), -1);
        assert_eq!(g.index(-10), -1);
        assert_eq!(g.index(9), 0);
    }

    #[test]
    fn large_totals_are_written_in_several_records() {
        let mut t = Timeline::default();
        push_total(&mut t.records, 7, 42, [70_000, 1], [5 << 32, 10]);
        let p: u64 = t.records.iter().map(|r| u64::from(r.packets[0])).sum();
        let b: u64 = t.records.iter().map(|r| u64::from(r.bytes[0])).sum();
        assert_eq!((p, b), (70_000, 5 << 32));
        assert!(t.records.iter().all(|r| r.ts == 42 && r.flow == 7));
        push_total(&mut t.records, 7, 43, [0; 2], [0; 2]);
        assert_eq!(t.records.len(), 6);
    }

    #[test]
    fn bounding_adds_up_a_flows_records_of_one_wider_interval() {
        let mut t = Timeline::on(Grid::fixed(10));
        let flows = 2;
        let n = BASE_RECORDS + RECORDS_PER_FLOW * flows + 1;
        for i in 0..n {
            t.records.push(Record {
                ts: i as i64,
                bytes: [1, 0],
                packets: [1, 0],
                flow: (i % 2) as u32,
            });
        }
        t.bound(flows);
        assert_eq!(t.widened, 1);
        assert_eq!(t.grid.width, 100);
        // Each flow has one record per 100 ns.
        let mut seen = std::collections::HashSet::new();
        assert!(t.records.iter().all(|r| seen.insert((r.flow, r.ts / 100))));
        assert!(t.records.len() <= n.div_ceil(100) * 2);
        let p: u64 = t.records.iter().map(|r| u64::from(r.packets[0])).sum();
        assert_eq!(p, n as u64);
        for r in &t.records {
            assert!(r.packets[0] <= 50);
        }
    }
}
