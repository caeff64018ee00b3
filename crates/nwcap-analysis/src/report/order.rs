//! The order in which a report lists its flows: largest first (bytes, then packets), ties
//! settled by the flow key, so that the order is total and does not depend on the table's.
//! It owns the sort and the integer encodings it sorts by; it never reads anything but the
//! flows' figures and keys, and builds no row.

use super::model::Count;
use crate::flow::{FlowKey, FlowList};
use crate::hint::prefault;

/// Traffic per protocol: totals, and how many flows.
pub(super) type PerProto = [(Count, u64); 256];

/// Indexes of `flows`, largest first (bytes, then packets, then key), with the totals of all
/// of them and per protocol.
pub(super) fn size_order(flows: &FlowList<'_>) -> (Vec<usize>, Count, PerProto) {
    let mut matched = Count::default();
    let mut per_proto = [(Count::default(), 0u64); 256];
    // The flows are sorted as (figures, index) pairs, not as flows: their stats sit in a
    // table of tens of megabytes, and comparing them there cost two cache misses per
    // comparison. The list is in table order, so this loop reads the stats sequentially,
    // once. Both figures fit one word, complemented so that ascending words are descending
    // figures, unless a flow has 2^40 bytes or 2^24 packets (a 16-byte pair sorts faster than
    // the 24-byte triple it was).
    let mut order: Vec<(u64, u32)> = Vec::with_capacity(flows.len());
    prefault(&order);
    let mut fits = true;
    for (i, (k, s)) in flows.iter().enumerate() {
        let (packets, bytes) = (s.total_packets(), s.total_bytes());
        fits &= bytes < 1 << 40 && packets < 1 << 24;
        // A table holds fewer than 2^32 flows (see `FlowTable`'s slots).
        order.push((!(bytes << 24 | packets), i as u32));
        matched.packets += packets;
        matched.bytes += bytes;
        let p = &mut per_proto[usize::from(k.proto)];
        p.0.packets += packets;
        p.0.bytes += bytes;
        p.1 += 1;
    }
    if fits {
        radix_sort(&mut order);
    } else {
        order = ranked_by_size(flows);
    }
    // Ties go to the key order, which makes the order total and independent of the table's.
    // Most flows of a small-packet capture share their figures with others, so ties are
    // settled afterwards, run by run, on ranks that compare in a few instructions: comparing
    // keys field by field, inside the sort above or in the runs, cost over twice as much.
    let mut ranked: Vec<([u128; 3], u32)> = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let figures = order[start].0;
        let end = order[start..]
            .iter()
            .position(|e| e.0 != figures)
            .map_or(order.len(), |n| start + n);
        if end - start > 1 {
            ranked.clear();
            for p in start..end {
                // In this order the keys are at random places in the table: loading
                // them ahead lets the cache misses overlap instead of queueing.
                if let Some(ahead) = order.get(p + RANK_AHEAD) {
                    flows.prefetch_key(ahead.1 as usize);
                }
                let i = order[p].1;
                ranked.push((key_rank(&flows.key(i as usize)), i));
            }
            ranked.sort_unstable();
            for (slot, &(_, i)) in order[start..end].iter_mut().zip(&ranked) {
                slot.1 = i;
            }
        }
        start = end;
    }
    let order = order.into_iter().map(|(_, i)| i as usize).collect();
    (order, matched, per_proto)
}

/// The flows as `size_order` pairs when their figures do not fit one word: sorted by
/// comparison, equal figures sharing one rank in place of the word.
#[cold]
fn ranked_by_size(flows: &FlowList<'_>) -> Vec<(u64, u32)> {
    let mut wide: Vec<(u64, u64, u32)> = flows
        .iter()
        .enumerate()
        .map(|(i, (_, s))| (s.total_bytes(), s.total_packets(), i as u32))
        .collect();
    wide.sort_unstable_by_key(|t| std::cmp::Reverse((t.0, t.1)));
    let mut rank = 0;
    wide.iter()
        .enumerate()
        .map(|(n, t)| {
            rank += u64::from(n > 0 && (t.0, t.1) != (wide[n - 1].0, wide[n - 1].1));
            (rank, t.2)
        })
        .collect()
}

/// How many flows ahead [`size_order`] starts loading the keys it ranks (a rank costs ~100
/// instructions, a miss several hundred cycles).
const RANK_AHEAD: usize = 16;

/// Sorts (word, index) pairs whose indexes ascend by word, then index: a stable radix sort, a
/// byte of the word per pass from the lowest, skipping the passes where every pair has the
/// same byte (the high bytes of small figures). On a large report's flows it takes a fraction
/// of a comparison sort's time.
fn radix_sort(order: &mut Vec<(u64, u32)>) {
    let digit = |t: &(u64, u32), pass: usize| (t.0 >> (8 * pass)) as u8 as usize;
    let mut counts = vec![[0usize; 256]; 8];
    for t in order.iter() {
        for (pass, c) in counts.iter_mut().enumerate() {
            c[digit(t, pass)] += 1;
        }
    }
    let mut spare = Vec::with_capacity(order.len());
    prefault(&spare);
    spare.resize(order.len(), (0, 0));
    for (pass, c) in counts.iter_mut().enumerate() {
        if c.contains(&order.len()) {
            continue;
        }
        let mut at = 0;
        for n in c.iter_mut() {
            (*n, at) = (at, at + *n);
        }
        for t in order.iter() {
            let d = digit(t, pass);
            spare[c[d]] = *t;
            c[d] += 1;
        }
        std::mem::swap(order, &mut spare);
    }
}

/// A flow key as integers that order exactly as [`FlowKey`]'s `Ord` (field by field, each
/// field big-endian, booleans and `Option` tags as 0 and 1): an injective, order-preserving
/// encoding, so sorting by it sorts by the key.
fn key_rank(k: &FlowKey) -> [u128; 3] {
    let mut b = [0u8; 48];
    b[0] = k.proto;
    b[1] = u8::from(k.ports_known);
    for (at, (addr, port)) in [(2, k.lo), (21, k.hi)] {
        b[at] = u8::from(addr.v6);
        b[at + 1..at + 17].copy_from_slice(&addr.bytes);
        b[at + 17..at + 19].copy_from_slice(&port.to_be_bytes());
    }
    if let Some(id) = k.icmp_id {
        b[40] = 1;
        b[41..43].copy_from_slice(&id.to_be_bytes());
    }
    let word = |i: usize| {
        let mut w = [0u8; 16];
        w.copy_from_slice(&b[16 * i..16 * i + 16]);
        u128::from_be_bytes(w)
    };
    [word(0), word(1), word(2)]
}

#[cfg(test)]
mod tests {
    use crate::decode::Addr;
    use crate::report::testing::{corpus_analyses, xorshift};

    /// The radix sort orders as a stable comparison sort: words drawn from narrow ranges
    /// (many ties), wide ones and the extremes, at several lengths.
    #[test]
    fn words_sort_as_the_comparison_does() {
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        for (n, spread) in [
            (0, 1),
            (1, 1),
            (2, 3),
            (1000, 4),
            (5000, 1 << 20),
            (5000, u64::MAX),
        ] {
            let mut order: Vec<(u64, u32)> = (0..n)
                .map(|i| {
                    let r = next();
                    let word = match r % 16 {
                        0 => 0,
                        1 => u64::MAX,
                        _ => (r >> 4) % spread.max(1),
                    };
                    (word, i)
                })
                .collect();
            let mut expect = order.clone();
            expect.sort_by_key(|t| t.0);
            super::radix_sort(&mut order);
            assert!(order == expect, "{n} pairs within {spread}");
        }
    }

    /// Flows come largest first, by bytes, then packets, then key, whether their figures fit
    /// one word or not (2^40 bytes, 2^24 packets), with many ties: as a comparison sort of
    /// the flows orders them.
    #[test]
    fn size_order_equals_a_comparison_sort() {
        use crate::flow::FlowKey;
        let (_, analyzer, _) = corpus_analyses()
            .into_iter()
            .find(|(_, a, _)| !a.flows.is_empty())
            .unwrap();
        let base = *analyzer.flows.iter().next().unwrap().1;
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        for (n, wide) in [(3000, false), (3000, true), (1, true), (0, false)] {
            let stats: Vec<_> = (0..n)
                .map(|_| {
                    let mut s = base;
                    let mut pick = |narrow: u64, huge: u64| {
                        let r = next();
                        if wide && r.is_multiple_of(8) {
                            huge + (r >> 8) % 3
                        } else {
                            (r >> 8) % narrow
                        }
                    };
                    s.packets = [pick(4, 1 << 24), pick(4, 1 << 30)];
                    s.bytes = [pick(300, 1 << 40), pick(300, 1 << 50)];
                    s
                })
                .collect();
            let flows: Vec<(FlowKey, _)> = stats
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let b = (next() as u32 % 50 + i as u32 % 3).to_be_bytes();
                    let key = FlowKey {
                        proto: 6,
                        ports_known: true,
                        lo: (Addr::v4(b), (i % 7) as u16),
                        // Distinct keys, as a table holds, that often differ only here.
                        hi: (Addr::v4([10, 0, 0, 1]), (i / 7) as u16),
                        icmp_id: None,
                    };
                    (key, *s)
                })
                .collect();
            let table = crate::flow::FlowTable::of_flows(flows.iter().copied());
            let (order, matched, _) = super::size_order(&table.list());
            let mut expect: Vec<usize> = (0..flows.len()).collect();
            expect.sort_by(|&a, &b| {
                let (fa, fb) = (&flows[a].1, &flows[b].1);
                (fb.total_bytes(), fb.total_packets())
                    .cmp(&(fa.total_bytes(), fa.total_packets()))
                    .then(flows[a].0.cmp(&flows[b].0))
            });
            assert!(order == expect, "{n} flows, wide {wide}");
            let packets: u64 = flows.iter().map(|(_, s)| s.total_packets()).sum();
            assert_eq!(matched.packets, packets);
        }
    }

    /// `key_rank` orders keys exactly as `FlowKey`'s `Ord`: keys that differ in one field
    /// at a time, at both ends of each field's range, and random keys, compared pairwise.
    #[test]
    fn key_rank_orders_like_flow_keys() {
        use crate::flow::FlowKey;
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        let addr = |r: u64, v6: bool| {
            let mut bytes = [0u8; 16];
            let n = if v6 { 16 } else { 4 };
            for (i, b) in bytes[..n].iter_mut().enumerate() {
                // Few distinct values per byte, so that keys often share long prefixes.
                *b = [0, 1, 0x7f, 0x80, 0xff][(r >> (3 * i)) as usize % 5];
            }
            Addr { v6, bytes }
        };
        let mut keys = Vec::new();
        for _ in 0..3000 {
            let r = [next(), next(), next()];
            keys.push(FlowKey {
                proto: [0, 1, 6, 17, 58, 255][r[0] as usize % 6],
                ports_known: r[0] >> 8 & 1 == 1,
                lo: (
                    addr(r[1], r[0] >> 9 & 1 == 1),
                    [0, 1, 255, 256, 65535][(r[0] >> 10) as usize % 5],
                ),
                hi: (
                    addr(r[2], r[0] >> 13 & 1 == 1),
                    [0, 1, 255, 256, 65535][(r[0] >> 14) as usize % 5],
                ),
                icmp_id: [None, Some(0), Some(1), Some(256), Some(65535)]
                    [(r[0] >> 17) as usize % 5],
            });
        }
        let mut checked = [0usize; 3];
        for a in &keys {
            for b in keys.iter().step_by(7) {
                let want = a.cmp(b);
                assert_eq!(
                    super::key_rank(a).cmp(&super::key_rank(b)),
                    want,
                    "{a:?} {b:?}"
                );
                checked[(want as i8 + 1) as usize] += 1;
            }
        }
        assert!(checked.iter().all(|&n| n > 100), "{checked:?}");
    }
}
