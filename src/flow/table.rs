//! The flow table: [`PackedKey`] → [`FlowStats`] by open addressing, without allocating per
//! packet, with batched prefetching so that the cache misses of a batch overlap.

use super::key::{FlowKey, PackedKey};
use super::stats::FlowStats;
use super::Pending;
use crate::hint::{huge_pages, prefetch};

/// A key stored on a cache line of its own, so that a lookup compares against one line, not
/// two.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct LineKey(PackedKey);

/// Packets whose misses [`FlowTable::add_batch`] overlaps at a time.
const MAX_BATCH: usize = 64;

/// The bits of a slot (and of a hash) that hold the tag.
const TAG: u64 = 0xFFFF_FFFF_0000_0000;

/// The flow table: open addressing over 8-byte slots (hash tag + index) pointing into dense
/// key and stats arrays.
///
/// With tens of thousands of flows every lookup is a cache miss; [`FlowTable::add_batch`]
/// therefore prefetches the slots, then the entries, of a whole batch before touching any,
/// so the misses overlap instead of queueing one per packet.
#[derive(Debug, Clone)]
pub struct FlowTable {
    /// 0 = empty; else hash tag in the high 32 bits ([`TAG`]), index + 1 in the low 32 (the
    /// 2^32 - 1 flows that allows would take a terabyte of table first).
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

/// A copy of `v` with room for `cap` elements, backed by huge pages where the system allows.
fn regrow<T: Copy>(v: &[T], cap: usize) -> Vec<T> {
    let mut grown = Vec::with_capacity(cap.max(v.len()));
    huge_pages(&grown);
    grown.extend_from_slice(v);
    grown
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
        self.keys
            .iter()
            .map(|k| k.0.unpack())
            .zip(self.stats.iter())
    }

    /// The stats of a flow, if present.
    pub fn get(&self, key: &FlowKey) -> Option<&FlowStats> {
        let k = key.pack();
        self.find(&k, k.hash()).ok().map(|i| &self.stats[i])
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// `Ok(index)` when present, else `Err(slot)` where it would go.
    #[inline]
    fn find(&self, key: &PackedKey, h: u64) -> Result<usize, usize> {
        let tag = h & TAG;
        let mask = self.mask();
        let mut pos = h as usize & mask;
        loop {
            let s = self.slots[pos];
            if s == 0 {
                return Err(pos);
            }
            if s & TAG == tag {
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
        // Grow the dense arrays with the slots (not by doubling on push), each into a fresh
        // allocation advised before its pages are first touched: growing in place would keep
        // the old part on small pages.
        let flows = cap / 2;
        huge_pages(&self.slots);
        self.keys = regrow(&self.keys, flows);
        self.stats = regrow(&self.stats, flows);
        let mask = cap - 1;
        for (idx, k) in self.keys.iter().enumerate() {
            let h = k.0.hash();
            let mut pos = h as usize & mask;
            while self.slots[pos] != 0 {
                pos = (pos + 1) & mask;
            }
            self.slots[pos] = (h & TAG) | (idx as u64 + 1);
        }
    }

    /// The index of `key`'s flow, created (with `dir` as its first direction) if new.
    #[inline(never)]
    fn find_or_insert(&mut self, key: PackedKey, h: u64, dir: usize) -> usize {
        match self.find(&key, h) {
            Ok(i) => i,
            Err(pos) => {
                let idx = self.keys.len();
                self.slots[pos] = (h & TAG) | (idx as u64 + 1);
                self.keys.push(LineKey(key));
                self.stats.push(FlowStats::new(dir));
                idx
            }
        }
    }

    /// Accounts one keyed packet.
    pub fn add(&mut self, p: &Pending) {
        self.reserve(1);
        let h = p.key.hash();
        let idx = self.find_or_insert(p.key, h, usize::from(p.dir & 1));
        self.account(idx, p);
    }

    #[inline(always)]
    fn account(&mut self, idx: usize, p: &Pending) {
        let dir = usize::from(p.dir & 1);
        let stats = &mut self.stats[idx];
        stats.add(dir, p.ts, p.wire, p.cap);
        if let Some(f) = p.tcp_flags {
            stats.add_tcp(dir, f, p.ts);
        }
    }

    /// Accounts a batch of keyed packets, in order, overlapping their cache misses: first
    /// every slot is prefetched, then the key and counters each slot points to, and only then
    /// is anything read for real.
    pub fn add_batch(&mut self, batch: &[Pending]) {
        for chunk in batch.chunks(MAX_BATCH) {
            self.add_chunk(chunk);
        }
    }

    #[inline]
    fn add_chunk(&mut self, batch: &[Pending]) {
        const MAX: usize = MAX_BATCH;
        self.reserve(batch.len());
        let mut hashes = [0u64; MAX];
        let mask = self.mask();
        for (h, p) in hashes.iter_mut().zip(batch) {
            *h = p.key.hash();
            prefetch(self.slots.as_ptr().wrapping_add(*h as usize & mask).cast());
        }
        // The first slot whose tag matches, per packet: almost always the packet's flow. It
        // stays valid through the batch, as slots never move between `reserve`s.
        let mut candidate = [usize::MAX; MAX];
        for (c, &h) in candidate.iter_mut().zip(&hashes[..batch.len()]) {
            let tag = h & TAG;
            let mut pos = h as usize & mask;
            loop {
                let s = self.slots[pos];
                if s == 0 {
                    break;
                }
                if s & TAG == tag {
                    let idx = (s & !TAG) as usize - 1;
                    *c = idx;
                    // The key and the first line of counters: what `account` touches for all
                    // but handshake and cut-off packets.
                    prefetch((&self.keys[idx] as *const LineKey).cast());
                    prefetch((&self.stats[idx] as *const FlowStats).cast());
                    break;
                }
                pos = (pos + 1) & mask;
            }
        }
        for ((p, &h), &c) in batch.iter().zip(&hashes).zip(&candidate) {
            let idx = match self.keys.get(c) {
                Some(k) if k.0 == p.key => c,
                // New flows, tag collisions, and flows an earlier packet of this batch made.
                _ => self.find_or_insert(p.key, h, usize::from(p.dir & 1)),
            };
            self.account(idx, p);
        }
    }

    /// Adds the flows of a table built from later packets of the same capture.
    pub fn merge(&mut self, other: FlowTable) {
        self.reserve(other.len());
        for (LineKey(k), v) in other.keys.into_iter().zip(other.stats) {
            let h = k.hash();
            match self.find(&k, h) {
                Ok(i) => self.stats[i].merge(&v),
                Err(pos) => {
                    let idx = self.keys.len();
                    self.slots[pos] = (h & TAG) | (idx as u64 + 1);
                    self.keys.push(LineKey(k));
                    self.stats.push(v);
                }
            }
        }
    }
}
