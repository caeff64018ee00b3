//! The report's traffic over time: packets and bytes of the selected flows per interval, in
//! total and per direction (local → remote, remote → local), and the flows that began in each.
//! It owns the choice of the interval and the sums; the pass's records and grid are
//! `flow::timeline`'s, and the writers render what this builds.

use serde::Serialize;

use super::build::orient;
use super::model::Count;
use super::time::{Secs, Timestamp};
use crate::flow::timeline::MIN_WIDTH;
use crate::flow::FlowList;
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
    /// From local to remote.
    pub out: Count,
    /// From remote to local.
    #[serde(rename = "in")]
    pub inbound: Count,
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
    /// Set when the interval is wider than asked for (or than the capture's length calls
    /// for): why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widened: Option<String>,
}

/// The traffic of `flows` over time, their local side decided by `local`.
pub(super) fn timeline(flows: &FlowList<'_>, local: &LocalSet<'_>) -> Timeline {
    let records = flows.timeline();
    let grid = records.grid;
    // The span of the selected flows' timestamps.
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for i in 0..flows.len() {
        let s = flows.stats(i);
        if let (Some(f), Some(l)) = (s.first_ts(), s.last_ts()) {
            first = first.min(f);
            last = last.max(l);
        }
    }
    if first > last {
        return Timeline {
            interval_s: Secs(i128::from(grid.width)),
            ..Timeline::default()
        };
    }
    let (width, widened) = width_for(first, last, grid.width, grid.fixed, records.widened);
    let base = first.div_euclid(width);
    let n = (last.div_euclid(width) - base + 1) as usize;
    let mut out: Vec<Interval> = (0..n)
        .map(|i| Interval {
            start: Timestamp((base + i as i64).saturating_mul(width)),
            ..Interval::default()
        })
        .collect();
    let at = |t: i64| (t.div_euclid(width) - base).clamp(0, n as i64 - 1) as usize;
    // Which direction is outbound for each flow of the table that has records: 1 + the
    // index of the local side, 0 for a flow not selected.
    let mut side = if records.records.is_empty() {
        Vec::new()
    } else {
        vec![0u8; flows.table_len()]
    };
    for i in 0..flows.len() {
        flows.prefetch(i + 8);
        let (k, s) = (flows.key(i), flows.stats(i));
        let local = orient(&k, s, local).0;
        if let Some(f) = s.first_ts() {
            out[at(f)].new_flows += 1;
        }
        if s.in_records() {
            side[flows.position(i)] = 1 + local as u8;
        } else if let Some(l) = s.last_ts() {
            add(&mut out[at(l)], local, s.packets, s.bytes);
        }
    }
    for r in &records.records {
        let Some(&o) = side.get(r.flow as usize) else {
            continue;
        };
        if o == 0 || r.ts == i64::MIN {
            continue;
        }
        let packets = r.packets.map(u64::from);
        let bytes = r.bytes.map(u64::from);
        add(&mut out[at(r.ts)], usize::from(o - 1), packets, bytes);
    }
    Timeline {
        interval_s: Secs(i128::from(width)),
        intervals: out,
        widened,
    }
}

/// Adds a flow's `packets` and `bytes` per direction (`lo → hi`, `hi → lo`) to `iv`, the
/// side at index `local` being local.
fn add(iv: &mut Interval, local: usize, packets: [u64; 2], bytes: [u64; 2]) {
    iv.out.packets += packets[local];
    iv.out.bytes += bytes[local];
    iv.inbound.packets += packets[1 - local];
    iv.inbound.bytes += bytes[1 - local];
    iv.packets += packets[0] + packets[1];
    iv.bytes += bytes[0] + bytes[1];
}

/// The interval width for timestamps from `first` to `last`, on the pass's grid of
/// `grid_width` (`fixed` when asked for; widened `widened` times to bound its records), and
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
    let bounded = if widened > 0 {
        Some(format!(
            "the interval was widened {widened} time(s) tenfold to bound the memory its \
             counts take: too many flows active in too many intervals"
        ))
    } else {
        None
    };
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
