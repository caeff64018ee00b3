//! The flow table: [`PackedKey`] → [`FlowStats`] by open addressing, without allocating per
//! packet, with batched prefetching so that the cache misses of a batch overlap.

use super::key::{FlowKey, PackedKey};
use super::stats::FlowStats;
use super::Pending;
use crate::hint::prefetch;

/// A key stored on a cache line of its own, so that a lookup compares against one line, not
/// two.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct LineKey(PackedKey);

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
            let h = k.0.hash();
            let mut pos = h as usize & mask;
            while self.slots[pos] != 0 {
                pos = (pos + 1) & mask;
            }
            self.slots[pos] = (h & 0xFFFF_FFFF_0000_0000) | (idx as u64 + 1);
        }
    }

    #[inline]
    fn entry(&mut self, key: PackedKey, h: u64, dir: usize) -> &mut FlowStats {
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
        let h = p.key.hash();
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
            *h = p.key.hash();
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
            let h = k.hash();
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
