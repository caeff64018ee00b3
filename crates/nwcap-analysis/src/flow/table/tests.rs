//! The flow table's unit tests: split accounting against plain accounting, batches, single
//! packets, merges and released indexes.

use super::testing::{contents, key, packets, pending, reference};
use super::*;
use crate::flow::Ts;
use std::collections::HashMap;
use std::mem::size_of;

#[test]
fn a_line_is_one_cache_line() {
    assert_eq!(size_of::<Line>(), 64);
}

#[test]
fn split_accounting_equals_the_plain_one_through_carries() {
    let ps = packets(300_000, 0x5EED);
    let expect = reference(&ps);
    assert!(expect.iter().any(|(_, s, _)| s.packets[0] > 1 << 16));
    assert!(expect.iter().any(|(_, s, _)| s.bytes[1] > 1 << 40));

    let mut batched = FlowTable::new();
    for chunk in ps.chunks(37) {
        batched.add_batch(chunk);
    }
    batched.settle();
    assert_eq!(contents(&batched), expect);

    // One at a time; batches settled now and then with single packets between them; and
    // shards merged: all the same.
    let mut single = FlowTable::new();
    let mut mixed = FlowTable::new();
    let mut halves = [FlowTable::new(), FlowTable::new()];
    for (n, chunk) in ps.chunks(1000).enumerate() {
        for p in chunk {
            single.add(p);
        }
        mixed.add_batch(chunk);
        if n % 3 == 0 {
            mixed.settle();
        }
        mixed.add(&chunk[0]);
        halves[usize::from(n >= 150)].add_batch(chunk);
    }
    mixed.settle();
    assert_eq!(contents(&single), expect);
    let [mut a, mut b] = halves;
    a.settle();
    b.settle();
    a.merge(b, 1);
    assert_eq!(contents(&a), expect);
    // `mixed` saw each chunk's first packet twice.
    let mut twice = Vec::new();
    for chunk in ps.chunks(1000) {
        twice.extend_from_slice(chunk);
        twice.push(chunk[0]);
    }
    assert_eq!(contents(&mixed), reference(&twice));
}

#[test]
fn captured_bytes_first_acks_and_late_timestamps() {
    let k = key(1);
    let pk = |dir: u8, ts: Option<i64>, wire: u32, cap: u32, f: Option<u8>| Pending {
        key: k,
        dir,
        tcp_flags: f,
        ts: Ts::new(ts),
        wire,
        cap,
        seg: Default::default(),
    };
    let mut t = FlowTable::new();
    t.add_batch(&[
        pk(0, None, 60, 60, None),
        pk(0, Some(5), 1514, 96, None),
        pk(0, Some(6), 60, 60, None),
        // A broken file may claim more captured than wire bytes.
        pk(1, Some(7), 40, 64, None),
        pk(1, None, 40, 40, Some(tcp_flags::ACK)),
        pk(1, Some(9), 40, 40, Some(tcp_flags::ACK)),
        pk(1, Some(10), 40, 40, Some(tcp_flags::ACK)),
        pk(1, Some(11), 40, 40, Some(tcp_flags::ACK | tcp_flags::FIN)),
        pk(0, Some(3), 40, 40, None),
    ]);
    t.settle();
    let s = *t.iter().next().unwrap().1;
    assert_eq!([s.captured(0), s.captured(1)], [256, 224]);
    assert_eq!(s.bytes, [1674, 200]);
    assert_eq!(s.tcp.ack_ts[1].get(), Some(9));
    assert_eq!(s.tcp.fin, [0, 1]);
    assert_eq!(s.tcp.flags, [0, tcp_flags::ACK | tcp_flags::FIN]);
    assert_eq!((s.first_ts(), s.last_ts()), (Some(3), Some(11)));
}

/// A batch's cold work waits for the next batch (see `add_hashed`): packets added one by
/// one right after a batch, or in the next batch, still find the earlier packets' work
/// done before theirs. Out of order, the second ACK would be taken as the first.
#[test]
fn cold_work_keeps_packet_order_across_batches_and_single_packets() {
    let ack = |t: i64| Pending {
        key: key(1),
        dir: 1,
        tcp_flags: Some(tcp_flags::ACK),
        ts: Ts::new(Some(t)),
        wire: 40,
        cap: 40,
        seg: Default::default(),
    };
    let first_ack = |t: &mut FlowTable| {
        t.settle();
        t.iter().next().unwrap().1.tcp.ack_ts[1].get()
    };
    let mut single = FlowTable::new();
    single.add_batch(&[ack(3)]);
    single.add(&ack(4));
    let mut batches = FlowTable::new();
    batches.add_batch(&[ack(3)]);
    batches.add_batch(&[ack(4)]);
    batches.add_batch(&[ack(5)]);
    assert_eq!(first_ack(&mut single), Some(3));
    assert_eq!(first_ack(&mut batches), Some(3));
}

#[test]
#[should_panic(expected = "before FlowTable::settle")]
fn reading_an_unsettled_table_is_caught() {
    let mut t = FlowTable::new();
    t.add_batch(&[Pending::EMPTY]);
    let _ = t.iter().count();
}

/// A table whose index was released reads the same, and goes on counting (one packet at
/// a time, in batches, merged into and from) exactly as one that kept it.
#[test]
fn released_index_is_rebuilt_on_the_next_lookup() {
    let packets: Vec<Pending> = (0..6000u32)
        .map(|i| pending(i * 7919 % 2500, (i % 2) as u8))
        .collect();
    let (first, rest) = packets.split_at(2000);
    let [mut kept, mut released] = [FlowTable::new(), FlowTable::new()];
    for t in [&mut kept, &mut released] {
        t.add_batch(first);
        t.settle();
    }
    released.release_index();
    assert_eq!(
        released.get(&first[5].key.unpack()),
        kept.get(&first[5].key.unpack())
    );
    let later = |t: &mut FlowTable, release: bool| {
        t.add(&rest[0]);
        t.add_batch(&rest[1..2000]);
        t.settle();
        let mut other = FlowTable::new();
        other.add_batch(&rest[2000..]);
        other.settle();
        if release {
            t.release_index();
        }
        t.merge(other, 2);
    };
    later(&mut kept, false);
    later(&mut released, true);
    let all = |t: &FlowTable| t.iter().map(|(k, s)| (k, *s)).collect::<Vec<_>>();
    assert_eq!(all(&released), all(&kept));
    assert_eq!(kept.len(), 2500);
    for p in &packets {
        let k = p.key.unpack();
        assert_eq!(released.get(&k), kept.get(&k));
    }
}

#[test]
fn batch_single_and_merge_agree_with_a_hash_map() {
    // Many flows force several grows; repeated keys inside one batch must land once.
    let mut single = FlowTable::new();
    let mut batched = FlowTable::new();
    let mut halves = [FlowTable::new(), FlowTable::new()];
    let mut expect: HashMap<FlowKey, (u64, u64)> = HashMap::new();
    let all: Vec<Pending> = (0..20_000u32)
        .map(|i| pending(i * 7919 % 5000, (i % 2) as u8))
        .collect();
    for (n, p) in all.iter().enumerate() {
        single.add(p);
        halves[usize::from(n >= all.len() / 2)].add(p);
        let e = expect.entry(p.key.unpack()).or_insert((0, 0));
        e.0 += 1;
        e.1 += 100;
    }
    for chunk in all.chunks(64) {
        batched.add_batch(chunk);
    }
    batched.settle();
    let [a, b] = halves;
    let mut merged = a;
    merged.merge(b, 2);
    for t in [&single, &batched, &merged] {
        assert_eq!(t.len(), expect.len());
        for (k, (pk, by)) in &expect {
            let s = t.get(k).unwrap();
            assert_eq!((s.total_packets(), s.total_bytes()), (*pk, *by));
        }
    }
    assert_eq!(
        single
            .iter()
            .map(|(_, s)| s.first_dir_lo)
            .collect::<Vec<_>>(),
        merged
            .iter()
            .map(|(_, s)| s.first_dir_lo)
            .collect::<Vec<_>>()
    );
}

/// Packets and bytes of each class and direction in each interval of `w` ns, as a settled
/// table's timeline sums them.
fn intervals_of(t: &FlowTable, w: i64) -> HashMap<(u16, i64), [u64; 2]> {
    let tl = t.timeline();
    let mut out: HashMap<(u16, i64), [u64; 2]> = HashMap::new();
    for (g, sums) in tl.intervals() {
        for (k, s) in sums {
            let e = out
                .entry((k, (g * tl.grid.width).div_euclid(w)))
                .or_default();
            e[0] += s.packets;
            e[1] += s.bytes;
        }
    }
    out
}

/// Every timed packet counts in its own interval, under its flow's class and its direction,
/// however the packets reach the table: in batches, one at a time, or in parts merged in
/// order; packets without a time in none.
#[test]
fn the_timeline_counts_each_timed_packet_in_its_own_interval() {
    let ps = packets(200_000, 0x71E);
    // The packets span 2 ms: the pass's grid ends at 10 µs, and 100 µs is a multiple.
    let w = 100_000;
    let expect = |t: &FlowTable| {
        let mut e: HashMap<(u16, i64), [u64; 2]> = HashMap::new();
        for p in &ps {
            if let Some(ts) = p.ts.get() {
                let class = t.get(&p.key.unpack()).unwrap().class;
                let x = e
                    .entry(((u16::from(class) << 1) | u16::from(p.dir), ts.div_euclid(w)))
                    .or_default();
                x[0] += 1;
                x[1] += u64::from(p.wire);
            }
        }
        e
    };

    let mut batched = FlowTable::new();
    for chunk in ps.chunks(37) {
        batched.add_batch(chunk);
    }
    batched.settle();
    assert!(batched.timeline().grid.width <= 10_000);
    let e = expect(&batched);
    assert!(e.len() > 40, "{} intervals", e.len());
    assert_eq!(intervals_of(&batched, w), e, "in batches");

    let mut single = FlowTable::new();
    for p in &ps {
        single.add(p);
    }
    single.settle();
    assert_eq!(intervals_of(&single, w), expect(&single), "one at a time");

    // Parts that class flows as one pass does (as the pass's shards are made to).
    let classes = batched.classes().clone();
    for parts in [2, 3, 7] {
        let mut merged = FlowTable::new();
        for part in ps.chunks(ps.len().div_ceil(parts)) {
            let mut t = FlowTable::new();
            t.count_over_time(None, classes.clone());
            t.add_batch(part);
            t.settle();
            assert!(merged.merge(t, 2));
        }
        assert_eq!(intervals_of(&merged, w), expect(&merged), "{parts} parts");
    }

    // A fixed width: the grid keeps it.
    let mut fixed = FlowTable::new();
    fixed.count_over_time(Some(w), Default::default());
    fixed.add_batch(&ps);
    fixed.settle();
    assert_eq!(fixed.timeline().grid.width, w);
    assert_eq!(intervals_of(&fixed, w), expect(&fixed), "fixed width");
}
