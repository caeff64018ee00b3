//! The per-packet pipeline (decode → flow table), the capinfos-like counters of each input
//! file, and the selection of flows by filter once the pass is over. Pure: it consumes
//! [`Record`]s and never does I/O.

use std::collections::{BTreeMap, HashMap};

use crate::capture::{shard, CaptureError, FileInfo, Reader, Record};
use crate::decode::{self, Addr, Decoded, IpPacket, NonIp};
use crate::filter::{FilterSet, RangeSet, Side};
use crate::flow::{FlowKey, FlowStats, FlowTable, Keyer, Pending};

/// Records accounted together by [`Analyzer::feed_batch`].
pub const BATCH: usize = 32;

const EMPTY: Pending = Pending {
    key: FlowKey {
        proto: 0,
        ports_known: false,
        lo: (
            Addr {
                v6: false,
                bytes: [0; 16],
            },
            0,
        ),
        hi: (
            Addr {
                v6: false,
                bytes: [0; 16],
            },
            0,
        ),
        icmp_id: None,
    },
    dir: 0,
    tcp_flags: None,
    ts: None,
    wire: 0,
    cap: 0,
};

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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCounters {
    /// Packets read.
    pub packets: u64,
    /// Sum of wire lengths.
    pub bytes: u64,
    /// Sum of captured lengths.
    pub captured_bytes: u64,
    /// Packets whose captured length is below the wire length.
    pub truncated_packets: u64,
    /// Earliest timestamp.
    pub first_ts: Option<i64>,
    /// Latest timestamp.
    pub last_ts: Option<i64>,
    /// Packets per link type, in order of first appearance.
    pub linktypes: Vec<(u16, u64)>,
}

impl FileCounters {
    /// Accounts one record.
    #[inline]
    pub fn add(&mut self, r: &Record<'_>) {
        let cap = r.data.len() as u64;
        self.packets += 1;
        self.bytes += u64::from(r.wire_len);
        self.captured_bytes += cap;
        self.truncated_packets += u64::from(cap < u64::from(r.wire_len));
        if let Some(t) = r.ts_ns {
            self.first_ts = Some(self.first_ts.map_or(t, |f| f.min(t)));
            self.last_ts = Some(self.last_ts.map_or(t, |l| l.max(t)));
        }
        self.add_linktype(r.linktype, 1);
    }

    #[inline]
    fn add_linktype(&mut self, lt: u16, n: u64) {
        // Almost always one link type: a linear scan beats any map here.
        match self.linktypes.iter_mut().find(|(l, _)| *l == lt) {
            Some((_, c)) => *c += n,
            None => self.linktypes.push((lt, n)),
        }
    }

    /// Adds the counters of a later part of the same input.
    pub fn merge(&mut self, o: &FileCounters) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.captured_bytes += o.captured_bytes;
        self.truncated_packets += o.truncated_packets;
        for t in [o.first_ts, o.last_ts].into_iter().flatten() {
            self.first_ts = Some(self.first_ts.map_or(t, |f| f.min(t)));
            self.last_ts = Some(self.last_ts.map_or(t, |l| l.max(t)));
        }
        for &(lt, n) in &o.linktypes {
            self.add_linktype(lt, n);
        }
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
        if let Some(p) = self.key(r) {
            self.flows.add(&p);
        }
    }

    /// Decodes and accounts records in order; faster than one by one (see
    /// [`FlowTable::add_batch`]).
    pub fn feed_batch(&mut self, recs: &[Record<'_>]) {
        let mut pending = [EMPTY; BATCH];
        for chunk in recs.chunks(BATCH) {
            let mut n = 0;
            for r in chunk {
                if let Some(p) = self.key(r) {
                    pending[n] = p;
                    n += 1;
                }
            }
            self.flows.add_batch(&pending[..n]);
        }
    }

    /// Decodes a record into a keyed packet, or counts it as non-IP.
    #[inline]
    fn key(&mut self, r: &Record<'_>) -> Option<Pending> {
        match decode::decode(r.linktype, r.data) {
            Decoded::Ip(p) => {
                let (ts, wire, cap) = (r.ts_ns, r.wire_len, r.data.len() as u32);
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
                    .add(r.wire_len);
                None
            }
        }
    }

    /// Adds an analyzer that saw the packets right after this one's. Its deferred fragments
    /// are keyed first, against the fragments this one remembers, so the result equals one
    /// sequential pass.
    pub fn merge(&mut self, other: Analyzer) {
        for d in other.deferred.into_iter().flatten() {
            let p = Pending::new(&mut self.keyer, &d.packet, d.ts, d.wire, d.cap);
            self.flows.add(&p);
        }
        self.keyer.absorb(other.keyer);
        self.flows.merge(other.flows);
        for (k, v) in other.non_ip {
            self.non_ip.entry(k).or_default().merge(&v);
        }
    }

    /// Decides which addresses are local and which flows pass the filters.
    pub fn select<'a>(&'a self, filters: &'a FilterSet) -> Selection<'a> {
        let local = LocalSet::decide(self, filters);
        let mut flows = Vec::with_capacity(self.flows.len());
        if filters.keeps_all() {
            // Nothing to orient or match: most runs have no filter at all.
            flows.extend(self.flows.iter());
        } else {
            flows.extend(self.flows.iter().filter(|(k, _)| {
                let [a, b] = k.endpoints();
                filters.matches_flow(k.proto, a, b, local.side(&a.0, &b.0))
            }));
        }
        Selection {
            local,
            flows,
            non_ip: filters.matches_non_ip(),
        }
    }
}

/// Walks a reader to its end or its damage, counting and accounting every record; returns
/// the damage, if any.
pub fn run(
    reader: &mut Reader<'_>,
    counters: &mut FileCounters,
    analyzer: &mut Analyzer,
) -> Option<CaptureError> {
    let mut recs: Vec<Record<'_>> = Vec::with_capacity(BATCH);
    let mut damage = None;
    loop {
        recs.clear();
        while recs.len() < BATCH {
            match reader.next_record() {
                Some(Ok(r)) => {
                    counters.add(&r);
                    recs.push(r);
                }
                Some(Err(e)) => {
                    damage = Some(e);
                    break;
                }
                None => break,
            }
        }
        analyzer.feed_batch(&recs);
        if recs.len() < BATCH {
            return damage;
        }
    }
}

/// What a whole-file pass found besides the counters.
#[derive(Debug)]
pub struct Pass {
    /// The damage that stopped the reader, if any.
    pub damage: Option<CaptureError>,
    /// Header facts.
    pub info: FileInfo,
    /// Shards the file was read in (1 = one sequential pass).
    pub shards: usize,
}

/// Like [`run`], on `threads` shards of one capture in parallel; the result is identical to
/// a single pass. Falls back to one pass when the file cannot be split or a shard boundary
/// turns out wrong.
pub fn run_parallel<'a>(
    mut reader: Reader<'a>,
    data: &'a [u8],
    threads: usize,
    counters: &mut FileCounters,
    analyzer: &mut Analyzer,
) -> Pass {
    let sequential =
        |mut reader: Reader<'a>, counters: &mut FileCounters, analyzer: &mut Analyzer| {
            let damage = run(&mut reader, counters, analyzer);
            Pass {
                damage,
                info: reader.info(),
                shards: 1,
            }
        };
    let Some(mut shards) = shard::split(&reader, data, threads) else {
        return sequential(reader, counters, analyzer);
    };
    let starts: Vec<usize> = shards.iter().map(Reader::position).collect();
    let results: Vec<(FileCounters, Analyzer, Option<CaptureError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter_mut()
            .enumerate()
            .map(|(i, r)| {
                s.spawn(move || {
                    let mut c = FileCounters::default();
                    let mut a = if i == 0 {
                        Analyzer::new()
                    } else {
                        Analyzer::for_later_shard()
                    };
                    let e = run(r, &mut c, &mut a);
                    (c, a, e)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let n = results.len();
    let errors_only_at_end = results.iter().take(n - 1).all(|(_, _, e)| e.is_none());
    if !errors_only_at_end || !shard::verify(&shards, &starts) {
        return sequential(reader, counters, analyzer);
    }
    let mut damage = None;
    for (c, a, e) in results {
        counters.merge(&c);
        analyzer.merge(a);
        damage = e;
    }
    let mut info = shard::head_info(&mut reader);
    for r in &shards {
        let i = r.info();
        info.interfaces = info.interfaces.max(i.interfaces);
        info.snaplen = info.snaplen.max(i.snaplen);
        info.skipped_blocks += i.skipped_blocks;
    }
    Pass {
        damage,
        info,
        shards: n,
    }
}

/// The outcome of filtering: the local addresses and the flows that passed.
#[derive(Debug)]
pub struct Selection<'a> {
    /// Which addresses are local.
    pub local: LocalSet<'a>,
    /// Flows that passed the filters.
    pub flows: Vec<(FlowKey, &'a FlowStats)>,
    /// Whether packets without IP passed (only when nothing is filtered).
    pub non_ip: bool,
}

/// The addresses taken as the capturing VM's.
#[derive(Debug)]
pub enum LocalSet<'a> {
    /// Named by the filters' `localIPAddress`.
    Given(Vec<&'a RangeSet<Addr>>),
    /// The address present in the most packets (none when there is no IP traffic).
    Inferred(Option<Addr>),
}

impl<'a> LocalSet<'a> {
    fn decide(analyzer: &Analyzer, filters: &'a FilterSet) -> Self {
        let given = filters.local_addresses();
        if !given.is_empty() {
            return LocalSet::Given(given);
        }
        // The fast fixed hasher, not SipHash: two lookups per flow made this map most of the
        // selection's cost, and the result does not depend on hash order (see the ties below).
        let mut seen: HashMap<Addr, u64, foldhash::fast::FixedState> =
            HashMap::with_capacity_and_hasher(analyzer.flows.len(), Default::default());
        for (k, s) in analyzer.flows.iter() {
            *seen.entry(k.lo.0).or_insert(0) += s.total_packets();
            if k.hi.0 != k.lo.0 {
                *seen.entry(k.hi.0).or_insert(0) += s.total_packets();
            }
        }
        // Ties go to the lower address so that the choice does not depend on hash order.
        let best = seen
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(a, _)| a);
        LocalSet::Inferred(best)
    }

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
