//! The [`Analyzer`]: decodes each record and accounts it in the flow table, counts what is not
//! IP, and merges the analyzers of a file's shards in order. It never reads (records come
//! from the caller) and never filters (see `select`).

use std::collections::BTreeMap;

use super::counters::Counter;
use crate::capture::Record;
use crate::decode::{self, fast, Decoded, IpPacket, NonIp};
use crate::flow::timeline::Classes;
use crate::flow::{FlowTable, IcmpFacts, Keyer, Pending};
use crate::inspect::{screen, Inspector};

/// Flow accounting of every packet; filters are applied to whole flows afterwards
/// ([`Analyzer::select`]), because whether a packet matches depends on which address is local,
/// and that may only be known (inferred) at the end.
#[derive(Debug, Clone, Default)]
pub struct Analyzer {
    /// Flows of IP packets.
    pub flows: FlowTable,
    /// What the flows' first payloads say.
    pub inspector: Inspector,
    /// Whether payloads are inspected at all.
    inspect: bool,
    /// Fragment tracking for flow keys.
    keyer: Keyer,
    /// Packets without a usable IP header, per reason.
    pub non_ip: BTreeMap<&'static str, Counter>,
    /// For a shard that is not the first: non-first fragments whose first fragment may be in
    /// an earlier shard, kept to be keyed when the shards are merged in order.
    deferred: Option<Vec<Deferred>>,
    /// ICMP types and the errors tied to the flows they quote.
    pub icmp: IcmpFacts,
}

/// Records [`Analyzer::seed_timeline`] reads at most.
const SEED_RECORDS: usize = 4096;

/// [`Analyzer::key_into`]'s answer: the record was keyed into its slot.
pub(super) const KEYED: u8 = 1;
/// [`Analyzer::key_into`]'s answer: the record's payload is for the inspector.
pub(super) const SCREENED: u8 = 2;

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

    /// With `on`, the first payloads of each flow are inspected (`inspect`): what the flow
    /// is and the names it shows. Off by default, which leaves the per-packet loop as it was
    /// without inspection.
    pub fn inspecting_payloads(mut self, on: bool) -> Self {
        self.inspect = on;
        self
    }

    /// Whether payloads are inspected.
    pub fn inspecting(&self) -> bool {
        self.inspect
    }

    /// With `on`, TCP sequence analysis runs on every segment (`flow::health`):
    /// retransmissions, out-of-order segments, duplicate ACKs, zero windows, keep-alives.
    /// Off by default, which leaves the per-packet loop as it was without it.
    pub fn with_health(mut self, on: bool) -> Self {
        self.flows.analyse_sequences(on);
        self
    }

    /// Sums traffic over time in intervals of `width` ns (`None`: intervals that widen with
    /// the capture), the flows classed by `classes` (see [`crate::flow::timeline`]).
    pub fn with_timeline(mut self, width: Option<i64>, classes: Classes) -> Self {
        self.flows.count_over_time(width, classes);
        self
    }

    /// The timeline's width asked for and classes, for an analyzer of later packets.
    pub fn timeline_settings(&self) -> (Option<i64>, Classes) {
        (self.flows.fixed_width(), self.flows.classes().clone())
    }

    /// Reads the first of `records` as one pass would, so that analyzers of later shards,
    /// given these [`Analyzer::timeline_settings`] and [`Analyzer::timeline_since`], agree with
    /// it: the first flows' addresses become the timeline's candidates while there is room,
    /// and the first packet's time counts as seen.
    pub fn seed_timeline<'r>(&mut self, records: impl Iterator<Item = Record<'r>>) {
        let seeing = self.flows.classes().seeing();
        let (width, classes) = self.timeline_settings();
        let mut probe = Analyzer::new().with_timeline(width, classes);
        for r in records.take(SEED_RECORDS) {
            probe.feed(&r);
            if !probe.flows.classes().seeing() && probe.flows.grid().first_seen().is_some() {
                break;
            }
        }
        if seeing {
            self.flows.set_classes(probe.flows.classes().clone());
        }
        if let Some(t) = probe.flows.grid().first_seen() {
            self.flows.grid_mut().seen(t);
        }
    }

    /// The earliest packet time this analyzer's timeline has seen, for analyzers of later
    /// shards ([`Analyzer::timeline_seen`]).
    pub fn timeline_since(&self) -> Option<i64> {
        self.flows.grid().first_seen()
    }

    /// Counts `t`, a time of an earlier packet, as seen by the timeline: an analyzer of a
    /// later shard then starts with the intervals a pass would have widened to by then, as a
    /// grid widens with the time seen (see `flow::timeline::Grid::seen`). What it reports is
    /// the same either way.
    pub fn timeline_seen(mut self, t: Option<i64>) -> Self {
        if let Some(t) = t {
            self.flows.grid_mut().seen(t);
        }
        self
    }

    /// Whether TCP sequence analysis runs.
    pub fn health(&self) -> bool {
        self.flows.analysing_sequences()
    }

    /// Decodes and accounts one record.
    pub fn feed(&mut self, r: &Record<'_>) {
        let mut p = Pending::EMPTY;
        let fast = self.decoder();
        let got = match (self.inspect, self.health()) {
            (true, true) => self.key_into::<true, true>(fast, r, &mut p),
            (true, false) => self.key_into::<true, false>(fast, r, &mut p),
            (false, true) => self.key_into::<false, true>(fast, r, &mut p),
            (false, false) => self.key_into::<false, false>(fast, r, &mut p),
        };
        if got & KEYED != 0 {
            self.flows.add(&p);
        }
        if got & SCREENED != 0 {
            self.inspect(r.linktype, r.data, &p);
        }
    }

    /// Decodes and keys a record into `slot`. Returns [`KEYED`] unless it is counted as
    /// non-IP (or deferred: see [`Analyzer::for_later_shard`]) instead, and [`SCREENED`]
    /// when `INSPECT` and its payload is for the inspector ([`Analyzer::inspect`]); the
    /// fast path reads TCP's sequence fields only when `HEALTH`. The fast
    /// path builds the keyed packet in place: one copied in from elsewhere would be written
    /// in pieces and read back whole, which stalls store forwarding.
    #[inline(always)]
    pub(super) fn key_into<const INSPECT: bool, const HEALTH: bool>(
        &mut self,
        fast: fast::Decoder,
        r: &Record<'_>,
        slot: &mut Pending,
    ) -> u8 {
        if let Some(t) = fast.tuple_as::<INSPECT, HEALTH>(r.linktype, r.data) {
            *slot = Pending::fast(&t, r.ts_ns, r.wire_len, r.data.len() as u32);
            return KEYED | (u8::from(t.screened) * SCREENED);
        }
        match self.key(r.linktype, r.data, r.ts_ns, r.wire_len) {
            Some((p, screened)) => {
                *slot = p;
                KEYED | (u8::from(screened) * SCREENED)
            }
            None => 0,
        }
    }

    /// The fast decoder for the inspector's state: while it gathers a split message, one
    /// that screens in every TCP payload.
    #[inline(always)]
    pub(super) fn decoder(&self) -> fast::Decoder {
        if self.inspector.gathering() {
            fast::Decoder::gathering()
        } else {
            fast::Decoder::new()
        }
    }

    /// Offers a screened-in packet to the inspector (only a keyed one is screened in); the
    /// general decoder finds its payload again, which is rare.
    #[cold]
    #[inline(never)]
    pub(super) fn inspect(&mut self, linktype: u16, data: &[u8], p: &Pending) {
        if let (Decoded::Ip(ip), payload) = decode::decode_with_payload(linktype, data) {
            if let (Some(ports), false) = (ip.ports, payload.is_empty()) {
                let cut = p.cap != p.wire;
                self.inspector
                    .offer(&p.key, p.dir, ip.proto, ports, payload, cut);
            }
        }
    }

    /// Decodes a record the fast path did not take into a keyed packet, or counts it as
    /// non-IP. Takes the record's fields, not the record: a pointer to it, even on this rare
    /// path, would keep every record in memory rather than in registers.
    #[inline(never)]
    fn key(
        &mut self,
        linktype: u16,
        data: &[u8],
        ts: Option<i64>,
        wire: u32,
    ) -> Option<(Pending, bool)> {
        let (decoded, payload) = decode::decode_with_payload(linktype, data);
        match decoded {
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
                let keyed = Pending::new(&mut self.keyer, &p, ts, wire, cap);
                if let Some(tc) = p.icmp {
                    self.icmp.add(&keyed.key.unpack(), tc, p.quoted.as_ref());
                }
                // As the fast path screens, its gathering decoder included.
                let gathering = self.inspector.gathering() && p.proto == decode::proto::TCP;
                let screened = self.inspect
                    && p.ports.is_some_and(|(sport, dport)| {
                        screen::worth_a_look(p.proto, sport, dport, payload)
                            || (gathering && !payload.is_empty())
                    });
                Some((keyed, screened))
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
    ///
    /// TCP sequence analysis in `other` began from nothing: each flow's counts are added and
    /// its state is `other`'s (exact when `other` is a separate capture, as the inputs of
    /// `--by-file` or the blobs of a capture read at once; for a shard of the same file, see
    /// [`Analyzer::try_merge`]).
    pub fn merge(&mut self, other: Analyzer, threads: usize) {
        let merged = self.try_merge(other, threads);
        debug_assert!(merged, "only analyzers that record prefixes can refuse");
    }

    /// [`Analyzer::merge`] for an analyzer that read the packets right after this one's
    /// and recorded its flows' first segments ([`FlowTable::record_prefixes`]): their
    /// replay makes sequence analysis exact. Returns `false` when it cannot: this analyzer
    /// may then hold part of `other`, and the caller reads the packets again in one pass.
    #[must_use]
    pub fn try_merge(&mut self, other: Analyzer, threads: usize) -> bool {
        // The flows first, which refuse before changing anything; the deferred fragments
        // (never TCP segments) after, which changes no figure.
        if !self.flows.merge(other.flows, threads) {
            return false;
        }
        for d in other.deferred.into_iter().flatten() {
            let p = Pending::new(&mut self.keyer, &d.packet, d.ts, d.wire, d.cap);
            self.flows.add(&p);
        }
        self.keyer.absorb(other.keyer);
        self.inspector.merge(other.inspector);
        self.icmp.merge(other.icmp);
        for (k, v) in other.non_ip {
            self.non_ip.entry(k).or_default().merge(&v);
        }
        true
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
