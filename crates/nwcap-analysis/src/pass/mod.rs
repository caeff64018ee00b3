//! The per-packet pipeline (decode → flow table), the capinfos-like counters of each input
//! file, the split of one file's pass over threads, and the selection of flows by filter once
//! the pass is over. It consumes [`Record`]s; its only reads are through the [`ReadAt`] a
//! caller hands [`run_parallel`] (see `window`), and it never opens, writes or prints.

use std::collections::BTreeMap;

use crate::capture::pcap::Shape;
use crate::capture::{pcapng, shard, CaptureError, FileInfo, Reader, Record};
use crate::decode::{self, fast, Addr, Decoded, IpPacket, NonIp};
use crate::filter::{FilterSet, RangeSet, Side};
use crate::flow::addr_sums::AddrSums;
use crate::flow::{FlowList, FlowTable, Keyer, Pending};
use crate::source::window::{self, ReadAt, ReadError};

/// Records keyed by [`run`] before the flow table accounts them together (see
/// [`FlowTable::add_batch`]); at most [`crate::flow::MAX_BATCH`].
pub const BATCH: usize = 32;

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
    fn add(&mut self, wire: u32) {
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
    fn add_uncounted(&mut self, r: &Record<'_>) {
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

/// Flow accounting of every packet; filters are applied to whole flows afterwards
/// ([`Analyzer::select`]), because whether a packet matches depends on which address is local,
/// and that may only be known (inferred) at the end.
#[derive(Debug, Clone, Default)]
pub struct Analyzer {
    /// Flows of IP packets.
    pub flows: FlowTable,
    /// Fragment tracking for flow keys.
    keyer: Keyer,
    /// Packets without a usable IP header, per reason.
    pub non_ip: BTreeMap<&'static str, Counter>,
    /// For a shard that is not the first: non-first fragments whose first fragment may be in
    /// an earlier shard, kept to be keyed when the shards are merged in order.
    deferred: Option<Vec<Deferred>>,
}

/// A packet whose flow is decided at merge time.
#[derive(Debug, Clone, Copy)]
struct Deferred {
    packet: IpPacket,
    ts: Option<i64>,
    wire: u32,
    cap: u32,
}

impl Analyzer {
    /// An empty analyzer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An analyzer for a shard that follows others: see [`Analyzer::merge`].
    pub fn for_later_shard() -> Self {
        Analyzer {
            deferred: Some(Vec::new()),
            ..Self::default()
        }
    }

    /// Decodes and accounts one record.
    pub fn feed(&mut self, r: &Record<'_>) {
        let mut p = Pending::EMPTY;
        if self.key_into(fast::Decoder::new(), r, &mut p) {
            self.flows.add(&p);
        }
    }

    /// Decodes and keys a record into `slot`; `false` when it is counted as non-IP (or
    /// deferred: see [`Analyzer::for_later_shard`]) instead. The fast path builds the keyed
    /// packet in place: one copied in from elsewhere would be written in pieces and read back
    /// whole, which stalls store forwarding.
    #[inline(always)]
    fn key_into(&mut self, fast: fast::Decoder, r: &Record<'_>, slot: &mut Pending) -> bool {
        if let Some(t) = fast.tuple(r.linktype, r.data) {
            *slot = Pending::fast(&t, r.ts_ns, r.wire_len, r.data.len() as u32);
            return true;
        }
        match self.key(r.linktype, r.data, r.ts_ns, r.wire_len) {
            Some(p) => {
                *slot = p;
                true
            }
            None => false,
        }
    }

    /// Decodes a record the fast path did not take into a keyed packet, or counts it as
    /// non-IP. Takes the record's fields, not the record: a pointer to it, even on this rare
    /// path, would keep every record in memory rather than in registers.
    #[inline(never)]
    fn key(&mut self, linktype: u16, data: &[u8], ts: Option<i64>, wire: u32) -> Option<Pending> {
        match decode::decode(linktype, data) {
            Decoded::Ip(p) => {
                let cap = data.len() as u32;
                if let Some(d) = &mut self.deferred {
                    if !self.keyer.knows(&p) {
                        d.push(Deferred {
                            packet: p,
                            ts,
                            wire,
                            cap,
                        });
                        return None;
                    }
                }
                Some(Pending::new(&mut self.keyer, &p, ts, wire, cap))
            }
            Decoded::NonIp(reason) => {
                self.non_ip
                    .entry(non_ip_name(reason))
                    .or_default()
                    .add(wire);
                None
            }
        }
    }

    /// Adds an analyzer that saw the packets right after this one's, its flows on up to
    /// `threads` threads (see [`FlowTable::merge`]). Its deferred fragments are keyed first,
    /// against the fragments this one remembers, so the result equals one sequential pass.
    pub fn merge(&mut self, other: Analyzer, threads: usize) {
        for d in other.deferred.into_iter().flatten() {
            let p = Pending::new(&mut self.keyer, &d.packet, d.ts, d.wire, d.cap);
            self.flows.add(&p);
        }
        self.keyer.absorb(other.keyer);
        self.flows.merge(other.flows, threads);
        for (k, v) in other.non_ip {
            self.non_ip.entry(k).or_default().merge(&v);
        }
    }

    /// Decides which addresses are local and which flows pass the filters.
    pub fn select<'a>(&'a self, filters: &'a FilterSet) -> Selection<'a> {
        let mut flows = self.flows.list();
        let given = filters.local_addresses();
        let keeps_all = filters.keeps_all();
        let local = if !given.is_empty() {
            Some(LocalSet::Given(given))
        } else if keeps_all {
            // Left to the report, which sums the traffic of every address anyway.
            None
        } else {
            Some(LocalSet::Inferred(AddrSums::over(&flows).busiest()))
        };
        // Whenever something is filtered, the local side is decided above.
        if let (false, Some(local)) = (keeps_all, &local) {
            flows.retain(|k| {
                let [a, b] = k.endpoints();
                filters.matches_flow(k.proto, a, b, local.side(&a.0, &b.0))
            });
        }
        Selection {
            local,
            flows,
            non_ip: filters.matches_non_ip(),
        }
    }
}

/// Walks a reader to its end or its damage, counting and accounting every record; returns
/// the damage, if any. A reader over a window stops at the window's end (see
/// [`Reader::need`]); its last batch is then accounted before this returns, because the
/// records borrow from the window. The flow table is left for
/// [`crate::flow::FlowTable::settle`].
pub fn run(
    reader: &mut Reader<'_>,
    counters: &mut FileCounters,
    analyzer: &mut Analyzer,
) -> Option<CaptureError> {
    // One loop per format, so that each reader's record walk is inlined into it.
    match reader {
        Reader::Pcap(r) => {
            if !r.is_done() {
                // The common shapes as constants, each with a loop of its own.
                let shape = |big_endian, nanos| Shape {
                    big_endian,
                    nanos,
                    header_len: 16,
                };
                match r.shape() {
                    s if s == shape(false, false) => {
                        account_all(|| r.pull_shaped(shape(false, false)), counters, analyzer)
                    }
                    s if s == shape(false, true) => {
                        account_all(|| r.pull_shaped(shape(false, true)), counters, analyzer)
                    }
                    s if s == shape(true, false) => {
                        account_all(|| r.pull_shaped(shape(true, false)), counters, analyzer)
                    }
                    s if s == shape(true, true) => {
                        account_all(|| r.pull_shaped(shape(true, true)), counters, analyzer)
                    }
                    s => account_all(|| r.pull_shaped(s), counters, analyzer),
                }
            }
            r.take_error()
        }
        Reader::Pcapng(r) => {
            // A section header or an interface block may change the shape: the walk stops
            // there without being done, and goes on in the loop for the new one.
            while !r.is_done() {
                let shape = |big_endian, scale| pcapng::Shape { big_endian, scale };
                match r.shape() {
                    s if s == shape(false, 1000) => {
                        account_all(|| r.pull_shaped(shape(false, 1000)), counters, analyzer)
                    }
                    s if s == shape(false, 1) => {
                        account_all(|| r.pull_shaped(shape(false, 1)), counters, analyzer)
                    }
                    s if s == shape(true, 1000) => {
                        account_all(|| r.pull_shaped(shape(true, 1000)), counters, analyzer)
                    }
                    s if s == shape(true, 1) => {
                        account_all(|| r.pull_shaped(shape(true, 1)), counters, analyzer)
                    }
                    s => account_all(|| r.pull_general(s), counters, analyzer),
                }
            }
            r.take_error()
        }
    }
}

/// Accounts every record `next` gives; the reader keeps the damage that ends them.
#[inline(always)]
fn account_all<'a>(
    mut next: impl FnMut() -> Option<Record<'a>>,
    counters: &mut FileCounters,
    analyzer: &mut Analyzer,
) {
    // Records are keyed as they are read, without being collected first; only the flow
    // table works a batch at a time.
    let mut pending = [Pending::EMPTY; BATCH];
    let mut hashes = [0u64; BATCH];
    let fast = fast::Decoder::new();
    loop {
        let (mut taken, mut n) = (0, 0);
        while taken < BATCH {
            // Borrowed where it was returned: moving it would copy it in 16-byte pieces from
            // the narrower stores that built it, a store-forwarding stall per record.
            let rec = next();
            let Some(r) = &rec else {
                break;
            };
            taken += 1;
            counters.add_uncounted(r);
            if analyzer.key_into(fast, r, &mut pending[n]) {
                // The slot loads while the rest of the batch is decoded.
                hashes[n] = analyzer.flows.prefetch_slot(&pending[n].key);
                n += 1;
            }
        }
        counters.packets += taken as u64;
        analyzer.flows.add_hashed(&pending[..n], &hashes[..n]);
        if taken < BATCH {
            return;
        }
    }
}

/// What stopped a pass before the end of a file.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// The capture is damaged or cut short.
    #[error(transparent)]
    Damage(#[from] CaptureError),
    /// The file could not be read (an I/O error, or it shrank while being read). Reported like
    /// damage: the report covers what was read before the failed offset.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// What a whole-file pass found besides the counters.
#[derive(Debug)]
pub struct Pass {
    /// The damage or read error that stopped the pass, if any.
    pub error: Option<PassError>,
    /// Header facts.
    pub info: FileInfo,
    /// Shards the file was read in (1 = one sequential pass).
    pub shards: usize,
}

/// How a pass reads a file that is on disk: window by window, each copied in by positioned
/// reads or, where records are small, walked in the file's map (see [`window::walk`] for
/// why), rather than the whole map at once.
#[derive(Clone, Copy)]
pub struct Windowed<'a> {
    /// The file.
    pub src: &'a (dyn ReadAt + Sync),
    /// The same file, memory-mapped, if it is.
    pub map: Option<&'a memmap2::Mmap>,
    /// Bytes per window: [`crate::source::window::WINDOW`]; tests make it tiny.
    pub window: usize,
}

/// [`run`] over one reader to its end: in place, or window by window from `windowed`.
fn walk<'a>(
    mut reader: Reader<'a>,
    windowed: Option<Windowed<'_>>,
    counters: &mut FileCounters,
    analyzer: &mut Analyzer,
) -> (Reader<'a>, Option<PassError>) {
    let Some(w) = windowed else {
        let damage = run(&mut reader, counters, analyzer);
        analyzer.flows.settle();
        return (reader, damage.map(PassError::Damage));
    };
    let mut damage = None;
    let (reader, read) = window::walk(reader, w.src, w.map, w.window, |r| {
        let before = counters.packets;
        // Only the last window can end in damage: the walk stops there.
        damage = run(r, counters, analyzer);
        counters.packets - before
    });
    analyzer.flows.settle();
    let error = damage.map(PassError::Damage).or(read.map(PassError::Read));
    (reader, error)
}

/// Like [`run`], on `threads` shards of one capture in parallel; the result is identical to
/// a single pass. `reader` and `data` are the whole file in memory; with `windowed`, only
/// shard boundaries are looked for in `data` and every shard reads its records through its own
/// window. Falls back to one pass when the file cannot be split or a shard boundary turns out
/// wrong.
pub fn run_parallel<'a>(
    mut reader: Reader<'a>,
    data: &'a [u8],
    windowed: Option<Windowed<'_>>,
    threads: usize,
    counters: &mut FileCounters,
    analyzer: &mut Analyzer,
) -> Pass {
    let sequential = |reader: Reader<'a>, counters: &mut FileCounters, analyzer: &mut Analyzer| {
        let (reader, error) = walk(reader, windowed, counters, analyzer);
        Pass {
            error,
            info: reader.info(),
            shards: 1,
        }
    };
    // A file on disk is sampled by reads, like its pass (see `shard::split`).
    let peek = windowed
        .map(|w| move |at: usize, buf: &mut [u8]| w.src.read_at(buf, at as u64).unwrap_or(0));
    let peek = peek.as_ref().map(|p| p as shard::Peek<'_>);
    let Some(shards) = shard::split(&reader, data, threads, peek, window::MAP_BELOW) else {
        return sequential(reader, counters, analyzer);
    };
    let starts: Vec<usize> = shards.iter().map(Reader::position).collect();
    type Done<'r> = (Reader<'r>, FileCounters, Analyzer, Option<PassError>);
    let results: Vec<Done<'a>> = std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                s.spawn(move || {
                    let mut c = FileCounters::default();
                    let mut a = if i == 0 {
                        Analyzer::new()
                    } else {
                        Analyzer::for_later_shard()
                    };
                    let (r, e) = walk(r, windowed, &mut c, &mut a);
                    (r, c, a, e)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let n = results.len();
    let errors_only_at_end = results.iter().take(n - 1).all(|(.., e)| e.is_none());
    let (shards, results): (Vec<_>, Vec<_>) = results
        .into_iter()
        .map(|(r, c, a, e)| (r, (c, a, e)))
        .unzip();
    if !errors_only_at_end || !shard::verify(&shards, &starts) {
        return sequential(reader, counters, analyzer);
    }
    let mut error = None;
    for (c, a, e) in results {
        counters.merge(&c);
        analyzer.merge(a, threads);
        error = e;
    }
    let mut info = shard::head_info(&mut reader);
    for r in &shards {
        let i = r.info();
        info.interfaces = info.interfaces.max(i.interfaces);
        info.snaplen = info.snaplen.max(i.snaplen);
        info.skipped_blocks += i.skipped_blocks;
    }
    Pass {
        error,
        info,
        shards: n,
    }
}

/// The outcome of filtering: the local addresses and the flows that passed.
#[derive(Debug)]
pub struct Selection<'a> {
    /// Which addresses are local. `None` when no filter needed to know and none was given:
    /// every flow is then selected, and the report makes the guess (see
    /// [`LocalSet::Inferred`]) from the per-address sums it adds up for the top talkers.
    pub local: Option<LocalSet<'a>>,
    /// Flows that passed the filters.
    pub flows: FlowList<'a>,
    /// Whether packets without IP passed (only when nothing is filtered).
    pub non_ip: bool,
}

/// The addresses taken as the capturing VM's.
#[derive(Debug, Clone)]
pub enum LocalSet<'a> {
    /// Named by the filters' `localIPAddress`.
    Given(Vec<&'a RangeSet<Addr>>),
    /// The address present in the most packets of all flows (none when there is no IP
    /// traffic): [`AddrSums::busiest`].
    Inferred(Option<Addr>),
}

impl<'a> LocalSet<'a> {
    /// Whether `a` is local.
    pub fn contains(&self, a: &Addr) -> bool {
        match self {
            LocalSet::Given(sets) => sets.iter().any(|s| s.contains(*a)),
            LocalSet::Inferred(x) => x.as_ref() == Some(a),
        }
    }

    /// Which of two endpoints is local, when exactly one is.
    pub fn side(&self, a: &Addr, b: &Addr) -> Side {
        match (self.contains(a), self.contains(b)) {
            (true, false) => Side::A,
            (false, true) => Side::B,
            _ => Side::Either,
        }
    }

    /// `true` when guessed rather than given.
    pub fn inferred(&self) -> bool {
        matches!(self, LocalSet::Inferred(_))
    }

    /// The addresses as text (`a-b` for ranges).
    pub fn names(&self) -> Vec<String> {
        match self {
            LocalSet::Given(sets) => sets
                .iter()
                .flat_map(|s| s.0.iter())
                .map(|(lo, hi)| {
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo}-{hi}")
                    }
                })
                .collect(),
            LocalSet::Inferred(x) => x.iter().map(Addr::to_string).collect(),
        }
    }
}

fn non_ip_name(r: NonIp) -> &'static str {
    match r {
        NonIp::UnsupportedLinkType => "unsupported link type",
        NonIp::TruncatedLink => "link header cut short",
        NonIp::OtherProtocol => "not IP",
        NonIp::BadIp => "IP header cut short or invalid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::proto;
    use crate::flow::{FlowKey, Ts};

    /// `n` packets of a UDP flow between `a` and `b`.
    fn flow(analyzer: &mut Analyzer, a: [u8; 4], b: [u8; 4], n: usize) {
        let key = FlowKey {
            proto: proto::UDP,
            ports_known: true,
            lo: (Addr::v4(a), 53),
            hi: (Addr::v4(b), 53),
            icmp_id: None,
        };
        for i in 0..n {
            analyzer.flows.add(&Pending {
                key: key.pack(),
                dir: (i % 2) as u8,
                tcp_flags: None,
                ts: Ts::new(Some(i as i64)),
                wire: 100,
                cap: 100,
            });
        }
    }

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

    #[test]
    fn the_local_guess_counts_a_flow_with_itself_once() {
        // 10.0.0.1 talks to itself in 10 packets; 10.0.0.2 takes part in 12. Counted twice,
        // the self-flow would win.
        let mut analyzer = Analyzer::new();
        flow(&mut analyzer, [10, 0, 0, 1], [10, 0, 0, 1], 10);
        flow(&mut analyzer, [10, 0, 0, 2], [10, 0, 0, 3], 8);
        flow(&mut analyzer, [10, 0, 0, 2], [10, 0, 0, 4], 4);
        let busiest = |a: &Analyzer| {
            AddrSums::over(&a.flows.list())
                .busiest()
                .map(|x| x.to_string())
        };
        assert_eq!(busiest(&analyzer).as_deref(), Some("10.0.0.2"));
        // Three packets more, and it wins 13 to 12.
        flow(&mut analyzer, [10, 0, 0, 1], [10, 0, 0, 1], 3);
        assert_eq!(busiest(&analyzer).as_deref(), Some("10.0.0.1"));
    }
}
