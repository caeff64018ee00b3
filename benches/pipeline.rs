//! Per-stage benchmarks: record walk, decoder, flow table, and the whole pass (the walk and
//! the pass for pcap and pcapng).
//! `cargo bench --bench pipeline`; `scripts/bench` compares whole runs with other tools.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use nwcap_analysis::capture::Reader;
use nwcap_analysis::decode::{decode, fast, Decoded};
use nwcap_analysis::flow::{FlowTable, Keyer, Pending};
use nwcap_analysis::pass::{self, Analyzer, FileCounters};

#[path = "../tests/it/craft.rs"]
mod craft;

/// 200 000 packets (60–1514 bytes, TCP and UDP, IPv4 and IPv6) over 20 000 flows, as pcap
/// and as pcapng (one section, one interface, microseconds: what the pass walks with its
/// loop for that shape).
fn captures() -> (Vec<u8>, Vec<u8>) {
    let mut recs = Vec::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..200_000i64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let flow = (x % 20_000) as u16;
        let size = [6, 40, 200, 1460][(x >> 20) as usize % 4];
        let data = match (x >> 30) % 4 {
            0 => craft::udp("10.1.0.4", 1024 + flow, "10.9.0.1", 53, size),
            1 => craft::tcp("2001:db8::4", 1024 + flow, "2600::1", 443, craft::ACK, size),
            _ => craft::tcp(
                "10.1.0.4",
                1024 + flow,
                &format!("20.0.{}.{}", flow >> 8, flow & 255),
                443,
                craft::ACK,
                size,
            ),
        };
        recs.push(craft::Rec::new(1_700_000_000_000_000_000 + i * 1000, data));
    }
    (
        craft::pcap(&recs, false, false, 65535),
        craft::pcapng_section(&recs, false, 6, &[]),
    )
}

fn benches(c: &mut Criterion) {
    let (data, ng) = captures();
    let packets = Reader::new(&data).unwrap().count() as u64;

    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Elements(packets));
    for (name, file) in [("record_walk", &data), ("record_walk_pcapng", &ng)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                Reader::new(file)
                    .unwrap()
                    .map_while(Result::ok)
                    .map(|r| r.data.len())
                    .sum::<usize>()
            })
        });
    }
    let recs: Vec<_> = Reader::new(&data).unwrap().map_while(Result::ok).collect();
    g.bench_function("decode_fast_path", |b| {
        b.iter(|| {
            recs.iter()
                .filter_map(|r| fast::tuple(r.linktype, r.data))
                .map(|t| Pending::fast(&t, None, 0, 0).dir as usize)
                .sum::<usize>()
        })
    });
    g.bench_function("decode_general", |b| {
        b.iter(|| {
            recs.iter()
                .filter(|r| matches!(decode(r.linktype, r.data), Decoded::Ip(_)))
                .count()
        })
    });
    let mut keyer = Keyer::default();
    let pending: Vec<Pending> = recs
        .iter()
        .filter_map(|r| match decode(r.linktype, r.data) {
            Decoded::Ip(p) => Some(Pending::new(
                &mut keyer,
                &p,
                r.ts_ns,
                r.wire_len,
                r.data.len() as u32,
            )),
            Decoded::NonIp(_) => None,
        })
        .collect();
    g.bench_function("flow_table_batched", |b| {
        b.iter_batched(
            FlowTable::new,
            |mut t| {
                for chunk in pending.chunks(pass::BATCH) {
                    t.add_batch(chunk);
                }
                t.settle();
                t
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("flow_table_one_by_one", |b| {
        b.iter_batched(
            FlowTable::new,
            |mut t| {
                for p in &pending {
                    t.add(p);
                }
                t
            },
            BatchSize::LargeInput,
        )
    });
    for (name, file) in [("whole_pass", &data), ("whole_pass_pcapng", &ng)] {
        g.throughput(Throughput::Bytes(file.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut reader = Reader::new(file).unwrap();
                let (mut c, mut a) = (FileCounters::default(), Analyzer::new());
                pass::run(&mut reader, &mut c, &mut a);
                a.flows.len()
            })
        });
    }
    g.finish();
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
