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
/// Every record updates it, so its per-record part is kept in the cheapest form: the previous
/// record's time as a plain value (not an `Option`, whose tag was tested on every record), and
/// the link type of the latest run of records with its count in fields of their own (not the
/// last entry of a vector, reached through its pointer and length). The accessors give the
/// whole facts.
///
/// Times are held to one comparison a record: with the previous record's time. Only a time
/// earlier than that one (and the first time, which is earlier than the "none yet" mark) can
/// be a new earliest time or a step back, and takes the cold path; the latest time is the
/// larger of the previous record's and the highest before the latest step back.
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
    /// The time of the latest record that had one; `i64::MAX` while none.
    prev_ts: i64,
    /// The latest time before the latest step back; `i64::MIN` while none.
    peak_ts: i64,
    /// Where times went back, and the first time (see [`Backwards`]).
    back: Backwards,
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
            prev_ts: i64::MAX,
            peak_ts: i64::MIN,
            back: Backwards::default(),
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
            && self.back == o.back
            && self.linktypes() == o.linktypes()
    }
}

impl Eq for FileCounters {}

impl FileCounters {
    /// Accounts one record.
    #[inline]
    pub fn add(&mut self, r: &Record<'_>) {
        self.packets += 1;
        self.add_uncounted(r, 0);
    }

    /// [`add`](Self::add) but for the count of packets, for a loop that adds its count of
    /// records at once: counted with the byte sums, it was added with the wire bytes as a
    /// vector, in 6 instructions a record instead of 2. The record is the
    /// `packets + ahead`-th (from 1) of this part.
    #[inline(always)]
    pub(super) fn add_uncounted(&mut self, r: &Record<'_>, ahead: usize) {
        let cap = r.data.len() as u64;
        self.bytes += u64::from(r.wire_len);
        self.captured_bytes += cap;
        self.truncated_packets += u64::from(cap < u64::from(r.wire_len));
        if let Some(t) = r.ts_ns {
            // Times mostly grow: one comparison, and the rest in the cold path.
            if t < self.prev_ts {
                self.went_back(t, self.packets + ahead as u64);
            }
            self.prev_ts = t;
        }
        if r.linktype == self.run.0 {
            self.run.1 += 1;
        } else {
            self.new_run(r.linktype);
        }
    }

    /// The record `packet` has the time `t`, earlier than the previous record's: a step back,
    /// or this part's first time. Its file offset is not kept: the reader's offset, dead in
    /// the pass but for this, cost 2 instructions a record to keep.
    #[cold]
    #[inline(never)]
    fn went_back(&mut self, t: i64, packet: u64) {
        self.min_ts = self.min_ts.min(t);
        if self.prev_ts == i64::MAX {
            self.back.first = Some((t, packet));
        } else {
            self.peak_ts = self.peak_ts.max(self.prev_ts);
            self.back.add(self.prev_ts.saturating_sub(t), packet);
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
        (self.prev_ts != i64::MAX).then(|| self.peak_ts.max(self.prev_ts))
    }

    /// Records whose time is earlier than the previous timed record's, in file order:
    /// `None` when there are none.
    pub fn time_backwards(&self) -> Option<TimeBackwards> {
        (self.back.steps > 0).then_some(TimeBackwards {
            steps: self.back.steps,
            largest_ns: self.back.largest,
            first_packet: self.back.first_step,
        })
    }

    /// Packets per link type, in order of first appearance.
    pub fn linktypes(&self) -> Vec<(u16, u64)> {
        let mut all = self.earlier.clone();
        if self.run.1 > 0 {
            add_linktype(&mut all, self.run.0, self.run.1);
        }
        all
    }

    /// Adds the counters of a later part of the same input: its first timed record is
    /// compared with this part's last, as one pass would have.
    pub fn merge(&mut self, o: &FileCounters) {
        if let Some((t, packet)) = o.back.first {
            if self.prev_ts == i64::MAX {
                self.back.first = Some((t, packet + self.packets));
            } else {
                self.peak_ts = self.peak_ts.max(self.prev_ts);
                if t < self.prev_ts {
                    let step = self.prev_ts.saturating_sub(t);
                    self.back.add(step, packet + self.packets);
                }
            }
            self.back.merge_later(&o.back, self.packets);
            self.peak_ts = self.peak_ts.max(o.peak_ts);
            self.prev_ts = o.prev_ts;
        }
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.captured_bytes += o.captured_bytes;
        self.truncated_packets += o.truncated_packets;
        self.min_ts = self.min_ts.min(o.min_ts);
        self.end_run();
        for (lt, n) in o.linktypes() {
            add_linktype(&mut self.earlier, lt, n);
        }
    }
}

/// Records whose time went back: how many, by how much at most, and where first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBackwards {
    /// Records earlier than the previous timed record.
    pub steps: u64,
    /// The largest step back, in nanoseconds.
    pub largest_ns: i64,
    /// The first of them: its packet number (from 1, in file order, as tshark's
    /// `frame.number`).
    pub first_packet: u64,
}

/// The steps back of one part of an input, and its first timed record (time, packet
/// number), which a merge compares with the previous part's last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Backwards {
    steps: u64,
    largest: i64,
    /// Packet number of the first step.
    first_step: u64,
    first: Option<(i64, u64)>,
}

impl Backwards {
    fn add(&mut self, step: i64, packet: u64) {
        if self.steps == 0 {
            self.first_step = packet;
        }
        self.steps += 1;
        self.largest = self.largest.max(step);
    }

    /// Adds the steps of a later part whose packet numbers start after `before` packets.
    fn merge_later(&mut self, o: &Backwards, before: u64) {
        if o.steps > 0 && self.steps == 0 {
            self.first_step = o.first_step + before;
        }
        self.steps += o.steps;
        self.largest = self.largest.max(o.largest);
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
            .enumerate()
            .map(|(i, (linktype, ts_ns))| Record {
                ts_ns,
                wire_len: 80,
                linktype,
                data: &data,
                offset: 24 + 76 * i as u64,
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
        // 50 -> 20 (packet 2), 90 -> 70 (packet 5), 70 -> 30 (packet 6): 30, 20 and 40 ns.
        let back = whole.time_backwards().unwrap();
        assert_eq!((back.steps, back.largest_ns, back.first_packet), (3, 40, 2));
        for cut in 0..=records.len() {
            let mut merged = count(&records[..cut]);
            merged.merge(&count(&records[cut..]));
            assert_eq!(merged, whole, "cut at {cut}");
        }
        // Three parts, cut at every pair of points.
        for a in 0..=records.len() {
            for b in a..=records.len() {
                let mut merged = count(&records[..a]);
                merged.merge(&count(&records[a..b]));
                merged.merge(&count(&records[b..]));
                assert_eq!(merged, whole, "cuts at {a} and {b}");
                assert_eq!(merged.time_backwards(), whole.time_backwards());
            }
        }
        // Times that only grow (or stay) never went back; the latest is the last.
        let mut up = records.clone();
        up.sort_by_key(|r| r.ts_ns);
        let up = count(&up);
        assert_eq!(up.time_backwards(), None);
        assert_eq!((up.first_ts(), up.last_ts()), (Some(20), Some(90)));
        let empty = FileCounters::default();
        assert_eq!(empty.time_backwards(), None);
        assert_eq!((empty.first_ts(), empty.last_ts()), (None, None));
        assert!(empty.linktypes().is_empty());
    }
}
