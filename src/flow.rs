//! Bidirectional flow accounting: [`FlowKey`], [`FlowStats`] and the [`FlowTable`] that
//! maps one to the other without allocating per packet.
//!
//! A flow is the protocol plus an unordered pair of endpoints taken from the outermost IP
//! header: (address, port) for TCP/UDP when the ports were captured, the address pair (and
//! echo identifier) for ICMP, the address pair for any other protocol. Non-first IP fragments
//! join the flow of their first fragment through (source, destination, protocol, IP id).
//! Which side is "local" is decided later, by the report; the table stores directions as
//! `lo → hi` (index 0) and `hi → lo` (index 1) of the key's canonical order.

use std::collections::HashMap;

use crate::decode::{proto, tcp_flags, Addr, Fragment, IpPacket};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Flow identity, with endpoints in canonical order (`lo <= hi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// IP protocol number.
    pub proto: u8,
    /// Whether the ports are known; a packet whose ports were cut off has its own flow.
    pub ports_known: bool,
    /// Lower endpoint (address, port; port 0 when unknown or not applicable).
    pub lo: (Addr, u16),
    /// Higher endpoint.
    pub hi: (Addr, u16),
    /// ICMP echo identifier, for echo request/reply flows.
    pub icmp_id: Option<u16>,
}

impl FlowKey {
    /// The two endpoints with their ports, `None` where ports are unknown or meaningless.
    pub fn endpoints(&self) -> [(Addr, Option<u16>); 2] {
        let port = |p: u16| self.ports_known.then_some(p);
        [(self.lo.0, port(self.lo.1)), (self.hi.0, port(self.hi.1))]
    }
}

/// Handshake and flag bookkeeping of a TCP flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// OR of the flags seen, per direction.
    pub flags: [u8; 2],
    /// SYN segments per direction.
    pub syn: [u32; 2],
    /// FIN segments per direction.
    pub fin: [u32; 2],
    /// RST segments per direction.
    pub rst: [u32; 2],
    /// Direction of the first SYN without ACK: the initiator.
    pub syn_dir: Option<u8>,
    /// Time of that SYN.
    pub syn_ts: Option<i64>,
    /// Time of the first SYN-ACK from the other side.
    pub synack_ts: Option<i64>,
    /// Time of the initiator's first ACK after the SYN-ACK.
    pub ack_ts: Option<i64>,
    /// Direction of the first SYN-ACK when no SYN was seen.
    pub synack_dir: Option<u8>,
}

/// Counters of one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowStats {
    /// `true` when the first packet went `lo → hi`.
    pub first_dir_lo: bool,
    /// Packets per direction.
    pub packets: [u64; 2],
    /// Wire bytes per direction.
    pub bytes: [u64; 2],
    /// Captured bytes per direction.
    pub captured: [u64; 2],
    /// Earliest timestamp (ns), `None` when no packet had one.
    pub first_ts: Option<i64>,
    /// Latest timestamp (ns).
    pub last_ts: Option<i64>,
    /// TCP details (zero for other protocols).
    pub tcp: TcpStats,
}

impl FlowStats {
    fn new(dir: usize) -> Self {
        FlowStats {
            first_dir_lo: dir == 0,
            packets: [0; 2],
            bytes: [0; 2],
            captured: [0; 2],
            first_ts: None,
            last_ts: None,
            tcp: TcpStats::default(),
        }
    }

    /// Total packets both ways.
    pub fn total_packets(&self) -> u64 {
        self.packets[0] + self.packets[1]
    }

    /// Total wire bytes both ways.
    pub fn total_bytes(&self) -> u64 {
        self.bytes[0] + self.bytes[1]
    }

    /// Adds `other`, which comes later in capture order.
    pub fn merge(&mut self, other: &FlowStats) {
        for i in 0..2 {
            self.packets[i] += other.packets[i];
            self.bytes[i] += other.bytes[i];
            self.captured[i] += other.captured[i];
            self.tcp.flags[i] |= other.tcp.flags[i];
            self.tcp.syn[i] += other.tcp.syn[i];
            self.tcp.fin[i] += other.tcp.fin[i];
            self.tcp.rst[i] += other.tcp.rst[i];
        }
        self.first_ts = min_opt(self.first_ts, other.first_ts);
        self.last_ts = max_opt(self.last_ts, other.last_ts);
        let t = &mut self.tcp;
        let o = &other.tcp;
        if t.syn_dir.is_none() {
            t.syn_dir = o.syn_dir;
            t.syn_ts = o.syn_ts;
        }
        if t.synack_dir.is_none() {
            t.synack_dir = o.synack_dir;
        }
        t.synack_ts = t.synack_ts.or(o.synack_ts);
        t.ack_ts = t.ack_ts.or(o.ack_ts);
    }

    #[inline]
    fn add(&mut self, dir: usize, ts: Option<i64>, wire: u32, cap: u32) {
        self.packets[dir] += 1;
        self.bytes[dir] += u64::from(wire);
        self.captured[dir] += u64::from(cap);
        if let Some(t) = ts {
            self.first_ts = min_opt(self.first_ts, Some(t));
            self.last_ts = max_opt(self.last_ts, Some(t));
        }
    }

    #[inline]
    fn add_tcp(&mut self, dir: usize, flags: u8, ts: Option<i64>) {
        let t = &mut self.tcp;
        t.flags[dir] |= flags;
        let syn = flags & tcp_flags::SYN != 0;
        let ack = flags & tcp_flags::ACK != 0;
        t.syn[dir] += u32::from(syn);
        t.fin[dir] += u32::from(flags & tcp_flags::FIN != 0);
        t.rst[dir] += u32::from(flags & tcp_flags::RST != 0);
        let d = dir as u8;
        match (syn, ack) {
            (true, false) if t.syn_dir.is_none() => {
                t.syn_dir = Some(d);
                t.syn_ts = ts;
            }
            (true, true) => {
                if t.synack_dir.is_none() {
                    t.synack_dir = Some(d);
                }
                if t.syn_dir.is_some_and(|s| s != d) && t.synack_ts.is_none() {
                    t.synack_ts = ts;
                }
            }
            (false, true)
                if t.syn_dir == Some(d) && t.synack_ts.is_some() && t.ack_ts.is_none() =>
            {
                t.ack_ts = ts;
            }
            _ => {}
        }
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Where the first fragment of a datagram put its ports.
type FragKey = (Addr, Addr, u8, u32);
/// Ports and transport protocol of the first fragment.
type FragValue = ((u16, u16), u8);

/// Bound on remembered first fragments, so a fragment flood cannot grow memory without end.
const MAX_PENDING_FRAGMENTS: usize = 65_536;

/// Derives flow keys from packets; remembers first fragments so that later ones find
/// their ports.
#[derive(Debug, Clone, Default)]
pub struct Keyer {
    fragments: FastMap<FragKey, FragValue>,
}

impl Keyer {
    /// The flow a packet belongs to, and its direction (0 = `lo → hi`).
    #[inline]
    pub fn key(&mut self, p: &IpPacket) -> (FlowKey, usize) {
        let mut ports = p.ports;
        let mut protocol = p.proto;
        match p.fragment {
            Fragment::First { id, proto } => {
                if let Some(pp) = ports {
                    if self.fragments.len() >= MAX_PENDING_FRAGMENTS {
                        self.fragments.clear();
                    }
                    self.fragments
                        .insert((p.src, p.dst, proto, id), (pp, p.proto));
                }
            }
            Fragment::Later { id, proto } => {
                if let Some(&(pp, first_proto)) = self.fragments.get(&(p.src, p.dst, proto, id)) {
                    ports = Some(pp);
                    protocol = first_proto;
                }
            }
            Fragment::None => {}
        }
        let (sp, dp) = ports.unwrap_or((0, 0));
        let icmp_id = match protocol {
            proto::ICMP | proto::ICMPV6 => p.icmp_echo_id,
            _ => None,
        };
        let a = (p.src, sp);
        let b = (p.dst, dp);
        let (lo, hi, dir) = if a <= b { (a, b, 0) } else { (b, a, 1) };
        let key = FlowKey {
            proto: protocol,
            ports_known: ports.is_some(),
            lo,
            hi,
            icmp_id,
        };
        (key, dir)
    }
}

/// The flow table.
#[derive(Debug, Clone, Default)]
pub struct FlowTable {
    flows: FastMap<FlowKey, FlowStats>,
    keyer: Keyer,
}

impl FlowTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of flows.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// `true` when no flow was seen.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Iterates flows in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&FlowKey, &FlowStats)> {
        self.flows.iter()
    }

    /// Accounts one IP packet; returns the key it was accounted under.
    #[inline]
    pub fn add(&mut self, p: &IpPacket, ts: Option<i64>, wire: u32, cap: u32) -> FlowKey {
        let (key, dir) = self.keyer.key(p);
        let stats = self.flows.entry(key).or_insert_with(|| FlowStats::new(dir));
        stats.add(dir, ts, wire, cap);
        if key.proto == proto::TCP {
            if let Some(f) = p.tcp_flags {
                stats.add_tcp(dir, f, ts);
            }
        }
        key
    }

    /// Adds the flows of a table built from later packets of the same capture.
    pub fn merge(&mut self, other: FlowTable) {
        for (k, v) in other.flows {
            match self.flows.get_mut(&k) {
                Some(s) => s.merge(&v),
                None => {
                    self.flows.insert(k, v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16, flags: u8) -> IpPacket {
        IpPacket {
            src: Addr::v4(src),
            dst: Addr::v4(dst),
            proto: proto::TCP,
            ports: Some((sp, dp)),
            tcp_flags: Some(flags),
            icmp: None,
            icmp_echo_id: None,
            fragment: Fragment::None,
        }
    }

    #[test]
    fn both_directions_one_flow_with_handshake() {
        let mut t = FlowTable::new();
        let c = [10, 0, 0, 9];
        let s = [10, 0, 0, 1];
        t.add(&p(c, 5000, s, 80, tcp_flags::SYN), Some(100), 60, 60);
        t.add(
            &p(s, 80, c, 5000, tcp_flags::SYN | tcp_flags::ACK),
            Some(150),
            60,
            60,
        );
        t.add(&p(c, 5000, s, 80, tcp_flags::ACK), Some(170), 54, 54);
        assert_eq!(t.len(), 1);
        let (k, v) = t.iter().next().unwrap();
        assert_eq!(k.lo, (Addr::v4(s), 80));
        assert!(!v.first_dir_lo);
        assert_eq!(v.packets, [1, 2]);
        assert_eq!(v.bytes, [60, 114]);
        assert_eq!(v.tcp.syn_dir, Some(1));
        assert_eq!(
            (v.tcp.syn_ts, v.tcp.synack_ts, v.tcp.ack_ts),
            (Some(100), Some(150), Some(170))
        );
        assert_eq!((v.first_ts, v.last_ts), (Some(100), Some(170)));
    }

    #[test]
    fn later_fragment_joins_first() {
        let mut t = FlowTable::new();
        let mut first = p([1, 1, 1, 1], 53, [2, 2, 2, 2], 4000, 0);
        first.proto = proto::UDP;
        first.tcp_flags = None;
        first.fragment = Fragment::First {
            id: 7,
            proto: proto::UDP,
        };
        let mut later = first;
        later.ports = None;
        later.fragment = Fragment::Later {
            id: 7,
            proto: proto::UDP,
        };
        t.add(&first, Some(1), 1514, 1514);
        t.add(&later, Some(2), 600, 600);
        let mut orphan = later;
        orphan.fragment = Fragment::Later {
            id: 8,
            proto: proto::UDP,
        };
        t.add(&orphan, Some(3), 600, 600);
        assert_eq!(t.len(), 2);
        let joined = t.iter().find(|(k, _)| k.ports_known).unwrap().1;
        assert_eq!(joined.packets, [2, 0]);
        assert_eq!(joined.bytes, [2114, 0]);
    }
}
