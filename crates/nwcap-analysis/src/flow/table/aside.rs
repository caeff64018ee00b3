//! What the table keeps of flows aside from their counters, because few flows have it or
//! only `--health` reads it: when each flow's first RST went, and each side's first SYN
//! options. In every flow's counters they were 24 bytes more a flow that the pass and the
//! report's sweeps carried through the cache for nothing. It owns these records and their
//! merges; the cold accounting decides when a segment is a flow's first RST or SYN.

use super::FlowTable;
use crate::decode::tcp::SynOptions;
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

    /// Notes the options of a SYN of flow `idx` in direction `d` (with sequence analysis
    /// only), in packet order: the first read stays.
    pub(super) fn note_syn(&mut self, idx: usize, d: usize, opts: SynOptions) {
        if let Some(o) = self.syns.get_mut(idx) {
            if !o[d].is_read() {
                o[d] = opts;
            }
        }
    }

    /// The options of the first SYN of flow `i` (in [`FlowTable::iter`]'s order) per
    /// direction whose options were read (none read without sequence analysis).
    pub fn syn_options_at(&self, i: usize) -> [SynOptions; 2] {
        let (t, j) = self.place(i);
        t.syns.get(j).copied().unwrap_or_default()
    }

    /// Adds the SYN options of `other`'s flows found here (`found[j] = Some(i)`), as
    /// [`FlowTable::merge_rsts`].
    pub(super) fn merge_syns(&mut self, other: &FlowTable, found: &[Option<u32>]) {
        for (later, &i) in other.syns.iter().zip(found) {
            let Some(mine) = i.and_then(|i| self.syns.get_mut(i as usize)) else {
                continue;
            };
            for (m, &theirs) in mine.iter_mut().zip(later) {
                if !m.is_read() {
                    *m = theirs;
                }
            }
        }
    }
}
