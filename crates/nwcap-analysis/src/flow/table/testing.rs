//! Helpers shared by the flow table's unit tests: keys, packets that reach every corner of the
//! accounting, and the plain accounting the table must equal. Compiled for tests only.

use super::FlowTable;
use crate::decode::{proto, Addr};
use crate::flow::key::{FlowKey, PackedKey};
use crate::flow::stats::FlowStats;
use crate::flow::{Pending, Ts};

pub(super) fn key(i: u8) -> PackedKey {
    FlowKey {
        proto: proto::TCP,
        ports_known: true,
        lo: (Addr::v4([10, 0, 0, i]), 80),
        hi: (Addr::v4([10, 0, 1, 1]), 40000),
        icmp_id: None,
    }
    .pack()
}

/// A tiny deterministic generator (xorshift), so failures replay.
pub(super) struct Rng(pub(super) u64);
impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Packets over a few flows with everything that leaves the line: huge wire lengths
/// (byte carries), more than 2^16 packets (packet carries), cut-off packets, timestamps
/// missing or out of order, and every TCP flag combination.
pub(super) fn packets(n: usize, seed: u64) -> Vec<Pending> {
    let mut r = Rng(seed);
    (0..n)
        .map(|i| {
            let x = r.next();
            let wire = match x % 4 {
                0 => u32::MAX - (x >> 40) as u32,
                _ => 40 + (x >> 50) as u32 % 1500,
            };
            let cap = if x >> 8 & 7 == 0 { wire / 2 + 7 } else { wire };
            let ts = match x >> 12 & 15 {
                0 => None,
                1 => Some(i as i64 - 1000),
                _ => Some(i as i64 * 10),
            };
            Pending {
                key: key((x >> 20) as u8 % 2),
                dir: (x >> 24) as u8 & 1,
                tcp_flags: (x >> 25 & 1 == 0).then_some((x >> 32) as u8),
                ts: Ts::new(ts),
                wire,
                cap,
                seg: Default::default(),
            }
        })
        .collect()
}

/// The plain accounting the split one must equal: each flow's counters and first RSTs.
pub(super) fn reference(ps: &[Pending]) -> Vec<(PackedKey, FlowStats, [Ts; 2])> {
    let mut out: Vec<(PackedKey, FlowStats, [Ts; 2])> = Vec::new();
    for p in ps {
        let d = usize::from(p.dir);
        let i = match out.iter().position(|(k, ..)| *k == p.key) {
            Some(i) => i,
            None => {
                out.push((p.key, FlowStats::new(d), [Ts::NONE; 2]));
                out.len() - 1
            }
        };
        let (_, s, rsts) = &mut out[i];
        s.add(d, p.ts, p.wire, p.cap);
        if let Some(f) = p.tcp_flags {
            s.add_tcp(d, f, p.ts);
            if f & crate::decode::tcp_flags::RST != 0 && rsts[d].is_none() {
                rsts[d] = p.ts;
            }
        }
    }
    out
}

/// A flow's timeline class depends on its table's candidates (see `Classes`), so it is left
/// out here: the timeline's tests check classes.
pub(super) fn contents(t: &FlowTable) -> Vec<(PackedKey, FlowStats, [Ts; 2])> {
    t.iter()
        .enumerate()
        .map(|(i, (k, s))| (k.pack(), FlowStats { class: 0, ..*s }, t.first_rsts_at(i)))
        .collect()
}

fn udp_key(i: u32) -> FlowKey {
    let mut a = [0u8; 4];
    a.copy_from_slice(&i.to_be_bytes());
    FlowKey {
        proto: proto::UDP,
        ports_known: true,
        lo: (Addr::v4(a), (i % 7) as u16),
        hi: (Addr::v4([255, 0, 0, 1]), 53),
        icmp_id: None,
    }
}

pub(super) fn pending(i: u32, dir: u8) -> Pending {
    Pending {
        key: udp_key(i).pack(),
        dir,
        tcp_flags: None,
        ts: Ts::new(Some(i64::from(i))),
        wire: 100,
        cap: 60,
        seg: Default::default(),
    }
}
