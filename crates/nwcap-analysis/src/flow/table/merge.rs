//! Merging the table of a later shard into the table of the shard before it: the flows both
//! have are looked up and added on threads, the new ones stay where they are as an
//! [`Appendix`] until a lookup needs them here. It owns that bookkeeping; it never accounts a
//! packet.

use super::{FlowTable, Line, MAX_BATCH};
use crate::flow::health::{self, Health, Prefix, SeqState};
use crate::flow::peer::{self, PeerState};
use crate::flow::stats::FlowStats;
use crate::hint::{prefetch, prefetch_all};

/// Flows of another table, read as the end of this one (see [`FlowTable::merge`]).
#[derive(Debug, Clone)]
pub(super) struct Appendix {
    pub(super) table: FlowTable,
    /// Which of its flows, in order.
    pub(super) flows: Vec<u32>,
}

impl FlowTable {
    /// Adds the flows of a table built from later packets of the same capture, on up to
    /// `threads` threads.
    ///
    /// Most flows of a shard are in the shard before it too: their lookups, then their
    /// merges, are split over the threads. The lookups only read `self`, and the merges of
    /// each thread write a part of `self`'s arrays of its own. The new flows stay in `other`,
    /// which becomes this table's appendix: they read as appended, in `other`'s order, as one
    /// pass would have created them, and are copied over only when a lookup needs them here.
    ///
    /// # Panics
    /// As [`FlowTable::iter`], when either table is not settled.
    ///
    /// Returns `false`, with this table unchanged, when sequence analysis cannot be joined
    /// exactly: a flow's first segments in `other` (its [`Prefix`]) do not bring the state
    /// this table left and the state `other` started from to the same point. The caller then
    /// reads the packets again in one pass.
    pub fn merge(&mut self, mut other: FlowTable, threads: usize) -> bool {
        self.check_settled();
        other.check_settled();
        if self.is_empty() {
            // The first shard's table, merged into a fresh analyzer: taken as it is. Its
            // record of first segments is of no more use.
            *self = other;
            self.prefix = Prefix::default();
            for r in &mut self.rtts {
                r.settle();
            }
            return true;
        }
        // One appendix at a time.
        self.reserve(0);
        other.absorb();
        let threads = threads.clamp(1, other.len().div_ceil(MIN_MERGE_SHARE).max(1));
        let found = self.locate(&other.lines, threads);
        let Some(mut joined) = self.join_all(&other, &found) else {
            return false;
        };
        // The flows this table lacks take its classes (those it has keep theirs).
        let classes = &mut self.timeline.classes;
        if !classes.same_as(&other.timeline.classes) {
            classes.take_candidates(&other.timeline.classes);
            for (s, f) in other.stats.iter_mut().zip(&found) {
                if f.is_none() {
                    s.class = classes.translate(&other.timeline.classes, s.class);
                }
            }
        }
        // The RTT states, joined into the later table's, which the flow keeps.
        for (i, j) in std::mem::take(&mut joined.rtts) {
            let (i, j) = (i as usize, j as usize);
            let mut a = std::mem::take(&mut other.rtts[j]);
            self.rtts[i].join_into(&mut a);
            self.rtts[i] = a;
        }
        self.merge_found(&other, &found, joined, threads);
        self.merge_rsts(&other, &found);
        self.merge_syns(&other, &found);
        self.timeline.merge(std::mem::take(&mut other.timeline));
        other.prefix = Prefix::default();
        // The new flows' held-back acknowledgements answer nothing from before.
        for (r, f) in other.rtts.iter_mut().zip(&found) {
            if f.is_none() {
                r.settle();
            }
        }
        let flows: Vec<u32> = (0..found.len() as u32)
            .filter(|&j| found[j as usize].is_none())
            .collect();
        if !flows.is_empty() {
            self.appendix = Some(Box::new(Appendix {
                table: other,
                flows,
            }));
        }
        true
    }

    /// The sequence analysis of every flow of `other` found here (`found`), joined to this
    /// table's (see [`health::join`]): the states, and the count corrections that are not 0;
    /// `None` when a join cannot be exact.
    fn join_all(&self, other: &FlowTable, found: &[Option<u32>]) -> Option<Joined> {
        let mut joined = Joined::default();
        if !self.sequences {
            return Some(joined);
        }
        let mut scratch = Vec::new();
        for (j, i) in found.iter().enumerate() {
            let Some(i) = *i else { continue };
            let (before, after) = (&self.seq_of(i as usize), &other.seq_of(j));
            let (before_p, after_p) = (&self.peer_of(i as usize), &other.peer_of(j));
            let later = other.health.get(&(j as u32)).copied();
            let (before_r, after_r) = (&self.rtts[i as usize], &other.rtts[j]);
            if !after_r.is_empty() {
                if !before_r.joinable(after_r, &mut scratch) {
                    return None;
                }
                joined.rtts.push((i, j as u32));
            }
            let (seq, add, sub, pe) = if other.prefix.on {
                if after.prefix_n & 7 == 0 && later.is_none() {
                    // No analysable segment in `other`: this table's state stands.
                    continue;
                }
                let (seq, mut add, mut sub) = health::join(before, after, &other.prefix)?;
                let (pe, padd, psub) = peer::join(before, before_p, after, after_p, &other.prefix)?;
                add.adjust(&padd, &Health::default());
                sub.adjust(&psub, &Health::default());
                (seq, add, sub, pe)
            } else {
                // Not recorded: exact only if one side saw no segment (tests, and the
                // first shard of a file read into an empty table).
                let (seq, pe) = if *after == SeqState::FRESH {
                    (*before, *before_p)
                } else {
                    (*after, *after_p)
                };
                (seq, Health::default(), Health::default(), pe)
            };
            joined.states.push((i, seq, pe));
            if later.is_some() || !add.is_zero() || !sub.is_zero() {
                joined.counts.push((i, later.unwrap_or_default(), add, sub));
            }
        }
        Some(joined)
    }

    /// Appends the flows of the appendix for real (see [`FlowTable::appendix`]).
    pub(super) fn absorb(&mut self) {
        let Some(a) = self.appendix.take() else {
            return;
        };
        let Appendix {
            table: mut other,
            flows,
        } = *a;
        self.reserve(flows.len());
        let mut hashes = [0u64; MAX_BATCH];
        for batch in flows.chunks(MAX_BATCH) {
            // Every new flow's slot is a miss: overlap them as `add_batch` does.
            for (h, &j) in hashes.iter_mut().zip(batch) {
                *h = self.prefetch_slot(&other.lines[j as usize].key);
            }
            for (&h, &j) in hashes.iter().zip(batch) {
                let key = other.lines[j as usize].key;
                // Not found before, and keys of one table are distinct: still not there.
                if let Err(pos) = self.find(&key, h) {
                    let seq = other.seq_of(j as usize);
                    let i = self.insert_at(pos, key, h, other.stats[j as usize], seq);
                    if self.sequences {
                        self.peers[i] = other.peer_of(j as usize);
                        self.rtts[i] = other
                            .rtts
                            .get_mut(j as usize)
                            .map(std::mem::take)
                            .unwrap_or_default();
                        self.syns[i] = other.syns.get(j as usize).copied().unwrap_or_default();
                    }
                    if let Some(hl) = other.health.get(&j) {
                        self.health.insert(i as u32, *hl);
                    }
                    if let Some(r) = other.rsts.get(&j) {
                        self.rsts.insert(i as u32, *r);
                    }
                }
            }
        }
    }

    /// Where each of `lines`' keys is in this table, looked up in parts on `threads` threads.
    fn locate(&self, lines: &[Line], threads: usize) -> Vec<Option<u32>> {
        let look = |lines: &[Line], out: &mut [Option<u32>]| {
            let mut hashes = [0u64; MAX_BATCH];
            for (batch, out) in lines.chunks(MAX_BATCH).zip(out.chunks_mut(MAX_BATCH)) {
                for (h, l) in hashes.iter_mut().zip(batch) {
                    *h = self.prefetch_slot(&l.key);
                }
                for ((&h, l), o) in hashes.iter().zip(batch).zip(out) {
                    *o = self.find(&l.key, h).ok().map(|i| i as u32);
                }
            }
        };
        let mut found = vec![None; lines.len()];
        let per = lines.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let mut parts = lines.chunks(per).zip(found.chunks_mut(per));
            let first = parts.next();
            for (l, o) in parts {
                s.spawn(move || look(l, o));
            }
            if let Some((l, o)) = first {
                look(l, o);
            }
        });
        found
    }

    /// Merges `other`'s flow `j` into this table's flow `i` for every `found[j] = Some(i)`.
    /// This table's arrays are cut into `threads` parts, each merged on a thread.
    fn merge_found(
        &mut self,
        other: &FlowTable,
        found: &[Option<u32>],
        joined: Joined,
        threads: usize,
    ) {
        for (i, seq, pe) in joined.states {
            self.seqs[i as usize] = seq;
            self.peers[i as usize] = pe;
        }

        for (i, later, add, sub) in joined.counts {
            let h = self.health.entry(i).or_default();
            h.adjust(&later, &Health::default());
            h.adjust(&add, &sub);
            if h.is_zero() {
                self.health.remove(&i);
            }
        }
        let per = self.len().div_ceil(threads).max(1);
        let mut pairs: Vec<Vec<(usize, usize)>> = vec![Vec::new(); threads];
        for (j, i) in found.iter().enumerate() {
            if let Some(i) = *i {
                pairs[i as usize / per].push((i as usize, j));
            }
        }
        let apply =
            |lines: &mut [Line], stats: &mut [FlowStats], base: usize, pairs: &[(usize, usize)]| {
                for (n, &(i, j)) in pairs.iter().enumerate() {
                    if let Some(&(ahead, j)) = pairs.get(n + MERGE_AHEAD) {
                        prefetch_all(&stats[ahead - base]);
                        prefetch((&lines[ahead - base] as *const Line).cast());
                        prefetch((&other.stats[j] as *const FlowStats).cast());
                    }
                    let (line, s) = (&mut lines[i - base], &mut stats[i - base]);
                    s.merge(&other.stats[j]);
                    *line = Line::of(line.key, s);
                }
            };
        std::thread::scope(|s| {
            let mut parts = self
                .lines
                .chunks_mut(per)
                .zip(self.stats.chunks_mut(per))
                .zip(&pairs)
                .enumerate();
            let first = parts.next();
            for (k, ((l, st), p)) in parts {
                s.spawn(move || apply(l, st, k * per, p));
            }
            if let Some((_, ((l, st), p))) = first {
                apply(l, st, 0, p);
            }
        });
    }
}

/// What [`FlowTable::join_all`] found: each joined flow's state, and its count corrections
/// (the later table's counts, plus its prefix replayed on the true state, minus replayed
/// alone).
#[derive(Default)]
struct Joined {
    states: Vec<(u32, SeqState, PeerState)>,
    /// Flows whose RTT states join: (here, in the later table).
    rtts: Vec<(u32, u32)>,
    counts: Vec<(u32, Health, Health, Health)>,
}

/// Flows of the later table below which another merging thread is not worth starting.
#[cfg(not(test))]
const MIN_MERGE_SHARE: usize = 4096;
/// Tiny in unit tests, so that their tables are merged on several threads.
#[cfg(test)]
const MIN_MERGE_SHARE: usize = 16;

/// How many merges ahead [`FlowTable::merge_found`] starts loading a flow's line and stats, and
/// the other table's stats: loading the line too, and all of the stats' lines, made merges
/// faster.
const MERGE_AHEAD: usize = 8;

#[cfg(test)]
mod tests {
    use super::super::testing::{contents, packets, reference, Rng};
    use super::*;
    use crate::decode::{proto, Addr};
    use crate::flow::{FlowKey, Pending, Ts};

    /// Shards share most flows and have some of their own: merged on 1 to 4 threads, at two
    /// cut points, they give the flows of one packet-by-packet pass, in its order.
    #[test]
    fn merges_on_threads_equal_one_pass() {
        let mut r = Rng(0xD1CE);
        let ps: Vec<Pending> = (0..60_000u32)
            .map(|i| {
                let x = r.next();
                // The first and last thirds have flows of their own; the middle is shared.
                let flow = match i / 20_000 {
                    1 => (x % 3000) as u16,
                    third => 3000 + third as u16 * 1000 + (x % 1000) as u16,
                };
                Pending {
                    key: FlowKey {
                        proto: proto::UDP,
                        ports_known: true,
                        lo: (Addr::v4([10, 0, (flow >> 8) as u8, flow as u8]), 53),
                        hi: (Addr::v4([10, 9, 9, 9]), 5353),
                        icmp_id: None,
                    }
                    .pack(),
                    dir: (x >> 20) as u8 & 1,
                    tcp_flags: None,
                    ts: Ts::new(Some(i64::from(i))),
                    wire: 60 + (x >> 40) as u32 % 1400,
                    cap: 60,
                    seg: Default::default(),
                }
            })
            .collect();
        let mut single = FlowTable::new();
        for p in &ps {
            single.add(p);
        }
        let expect = contents(&single);
        for cut in [30_000, 25_000] {
            let mut halves = [FlowTable::new(), FlowTable::new()];
            for (n, chunk) in ps.chunks(100).enumerate() {
                halves[usize::from(n * 100 >= cut)].add_batch(chunk);
            }
            let [mut a, mut b] = halves;
            a.settle();
            b.settle();
            assert!(a.len() + b.len() > expect.len() + 2000, "little in common");
            for threads in 1..=4 {
                let mut merged = a.clone();
                merged.merge(b.clone(), threads);
                assert!(contents(&merged) == expect, "cut {cut}, {threads} threads");
            }
        }
    }

    /// A merge leaves the later table's new flows where they are (`appendix`): read through
    /// it, looked up in it, merged into again, counted on after it, and released, the table
    /// is the one a single pass makes.
    #[test]
    fn appended_flows_read_and_count_on_as_if_copied() {
        let ps = packets(40_000, 0xA99E);
        // The packets' lengths, flags and times over other flows: half of them (even packets)
        // on flows every part shares, half on flows of their part alone.
        let ps: Vec<Pending> = ps
            .iter()
            .enumerate()
            .map(|(i, p)| Pending {
                key: FlowKey {
                    proto: proto::UDP,
                    ports_known: true,
                    lo: (Addr::v4([10, 1, (i / 7 % 200) as u8, (i % 7) as u8]), 53),
                    hi: (
                        Addr::v4([10, 9, 9, 9]),
                        1000 + (i / 10_000 * (i % 2)) as u16,
                    ),
                    icmp_id: None,
                }
                .pack(),
                ..*p
            })
            .collect();
        let expect = reference(&ps);
        let parts: Vec<FlowTable> = ps[..30_000]
            .chunks(10_000)
            .map(|c| {
                let mut t = FlowTable::new();
                t.add_batch(c);
                t.settle();
                t
            })
            .collect();
        let [a, b, c] = <[FlowTable; 3]>::try_from(parts).unwrap();
        let mut t = a;
        t.merge(b, 2);
        assert!(t.appendix.is_some(), "nothing was left in place");
        assert_eq!(contents(&t), reference(&ps[..20_000]));
        for (k, s, _) in reference(&ps[..20_000]) {
            let got = t.get(&k.unpack()).map(|g| FlowStats { class: 0, ..*g });
            assert_eq!(got, Some(s));
        }
        assert_eq!(t.get(&ps[25_001].key.unpack()), None);
        // Merged into with an appendix, then counted on, then released and merged into.
        t.merge(c, 1);
        t.add_batch(&ps[30_000..35_000]);
        t.settle();
        assert!(t.appendix.is_none());
        t.release_index();
        let mut rest = FlowTable::new();
        rest.add_batch(&ps[35_000..]);
        rest.settle();
        t.merge(rest, 2);
        assert_eq!(contents(&t), expect);
        let list = t.list();
        assert_eq!(list.len(), expect.len());
        assert_eq!(list.key(list.len() - 1), expect.last().unwrap().0.unpack());
    }

    /// TCP segments over a few flows with every kind of trouble (retransmissions, duplicate
    /// ACKs, zero windows, keep-alives, going back in sequence and in time).
    fn segments(n: usize, seed: u64) -> Vec<Pending> {
        use crate::decode::tcp::Segment;
        use crate::decode::tcp_flags::{ACK, FIN, RST, SYN};
        let mut r = Rng(seed);
        let mut next = [[1000u32, 9000u32]; 8];
        let mut t = 1_000_000_000i64;
        (0..n)
            .map(|_| {
                let x = r.next();
                let flow = (x % 8) as usize;
                let dir = (x >> 8 & 1) as usize;
                t += (x >> 10) as i64 % 4_000_000 - 200_000;
                let kind = x >> 32 & 15;
                let len = match kind {
                    0..=6 => 1 + (x >> 40) as u32 % 1400,
                    7 => 1,
                    _ => 0,
                };
                let seq = match kind {
                    3 => next[flow][dir].wrapping_sub(len * 2),
                    9 => next[flow][dir].wrapping_sub(1),
                    _ => next[flow][dir],
                };
                if kind < 3 || kind == 7 {
                    next[flow][dir] = seq.wrapping_add(len);
                }
                let flags = match x >> 48 & 63 {
                    0 => SYN,
                    1 => SYN | ACK,
                    2 => FIN | ACK,
                    3 => RST,
                    _ => ACK,
                };
                Pending {
                    key: FlowKey {
                        proto: proto::TCP,
                        ports_known: true,
                        lo: (Addr::v4([10, 0, 0, flow as u8]), 80),
                        hi: (Addr::v4([10, 9, 9, 9]), 4000),
                        icmp_id: None,
                    }
                    .pack(),
                    dir: dir as u8,
                    tcp_flags: Some(flags),
                    ts: Ts::new(Some(t)),
                    wire: 60 + len,
                    cap: 60 + len,
                    seg: Segment {
                        seq,
                        ack: next[flow][dir ^ 1].wrapping_sub(u32::from(kind == 10) * 100),
                        len,
                        captured: len,
                        win: if kind == 11 { 0 } else { 512 },
                        ok: true,
                        // Now and then Don't-Fragment (a segment over the MSS then makes the
                        // merge refuse if the shard before knew the MSS).
                        df: kind == 4 && x >> 61 == 0,
                        // SYNs announce MSS 1300 and a window scale of 0 to 3 (or none).
                        opts: if flags & SYN != 0 {
                            let ws = (x >> 56) as u8 % 5;
                            let o = [2, 4, 5, 0x14, 3, 3, ws];
                            crate::decode::tcp::SynOptions::parse(&o[..if ws == 4 { 4 } else { 7 }])
                        } else {
                            Default::default()
                        },
                    },
                }
            })
            .collect()
    }

    /// Sequence analysis over shards: merged, the counts and states are those of one pass,
    /// or the merge refuses and changes nothing; and on ordinary traffic it does not refuse.
    #[test]
    fn sequence_analysis_merges_exactly_or_refuses() {
        let ps = segments(20_000, 0x7C9);
        let mut single = FlowTable::with_sequences();
        single.add_batch(&ps);
        single.settle();
        let all = |t: &FlowTable| {
            (0..t.len())
                .map(|i| {
                    (
                        {
                            let (t, j) = t.place(i);
                            t.seq_of(j).nextseq
                        },
                        t.health_at(i).copied(),
                        t.rtt_at(i).map(|r| r.stats.clone()),
                        t.syn_options_at(i),
                    )
                })
                .collect::<Vec<_>>()
        };
        let expect = all(&single);
        assert!(expect
            .iter()
            .any(|(_, h, ..)| h.is_some_and(|h| h.df_over_mss[0] > 0)));
        assert!(expect
            .iter()
            .all(|(_, h, r, _)| h.is_some_and(|h| h.retrans[0] > 0)
                && r.as_ref().is_some_and(|r| r[0].n > 0 && r[1].n > 0)));
        let (mut exact, mut refused) = (0, 0);
        for cut in (1..20_000).step_by(97) {
            let mut a = FlowTable::with_sequences();
            a.add_batch(&ps[..cut]);
            a.settle();
            let mut b = FlowTable::with_sequences();
            b.record_prefixes();
            b.add_batch(&ps[cut..]);
            b.settle();
            let before = all(&a);
            if a.merge(b, 2) {
                assert_eq!(all(&a), expect, "cut at {cut}");
                let ks = |t: &FlowTable| t.iter().map(|(k, s)| (k, *s)).collect::<Vec<_>>();
                assert_eq!(ks(&a), ks(&single));
                exact += 1;
            } else {
                assert_eq!(all(&a), before, "a refused merge changed the table");
                refused += 1;
            }
        }
        assert!(exact > 0 && refused > 0, "{exact} exact, {refused} refused");
    }

    /// SYN options (read with sequence analysis) of flows each part has alone: left in the
    /// later table by a merge, then appended for real by the next, they read as in one pass.
    #[test]
    fn syn_options_of_appended_flows_are_kept() {
        use crate::decode::tcp::{Segment, SynOptions};
        use crate::decode::tcp_flags::{ACK, SYN};
        let ps: Vec<Pending> = (0..600u32)
            .map(|i| {
                let (flow, synack) = (i / 2, i % 2 == 1);
                let mss = 1000 + flow as u8 as u16;
                Pending {
                    key: FlowKey {
                        proto: proto::TCP,
                        ports_known: true,
                        lo: (Addr::v4([10, 0, (flow >> 8) as u8, flow as u8]), 80),
                        hi: (Addr::v4([10, 9, 9, 9]), 4000),
                        icmp_id: None,
                    }
                    .pack(),
                    dir: u8::from(synack),
                    tcp_flags: Some(if synack { SYN | ACK } else { SYN }),
                    ts: Ts::new(Some(i64::from(i))),
                    wire: 60,
                    cap: 60,
                    seg: Segment {
                        ok: true,
                        opts: SynOptions::parse(&[2, 4, (mss >> 8) as u8, mss as u8]),
                        ..Default::default()
                    },
                }
            })
            .collect();
        let opts = |t: &FlowTable| {
            (0..t.len())
                .map(|i| t.syn_options_at(i))
                .collect::<Vec<_>>()
        };
        let mut single = FlowTable::with_sequences();
        single.add_batch(&ps);
        single.settle();
        let expect = opts(&single);
        assert!(expect
            .iter()
            .all(|o| o[0].mss().is_some() && o[1].mss().is_some()));
        let mut parts = ps.chunks(200).map(|c| {
            let mut t = FlowTable::with_sequences();
            t.record_prefixes();
            t.add_batch(c);
            t.settle();
            t
        });
        let mut t = parts.next().unwrap();
        t.merge(parts.next().unwrap(), 2);
        assert!(t.appendix.is_some(), "nothing was left in place");
        t.merge(parts.next().unwrap(), 2);
        assert_eq!(opts(&t), expect);
    }
}
