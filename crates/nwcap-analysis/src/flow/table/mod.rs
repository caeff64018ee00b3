//! The flow table: [`PackedKey`] → [`FlowStats`] by open addressing, without allocating per
//! packet, with batched prefetching so that the cache misses of a batch overlap.
//!
//! Each flow has one 64-byte [`Line`] holding its key and everything an ordinary packet
//! updates, so a lookup and its accounting touch one cache line; the rest of its counters
//! wait in a [`FlowStats`] that only handshakes, cut-off packets and carries reach. The two
//! are folded together by [`FlowTable::settle`] before anything is read.
//!
//! Here are the table, its lines and lookups, and the accounting of packets; `merge.rs` adds
//! a later shard's table, `list.rs` holds [`FlowList`], the report's view of a settled table,
//! `aside.rs` what few flows have (first RSTs) or only `--health` reads (SYN options), and
//! `sequences.rs` the sequence analysis arrays' life. The table never decides what a flow is
//! (that is the key) nor what its figures mean.

mod aside;
mod grow;
mod list;
mod merge;
mod over_time;
mod sequences;
#[cfg(test)]
mod testing;

use super::ack_rtt::FlowRtt;
use super::health::{self, event, Health, Prefix, SeqState, PREFIX_MORE};
use super::key::{FlowKey, PackedKey};
use super::peer::{self, PeerState};
use super::stats::FlowStats;
use super::timeline::Timeline;
use super::Pending;
use crate::decode::tcp::SynOptions;
use crate::decode::tcp_flags;
use crate::hint::{prefetch, prefetch_all, written_zeros};

use grow::{regrow, slots_for};
pub use list::FlowList;
use merge::Appendix;

/// A flow's key and hot counters, on one cache line. The counters hold the low bits of
/// packets and bytes since the last [`FlowTable::settle`]; their carries go to the flow's
/// [`FlowStats`] as they happen.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Line {
    key: PackedKey,
    /// Latest timestamp (ns); `i64::MIN` until a packet has one. The earliest lives in
    /// [`FlowStats`]: a packet not later than this one is the only one that can change it.
    last: i64,
    /// Wire bytes per direction, low 32 bits.
    bytes: [u32; 2],
    /// Packets per direction, low 16 bits.
    packets: [u16; 2],
    /// OR of the TCP flags seen, per direction.
    flags: [u8; 2],
    /// [`super::TcpStats`]'s bit per direction: that side's first ACK is known.
    ack_seen: u8,
    /// The flow's timeline class ([`super::timeline::Class`]) shifted left by one: its sums'
    /// index in an interval, the direction to be added.
    slot: u8,
}

impl Line {
    /// The line of a flow whose full counters are `s`.
    fn of(key: PackedKey, s: &FlowStats) -> Line {
        Line {
            key,
            last: s.last,
            bytes: [0; 2],
            packets: [0; 2],
            flags: s.tcp.flags,
            ack_seen: s.tcp.ack_seen,
            slot: s.class << 1,
        }
    }

    /// Moves the counts this line holds into `s`, which then has them all.
    fn fold_into(&mut self, s: &mut FlowStats) {
        for d in 0..2 {
            s.packets[d] += u64::from(std::mem::take(&mut self.packets[d]));
            s.bytes[d] += u64::from(std::mem::take(&mut self.bytes[d]));
        }
        s.last = self.last;
        s.tcp.flags = self.flags;
    }
}

/// Bits of what a packet's accounting leaves for its flow's [`FlowStats`].
struct Cold;

impl Cold {
    /// The line's byte counter wrapped.
    const BYTES: u8 = 1;
    /// The line's packet counter wrapped.
    const PACKETS: u8 = 2;
    /// The snap length cut the packet.
    const CUT: u8 = 4;
    /// The timestamp is the flow's first, or not after its latest.
    const EARLY: u8 = 8;
    /// A TCP segment [`super::TcpStats`] records.
    const TCP: u8 = 16;
    /// Sequence analysis found something to count ([`Health`]).
    const HEALTH: u8 = 32;
}

/// How many packets ahead a batch starts loading the vectors behind a flow's RTT state.
const RTT_AHEAD: usize = 8;

/// Packets whose misses [`FlowTable::add_batch`] overlaps at a time (at most 256: the batch
/// remembers packets by a byte).
pub const MAX_BATCH: usize = 64;

/// The tag of hash `h` in a slot whose index bits are `mask`: the hash's bits from 32 up,
/// above the mask. There are at least twice as many slots as flows, so the index + 1 of any
/// flow fits in the mask's bits.
#[inline(always)]
fn tag(h: u64, mask: u32) -> u32 {
    (h >> 32) as u32 & !mask
}

/// The slot of flow `idx`, whose hash is `h`, among slots whose index bits are `mask`.
#[inline(always)]
fn slot(h: u64, idx: usize, mask: u32) -> u32 {
    tag(h, mask) | (idx as u32 + 1)
}

/// The flow a taken slot `s` points to, if its tag is that of hash `h`.
#[inline(always)]
fn slot_flow(s: u32, h: u64, mask: u32) -> Option<usize> {
    (s & !mask == tag(h, mask)).then(|| (s & mask) as usize - 1)
}

/// The flow table: open addressing over 4-byte slots (hash tag + index) pointing into dense
/// arrays of `Line`s and [`FlowStats`].
///
/// With tens of thousands of flows every lookup is a cache miss; [`FlowTable::add_batch`]
/// therefore prefetches the slots, then the lines, of a whole batch before touching any, so
/// the misses overlap instead of queueing one per packet.
#[derive(Debug, Clone)]
pub struct FlowTable {
    /// 0 = empty; else the flow's index + 1 in the bits of the slots' mask (their number is a
    /// power of two), and above them as many bits of its hash as a tag ([`tag`]): 12 at 1 M
    /// slots, 22 at the first 1024. Half the 8 bytes a slot took with a 32-bit tag, so more of
    /// them stay in the cache. A table is limited to 2^31 slots, 2^30 flows, which would take
    /// 200 GiB of table first. No slots at all after [`FlowTable::release_index`], until
    /// `reserve` places the flows again.
    slots: Vec<u32>,
    lines: Vec<Line>,
    stats: Vec<FlowStats>,
    /// `false` while lines hold counts that `stats` lacks, or `late` holds work for it.
    settled: bool,
    /// The cold work of the last batch (see [`FlowTable::add_hashed`]), its stats loading.
    late: Vec<Late>,
    /// The flows of a later shard's table that this one lacked, left where they are by
    /// [`FlowTable::merge`] and read as if appended, in that table's order. Appending them is
    /// copying 208 bytes a flow into fresh memory, which the kernel must zero first, and the
    /// slots grow: that was most of a merge's time. Anything that looks flows up or adds to
    /// them appends them for real first ([`FlowTable::absorb`]).
    appendix: Option<Box<Appendix>>,
    /// Sequence analysis counts of the flows that have any, by index.
    health: HealthMap,
    /// The first RSTs of the flows that had any, by index.
    rsts: aside::FirstRsts,
    /// A shard's record of its flows' first segments, for an exact merge.
    prefix: Prefix,
    /// Whether TCP sequence analysis runs ([`FlowTable::analyse_sequences`]).
    sequences: bool,
    /// Each flow's sequence analysis state, beside `lines` (empty without analysis, so that
    /// the lines stay one cache line and a pass without it touches none of this).
    seqs: Vec<SeqState>,
    /// Traffic over time, by the flows' classes.
    timeline: Timeline,
    /// Each flow's window scales and MSSs (see `peer.rs`), beside `seqs` and as it: 12 bytes a
    /// flow, only with analysis.
    peers: Vec<PeerState>,
    /// Each flow's RTT state (see `ack_rtt.rs`), beside `seqs` and as it: 128 bytes a flow
    /// (two waiting segments and four samples a direction inline; vectors only beyond),
    /// only with analysis. In
    /// place rather than boxed: the batch loads it with the flow's other lines, where a box
    /// was one more miss a segment.
    rtts: Vec<FlowRtt>,
    /// Each flow's first SYN options per direction (see `aside.rs`), beside `seqs` and as
    /// it: 8 bytes a flow, only with analysis, and kept by `release_sequences` for the
    /// report.
    syns: Vec<[SynOptions; 2]>,
}

/// [`FlowTable::health`]: few flows have anything to count, so they are kept aside.
type HealthMap = std::collections::HashMap<u32, Health, foldhash::fast::FixedState>;

/// A packet's work for its flow's [`FlowStats`], done one batch after the packet's (see
/// [`FlowTable::add_hashed`]): what [`FlowTable::account_cold`] needs of it.
#[derive(Debug, Clone, Copy)]
struct Late {
    idx: u32,
    cold: u8,
    dir: u8,
    /// Sequence analysis events to count (`health::event`), and `peer::event` bits << 8.
    events: u16,
    /// Payload bytes of the segment.
    seg_len: u32,
    /// A SYN's options.
    opts: crate::decode::tcp::SynOptions,
    tcp_flags: Option<u8>,
    ts: super::Ts,
    wire: u32,
    cap: u32,
}

impl Late {
    /// The cold work `cold` of packet `p` of flow `idx`.
    fn of(idx: usize, p: &Pending, cold: u8, events: u16) -> Late {
        Late {
            idx: idx as u32,
            cold,
            dir: p.dir,
            events,
            seg_len: p.seg.len,
            opts: p.seg.opts,
            tcp_flags: p.tcp_flags,
            ts: p.ts,
            wire: p.wire,
            cap: p.cap,
        }
    }
}

impl Default for FlowTable {
    fn default() -> Self {
        FlowTable {
            slots: vec![0; 1024],
            lines: Vec::new(),
            stats: Vec::new(),
            settled: true,
            late: Vec::new(),
            appendix: None,
            health: HealthMap::default(),
            rsts: aside::FirstRsts::default(),
            syns: Vec::new(),
            prefix: Prefix::default(),
            sequences: false,
            seqs: Vec::new(),
            timeline: Timeline::default(),
            peers: Vec::new(),
            rtts: Vec::new(),
        }
    }
}

impl FlowTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of flows.
    pub fn len(&self) -> usize {
        self.lines.len() + self.appendix.as_ref().map_or(0, |a| a.flows.len())
    }

    /// `true` when no flow was seen.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where flow `i` is: in this table at `i`, or in the appendix's table.
    #[inline]
    fn place(&self, i: usize) -> (&FlowTable, usize) {
        match &self.appendix {
            Some(a) if i >= self.lines.len() => (&a.table, a.flows[i - self.lines.len()] as usize),
            _ => (self, i),
        }
    }

    /// The line of flow `i`, in this table or its appendix.
    #[inline]
    fn line(&self, i: usize) -> &Line {
        let (t, j) = self.place(i);
        &t.lines[j]
    }

    /// The counters of flow `i`, in this table or its appendix.
    #[inline]
    fn stats_at(&self, i: usize) -> &FlowStats {
        let (t, j) = self.place(i);
        &t.stats[j]
    }

    /// Iterates flows in first-seen order. Keys come by value: the table stores them in a
    /// packed form built for probing, not for reading.
    ///
    /// # Panics
    /// When [`FlowTable::add_batch`] ran since the last [`FlowTable::settle`]: the counters
    /// would be short.
    pub fn iter(&self) -> impl Iterator<Item = (FlowKey, &FlowStats)> {
        self.check_settled();
        (0..self.len()).map(|i| (self.line(i).key.unpack(), self.stats_at(i)))
    }

    /// The stats of a flow, if present.
    ///
    /// # Panics
    /// As [`FlowTable::iter`].
    pub fn get(&self, key: &FlowKey) -> Option<&FlowStats> {
        self.check_settled();
        let k = key.pack();
        let here = if self.slots.is_empty() {
            // The index was released (see `release_index`): look the slow way.
            self.lines.iter().position(|l| l.key == k)
        } else {
            self.find(&k, k.hash()).ok()
        };
        match (here, &self.appendix) {
            (Some(i), _) => Some(&self.stats[i]),
            // Not here: the appendix has it among the flows it adds, if at all, as the flows
            // it has besides were merged into this table.
            (None, Some(a)) => a.table.get(key),
            (None, None) => None,
        }
    }

    /// Frees the slots, which only lookups need, once the table is complete: the report
    /// reads flows by position, and its own vectors then take the pages the slots leave
    /// instead of fresh ones. The next packet added or table merged indexes the flows again
    /// first.
    pub fn release_index(&mut self) {
        self.slots = Vec::new();
        if let Some(a) = &mut self.appendix {
            a.table.release_index();
        }
    }

    /// A settled table of the given flows, in that order (keys must be distinct).
    #[cfg(test)]
    pub fn of_flows(flows: impl IntoIterator<Item = (FlowKey, FlowStats)>) -> Self {
        let mut t = FlowTable::new();
        for (k, s) in flows {
            t.reserve(1);
            let key = k.pack();
            let h = key.hash();
            let pos = t.find(&key, h).expect_err("keys must be distinct");
            t.insert_at(pos, key, h, s, SeqState::FRESH);
        }
        t
    }

    /// Every flow, as a list that filters can narrow (see [`FlowList`]).
    ///
    /// # Panics
    /// As [`FlowTable::iter`].
    pub fn list(&self) -> FlowList<'_> {
        self.check_settled();
        FlowList {
            table: self,
            kept: None,
        }
    }

    fn check_settled(&self) {
        assert!(self.settled, "flow table read before FlowTable::settle");
    }

    /// Folds the hot counters of every line into its flow's [`FlowStats`], which are then
    /// complete. Cheap next to the pass that filled the table: one sweep over both arrays.
    pub fn settle(&mut self) {
        if self.settled {
            return;
        }
        self.finish_late();
        for (l, s) in self.lines.iter_mut().zip(&mut self.stats) {
            l.fold_into(s);
        }
        self.timeline.settle();
        self.settled = true;
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// `Ok(index)` when present, else `Err(slot)` where it would go.
    #[inline]
    fn find(&self, key: &PackedKey, h: u64) -> Result<usize, usize> {
        let mask = self.mask();
        let mut pos = h as usize & mask;
        loop {
            let s = self.slots[pos];
            if s == 0 {
                return Err(pos);
            }
            if let Some(idx) = slot_flow(s, h, mask as u32) {
                if self.lines[idx].key == *key {
                    return Ok(idx);
                }
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Makes room for `extra` more flows without moving slots mid-batch, at the load
    /// [`slots_for`] allows.
    fn reserve(&mut self, extra: usize) {
        self.absorb();
        let need = slots_for(self.lines.len() + extra);
        if need <= self.slots.len() {
            return;
        }
        let cap = need.next_power_of_two().max(1024);
        assert!(cap <= 1 << 31, "a flow table holds at most 2^30 flows");
        self.slots = written_zeros(cap, true);
        // The dense arrays grow with the slots, not by doubling on push (see `regrow`).
        let flows = cap / 2;
        self.lines = regrow(std::mem::take(&mut self.lines), flows);
        self.stats = regrow(std::mem::take(&mut self.stats), flows);
        if self.sequences {
            self.seqs = regrow(std::mem::take(&mut self.seqs), flows);
            self.peers = regrow(std::mem::take(&mut self.peers), flows);
            self.rtts.reserve(flows.saturating_sub(self.rtts.len()));
            self.syns = regrow(std::mem::take(&mut self.syns), flows);
        }
        // Every flow's new slot is a miss: a batch's are loaded before any is written, as in
        // `add_batch`, rather than waiting on each miss in turn.
        let mut hashes = [0u64; MAX_BATCH];
        for (b, batch) in self.lines.chunks(MAX_BATCH).enumerate() {
            for (h, l) in hashes.iter_mut().zip(batch) {
                *h = self.prefetch_slot(&l.key);
            }
            for (k, &h) in hashes[..batch.len()].iter().enumerate() {
                let mut pos = h as usize & (cap - 1);
                while self.slots[pos] != 0 {
                    pos = (pos + 1) & (cap - 1);
                }
                self.slots[pos] = slot(h, b * MAX_BATCH + k, (cap - 1) as u32);
            }
        }
    }

    /// Puts a new flow whose full counters are `s` into empty slot `pos`.
    #[inline(always)]
    fn insert_at(
        &mut self,
        pos: usize,
        key: PackedKey,
        h: u64,
        s: FlowStats,
        seq: SeqState,
    ) -> usize {
        let idx = self.lines.len();
        self.timeline.note(s.class);
        self.slots[pos] = slot(h, idx, self.mask() as u32);
        self.lines.push(Line::of(key, &s));
        self.stats.push(s);
        if self.sequences {
            self.seqs.push(seq);
            self.peers.push(PeerState::FRESH);
            self.rtts.push(FlowRtt::default());
            self.syns.push([SynOptions::default(); 2]);
        }
        idx
    }

    /// The index of `key`'s flow, created (with `dir` as its first direction) if new.
    #[inline(never)]
    fn find_or_insert(&mut self, key: PackedKey, h: u64, dir: usize) -> usize {
        match self.find(&key, h) {
            Ok(i) => i,
            Err(pos) => {
                let mut s = FlowStats::new(dir);
                s.class = self.timeline.classes.class(&key, dir);
                self.insert_at(pos, key, h, s, SeqState::FRESH)
            }
        }
    }

    /// Accounts one keyed packet; the table stays settled if it was.
    pub fn add(&mut self, p: &Pending) {
        self.reserve(1);
        let h = p.key.hash();
        let idx = self.find_or_insert(p.key, h, usize::from(p.dir & 1));
        // The last batch's cold work first: it is done in packet order.
        self.finish_late();
        let (cold, events) = if self.sequences {
            self.account::<true>(idx, p)
        } else {
            self.account::<false>(idx, p)
        };
        self.account_cold(&Late::of(idx, p, cold, events));
        self.lines[idx].fold_into(&mut self.stats[idx]);
    }

    /// Accounts a packet on its flow's line. Returns what the line could not hold (a
    /// [`Cold`] mask) for [`FlowTable::account_cold`]: that part commutes with later packets'
    /// line updates, so it can wait for the next batch, its misses overlapped.
    #[inline(always)]
    fn account<const SEQ: bool>(&mut self, idx: usize, p: &Pending) -> (u8, u16) {
        let d = usize::from(p.dir & 1);
        let l = &mut self.lines[idx];
        let (bytes, carry) = l.bytes[d].overflowing_add(p.wire);
        l.bytes[d] = bytes;
        let packets = l.packets[d].wrapping_add(1);
        l.packets[d] = packets;
        let mut cold = (u8::from(carry) * Cold::BYTES)
            | (u8::from(packets == 0) * Cold::PACKETS)
            | (u8::from(p.cap != p.wire) * Cold::CUT);
        let t = p.ts.raw();
        if !p.ts.is_none() {
            if l.last != i64::MIN && t >= l.last {
                l.last = t;
            } else {
                // Out of order, or the flow's first timestamp: the earliest may move.
                cold |= Cold::EARLY;
                l.last = l.last.max(t);
            }
        }
        self.timeline.add(l.slot | d as u8, t, p.wire);
        // TCP or UDP is a coin toss per packet too: no branch on it. UDP's 0 changes nothing.
        let f = p.tcp_flags.unwrap_or(0);
        l.flags[d] |= f;
        const RARE: u8 = tcp_flags::SYN | tcp_flags::FIN | tcp_flags::RST;
        let first_ack = (f & tcp_flags::ACK != 0) & (l.ack_seen & (1 << d) == 0);
        let cold = cold | (u8::from((f & RARE != 0) | first_ack) * Cold::TCP);
        // Without analysis (`SEQ` false: see the callers) the general decoder's segments are
        // passed over here; the fast path reads none.
        if !SEQ || !p.seg.ok {
            return (cold, 0);
        }
        let st = &mut self.seqs[idx];
        let pe = &mut self.peers[idx];
        if self.prefix.on {
            let before = st.prefix_bits & PREFIX_MORE;
            self.prefix.record(st, d, &p.seg, f, t);
            if before == 0 && st.prefix_bits & PREFIX_MORE != 0 {
                pe.start_live();
            }
        }
        let ev = health::step(st, d, &p.seg, f, t);
        let pev = peer::step(pe, st, d, &p.seg, f, ev);
        let rtt = &mut self.rtts[idx];
        if self.prefix.on {
            // A later shard's flow holds back its first acknowledgements (see `ack_rtt.rs`).
            rtt.hold();
        }
        rtt.step(d, &p.seg, f, t);
        let events = u16::from(ev & event::COUNTED) | u16::from(pev) << 8;
        (cold | (u8::from(events != 0) * Cold::HEALTH), events)
    }

    /// Starts loading the parts of a flow's [`FlowStats`] that `cold` will touch.
    #[inline(always)]
    fn prefetch_cold(&self, idx: usize, cold: u8) {
        let s = &self.stats[idx];
        if cold & Cold::TCP != 0 {
            // Every line it spans: at 72 bytes it may span three, and a prefetch of its
            // first and last byte alone left the middle one to a stall in `add_rare`.
            prefetch_all(&s.tcp);
        }
        // Cut: every packet of a capture whose snap length is below its frames. (Carries,
        // once in 65536 packets or 4 GiB, are not worth a hint.)
        if cold & Cold::CUT != 0 {
            prefetch((&s.uncaptured as *const [u64; 2]).cast());
        }
        if cold & Cold::EARLY != 0 {
            prefetch((&s.first as *const i64).cast());
        }
    }

    /// The part of a packet's accounting [`FlowTable::account`] left: carries, cut-off bytes,
    /// an earlier first timestamp, and the TCP segments [`super::TcpStats`] records. In packet
    /// order per flow, as the TCP part keeps firsts.
    #[cold]
    fn account_cold(&mut self, p: &Late) {
        let (idx, cold) = (p.idx as usize, p.cold);
        if cold == 0 {
            return;
        }
        let d = usize::from(p.dir & 1);
        let s = &mut self.stats[idx];
        // Tested, not added as 0: the counters may lie on a line `prefetch_cold` did not load
        // (they share one with the TCP part for some flows only), and adding 0 there waited
        // on it for most TCP segments.
        if cold & Cold::BYTES != 0 {
            s.bytes[d] += 1 << 32;
        }
        if cold & Cold::PACKETS != 0 {
            s.packets[d] += 1 << 16;
        }
        if cold & Cold::CUT != 0 {
            s.add_uncaptured(d, p.wire, p.cap);
        }
        if cold & Cold::EARLY != 0 {
            s.first = s.first.min(p.ts.raw());
        }
        if cold & Cold::HEALTH != 0 {
            let h = self.health.entry(p.idx).or_default();
            h.count(d, p.events as u8, p.seg_len);
            h.count_peer(d, (p.events >> 8) as u8);
        }
        if cold & Cold::TCP != 0 {
            if let Some(f) = p.tcp_flags {
                s.tcp.add_rare(d, f, p.ts);
                // A later packet of the batch may have come here for the same first ACK;
                // `add_rare` ignores it.
                self.lines[idx].ack_seen |= s.tcp.ack_seen;
                if f & tcp_flags::RST != 0 {
                    self.note_rst(p.idx, d, p.ts);
                }
                // SYN options are read with sequence analysis only (the fast path reads
                // none without it; the general decoder's are passed over, as in `account`),
                // and only then kept (`syns`).
                if f & tcp_flags::SYN != 0 && p.opts.is_read() {
                    self.note_syn(idx, d, p.opts);
                }
            }
        }
    }

    /// Accounts a batch of keyed packets, in order, overlapping their cache misses: first
    /// every slot is prefetched, then the line each slot points to, and only then is anything
    /// read for real. Call [`FlowTable::settle`] before reading the table.
    pub fn add_batch(&mut self, batch: &[Pending]) {
        let mut hashes = [0u64; MAX_BATCH];
        for chunk in batch.chunks(MAX_BATCH) {
            for (h, p) in hashes.iter_mut().zip(chunk) {
                *h = self.prefetch_slot(&p.key);
            }
            self.add_hashed(chunk, &hashes[..chunk.len()]);
        }
    }

    /// Hashes `key` and starts loading its slot: the first stage of [`FlowTable::add_batch`],
    /// for a caller that can do other work before [`FlowTable::add_hashed`] needs the slot.
    #[inline(always)]
    pub fn prefetch_slot(&self, key: &PackedKey) -> u64 {
        let h = key.hash();
        prefetch(
            self.slots
                .as_ptr()
                // Without slots (see `release_index`) a wild address, which is fine: a
                // prefetch never faults, and the lookup indexes the flows first.
                .wrapping_add(h as usize & self.slots.len().wrapping_sub(1))
                .cast(),
        );
        h
    }

    /// [`FlowTable::add_batch`] of at most [`MAX_BATCH`] packets whose keys'
    /// [`FlowTable::prefetch_slot`] hashes are `hashes`.
    #[inline]
    pub fn add_hashed(&mut self, batch: &[Pending], hashes: &[u64]) {
        // Without sequence analysis, a loop that holds none of it.
        if self.sequences {
            self.add_hashed_as::<true>(batch, hashes);
        } else {
            self.add_hashed_as::<false>(batch, hashes);
        }
    }

    /// [`FlowTable::add_hashed`], with sequence analysis when `SEQ`.
    #[inline(always)]
    fn add_hashed_as<const SEQ: bool>(&mut self, batch: &[Pending], hashes: &[u64]) {
        const MAX: usize = MAX_BATCH;
        debug_assert!(batch.len() <= MAX && hashes.len() == batch.len());
        self.settled = false;
        // Slots may move here; the hashes stay right, and the prefetches were only hints.
        self.reserve(batch.len());
        let mask = self.mask();
        // The first slot whose tag matches, per packet: almost always the packet's flow. It
        // stays valid through the batch, as slots never move between `reserve`s.
        let mut candidate = [usize::MAX; MAX];
        for (c, &h) in candidate.iter_mut().zip(hashes) {
            let mut pos = h as usize & mask;
            loop {
                let s = self.slots[pos];
                if s == 0 {
                    break;
                }
                if let Some(idx) = slot_flow(s, h, mask as u32) {
                    *c = idx;
                    prefetch((&self.lines[idx] as *const Line).cast());
                    // Empty without sequence analysis.
                    if let Some(st) = self.seqs.get(idx).filter(|_| SEQ) {
                        prefetch((st as *const SeqState).cast());
                        prefetch((&self.peers[idx] as *const PeerState).cast());
                        let r: *const FlowRtt = &self.rtts[idx];
                        prefetch(r.cast());
                        prefetch(r.cast::<u8>().wrapping_add(64));
                    }
                    break;
                }
                pos = (pos + 1) & mask;
            }
        }
        // Packets with work left for their flow's `FlowStats`: (flow, packet, `Cold` mask).
        let mut colds = [(0u32, 0u8, 0u8, 0u16); MAX];
        let mut n = 0;
        for (i, ((p, &h), &c)) in batch.iter().zip(hashes).zip(&candidate).enumerate() {
            if SEQ {
                // The vectors behind a flow's RTT state: loaded some packets ahead, once the
                // state itself (prefetched with the flow's lines) is there.
                if let Some(r) = candidate.get(i + RTT_AHEAD).and_then(|&c| self.rtts.get(c)) {
                    r.prefetch();
                }
            }
            let idx = match self.lines.get(c) {
                Some(l) if l.key == p.key => c,
                // New flows, tag collisions, and flows an earlier packet of this batch made.
                _ => self.find_or_insert(p.key, h, usize::from(p.dir & 1)),
            };
            let (cold, events) = self.account::<SEQ>(idx, p);
            // Appended whatever `cold` is, and kept if it is not 0: whether a packet has cold
            // work is as unpredictable as the flags and times behind it.
            colds[n] = (idx as u32, i as u8, cold, events);
            n += usize::from(cold != 0);
        }
        // The last batch's cold work, its stats loaded while this one was accounted; then this
        // one's, left for the next. Done right after its prefetches, it waited on most of
        // them: the TCP part of a flow's stats, read for its handshake and its end, is far
        // from everything a packet touched before.
        self.finish_late();
        for &(idx, i, cold, events) in &colds[..n] {
            self.prefetch_cold(idx as usize, cold);
            self.late
                .push(Late::of(idx as usize, &batch[usize::from(i)], cold, events));
        }
    }

    /// Does the cold work left by the last batch.
    fn finish_late(&mut self) {
        let late = std::mem::take(&mut self.late);
        for w in &late {
            self.account_cold(w);
        }
        self.late = late;
        self.late.clear();
    }
}

#[cfg(test)]
mod tests;
