//! Per-flow counters: [`FlowStats`] (packets, bytes, times) and [`TcpStats`] (flags and
//! handshake), in the complete form reports read. While a pass runs, the flow table keeps
//! what every packet touches elsewhere (see `table/`); here are the rarer updates. Stats
//! never look a flow up, and never decide which side is local.

use crate::decode::tcp_flags;

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

    /// The value, `i64::MIN` when none.
    pub(super) fn raw(self) -> i64 {
        self.0
    }

    pub(super) fn is_none(self) -> bool {
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

/// Handshake and flag bookkeeping of a TCP flow. While packets are counted, the flow table
/// keeps `flags` and `ack_seen` on its line; the rest is touched only by SYN, FIN and RST
/// segments and by each side's first ACK.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// OR of the flags seen, per direction.
    pub flags: [u8; 2],
    /// Direction of the first SYN without ACK: the initiator.
    pub syn_dir: Option<u8>,
    /// Direction of the first SYN-ACK when no SYN was seen.
    pub synack_dir: Option<u8>,
    /// Bit `d` set once `ack_ts[d]` holds a time, so that later ACKs need not look.
    pub(super) ack_seen: u8,
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

/// Counters of one flow. The flow table keeps what an ordinary packet updates on a line of its
/// own and folds it in here (see [`super::FlowTable::settle`]); captured bytes are kept as
/// what the snap length cut off, which only cut packets change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowStats {
    /// Packets per direction.
    pub packets: [u64; 2],
    /// Wire bytes per direction.
    pub bytes: [u64; 2],
    /// Earliest timestamp (ns); `i64::MAX` when no packet had one.
    pub(super) first: i64,
    /// Latest timestamp (ns); `i64::MIN` when no packet had one.
    pub(super) last: i64,
    /// TCP details (zero for other protocols).
    pub tcp: TcpStats,
    /// Wire minus captured bytes per direction, modulo 2^64 (a broken file may claim more
    /// captured than wire bytes).
    pub(super) uncaptured: [u64; 2],
    /// `true` when the first packet went `lo → hi`.
    pub first_dir_lo: bool,
    /// The flow's timeline class (see [`super::timeline::Class`]).
    pub(super) class: u8,
}

impl FlowStats {
    pub(super) fn new(dir: usize) -> Self {
        FlowStats {
            first_dir_lo: dir == 0,
            class: 0,
            packets: [0; 2],
            bytes: [0; 2],
            uncaptured: [0; 2],
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

    /// Captured bytes in direction `dir` (0 = `lo → hi`).
    pub fn captured(&self, dir: usize) -> u64 {
        self.bytes[dir & 1].wrapping_sub(self.uncaptured[dir & 1])
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
            self.uncaptured[i] = self.uncaptured[i].wrapping_add(other.uncaptured[i]);
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
            if !t.ack_ts[i].is_none() {
                t.ack_seen |= 1 << i;
            }
        }
    }

    /// Notes that `cap` of a packet's `wire` bytes were captured.
    #[inline]
    pub(super) fn add_uncaptured(&mut self, dir: usize, wire: u32, cap: u32) {
        self.uncaptured[dir] =
            self.uncaptured[dir].wrapping_add(u64::from(wire).wrapping_sub(u64::from(cap)));
    }

    /// Accounts a packet the plain way: what the flow table's split accounting must equal.
    #[cfg(test)]
    pub(super) fn add(&mut self, dir: usize, ts: Ts, wire: u32, cap: u32) {
        self.packets[dir] += 1;
        self.bytes[dir] += u64::from(wire);
        self.add_uncaptured(dir, wire, cap);
        if !ts.is_none() {
            self.first = self.first.min(ts.0);
            self.last = self.last.max(ts.0);
        }
    }

    /// Accounts a TCP segment the plain way (see [`FlowStats::add`]).
    #[cfg(test)]
    pub(super) fn add_tcp(&mut self, dir: usize, flags: u8, ts: Ts) {
        let t = &mut self.tcp;
        t.flags[dir] |= flags;
        const RARE: u8 = tcp_flags::SYN | tcp_flags::FIN | tcp_flags::RST;
        let first_ack = flags & tcp_flags::ACK != 0 && t.ack_seen & (1 << dir) == 0;
        if flags & RARE != 0 || first_ack {
            t.add_rare(dir, flags, ts);
        }
    }
}

impl TcpStats {
    /// The part of a segment's accounting that only SYN, FIN and RST segments and each
    /// side's first ACK need.
    #[cold]
    pub(super) fn add_rare(&mut self, dir: usize, flags: u8, ts: Ts) {
        let t = self;
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
                if t.synack_ts[dir].is_none() {
                    t.synack_ts[dir] = ts;
                }
            }
            (false, true) if t.ack_ts[dir].is_none() => {
                t.ack_ts[dir] = ts;
            }
            _ => {}
        }
        if !t.ack_ts[dir].is_none() {
            t.ack_seen |= 1 << dir;
        }
    }
}
