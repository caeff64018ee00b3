//! A map from IP address to a small value, filled a batch at a time: the per-address sums
//! behind the report's top talkers and the guess of the local address. It owns only the
//! lookup; what is summed is the caller's.
//!
//! With one new remote address per flow, both walk a map about as large as the flow table,
//! and a general-purpose hash map waited for one cache miss at a time (about 100 ns per
//! address). Like [`crate::flow::FlowTable`], this one prefetches the slots of a batch, then
//! the entries the slots point to, before reading any.

use crate::decode::Addr;
use crate::hint::{prefault, prefetch, written_zeros};

/// Addresses whose misses overlap at a time.
const BATCH: usize = 64;

/// The bits of a slot (and of a hash) that hold the tag; the rest is the index + 1.
const TAG: u64 = 0xFFFF_FFFF_0000_0000;

/// Address → `V`, by open addressing over 8-byte slots pointing into a dense array.
#[derive(Debug, Clone)]
pub struct AddrTable<V> {
    /// 0 = empty; else hash tag in the high 32 bits, index + 1 in the low 32.
    slots: Vec<u64>,
    entries: Vec<(Addr, V)>,
}

fn hash(a: &Addr) -> u64 {
    let (x, y) = a.bytes.split_at(8);
    let word = |s: &[u8]| u64::from_le_bytes(s.try_into().unwrap_or_default());
    let fold = |a: u64, b: u64| {
        let r = u128::from(a) * u128::from(b);
        (r as u64) ^ ((r >> 64) as u64)
    };
    fold(
        word(x) ^ 0x243F_6A88_85A3_08D3,
        word(y) ^ u64::from(a.v6) ^ 0x1319_8A2E_0370_7344,
    )
}

impl<V: Copy + Default> AddrTable<V> {
    /// An empty table with room for `n` addresses before it grows.
    pub fn with_capacity(n: usize) -> Self {
        let entries = Vec::with_capacity(n);
        prefault(&entries);
        AddrTable {
            slots: written_zeros((n * 2).next_power_of_two().max(64), false),
            entries,
        }
    }

    /// The addresses and their values, in first-seen order.
    pub fn entries(&self) -> &[(Addr, V)] {
        &self.entries
    }

    /// Into the addresses and their values, in first-seen order.
    pub fn into_entries(self) -> Vec<(Addr, V)> {
        self.entries
    }

    /// Calls `update(value, i)` on the value of `addrs[i]` (a default one if new), for every
    /// `i` in order.
    pub fn update(&mut self, addrs: &[Addr], mut update: impl FnMut(&mut V, usize)) {
        for (c, chunk) in addrs.chunks(BATCH).enumerate() {
            self.update_chunk(chunk, |v, i| update(v, c * BATCH + i));
        }
    }

    fn update_chunk(&mut self, addrs: &[Addr], mut update: impl FnMut(&mut V, usize)) {
        self.reserve(addrs.len());
        let mask = self.slots.len() - 1;
        let mut hashes = [0u64; BATCH];
        for (h, a) in hashes.iter_mut().zip(addrs) {
            *h = hash(a);
            prefetch(self.slots.as_ptr().wrapping_add(*h as usize & mask).cast());
        }
        let mut candidate = [usize::MAX; BATCH];
        for (c, &h) in candidate.iter_mut().zip(&hashes[..addrs.len()]) {
            let mut pos = h as usize & mask;
            loop {
                let s = self.slots[pos];
                if s == 0 {
                    break;
                }
                if s & TAG == h & TAG {
                    *c = (s & !TAG) as usize - 1;
                    prefetch((&self.entries[*c] as *const (Addr, V)).cast());
                    break;
                }
                pos = (pos + 1) & mask;
            }
        }
        for (i, ((a, &h), &c)) in addrs.iter().zip(&hashes).zip(&candidate).enumerate() {
            let idx = match self.entries.get(c) {
                Some(e) if e.0 == *a => c,
                // New addresses, tag collisions, and addresses this batch added.
                _ => self.find_or_insert(a, h),
            };
            update(&mut self.entries[idx].1, i);
        }
    }

    #[inline(never)]
    fn find_or_insert(&mut self, a: &Addr, h: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut pos = h as usize & mask;
        loop {
            let s = self.slots[pos];
            if s == 0 {
                let idx = self.entries.len();
                self.slots[pos] = (h & TAG) | (idx as u64 + 1);
                self.entries.push((*a, V::default()));
                return idx;
            }
            if s & TAG == h & TAG {
                let idx = (s & !TAG) as usize - 1;
                if self.entries[idx].0 == *a {
                    return idx;
                }
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Makes room for `extra` more addresses at load ≤ 1/2, so slots stay put within a batch.
    fn reserve(&mut self, extra: usize) {
        let need = (self.entries.len() + extra) * 2;
        if need <= self.slots.len() {
            return;
        }
        self.slots = written_zeros(need.next_power_of_two(), false);
        let mask = self.slots.len() - 1;
        for (idx, (a, _)) in self.entries.iter().enumerate() {
            let h = hash(a);
            let mut pos = h as usize & mask;
            while self.slots[pos] != 0 {
                pos = (pos + 1) & mask;
            }
            self.slots[pos] = (h & TAG) | (idx as u64 + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn sums_equal_a_hash_map() {
        // Few distinct addresses among many (repeats inside one batch), both families, and
        // enough of them to grow the table several times from a small start.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let addrs: Vec<Addr> = (0..50_000)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let n = if i % 3 == 0 { x % 7 } else { x % 20_000 };
                let b = (n as u32).to_be_bytes();
                if x >> 60 & 1 == 0 {
                    Addr::v4(b)
                } else {
                    let mut v6 = [0u8; 16];
                    v6[12..].copy_from_slice(&b);
                    Addr {
                        v6: true,
                        bytes: v6,
                    }
                }
            })
            .collect();
        let mut t: AddrTable<(u64, usize)> = AddrTable::with_capacity(4);
        t.update(&addrs, |v, i| {
            v.0 += i as u64;
            v.1 += 1;
        });
        let mut expect: HashMap<Addr, (u64, usize)> = HashMap::new();
        let mut order = Vec::new();
        for (i, a) in addrs.iter().enumerate() {
            let e = expect.entry(*a).or_insert_with(|| {
                order.push(*a);
                (0, 0)
            });
            e.0 += i as u64;
            e.1 += 1;
        }
        let got = t.into_entries();
        assert_eq!(got.len(), expect.len());
        assert_eq!(got.iter().map(|e| e.0).collect::<Vec<_>>(), order);
        for (a, v) in got {
            assert_eq!(expect[&a], v, "{a:?}");
        }
    }
}
