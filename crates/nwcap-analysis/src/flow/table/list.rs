//! [`FlowList`]: some or all of a settled table's flows, read by position where they are.
//! It owns the choice of flows and their order; it never changes a flow.

use super::{FlowTable, Line};
use crate::decode::tcp::SynOptions;
use crate::flow::health::Health;
use crate::flow::key::FlowKey;
use crate::flow::stats::FlowStats;
use crate::flow::timeline::Timeline;
use crate::flow::Ts;
use crate::hint::{prefetch, prefetch_all};

/// Some or all of a settled table's flows, by position, in the table's order: the report reads
/// them where they are rather than from a list of copies (56 bytes a flow, 10 MiB of fresh
/// pages at 190 k flows, read at random in size order through 4 KiB pages).
#[derive(Debug, Clone)]
pub struct FlowList<'a> {
    pub(super) table: &'a FlowTable,
    /// The kept flows' indexes, ascending; `None` = every flow.
    pub(super) kept: Option<Vec<u32>>,
}

impl<'a> FlowList<'a> {
    /// Number of flows.
    pub fn len(&self) -> usize {
        self.kept.as_ref().map_or(self.table.len(), Vec::len)
    }

    /// `true` when there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn index(&self, i: usize) -> usize {
        match &self.kept {
            None => i,
            Some(k) => k[i] as usize,
        }
    }

    /// The key of the flow at `i`.
    #[inline]
    pub fn key(&self, i: usize) -> FlowKey {
        self.table.line(self.index(i)).key.unpack()
    }

    /// The counters of the flow at `i`.
    #[inline]
    pub fn stats(&self, i: usize) -> &'a FlowStats {
        self.table.stats_at(self.index(i))
    }

    /// The sequence analysis counts of the flow at `i`, if it has any.
    #[inline]
    pub fn health(&self, i: usize) -> Option<&'a Health> {
        self.table.health_at(self.index(i))
    }

    /// The times of the first RST of the flow at `i`, per direction.
    pub fn first_rsts(&self, i: usize) -> [Ts; 2] {
        self.table.first_rsts_at(self.index(i))
    }

    /// The options of the first SYN of the flow at `i` per direction whose options were
    /// read (with sequence analysis).
    pub fn syn_options(&self, i: usize) -> [SynOptions; 2] {
        self.table.syn_options_at(self.index(i))
    }

    /// Every flow of the table, selected or not.
    pub fn all(&self) -> FlowList<'a> {
        FlowList {
            table: self.table,
            kept: None,
        }
    }

    /// Whether every flow of the table is in the list.
    pub fn is_all(&self) -> bool {
        self.kept.is_none()
    }

    /// The table's traffic over time.
    pub fn timeline(&self) -> &'a Timeline {
        self.table.timeline()
    }

    /// The RTT state of the flow at `i`, if it has one (see `ack_rtt.rs`).
    #[inline]
    pub fn rtt(&self, i: usize) -> Option<&'a crate::flow::ack_rtt::FlowRtt> {
        self.table.rtt_at(self.index(i))
    }

    /// The flows in order.
    pub fn iter(&self) -> impl Iterator<Item = (FlowKey, &'a FlowStats)> + '_ {
        (0..self.len()).map(|i| (self.key(i), self.stats(i)))
    }

    /// Keeps the flows whose key passes `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&FlowKey) -> bool) {
        let kept = (0..self.len())
            .filter(|&i| keep(&self.key(i)))
            .map(|i| self.index(i) as u32)
            .collect();
        self.kept = Some(kept);
    }

    /// Starts loading the key of the flow at `i`, if there is one.
    #[inline]
    pub fn prefetch_key(&self, i: usize) {
        if i < self.len() {
            prefetch((self.table.line(self.index(i)) as *const Line).cast());
        }
    }

    /// Starts loading the key and the counters of the flow at `i`, if there is one.
    #[inline]
    pub fn prefetch(&self, i: usize) {
        if i < self.len() {
            let at = self.index(i);
            prefetch((self.table.line(at) as *const Line).cast());
            prefetch_all(self.table.stats_at(at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::pending;
    use crate::flow::{FlowKey, FlowStats, FlowTable};

    /// A list narrowed twice keeps, in table order, exactly the flows that pass both tests,
    /// each with its own counters.
    #[test]
    fn flow_list_narrows_in_table_order() {
        let mut t = FlowTable::new();
        for i in 0..3000u32 {
            t.add(&pending(i * 7919 % 1000, 0));
        }
        t.settle();
        let all: Vec<(FlowKey, FlowStats)> = t.iter().map(|(k, s)| (k, *s)).collect();
        let mut list = t.list();
        assert_eq!(list.len(), all.len());
        assert!(list.iter().map(|(k, s)| (k, *s)).eq(all.iter().copied()));
        list.retain(|k| k.lo.1 % 2 == 0);
        list.retain(|k| k.lo.0.bytes[3] % 3 != 0);
        let expect: Vec<_> = all
            .iter()
            .filter(|(k, _)| k.lo.1 % 2 == 0 && k.lo.0.bytes[3] % 3 != 0)
            .copied()
            .collect();
        assert!(!expect.is_empty() && expect.len() < all.len() / 2);
        assert_eq!(list.len(), expect.len());
        for (i, (k, s)) in expect.iter().enumerate() {
            assert_eq!((list.key(i), list.stats(i)), (*k, s));
        }
        list.retain(|_| false);
        assert!(list.is_empty() && list.iter().next().is_none());
    }
}
