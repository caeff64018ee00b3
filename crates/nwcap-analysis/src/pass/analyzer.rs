//! The [`Analyzer`]: decodes each record and accounts it in the flow table, counts what is not
//! IP, and merges the analyzers of a file's shards in order. It never reads (records come
//! from the caller) and never filters (see `select`).

use std::collections::BTreeMap;

use super::counters::Counter;
use crate::capture::Record;
use crate::decode::{self, fast, Decoded, IpPacket, NonIp};
use crate::flow::{FlowTable, IcmpFacts, Keyer, Pending};

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
    /// ICMP types and the errors tied to the flows they quote.
    pub icmp: IcmpFacts,
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
    pub(super) fn key_into(
        &mut self,
        fast: fast::Decoder,
        r: &Record<'_>,
        slot: &mut Pending,
    ) -> bool {
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
                let pending = Pending::new(&mut self.keyer, &p, ts, wire, cap);
                if let Some(tc) = p.icmp {
                    self.icmp.add(&pending.key.unpack(), tc, p.quoted.as_ref());
                }
                Some(pending)
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
