//! When each flow's first RST went, per direction, kept aside: few flows have one, and in
//! every flow's counters the two timestamps were 16 bytes more a flow that the pass and the
//! report's sweeps carried through the cache for nothing. It owns the record and its merges;
//! the cold accounting decides when a segment is a flow's first RST.

use super::FlowTable;
use crate::flow::Ts;

/// Flow index -> time of its first RST per direction ([`Ts::NONE`] for none).
pub(super) type FirstRsts = std::collections::HashMap<u32, [Ts; 2], foldhash::fast::FixedState>;

impl FlowTable {
    /// Notes an RST of flow `idx` in direction `d` at `ts`, in packet order: the first
    /// stays.
    pub(super) fn note_rst(&mut self, idx: u32, d: usize, ts: Ts) {
        let e = self.rsts.entry(idx).or_insert([Ts::NONE; 2]);
        if e[d].is_none() {
            e[d] = ts;
        }
    }

    /// The times of the first RST of flow `i` (in [`FlowTable::iter`]'s order), per
    /// direction.
    pub fn first_rsts_at(&self, i: usize) -> [Ts; 2] {
        let (t, j) = self.place(i);
        t.rsts.get(&(j as u32)).copied().unwrap_or([Ts::NONE; 2])
    }

    /// Adds the first RSTs of `other`'s flows found here (`found[j] = Some(i)`): `other`
    /// read later packets, so this table's firsts stay.
    pub(super) fn merge_rsts(&mut self, other: &FlowTable, found: &[Option<u32>]) {
        for (&j, later) in &other.rsts {
            let Some(i) = found[j as usize] else {
                continue;
            };
            let e = self.rsts.entry(i).or_insert([Ts::NONE; 2]);
            for (mine, &theirs) in e.iter_mut().zip(later) {
                if mine.is_none() {
                    *mine = theirs;
                }
            }
        }
    }
}
