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
use crate::hint::prefetch;

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

/// An optional timestamp in 8 bytes (`Option<i64>` takes 16; the table is memory-bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ts(i64);

impl Ts {
    /// No timestamp.
    pub const NONE: Ts = Ts(i64::MIN);

    /// From an optional value (`i64::MIN` itself is not a timestamp any capture can hold).
    pub fn new(t: Option<i64>) -> Ts {
        Ts(t.unwrap_or(i64::MIN))
    }

    /// The value, if any.
    pub fn get(self) -> Option<i64> {
        (self.0 != i64::MIN).then_some(self.0)
    }

    fn is_none(self) -> bool {
        self.0 == i64::MIN
    }

    fn or(self, other: Ts) -> Ts {
        if self.is_none() {
            other
        } else {
            self
        }
    }
}

impl Default for Ts {
    fn default() -> Self {
        Ts::NONE
    }
}

/// Handshake and flag bookkeeping of a TCP flow. Field order matters: what every segment
/// reads or writes (flags, the ACK times, the counters) comes first, in one cache line; the
/// SYN and SYN-ACK times, touched once per connection, last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct TcpStats {
    /// OR of the flags seen, per direction.
    pub flags: [u8; 2],
    /// Direction of the first SYN without ACK: the initiator.
    pub syn_dir: Option<u8>,
    /// Direction of the first SYN-ACK when no SYN was seen.
    pub synack_dir: Option<u8>,
    /// Time of the first ACK without SYN, per direction. Kept per direction (rather than
    /// "the initiator's first ACK after the SYN-ACK") so that shards of one capture merge
    /// into exactly what one pass sees.
    pub ack_ts: [Ts; 2],
    /// SYN segments per direction.
    pub syn: [u32; 2],
    /// FIN segments per direction.
    pub fin: [u32; 2],
    /// RST segments per direction.
    pub rst: [u32; 2],
    /// Time of that SYN.
    pub syn_ts: Ts,
    /// Time of the first SYN-ACK, per direction.
    pub synack_ts: [Ts; 2],
}

impl TcpStats {
    /// The handshake as (SYN, SYN-ACK, ACK) times: the initiator's first SYN, the other
    /// side's first SYN-ACK (if not earlier), the initiator's first ACK (if not earlier).
    pub fn handshake(&self) -> (Option<i64>, Option<i64>, Option<i64>) {
        let Some(d) = self.syn_dir.map(usize::from) else {
            return (None, None, None);
        };
        let syn = self.syn_ts.get();
        let synack = self.synack_ts[1 - d]
            .get()
            .filter(|&t| syn.is_none_or(|s| t >= s));
        let ack = self.ack_ts[d]
            .get()
            .filter(|&t| synack.is_some_and(|s| t >= s));
        (syn, synack, ack)
    }
}

/// Counters of one flow. The fields every packet updates fill the first 64-byte cache line;
/// TCP bookkeeping the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct FlowStats {
    /// Packets per direction.
    pub packets: [u64; 2],
    /// Wire bytes per direction.
    pub bytes: [u64; 2],
    /// Captured bytes per direction.
    pub captured: [u64; 2],
    /// Earliest timestamp (ns); `i64::MAX` when no packet had one.
    first: i64,
    /// Latest timestamp (ns); `i64::MIN` when no packet had one.
    last: i64,
    /// TCP details (zero for other protocols).
    pub tcp: TcpStats,
    /// `true` when the first packet went `lo → hi`.
    pub first_dir_lo: bool,
}

impl FlowStats {
    fn new(dir: usize) -> Self {
        FlowStats {
            first_dir_lo: dir == 0,
            packets: [0; 2],
            bytes: [0; 2],
            captured: [0; 2],
            first: i64::MAX,
            last: i64::MIN,
            tcp: TcpStats::default(),
        }
    }

    /// Earliest timestamp (ns), `None` when no packet had one.
    pub fn first_ts(&self) -> Option<i64> {
        (self.first != i64::MAX).then_some(self.first)
    }

    /// Latest timestamp (ns).
    pub fn last_ts(&self) -> Option<i64> {
        (self.last != i64::MIN).then_some(self.last)
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
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        let t = &mut self.tcp;
        let o = &other.tcp;
        if t.syn_dir.is_none() {
            t.syn_dir = o.syn_dir;
            t.syn_ts = o.syn_ts;
        }
        if t.synack_dir.is_none() {
            t.synack_dir = o.synack_dir;
        }
        for i in 0..2 {
            t.synack_ts[i] = t.synack_ts[i].or(o.synack_ts[i]);
            t.ack_ts[i] = t.ack_ts[i].or(o.ack_ts[i]);
        }
    }

    #[inline]
    fn add(&mut self, dir: usize, ts: Option<i64>, wire: u32, cap: u32) {
        self.packets[dir] += 1;
        self.bytes[dir] += u64::from(wire);
        self.captured[dir] += u64::from(cap);
        if let Some(t) = ts {
            self.first = self.first.min(t);
            self.last = self.last.max(t);
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
                t.syn_ts = Ts::new(ts);
            }
            (true, true) => {
                if t.synack_dir.is_none() {
                    t.synack_dir = Some(d);
                }
                if t.synack_ts[dir].is_none() {
                    t.synack_ts[dir] = Ts::new(ts);
                }
            }
            (false, true) if t.ack_ts[dir].is_none() => {
                t.ack_ts[dir] = Ts::new(ts);
            }
            _ => {}
        }
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

/// A key stored on a cache line of its own, so that a lookup compares against one line, not
/// two (keys travel unaligned elsewhere: copies of 64 bytes would cost more than they save).
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct LineKey(FlowKey);

/// A packet ready to be accounted: its key, found by [`Keyer::key`], and its counters.
#[derive(Debug, Clone, Copy)]
pub struct Pending {
    /// Flow key.
    pub key: FlowKey,
    /// Direction in the key's order.
    pub dir: u8,
    /// TCP flags, when TCP and captured.
    pub tcp_flags: Option<u8>,
    /// Timestamp.
    pub ts: Option<i64>,
    /// Wire length.
    pub wire: u32,
    /// Captured length.
    pub cap: u32,
}

impl Pending {
    /// Keys an IP packet (in capture order: the keyer tracks fragments).
    #[inline]
    pub fn new(keyer: &mut Keyer, p: &IpPacket, ts: Option<i64>, wire: u32, cap: u32) -> Self {
        let (key, dir) = keyer.key(p);
        Pending {
            key,
            dir: dir as u8,
            tcp_flags: if key.proto == proto::TCP {
                p.tcp_flags
            } else {
                None
            },
            ts,
            wire,
            cap,
        }
    }
}

/// The flow table: open addressing over 8-byte slots (hash tag + index) pointing into dense
/// key and stats arrays.
///
/// With tens of thousands of flows every lookup is a cache miss; [`FlowTable::add_batch`]
/// therefore prefetches the slots, then the entries, of a whole batch before touching any,
/// so the misses overlap instead of queueing one per packet.
#[derive(Debug, Clone)]
pub struct FlowTable {
    /// 0 = empty; else hash tag in the high 32 bits, index + 1 in the low 32.
    slots: Vec<u64>,
    keys: Vec<LineKey>,
    stats: Vec<FlowStats>,
}

impl Default for FlowTable {
    fn default() -> Self {
        FlowTable {
            slots: vec![0; 1024],
            keys: Vec::new(),
            stats: Vec::new(),
        }
    }
}

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

/// A fast, fixed hash of a flow key (the folded-multiply construction of wyhash/foldhash).
#[inline]
fn hash_key(k: &FlowKey) -> u64 {
    let half = |b: &[u8; 16], i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    let misc = u64::from(k.lo.1)
        | u64::from(k.hi.1) << 16
        | u64::from(k.proto) << 32
        | u64::from(k.ports_known) << 40
        | u64::from(k.lo.0.v6) << 41
        | u64::from(k.hi.0.v6) << 42
        | k.icmp_id.map_or(0, |i| u64::from(i) << 43 | 1 << 59);
    let a = fold_mul(
        half(&k.lo.0.bytes, 0) ^ 0x243F_6A88_85A3_08D3,
        half(&k.lo.0.bytes, 1) ^ 0x1319_8A2E_0370_7344,
    );
    let b = fold_mul(
        half(&k.hi.0.bytes, 0) ^ 0xA409_3822_299F_31D0,
        half(&k.hi.0.bytes, 1) ^ 0x082E_FA98_EC4E_6C89,
    );
    fold_mul(a ^ misc ^ 0x4528_21E6_38D0_1377, b ^ 0xBE54_66CF_34E9_0C6C)
}

impl FlowTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of flows.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// `true` when no flow was seen.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Iterates flows in first-seen order. Keys come by value: the table stores them in a
    /// packed form built for probing, not for reading.
    pub fn iter(&self) -> impl Iterator<Item = (FlowKey, &FlowStats)> {
        self.keys.iter().map(|k| k.0).zip(self.stats.iter())
    }

    /// The stats of a flow, if present.
    pub fn get(&self, key: &FlowKey) -> Option<&FlowStats> {
        self.find(key, hash_key(key)).ok().map(|i| &self.stats[i])
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// `Ok(index)` when present, else `Err(slot)` where it would go.
    #[inline]
    fn find(&self, key: &FlowKey, h: u64) -> Result<usize, usize> {
        let tag = h & 0xFFFF_FFFF_0000_0000;
        let mask = self.mask();
        let mut pos = h as usize & mask;
        loop {
            let s = self.slots[pos];
            if s == 0 {
                return Err(pos);
            }
            if s & 0xFFFF_FFFF_0000_0000 == tag {
                let idx = (s & 0xFFFF_FFFF) as usize - 1;
                if self.keys[idx].0 == *key {
                    return Ok(idx);
                }
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Makes room for `extra` more flows without moving slots mid-batch (load ≤ 1/2).
    fn reserve(&mut self, extra: usize) {
        let need = (self.keys.len() + extra) * 2;
        if need <= self.slots.len() {
            return;
        }
        let cap = need.next_power_of_two().max(1024);
        self.slots = vec![0; cap];
        let mask = cap - 1;
        for (idx, k) in self.keys.iter().enumerate() {
            let h = hash_key(&k.0);
            let mut pos = h as usize & mask;
            while self.slots[pos] != 0 {
                pos = (pos + 1) & mask;
            }
            self.slots[pos] = (h & 0xFFFF_FFFF_0000_0000) | (idx as u64 + 1);
        }
    }

    #[inline]
    fn entry(&mut self, key: FlowKey, h: u64, dir: usize) -> &mut FlowStats {
        let idx = match self.find(&key, h) {
            Ok(i) => i,
            Err(pos) => {
                let idx = self.keys.len();
                self.slots[pos] = (h & 0xFFFF_FFFF_0000_0000) | (idx as u64 + 1);
                self.keys.push(LineKey(key));
                self.stats.push(FlowStats::new(dir));
                idx
            }
        };
        &mut self.stats[idx]
    }

    /// Accounts one keyed packet.
    #[inline]
    pub fn add(&mut self, p: &Pending) {
        self.reserve(1);
        let h = hash_key(&p.key);
        self.account(p, h);
    }

    #[inline]
    fn account(&mut self, p: &Pending, h: u64) {
        let dir = usize::from(p.dir);
        let stats = self.entry(p.key, h, dir);
        stats.add(dir, p.ts, p.wire, p.cap);
        if let Some(f) = p.tcp_flags {
            stats.add_tcp(dir, f, p.ts);
        }
    }

    /// Accounts a batch of keyed packets, in order, overlapping their cache misses.
    pub fn add_batch(&mut self, batch: &[Pending]) {
        const MAX: usize = 64;
        debug_assert!(batch.len() <= MAX);
        self.reserve(batch.len());
        let mut hashes = [0u64; MAX];
        let mask = self.mask();
        for (h, p) in hashes.iter_mut().zip(batch) {
            *h = hash_key(&p.key);
            prefetch((&self.slots[*h as usize & mask] as *const u64).cast());
        }
        for (i, &h) in hashes[..batch.len()].iter().enumerate() {
            // Follow the first slot with a matching tag without comparing keys: comparing
            // would wait for the miss this loop exists to hide.
            let tag = h & 0xFFFF_FFFF_0000_0000;
            let mut pos = h as usize & mask;
            loop {
                let s = self.slots[pos];
                if s == 0 {
                    break;
                }
                if s & 0xFFFF_FFFF_0000_0000 == tag {
                    let idx = (s & 0xFFFF_FFFF) as usize - 1;
                    // The key, the counters line, and for TCP the flags line: what
                    // `account` touches for all but handshake segments.
                    prefetch((&self.keys[idx] as *const LineKey).cast());
                    let st = (&self.stats[idx] as *const FlowStats).cast::<u8>();
                    prefetch(st);
                    if batch[i].tcp_flags.is_some() {
                        prefetch(st.wrapping_add(64));
                    }
                    break;
                }
                pos = (pos + 1) & mask;
            }
        }
        for (p, &h) in batch.iter().zip(&hashes) {
            self.account(p, h);
        }
    }

    /// Adds the flows of a table built from later packets of the same capture.
    pub fn merge(&mut self, other: FlowTable) {
        self.reserve(other.len());
        for (LineKey(k), v) in other.keys.into_iter().zip(other.stats) {
            let h = hash_key(&k);
            match self.find(&k, h) {
                Ok(i) => self.stats[i].merge(&v),
                Err(pos) => {
                    let idx = self.keys.len();
                    self.slots[pos] = (h & 0xFFFF_FFFF_0000_0000) | (idx as u64 + 1);
                    self.keys.push(LineKey(k));
                    self.stats.push(v);
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

#[cfg(test)]
mod table_tests {
    use super::*;

    fn key(i: u32) -> FlowKey {
        let mut a = [0u8; 4];
        a.copy_from_slice(&i.to_be_bytes());
        FlowKey {
            proto: proto::UDP,
            ports_known: true,
            lo: (Addr::v4(a), (i % 7) as u16),
            hi: (Addr::v4([255, 0, 0, 1]), 53),
            icmp_id: None,
        }
    }

    fn pending(i: u32, dir: u8) -> Pending {
        Pending {
            key: key(i),
            dir,
            tcp_flags: None,
            ts: Some(i64::from(i)),
            wire: 100,
            cap: 60,
        }
    }

    #[test]
    fn batch_single_and_merge_agree_with_a_hash_map() {
        // Many flows force several grows; repeated keys inside one batch must land once.
        let mut single = FlowTable::new();
        let mut batched = FlowTable::new();
        let mut halves = [FlowTable::new(), FlowTable::new()];
        let mut expect: HashMap<FlowKey, (u64, u64)> = HashMap::new();
        let all: Vec<Pending> = (0..20_000u32)
            .map(|i| pending(i * 7919 % 5000, (i % 2) as u8))
            .collect();
        for (n, p) in all.iter().enumerate() {
            single.add(p);
            halves[usize::from(n >= all.len() / 2)].add(p);
            let e = expect.entry(p.key).or_insert((0, 0));
            e.0 += 1;
            e.1 += 100;
        }
        for chunk in all.chunks(64) {
            batched.add_batch(chunk);
        }
        let [a, b] = halves;
        let mut merged = a;
        merged.merge(b);
        for t in [&single, &batched, &merged] {
            assert_eq!(t.len(), expect.len());
            for (k, (pk, by)) in &expect {
                let s = t.get(k).unwrap();
                assert_eq!((s.total_packets(), s.total_bytes()), (*pk, *by));
            }
        }
        assert_eq!(
            single
                .iter()
                .map(|(_, s)| s.first_dir_lo)
                .collect::<Vec<_>>(),
            merged
                .iter()
                .map(|(_, s)| s.first_dir_lo)
                .collect::<Vec<_>>()
        );
    }
}
