//! The per-packet pipeline: decode → filter → flow table, plus the capinfos-like counters of
//! each input file. Pure: it consumes [`Record`]s and never does I/O.

use std::collections::BTreeMap;

use crate::capture::Record;
use crate::decode::{self, Decoded, NonIp};
use crate::filter::FilterSet;
use crate::flow::FlowTable;

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

    fn merge(&mut self, o: &Counter) {
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
    /// Packets per link type.
    pub linktypes: BTreeMap<u16, u64>,
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
        *self.linktypes.entry(r.linktype).or_insert(0) += 1;
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
        for (lt, n) in &o.linktypes {
            *self.linktypes.entry(*lt).or_insert(0) += n;
        }
    }
}

/// Index of the non-IP bucket in [`Analyzer::protocols`].
pub const NON_IP: usize = 256;

/// Flow and protocol accounting of the packets that pass the filters.
#[derive(Debug, Clone)]
pub struct Analyzer {
    filters: FilterSet,
    /// Flows of matched IP packets.
    pub flows: FlowTable,
    /// Matched packets.
    pub matched: Counter,
    /// Matched packets per IP protocol number, index [`NON_IP`] for packets without IP.
    pub protocols: Box<[Counter; 257]>,
    /// Matched non-IP packets per reason.
    pub non_ip: BTreeMap<&'static str, u64>,
}

impl Analyzer {
    /// An analyzer that keeps packets passing `filters`.
    pub fn new(filters: FilterSet) -> Self {
        Analyzer {
            filters,
            flows: FlowTable::new(),
            matched: Counter::default(),
            protocols: Box::new([Counter::default(); 257]),
            non_ip: BTreeMap::new(),
        }
    }

    /// Decodes, filters and accounts one record; returns whether it matched the filters.
    #[inline]
    pub fn feed(&mut self, r: &Record<'_>) -> bool {
        match decode::decode(r.linktype, r.data) {
            Decoded::Ip(p) => {
                if !self.filters.matches_ip(&p) {
                    return false;
                }
                self.matched.add(r.wire_len);
                self.protocols[usize::from(p.proto)].add(r.wire_len);
                self.flows.add(&p, r.ts_ns, r.wire_len, r.data.len() as u32);
                true
            }
            Decoded::NonIp(reason) => {
                if !self.filters.matches_non_ip() {
                    return false;
                }
                self.matched.add(r.wire_len);
                self.protocols[NON_IP].add(r.wire_len);
                *self.non_ip.entry(non_ip_name(reason)).or_insert(0) += 1;
                true
            }
        }
    }

    /// Adds an analyzer that saw later packets of the same captures.
    pub fn merge(&mut self, other: Analyzer) {
        self.flows.merge(other.flows);
        self.matched.merge(&other.matched);
        for (a, b) in self.protocols.iter_mut().zip(other.protocols.iter()) {
            a.merge(b);
        }
        for (k, v) in other.non_ip {
            *self.non_ip.entry(k).or_insert(0) += v;
        }
    }

    /// The filters in use.
    pub fn filters(&self) -> &FilterSet {
        &self.filters
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
