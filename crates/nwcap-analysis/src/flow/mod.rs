//! Bidirectional flow accounting: [`FlowKey`], [`FlowStats`] and the [`FlowTable`] that
//! maps one to the other without allocating per packet.
//!
//! A flow is the protocol plus an unordered pair of endpoints taken from the outermost IP
//! header: (address, port) for TCP/UDP when the ports were captured, the address pair (and
//! echo identifier) for ICMP, the address pair for any other protocol. Non-first IP fragments
//! join the flow of their first fragment through (source, destination, protocol, IP id).
//! Which side is "local" is decided later, by the report; the table stores directions as
//! `lo → hi` (index 0) and `hi → lo` (index 1) of the key's canonical order.
//!
//! Here are the keying of packets ([`Keyer`], [`Pending`]); `key`, `stats` and
//! `conn_state` say what a flow is and what it did, `table/` keeps and merges the flows,
//! and `addr_sums` and `addr_table` sum them per address. Nothing here reads capture bytes.

pub mod ack_rtt;
pub mod addr_sums;
pub mod addr_table;
pub mod community_id;
mod conn_state;
pub mod health;
mod key;
pub mod peer;
mod stats;
mod table;
pub mod timeline;

use std::collections::HashMap;

use crate::decode::fast::Tuple;
use crate::decode::tcp::Segment;
use crate::decode::{proto, Addr, Fragment, IpPacket};

pub use key::{FlowKey, PackedKey};
pub use stats::{FlowStats, TcpStats, Ts};
pub use table::{FlowList, FlowTable, MAX_BATCH};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

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
    /// Whether a non-first fragment would find its first fragment here.
    pub fn knows(&self, p: &IpPacket) -> bool {
        match p.fragment {
            Fragment::Later { id, proto } => {
                self.fragments.contains_key(&(p.src, p.dst, proto, id))
            }
            _ => true,
        }
    }

    /// Takes over the first fragments a keyer of later packets remembered.
    pub fn absorb(&mut self, later: Keyer) {
        self.fragments.extend(later.fragments);
    }

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

/// The flow of the packet an ICMP error quotes (see [`crate::decode::icmp`]).
pub fn quoted_flow(q: &crate::decode::icmp::Quoted) -> FlowKey {
    let (sp, dp) = q.ports.unwrap_or((0, 0));
    let (a, b) = ((q.src, sp), (q.dst, dp));
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    FlowKey {
        proto: q.proto,
        ports_known: q.ports.is_some(),
        lo,
        hi,
        icmp_id: None,
    }
}

/// ICMP facts of a pass: each ICMP flow's first type and code, and the errors counted on
/// the flows they quote. Kept by key, outside the flow table: ICMP is a small share of
/// packets, and an error may come before the flow it quotes is seen.
#[derive(Debug, Clone, Default)]
pub struct IcmpFacts {
    /// The first (type, code) of each ICMP/ICMPv6 flow.
    pub first: HashMap<FlowKey, (u8, u8)>,
    /// Errors by the flow they quote, type and code.
    pub errors: HashMap<(FlowKey, u8, u8), u64>,
}

impl IcmpFacts {
    /// Notes an ICMP packet of flow `key` (type and code `tc`) quoting `quoted`, if any.
    pub fn add(
        &mut self,
        key: &FlowKey,
        tc: (u8, u8),
        quoted: Option<&crate::decode::icmp::Quoted>,
    ) {
        self.first.entry(*key).or_insert(tc);
        if let Some(q) = quoted {
            *self.errors.entry((quoted_flow(q), tc.0, tc.1)).or_default() += 1;
        }
    }

    /// Adds the facts of later packets.
    pub fn merge(&mut self, later: IcmpFacts) {
        for (k, v) in later.first {
            self.first.entry(k).or_insert(v);
        }
        for (k, n) in later.errors {
            *self.errors.entry(k).or_default() += n;
        }
    }

    /// The errors quoting each flow, as (type, code, count) in type and code order.
    pub fn by_flow(&self) -> HashMap<FlowKey, Vec<(u8, u8, u64)>> {
        let mut m: HashMap<FlowKey, Vec<(u8, u8, u64)>> = HashMap::new();
        for (&(k, t, c), &n) in &self.errors {
            m.entry(k).or_default().push((t, c, n));
        }
        for v in m.values_mut() {
            v.sort_unstable();
        }
        m
    }
}

/// A packet ready to be accounted: its key, found by [`Keyer::key`] or the fast path, and
/// its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// Flow key.
    pub key: PackedKey,
    /// Direction in the key's order.
    pub dir: u8,
    /// TCP flags, when TCP and captured.
    pub tcp_flags: Option<u8>,
    /// Timestamp.
    pub ts: Ts,
    /// Wire length.
    pub wire: u32,
    /// Captured length.
    pub cap: u32,
    /// TCP sequence fields (`ok == false` when not TCP or not analysable).
    pub seg: Segment,
}

impl Pending {
    /// A placeholder, to fill arrays.
    pub const EMPTY: Pending = Pending {
        key: PackedKey::ZERO,
        dir: 0,
        tcp_flags: None,
        ts: Ts::NONE,
        wire: 0,
        cap: 0,
        seg: Segment::NONE,
    };

    /// Keys an IP packet (in capture order: the keyer tracks fragments).
    #[inline]
    pub fn new(keyer: &mut Keyer, p: &IpPacket, ts: Option<i64>, wire: u32, cap: u32) -> Self {
        let (key, dir) = keyer.key(p);
        Pending {
            key: key.pack(),
            dir: dir as u8,
            tcp_flags: if key.proto == proto::TCP {
                p.tcp_flags
            } else {
                None
            },
            ts: Ts::new(ts),
            wire,
            cap,
            seg: if key.proto == proto::TCP {
                p.seg.on_wire(wire, cap)
            } else {
                Segment::default()
            },
        }
    }

    /// Keys a packet the fast path read ([`crate::decode::fast`]): never a fragment, so no
    /// keyer is involved.
    #[inline]
    pub fn fast(t: &Tuple, ts: Option<i64>, wire: u32, cap: u32) -> Self {
        let (key, dir) = PackedKey::from_tuple(t);
        Pending {
            key,
            dir,
            tcp_flags: (t.proto == proto::TCP).then_some(t.tcp_flags),
            ts: Ts::new(ts),
            wire,
            cap,
            seg: t.seg.on_wire(wire, cap),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags;

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
            seg: Segment::default(),
            quoted: None,
        }
    }

    fn add(t: &mut FlowTable, k: &mut Keyer, p: &IpPacket, ts: Option<i64>, wire: u32, cap: u32) {
        t.add(&Pending::new(k, p, ts, wire, cap));
    }

    #[test]
    fn both_directions_one_flow_with_handshake() {
        let mut t = FlowTable::new();
        let k = &mut Keyer::default();
        let c = [10, 0, 0, 9];
        let s = [10, 0, 0, 1];
        add(
            &mut t,
            k,
            &p(c, 5000, s, 80, tcp_flags::SYN),
            Some(100),
            60,
            60,
        );
        add(
            &mut t,
            k,
            &p(s, 80, c, 5000, tcp_flags::SYN | tcp_flags::ACK),
            Some(150),
            60,
            60,
        );
        add(
            &mut t,
            k,
            &p(c, 5000, s, 80, tcp_flags::ACK),
            Some(170),
            54,
            54,
        );
        assert_eq!(t.len(), 1);
        let (k, v) = t.iter().next().unwrap();
        assert_eq!(k.lo, (Addr::v4(s), 80));
        assert!(!v.first_dir_lo);
        assert_eq!(v.packets, [1, 2]);
        assert_eq!(v.bytes, [60, 114]);
        assert_eq!(v.tcp.syn_dir, Some(1));
        assert_eq!(v.tcp.handshake(), (Some(100), Some(150), Some(170)));
        assert_eq!((v.first_ts(), v.last_ts()), (Some(100), Some(170)));
    }

    #[test]
    fn later_fragment_joins_first() {
        let mut t = FlowTable::new();
        let k = &mut Keyer::default();
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
        add(&mut t, k, &first, Some(1), 1514, 1514);
        add(&mut t, k, &later, Some(2), 600, 600);
        let mut orphan = later;
        orphan.fragment = Fragment::Later {
            id: 8,
            proto: proto::UDP,
        };
        add(&mut t, k, &orphan, Some(3), 600, 600);
        assert_eq!(t.len(), 2);
        let joined = t.iter().find(|(k, _)| k.ports_known).unwrap().1;
        assert_eq!(joined.packets, [2, 0]);
        assert_eq!(joined.bytes, [2114, 0]);
    }
}
