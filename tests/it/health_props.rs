//! Property tests of the TCP health and ICMP parsers: arbitrary bytes never make the TCP
//! segment, SYN options or ICMP quoted-header readers panic, and what they read stays
//! within what they were given; the sequence analysis itself never panics on any segment
//! stream and gives the same counts segment by segment as replayed.

use nwcap_analysis::decode::icmp::quoted;
use nwcap_analysis::decode::tcp::{Segment, SynOptions};
use nwcap_analysis::flow::health::{replay, step, Health, Recorded, SeqState};
use proptest::prelude::*;

use crate::support::proptest_config;

proptest! {
    #![proptest_config(proptest_config(512))]

    #[test]
    fn tcp_and_icmp_readers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120), l4 in 0usize..70_000) {
        let s = Segment::parse(&bytes, l4);
        if s.ok {
            prop_assert!(s.len as usize <= l4);
            prop_assert!(s.captured <= s.len.max(bytes.len() as u32));
            prop_assert!(bytes.len() >= 16);
        }
        let o = SynOptions::parse(&bytes);
        prop_assert!(o.is_read());
        let _ = (o.mss(), o.window_scale(), o.sack_permitted());
        for v6 in [false, true] {
            if let Some(q) = quoted(v6, &bytes) {
                prop_assert_eq!(q.src.v6, v6);
            }
        }
    }

    #[test]
    fn sequence_analysis_never_panics_and_replays_the_same(
        segs in proptest::collection::vec((any::<u32>(), any::<u32>(), 0u32..3000, any::<u16>(), any::<u8>(), any::<bool>(), any::<i64>()), 0..60)
    ) {
        let mut st = SeqState::FRESH;
        let mut h = Health::default();
        let mut recs = Vec::new();
        for &(seq, ack, len, win, flags, dir, ts) in &segs {
            let s = Segment { seq, ack, len, captured: len, win, ok: true, opts: Default::default() };
            let d = usize::from(dir);
            let ev = step(&mut st, d, &s, flags, ts);
            h.count(d, ev & nwcap_analysis::flow::health::event::COUNTED, len);
            recs.push(Recorded { ts, seq, ack, len, prev: 0, win, flags, dir: d as u8 });
        }
        let (again, counted) = replay(SeqState::FRESH, &recs);
        prop_assert_eq!(again, st);
        prop_assert_eq!(counted, h);
    }
}
