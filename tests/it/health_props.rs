//! Property tests of the TCP health and ICMP parsers: arbitrary bytes never make the TCP
//! segment, SYN options or ICMP quoted-header readers panic, and what they read stays
//! within what they were given; the sequence analysis itself (with the window-full, DF and
//! RTT state beside it) never panics on any segment stream and gives the same counts
//! segment by segment as replayed.

use nwcap_analysis::decode::icmp::quoted;
use nwcap_analysis::decode::tcp::{Segment, SynOptions};
use nwcap_analysis::flow::ack_rtt::FlowRtt;
use nwcap_analysis::flow::health::{replay, step, Health, Recorded, SeqState};
use nwcap_analysis::flow::peer::{self, PeerState};
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
        segs in proptest::collection::vec((any::<u32>(), any::<u32>(), 0u32..3000, any::<u16>(), any::<u8>(), any::<bool>(), any::<i64>(), any::<bool>(), any::<u32>()), 0..60)
    ) {
        let mut st = SeqState::FRESH;
        let mut pe = PeerState::FRESH;
        let mut rtt = FlowRtt::default();
        let mut h = Health::default();
        let mut recs = Vec::new();
        for &(seq, ack, len, win, flags, dir, ts, df, opts) in &segs {
            let opts = SynOptions(opts);
            let s = Segment { seq, ack, len, captured: len, win, ok: true, df, opts };
            let d = usize::from(dir);
            let ev = step(&mut st, d, &s, flags, ts);
            h.count(d, ev & nwcap_analysis::flow::health::event::COUNTED, len);
            h.count_peer(d, peer::step(&mut pe, &st, d, &s, flags, ev));
            rtt.step(d, &s, flags, ts);
            let dir = d as u8 | if df { Recorded::DF } else { 0 };
            recs.push(Recorded { ts, seq, ack, len, prev: 0, win, flags, dir, opts });
        }
        let (again, counted) = replay(SeqState::FRESH, &recs);
        prop_assert_eq!(again, st);
        prop_assert_eq!(counted, h.seq_part());
        let (again, again_p, counted) = peer::replay(SeqState::FRESH, PeerState::FRESH, &recs);
        prop_assert_eq!((again, again_p, counted), (st, pe, h));
        for s in &rtt.stats {
            prop_assert!(s.n == 0 || s.median().is_some_and(|m| m <= s.max));
        }
    }
}
