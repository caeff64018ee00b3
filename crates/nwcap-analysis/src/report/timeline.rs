//! The report's traffic over time: packets and bytes of the selected flows per interval, in
//! total and per direction (local → remote, remote → local), and the flows that began in each.
//! It owns the choice of the interval and the sums; the pass's sums and grid are
//! `flow::timeline`'s, and the writers render what this builds.

use serde::Serialize;

use super::model::Count;
use super::time::{Secs, Timestamp};
use crate::flow::timeline::{Candidates, Class, Classes, CLASSES, MIN_WIDTH};
use crate::flow::{FlowList, FlowStats};
use crate::pass::LocalSet;

/// Intervals the automatic width gives at most.
pub const MAX_AUTO_INTERVALS: i64 = 200;
/// Intervals a width asked for may give at most: beyond, it is widened tenfold (with a
/// warning) until they fit.
pub const MAX_INTERVALS: i64 = 100_000;

/// One interval's traffic.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Interval {
    /// Start of the interval (a whole multiple of the width since the Unix epoch).
    pub start: Timestamp,
    /// Packets, both ways.
    pub packets: u64,
    /// Wire bytes, both ways.
    pub bytes: u64,
    /// From local to remote; `null` when the pass cannot tell (see [`Timeline::direction`]).
    pub out: Option<Count>,
    /// From remote to local.
    #[serde(rename = "in")]
    pub inbound: Option<Count>,
    /// Flows whose first packet is in the interval.
    pub new_flows: u64,
}

/// The traffic of the selected flows over time.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Timeline {
    /// Width of an interval, in seconds.
    pub interval_s: Secs,
    /// The intervals from the first packet's to the last one's, empty without timestamps.
    pub intervals: Vec<Interval>,
    /// Set when the interval is wider than asked for: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widened: Option<String>,
    /// Set when `out` and `in` are left out: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
}

/// What the timeline needs of each selected flow, gathered in the report's one sweep over
/// them: their span, and when each began.
#[derive(Debug, Default)]
pub(super) struct Spans {
    first: i64,
    last: i64,
    began: Vec<i64>,
}

impl Spans {
    /// Spans with room for `flows` flows' times, reserved, not touched: growing the vector
    /// copied it into fresh pages again and again.
    pub(super) fn with_room(flows: usize) -> Self {
        Spans {
            began: Vec::with_capacity(flows),
            ..Spans::default()
        }
    }

    /// Notes a flow's times.
    #[inline]
    pub(super) fn see(&mut self, s: &FlowStats) {
        if let (Some(f), Some(l)) = (s.first_ts(), s.last_ts()) {
            if self.began.is_empty() {
                (self.first, self.last) = (f, l);
            }
            self.first = self.first.min(f);
            self.last = self.last.max(l);
            self.began.push(f);
        }
    }

    /// Adds the flows of another part of the sweep.
    pub(super) fn merge(&mut self, o: Spans) {
        if o.began.is_empty() {
            return;
        }
        if self.began.is_empty() {
            *self = o;
            return;
        }
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
        self.began.extend(o.began);
    }
}

/// The traffic of `flows` over time, their local side decided by `local`; `spans` are their
/// times ([`Spans`]).
pub(super) fn timeline(flows: &FlowList<'_>, local: &LocalSet<'_>, spans: Spans) -> Timeline {
    let pass = flows.timeline();
    let grid = pass.grid;
    let Spans { first, last, began } = spans;
    if began.is_empty() {
        return Timeline {
            interval_s: Secs(i128::from(grid.width)),
            ..Timeline::default()
        };
    }
    // The width suits the whole capture (the pass's grid does), filtered or not.
    let (all_first, all_last) = if flows.is_all() {
        (first, last)
    } else {
        span(&flows.all())
    };
    let (width, widened) = width_for(all_first, all_last, grid.width, grid.fixed, pass.widened);
    let base = first.div_euclid(width);
    let n = (last.div_euclid(width) - base + 1) as usize;
    let (resolved, known) = resolve(&pass.classes, local);
    let mut out: Vec<Interval> = (0..n)
        .map(|i| Interval {
            start: Timestamp((base + i as i64).saturating_mul(width)),
            out: known.then_some(Count::default()),
            inbound: known.then_some(Count::default()),
            ..Interval::default()
        })
        .collect();
    // The interval of a start on the pass's grid (a multiple of it).
    let at = |g: i64| {
        let t = g.saturating_mul(grid.width);
        (t.div_euclid(width) - base).clamp(0, n as i64 - 1) as usize
    };
    for (g, sums) in pass.intervals() {
        let iv = &mut out[at(g)];
        for (key, s) in sums {
            let Some(out_dir) = resolved[usize::from(key >> 1)] else {
                continue;
            };
            iv.packets += s.packets;
            iv.bytes += s.bytes;
            let c = match out_dir {
                2 => None,
                d if d == usize::from(key & 1) => iv.out.as_mut(),
                _ => iv.inbound.as_mut(),
            };
            if let Some(c) = c {
                c.packets += s.packets;
                c.bytes += s.bytes;
            }
        }
    }
    for f in began {
        out[(f.div_euclid(width) - base) as usize].new_flows += 1;
    }
    Timeline {
        interval_s: Secs(i128::from(width)),
        intervals: out,
        widened,
        direction: (!known).then_some(
            "out and in are left out: the local address is not among the first packets' \
             addresses, which the pass tells apart",
        ),
    }
}

/// The earliest and latest timestamps of `flows`.
fn span(flows: &FlowList<'_>) -> (i64, i64) {
    (0..flows.len()).fold((i64::MAX, i64::MIN), |(f, l), i| {
        let s = flows.stats(i);
        (
            s.first_ts().map_or(f, |x| f.min(x)),
            s.last_ts().map_or(l, |x| l.max(x)),
        )
    })
}

/// For each class byte, the direction that is outbound when its flows are selected (`None`
/// when they are not; 2 when exactly one side is not local), once `local` is decided; and whether the classes can tell which side
/// is local at all: with the local address inferred, only if it is a candidate.
fn resolve(classes: &Classes, local: &LocalSet<'_>) -> ([Option<usize>; CLASSES], bool) {
    let is_local = |i: u8| match &classes.candidates {
        Candidates::Local(_) => i == 0,
        Candidates::Seen(c) => c.get(usize::from(i)).is_some_and(|a| local.contains(a)),
    };
    let known = match (&classes.candidates, local) {
        (Candidates::Local(_), _) => true,
        (Candidates::Seen(c), LocalSet::Inferred(Some(x))) => c.contains(x),
        (Candidates::Seen(c), _) => c.iter().any(|a| local.contains(a)) || c.is_empty(),
    };
    let mut out = [None; CLASSES];
    for (b, o) in out.iter_mut().enumerate() {
        let c = Class::of(b as u8);
        let side = match (is_local(c.lo), is_local(c.hi)) {
            (true, false) => 1,
            (false, true) => 2,
            _ => 0,
        };
        if c.passes[side] {
            // Between two local or two remote addresses: neither out nor in.
            *o = Some([2, 0, 1][side]);
        }
    }
    (out, known)
}

/// The interval width for timestamps from `first` to `last`, on the pass's grid of
/// `grid_width` (`fixed` when asked for; widened `widened` times past a million intervals), and
/// why it is wider than asked or needed, if it is.
///
/// Automatic: the smallest of 1, 2 and 5 times a power of ten (from 1 µs) that is a multiple
/// of the grid's width and gives at most [`MAX_AUTO_INTERVALS`] intervals: from 80 to 200 for
/// any capture longer than 200 µs. Asked for: that width, widened tenfold while it would give
/// more than [`MAX_INTERVALS`].
fn width_for(
    first: i64,
    last: i64,
    grid_width: i64,
    fixed: bool,
    widened: u32,
) -> (i64, Option<String>) {
    let count = |w: i64| last.div_euclid(w) - first.div_euclid(w) + 1;
    let bounded = (widened > 0).then(|| {
        format!(
            "the interval was widened {widened} time(s) tenfold: the one asked for gives \
             more than a million intervals with traffic"
        )
    });
    if fixed {
        let mut w = grid_width;
        let mut note = bounded;
        while count(w) > MAX_INTERVALS {
            w = w.saturating_mul(10);
            note = Some(format!(
                "the interval was widened to {} s: the one asked for gives more than \
                 {MAX_INTERVALS} intervals",
                Secs(i128::from(w))
            ));
        }
        return (w, note);
    }
    let mut decade = MIN_WIDTH;
    loop {
        for m in [1, 2, 5] {
            let w = decade.saturating_mul(m);
            if w >= grid_width && w % grid_width == 0 && count(w) <= MAX_AUTO_INTERVALS {
                return (w, bounded);
            }
        }
        if decade > i64::MAX / 10 {
            return (decade, bounded);
        }
        decade *= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn the_automatic_width_gives_80_to_200_intervals() {
        // 100 s: 500 ms gives 201 intervals at most, 1 s 101.
        let (w, note) = width_for(10 * S, 110 * S, MIN_WIDTH, false, 0);
        assert_eq!((w, note), (S, None));
        // Aligned to the epoch: 10.5 s to 110.4 s at 500 ms is 10.5 .. 110.0, 200 intervals.
        assert_eq!(
            width_for(10 * S + S / 2, 110 * S + S / 2 - 1, MIN_WIDTH, false, 0).0,
            S / 2
        );
        // Never below the pass's grid, and a multiple of it.
        assert_eq!(width_for(0, 10, 1_000_000, false, 0).0, 1_000_000);
        // One instant: the finest width.
        assert_eq!(width_for(5, 5, MIN_WIDTH, false, 0).0, MIN_WIDTH);
        // An hour: 20 s gives 181.
        assert_eq!(width_for(0, 3600 * S, MIN_WIDTH, false, 0).0, 20 * S);
    }

    #[test]
    fn a_width_asked_for_stays_unless_it_gives_too_many_intervals() {
        assert_eq!(width_for(0, 3600 * S, S, true, 0), (S, None));
        // 1 µs over an hour: 36 ms would give 100 000; 100 ms is the first tenfold that fits.
        let (w, note) = width_for(0, 3600 * S, 1_000, true, 0);
        assert_eq!(w, 100_000_000);
        assert!(note.unwrap().contains("more than 100000 intervals"));
        let (w, note) = width_for(0, 10 * S, 10 * S, true, 1);
        assert_eq!(w, 10 * S);
        assert!(note.unwrap().contains("widened 1 time(s)"));
    }
}
