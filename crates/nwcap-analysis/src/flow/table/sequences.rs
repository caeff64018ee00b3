//! The flow table's TCP sequence analysis: switching it on, starting it afresh for a new
//! input, freeing what only later segments would read, and reading each flow's state. The
//! analysis itself is `health`, `peer` and `ack_rtt`'s; the per-segment steps are in the
//! table's accounting.

use super::FlowTable;
use crate::decode::tcp::SynOptions;
use crate::flow::ack_rtt::FlowRtt;
use crate::flow::health::{Health, Prefix, SeqState};
use crate::flow::peer::PeerState;

impl FlowTable {
    /// Whether TCP segments go through sequence analysis.
    pub fn analysing_sequences(&self) -> bool {
        self.sequences
    }

    /// With `on`, every TCP segment goes through sequence analysis ([`health::step`]).
    pub fn analyse_sequences(&mut self, on: bool) {
        self.sequences = on;
        self.seqs = if on {
            vec![SeqState::FRESH; self.lines.len()]
        } else {
            Vec::new()
        };
        self.peers = if on {
            vec![PeerState::FRESH; self.lines.len()]
        } else {
            Vec::new()
        };
        self.rtts = Vec::new();
        if on {
            self.rtts.resize_with(self.lines.len(), FlowRtt::default);
        }
        self.syns = if on {
            vec![[SynOptions::default(); 2]; self.lines.len()]
        } else {
            Vec::new()
        };
        if let Some(a) = &mut self.appendix {
            a.table.analyse_sequences(on);
        }
    }

    /// A table that analyses sequences (see [`FlowTable::analyse_sequences`]).
    #[cfg(test)]
    pub fn with_sequences() -> Self {
        let mut t = Self::new();
        t.analyse_sequences(true);
        t
    }

    /// The sequence analysis state of this table's own flow `i` (fresh without analysis).
    pub(super) fn seq_of(&self, i: usize) -> SeqState {
        self.seqs.get(i).copied().unwrap_or(SeqState::FRESH)
    }

    /// The peer state of this table's own flow `i` (fresh without analysis).
    pub(super) fn peer_of(&self, i: usize) -> PeerState {
        self.peers.get(i).copied().unwrap_or(PeerState::FRESH)
    }

    /// Records each flow's first segments, so that this table, read from a shard of a file,
    /// can be merged into the table of what came before exactly (see [`FlowTable::merge`]).
    pub fn record_prefixes(&mut self) {
        self.prefix.on = true;
    }

    /// Starts every flow's sequence analysis afresh, as for a new input: each input is
    /// analysed from nothing, whether read after others, beside them (`--by-file`) or as one
    /// of a capture's blobs read at once, so that all three agree.
    pub fn forget_sequences(&mut self) {
        self.seqs.fill(SeqState::FRESH);
        self.peers.fill(PeerState::FRESH);
        for r in &mut self.rtts {
            r.forget();
        }
        if let Some(a) = &mut self.appendix {
            a.table.forget_sequences();
        }
    }

    /// The sequence analysis counts of flow `i` (in [`FlowTable::iter`]'s order), if any.
    pub fn health_at(&self, i: usize) -> Option<&Health> {
        let (t, j) = self.place(i);
        t.health.get(&(j as u32))
    }

    /// The RTT state of flow `i` (in [`FlowTable::iter`]'s order), if any.
    pub fn rtt_at(&self, i: usize) -> Option<&FlowRtt> {
        let (t, j) = self.place(i);
        t.rtts.get(j)
    }

    /// Frees the sequence analysis state only later segments would read (each flow's
    /// [`SeqState`], [`PeerState`] and waiting segments, and a shard's record of first
    /// segments) once the table is complete, keeping the counts and RTT summaries the report
    /// reads: the report's own vectors then take those pages. Nothing may be added to or
    /// merged into the table after (adding panics; a merge would join nothing before).
    pub fn release_sequences(&mut self) {
        self.seqs = Vec::new();
        self.peers = Vec::new();
        self.prefix = Prefix::default();
        for r in &mut self.rtts {
            r.forget();
        }
        if let Some(a) = &mut self.appendix {
            a.table.release_sequences();
        }
    }
}
