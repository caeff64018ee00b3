//! The capinfos-like counters of one input file ([`FileCounters`]) and the packet/byte pair
//! ([`Counter`]) the pass keeps per non-IP reason. They only count; they never decode.

use crate::capture::Record;

/// Packets and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    /// Packets.
    pub packets: u64,
    /// Wire bytes.
    pub bytes: u64,
}

impl Counter {
    #[inline]
    pub(super) fn add(&mut self, wire: u32) {
        self.packets += 1;
        self.bytes += u64::from(wire);
    }

    /// Adds another counter.
    pub fn merge(&mut self, o: &Counter) {
        self.packets += o.packets;
        self.bytes += o.bytes;
    }
}

/// capinfos-like facts about one input, accumulated record by record.
///
/// Every record updates it, so its per-record part is kept in the cheapest form: the times as
/// plain extremes (not `Option`s, whose tags were tested on every record), and the link type
/// of the latest run of records with its count in fields of their own (not the last entry of
/// a vector, reached through its pointer and length). The accessors give the whole facts.
#[derive(Debug, Clone)]
pub struct FileCounters {
    /// Packets read.
    pub packets: u64,
    /// Sum of wire lengths.
    pub bytes: u64,
    /// Sum of captured lengths.
    pub captured_bytes: u64,
    /// Packets whose captured length is below the wire length.
    pub truncated_packets: u64,
    /// Earliest timestamp; `i64::MAX` while none (no capture's time reaches it: see
    /// `capture::pcapng`'s clamp).
    min_ts: i64,
    /// Latest timestamp; `i64::MIN` while none.
    max_ts: i64,
    /// The link type of the latest records, and how many of them `earlier` does not count.
    run: (u16, u64),
    /// Packets per link type, in order of first appearance, but for `run`.
    earlier: Vec<(u16, u64)>,
}

impl Default for FileCounters {
    fn default() -> Self {
        FileCounters {
            packets: 0,
            bytes: 0,
            captured_bytes: 0,
            truncated_packets: 0,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            run: (0, 0),
            earlier: Vec::new(),
        }
    }
}

impl PartialEq for FileCounters {
    /// Equal facts, however the link types' runs fell.
    fn eq(&self, o: &Self) -> bool {
        (
            self.packets,
            self.bytes,
            self.captured_bytes,
            self.truncated_packets,
        ) == (o.packets, o.bytes, o.captured_bytes, o.truncated_packets)
            && (self.first_ts(), self.last_ts()) == (o.first_ts(), o.last_ts())
            && self.linktypes() == o.linktypes()
    }
}

impl Eq for FileCounters {}

impl FileCounters {
    /// Accounts one record.
    #[inline]
    pub fn add(&mut self, r: &Record<'_>) {
        self.packets += 1;
        self.add_uncounted(r);
    }

    /// [`add`](Self::add) but for the count of packets, for a loop that adds its count of
    /// records at once: counted with the byte sums, it was added with the wire bytes as a
    /// vector, in 6 instructions a record instead of 2.
    #[inline(always)]
    pub(super) fn add_uncounted(&mut self, r: &Record<'_>) {
        let cap = r.data.len() as u64;
        self.bytes += u64::from(r.wire_len);
        self.captured_bytes += cap;
        self.truncated_packets += u64::from(cap < u64::from(r.wire_len));
        if let Some(t) = r.ts_ns {
            // Stores only on change: times mostly grow, so `min_ts` is written once.
            if t < self.min_ts {
                self.min_ts = t;
            }
            if t > self.max_ts {
                self.max_ts = t;
            }
        }
        if r.linktype == self.run.0 {
            self.run.1 += 1;
        } else {
            self.new_run(r.linktype);
        }
    }

    /// Starts a run of records of link type `lt`.
    #[cold]
    fn new_run(&mut self, lt: u16) {
        self.end_run();
        self.run = (lt, 1);
    }

    /// Moves the latest run's count into `earlier`.
    fn end_run(&mut self) {
        let (lt, n) = (self.run.0, std::mem::take(&mut self.run.1));
        if n > 0 {
            add_linktype(&mut self.earlier, lt, n);
        }
    }

    /// Earliest timestamp.
    pub fn first_ts(&self) -> Option<i64> {
        (self.min_ts != i64::MAX).then_some(self.min_ts)
    }

    /// Latest timestamp.
    pub fn last_ts(&self) -> Option<i64> {
        (self.max_ts != i64::MIN).then_some(self.max_ts)
    }

    /// Packets per link type, in order of first appearance.
    pub fn linktypes(&self) -> Vec<(u16, u64)> {
        let mut all = self.earlier.clone();
        if self.run.1 > 0 {
            add_linktype(&mut all, self.run.0, self.run.1);
        }
        all
    }

    /// Adds the counters of a later part of the same input.
    pub fn merge(&mut self, o: &FileCounters) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.captured_bytes += o.captured_bytes;
        self.truncated_packets += o.truncated_packets;
        self.min_ts = self.min_ts.min(o.min_ts);
        self.max_ts = self.max_ts.max(o.max_ts);
        self.end_run();
        for (lt, n) in o.linktypes() {
            add_linktype(&mut self.earlier, lt, n);
        }
    }
}

/// Adds `n` packets of link type `lt` to `counts`.
fn add_linktype(counts: &mut Vec<(u16, u64)>, lt: u16, n: u64) {
    // Almost always one link type: a linear scan beats any map here.
    match counts.iter_mut().find(|(l, _)| *l == lt) {
        Some((_, c)) => *c += n,
        None => counts.push((lt, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Link types in runs (1, 1, 101, 1, 228, 101), times out of order and a record without
    /// one: the counters of the records one by one, and of every split into two parts merged,
    /// give the facts counted by hand.
    #[test]
    fn file_counters_count_link_types_and_times_in_any_split() {
        let data = [0u8; 60];
        let records: Vec<Record<'_>> = [(1, Some(50)), (1, Some(20)), (101, None), (1, Some(90))]
            .into_iter()
            .chain([(228, Some(70)), (101, Some(30))])
            .map(|(linktype, ts_ns)| Record {
                ts_ns,
                wire_len: 80,
                linktype,
                data: &data,
                offset: 0,
            })
            .collect();
        let count = |rs: &[Record<'_>]| {
            let mut c = FileCounters::default();
            for r in rs {
                c.add(r);
            }
            c
        };
        let whole = count(&records);
        assert_eq!(whole.linktypes(), vec![(1, 3), (101, 2), (228, 1)]);
        assert_eq!((whole.first_ts(), whole.last_ts()), (Some(20), Some(90)));
        assert_eq!((whole.packets, whole.truncated_packets), (6, 6));
        assert_eq!((whole.bytes, whole.captured_bytes), (480, 360));
        for cut in 0..=records.len() {
            let mut merged = count(&records[..cut]);
            merged.merge(&count(&records[cut..]));
            assert_eq!(merged, whole, "cut at {cut}");
        }
        let empty = FileCounters::default();
        assert_eq!((empty.first_ts(), empty.last_ts()), (None, None));
        assert!(empty.linktypes().is_empty());
    }
}
