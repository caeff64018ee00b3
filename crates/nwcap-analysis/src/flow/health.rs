//! TCP sequence analysis per flow and direction, after tshark's `tcp.analysis.*`
//! (`packet-tcp.c`, `tcp_analyze_sequence_number`): [`SeqState`], what a flow remembers of
//! each direction (on the second cache line of its table line), [`step`], which classifies
//! one segment and updates the state, and [`Health`], the counters of what it found.
//!
//! Later shards of a parallel pass do not know the state earlier packets left; they record
//! each flow's first segments ([`Prefix`]) so that the merge can replay them on the true
//! state, and tell when it cannot be made exact (see `table/merge.rs`). Nothing here looks a
//! flow up or reads packet bytes.

use crate::decode::tcp::Segment;
use crate::decode::tcp_flags::{FIN, RST, SYN};

/// Event bits [`step`] returns.
pub mod event {
    /// A retransmission: new data it is not (includes fast and spurious ones, as tshark's
    /// `tcp.analysis.retransmission`).
    pub const RETRANS: u8 = 1;
    /// A fast retransmission (after 2+ duplicate ACKs, within 20 ms of the last).
    pub const FAST: u8 = 2;
    /// Out of order: below the highest sequence seen, within 3 ms of it.
    pub const OOO: u8 = 4;
    /// A duplicate ACK.
    pub const DUP_ACK: u8 = 8;
    /// A zero window advertised.
    pub const ZERO_WINDOW: u8 = 16;
    /// A keep-alive (never a retransmission).
    pub const KEEP_ALIVE: u8 = 32;
    /// A zero-window probe (kept for the state; not counted).
    pub const ZERO_WINDOW_PROBE: u8 = 64;
    /// The retransmission was a SYN.
    pub const SYN_RETRANS: u8 = 128;
    /// Events that are counted (those with counters in [`super::Health`]).
    pub const COUNTED: u8 = !ZERO_WINDOW_PROBE;
}

/// Below this many nanoseconds after the highest segment, a segment that goes back is out
/// of order rather than retransmitted (tshark's default; tshark 4.x uses the handshake's
/// RTT when it saw one, see the README).
pub const OOO_NS: u64 = 3_000_000;
/// A retransmission within this many nanoseconds of the duplicate ACKs is a fast one.
pub const FAST_NS: u64 = 20_000_000;

/// What sequence analysis remembers of a flow, per direction (index = direction in the key's
/// order), as tshark's `tcp_analyze_seq_info` and `tcp_flow_t`. 64 bytes, one cache line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct SeqState {
    /// Time the highest sequence end was set (ns, 0 = never, as tshark).
    pub nextseq_ts: [i64; 2],
    /// Time of the direction's last segment (ns, 0 = never).
    pub lastack_ts: [i64; 2],
    /// Highest sequence end seen (0 = none yet, as tshark: a real 0 reads as none too).
    pub nextseq: [u32; 2],
    /// Last acknowledgement number sent.
    pub lastack: [u32; 2],
    /// Last window sent; none yet (tshark's `u32::MAX`) until [`WINDOW_KNOWN`] is set in
    /// `lastflags`.
    pub window: [u16; 2],
    /// Duplicate ACKs in a row.
    pub dupacks: [u16; 2],
    /// The last segment's [`event::KEEP_ALIVE`] and [`event::ZERO_WINDOW_PROBE`] bits, and
    /// [`WINDOW_KNOWN`].
    pub lastflags: [u8; 2],
    /// Prefix bookkeeping of a later shard ([`Prefix`]): segments recorded (low 3 bits), and
    /// [`TAINT_TS`] and [`TAINT_DUP`].
    pub prefix_n: u8,
    /// Bits: [`PREFIX_MORE`] when segments followed the recorded ones, the directions seen
    /// in them, [`LIVE_TS`] and [`LIVE_DUP`].
    pub prefix_bits: u8,
    /// Index + 1 of the flow's last recorded segment in its table's prefix log, 0 = none.
    pub prefix_tail: u32,
}

/// [`SeqState::lastflags`]: `window` holds a window (a bit no event uses).
pub const WINDOW_KNOWN: u8 = 1;
/// [`SeqState::prefix_bits`]: segments followed the recorded prefix.
pub const PREFIX_MORE: u8 = 1;
/// [`SeqState::prefix_bits`]: direction 0 / 1 was seen in the prefix.
const PREFIX_DIR: [u8; 2] = [2, 4];
/// A later shard records at most this many first segments of a flow.
pub const PREFIX_MAX: u8 = 6;
/// [`SeqState::prefix_bits`]: since the recorded prefix, `nextseq_ts[d]` has not been set
/// again (its value depends on what came before the shard, which the prefix's replay fixes).
const LIVE_TS: [u8; 2] = [8, 16];
/// [`SeqState::prefix_bits`]: since the recorded prefix, `dupacks[d]` has not been reset.
const LIVE_DUP: [u8; 2] = [32, 64];
/// [`SeqState::prefix_n`]: a classification read `nextseq_ts[d]` while it was live.
const TAINT_TS: [u8; 2] = [8, 16];
/// [`SeqState::prefix_n`]: a classification read `dupacks[d]` while it was live.
const TAINT_DUP: [u8; 2] = [32, 64];

impl SeqState {
    /// The last window of direction `d`, `u32::MAX` before any (as tshark).
    #[inline]
    pub(crate) fn window_of(&self, d: usize) -> u32 {
        if self.lastflags[d] & WINDOW_KNOWN != 0 {
            u32::from(self.window[d])
        } else {
            u32::MAX
        }
    }

    /// Nothing seen.
    pub const FRESH: SeqState = SeqState {
        nextseq_ts: [0; 2],
        lastack_ts: [0; 2],
        nextseq: [0; 2],
        lastack: [0; 2],
        window: [0; 2],
        dupacks: [0; 2],
        lastflags: [0; 2],
        prefix_n: 0,
        prefix_bits: 0,
        prefix_tail: 0,
    };

    /// The analysis part alone, for comparing states (prefix bookkeeping zeroed).
    pub(crate) fn analysis(&self) -> SeqState {
        SeqState {
            prefix_n: 0,
            prefix_bits: 0,
            prefix_tail: 0,
            ..*self
        }
    }

    /// Whether a later shard still records this flow's segments: until both directions
    /// appeared and two were recorded, at most [`PREFIX_MAX`].
    #[inline]
    pub fn recording(&self) -> bool {
        let both = PREFIX_DIR[0] | PREFIX_DIR[1];
        let n = self.prefix_n & 7;
        n < PREFIX_MAX && !(self.prefix_bits & both == both && n >= 2)
    }
}

/// `a < b` in sequence space.
#[inline]
fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a > b` in sequence space.
#[inline]
fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// Classifies segment `s` with `flags`, sent at `ts` in direction `d`, and updates the state
/// as tshark 4.0's sequence analysis does; returns its [`event`] bits.
#[inline]
pub fn step(st: &mut SeqState, d: usize, s: &Segment, flags: u8, ts: i64) -> u8 {
    let (f, r) = (d & 1, (d & 1) ^ 1);
    let (seq, ack, len, win) = (s.seq, s.ack, s.len, u32::from(s.win));
    let sfr = flags & (SYN | FIN | RST) != 0;
    let nextseq = st.nextseq[f];
    let mut ev = 0;
    // A 1-byte segment at the next sequence while the peer's window is 0.
    let probe = len == 1 && seq == nextseq && st.window_of(r) == 0;
    if probe {
        ev |= event::ZERO_WINDOW_PROBE;
    } else {
        if win == 0 && !sfr {
            ev |= event::ZERO_WINDOW;
        }
        if len <= 1 && seq == nextseq.wrapping_sub(1) && !sfr {
            ev |= event::KEEP_ALIVE;
        }
        let same = len == 0 && seq == nextseq && ack == st.lastack[f] && !sfr;
        let same_window = same && win == st.window_of(f);
        // The ACK of a keep-alive or of a zero-window probe is not a duplicate ACK.
        let answers = (win != 0 && st.lastflags[r] & event::KEEP_ALIVE != 0)
            || (win == 0 && st.lastflags[r] & event::ZERO_WINDOW_PROBE != 0);
        if same_window && !answers && win != 0 {
            st.dupacks[f] = st.dupacks[f].saturating_add(1);
            ev |= event::DUP_ACK;
        }
    }
    if ack != st.lastack[f] {
        st.dupacks[f] = 0;
        st.prefix_bits &= !LIVE_DUP[f];
    }
    // Data the peer acknowledged already is a (spurious) retransmission even at the next
    // sequence (time may have gone backwards); otherwise only what goes back is looked at.
    let spurious = len > 0 && st.lastack[r] != 0 && !gt(seq.wrapping_add(len), st.lastack[r]);
    if (len > 0 || flags & (SYN | FIN) != 0)
        && (spurious || (nextseq != 0 && lt(seq, nextseq)))
        && ev & event::KEEP_ALIVE == 0
    {
        ev |= classify_going_back(st, f, r, s, flags, ts);
        if st.prefix_bits & (LIVE_TS[f] | LIVE_DUP[r]) != 0 {
            note_reads(st, f, r);
        }
    }
    let end = seq
        .wrapping_add(len)
        .wrapping_add(u32::from(flags & (SYN | FIN) != 0));
    if (gt(end, nextseq) || nextseq == 0) && !probe {
        st.nextseq[f] = end;
        st.nextseq_ts[f] = ts;
        st.prefix_bits &= !LIVE_TS[f];
    }
    st.window[f] = s.win;
    st.lastack[f] = ack;
    st.lastack_ts[f] = ts;
    st.lastflags[f] = (ev & (event::KEEP_ALIVE | event::ZERO_WINDOW_PROBE)) | WINDOW_KNOWN;
    ev
}

/// A later shard's segment was classified from `nextseq_ts[f]` and `dupacks[r]`: if either
/// still holds what the recorded prefix left, the merge must find it equal.
#[cold]
fn note_reads(st: &mut SeqState, f: usize, r: usize) {
    if st.prefix_bits & LIVE_TS[f] != 0 {
        st.prefix_n |= TAINT_TS[f];
    }
    if st.prefix_bits & LIVE_DUP[r] != 0 {
        st.prefix_n |= TAINT_DUP[r];
    }
}

/// A segment below the highest sequence seen: spurious retransmission, fast retransmission,
/// out of order, or retransmission, in tshark 4.0's order. Out of line: rare in healthy traffic.
#[cold]
#[inline(never)]
fn classify_going_back(st: &SeqState, f: usize, r: usize, s: &Segment, flags: u8, ts: i64) -> u8 {
    let (seq, len) = (s.seq, s.len);
    let nextseq = st.nextseq[f];
    let syn = if flags & SYN != 0 {
        event::SYN_RETRANS
    } else {
        0
    };
    // Data the peer acknowledged already: a (spurious) retransmission, whatever the time.
    if len > 0 && st.lastack[r] != 0 && !gt(seq.wrapping_add(len), st.lastack[r]) {
        return event::RETRANS | syn;
    }
    // New data after a zero-window probe's byte is not a retransmission; nor is a segment
    // that does not go back (it came here as a spurious candidate only).
    if (len > 1 && nextseq.wrapping_sub(1) == seq) || nextseq == 0 || !lt(seq, nextseq) {
        return 0;
    }
    // tshark's times are unsigned: a time going backwards is never "within" a threshold.
    let since = |t: i64| ts.wrapping_sub(t) as u64;
    if st.dupacks[r] >= 2 && st.lastack[r] == seq && since(st.lastack_ts[r]) < FAST_NS {
        return event::FAST | event::RETRANS | syn;
    }
    let end = seq
        .wrapping_add(len)
        .wrapping_add(u32::from(flags & (SYN | FIN) != 0));
    if since(st.nextseq_ts[f]) < OOO_NS && nextseq != end {
        return event::OOO;
    }
    event::RETRANS | syn
}

/// What sequence analysis counted on one flow, per direction. Only flows with an event have
/// one (the table keeps them aside, by flow).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Health {
    /// Retransmitted segments (fast and SYN ones included).
    pub retrans: [u32; 2],
    /// Their payload bytes.
    pub retrans_bytes: [u64; 2],
    /// Fast retransmissions.
    pub fast_retrans: [u32; 2],
    /// Out-of-order segments.
    pub out_of_order: [u32; 2],
    /// Duplicate ACKs.
    pub dup_acks: [u32; 2],
    /// Zero-window advertisements.
    pub zero_windows: [u32; 2],
    /// Keep-alives.
    pub keep_alives: [u32; 2],
    /// SYN retransmissions.
    pub syn_retrans: [u32; 2],
    /// Segments that filled the peer's window (see `peer.rs`).
    pub window_full: [u32; 2],
    /// Don't-Fragment segments over the peer's MSS (see `peer.rs`).
    pub df_over_mss: [u32; 2],
}

impl Health {
    /// Counts the events `ev` of a segment of `len` payload bytes in direction `d`.
    pub fn count(&mut self, d: usize, ev: u8, len: u32) {
        let d = d & 1;
        let b = |bit: u8| u32::from(ev & bit != 0);
        self.retrans[d] += b(event::RETRANS);
        self.retrans_bytes[d] += u64::from(len) * u64::from(b(event::RETRANS));
        self.fast_retrans[d] += b(event::FAST);
        self.out_of_order[d] += b(event::OOO);
        self.dup_acks[d] += b(event::DUP_ACK);
        self.zero_windows[d] += b(event::ZERO_WINDOW);
        self.keep_alives[d] += b(event::KEEP_ALIVE);
        self.syn_retrans[d] += b(event::SYN_RETRANS);
    }

    /// Counts the `peer::event` bits `ev` of a segment in direction `d`.
    pub fn count_peer(&mut self, d: usize, ev: u8) {
        let d = d & 1;
        self.window_full[d] += u32::from(ev & super::peer::event::WINDOW_FULL != 0);
        self.df_over_mss[d] += u32::from(ev & super::peer::event::DF_OVER_MSS != 0);
    }

    /// The counts `peer.rs` keeps alone (the rest zeroed).
    pub fn peer_part(&self) -> Health {
        Health {
            window_full: self.window_full,
            df_over_mss: self.df_over_mss,
            ..Health::default()
        }
    }

    /// The counts `step` keeps alone (the rest zeroed).
    pub fn seq_part(&self) -> Health {
        Health {
            window_full: [0; 2],
            df_over_mss: [0; 2],
            ..*self
        }
    }

    /// `self + add - sub`, field by field: wrapping, as the sum is exact even when a
    /// correction is applied before what it corrects.
    pub fn adjust(&mut self, add: &Health, sub: &Health) {
        fn f<T: Copy>(a: &mut [T; 2], x: &[T; 2], y: &[T; 2], op: impl Fn(T, T, T) -> T) {
            for i in 0..2 {
                a[i] = op(a[i], x[i], y[i]);
            }
        }
        let u = |a: u32, x: u32, y: u32| a.wrapping_add(x).wrapping_sub(y);
        f(&mut self.retrans, &add.retrans, &sub.retrans, u);
        f(
            &mut self.retrans_bytes,
            &add.retrans_bytes,
            &sub.retrans_bytes,
            |a, x, y| a.wrapping_add(x).wrapping_sub(y),
        );
        f(
            &mut self.fast_retrans,
            &add.fast_retrans,
            &sub.fast_retrans,
            u,
        );
        f(
            &mut self.out_of_order,
            &add.out_of_order,
            &sub.out_of_order,
            u,
        );
        f(&mut self.dup_acks, &add.dup_acks, &sub.dup_acks, u);
        f(
            &mut self.zero_windows,
            &add.zero_windows,
            &sub.zero_windows,
            u,
        );
        f(&mut self.keep_alives, &add.keep_alives, &sub.keep_alives, u);
        f(&mut self.syn_retrans, &add.syn_retrans, &sub.syn_retrans, u);
        f(&mut self.window_full, &add.window_full, &sub.window_full, u);
        f(&mut self.df_over_mss, &add.df_over_mss, &sub.df_over_mss, u);
    }

    /// Whether nothing was counted.
    pub fn is_zero(&self) -> bool {
        *self == Health::default()
    }
}

/// One recorded segment of a later shard's flow (see the module doc): what [`step`] and
/// `peer::step` read of it, in 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Its time (ns, raw).
    pub ts: i64,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Payload bytes.
    pub len: u32,
    /// Index + 1 of the flow's segment recorded before it, 0 = none.
    pub prev: u32,
    /// Window.
    pub win: u16,
    /// Its TCP flags.
    pub flags: u8,
    /// Its direction (bit 0), and [`Recorded::DF`].
    pub dir: u8,
    /// A SYN's options.
    pub opts: crate::decode::tcp::SynOptions,
}

impl Recorded {
    /// [`Recorded::dir`]: sent with Don't-Fragment (or over IPv6).
    pub const DF: u8 = 2;

    /// The segment as `step` reads it.
    pub(crate) fn segment(&self) -> Segment {
        Segment {
            seq: self.seq,
            ack: self.ack,
            len: self.len,
            captured: self.len,
            win: self.win,
            ok: true,
            df: self.dir & Self::DF != 0,
            opts: self.opts,
        }
    }
}

/// A later shard's log of its flows' first segments.
#[derive(Debug, Clone, Default)]
pub struct Prefix {
    /// Whether this table records (a shard of a parallel pass).
    pub on: bool,
    /// The segments, flows interleaved; each flow's chained through `prev`.
    pub log: Vec<Recorded>,
}

impl Prefix {
    /// Records segment `s` of the flow whose state is `st`, or notes that one more followed.
    #[inline]
    pub fn record(&mut self, st: &mut SeqState, d: usize, s: &Segment, flags: u8, ts: i64) {
        if !st.recording() {
            if st.prefix_bits & PREFIX_MORE == 0 {
                // The first segment after the prefix: from here on, note which of the
                // values the prefix left are read before they are set again.
                st.prefix_bits |= PREFIX_MORE | LIVE_TS[0] | LIVE_TS[1] | LIVE_DUP[0] | LIVE_DUP[1];
            }
            return;
        }
        self.log.push(Recorded {
            ts,
            seq: s.seq,
            ack: s.ack,
            len: s.len,
            prev: st.prefix_tail,
            win: s.win,
            flags,
            dir: (d & 1) as u8 | if s.df { Recorded::DF } else { 0 },
            opts: s.opts,
        });
        st.prefix_tail = self.log.len() as u32;
        st.prefix_n += 1;
        st.prefix_bits |= PREFIX_DIR[d & 1];
    }

    /// The recorded segments of the flow whose state is `st`, in order, and their number.
    pub fn of(&self, st: &SeqState) -> ([Recorded; PREFIX_MAX as usize], usize) {
        let none = Recorded {
            ts: 0,
            seq: 0,
            ack: 0,
            len: 0,
            prev: 0,
            win: 0,
            flags: 0,
            dir: 0,
            opts: Default::default(),
        };
        let mut out = [none; PREFIX_MAX as usize];
        let n = usize::from(st.prefix_n & 7).min(out.len());
        let mut at = st.prefix_tail;
        for k in (0..n).rev() {
            let Some(r) = at.checked_sub(1).and_then(|i| self.log.get(i as usize)) else {
                break;
            };
            out[k] = *r;
            at = r.prev;
        }
        (out, n)
    }
}

/// The state and counts of `recs` replayed from `st`.
pub fn replay(mut st: SeqState, recs: &[Recorded]) -> (SeqState, Health) {
    let mut h = Health::default();
    for r in recs {
        let d = usize::from(r.dir & 1);
        let ev = step(&mut st, d, &r.segment(), r.flags, r.ts);
        h.count(d, ev & event::COUNTED, r.len);
    }
    (st, h)
}

/// How a later shard's flow joins the same flow of the shards before it, whose state is
/// `before`: the state to keep and the correction to its counts, or `None` when its
/// recorded segments do not bring both to the same state and the shard's later counts
/// cannot be trusted.
pub fn join(
    before: &SeqState,
    after: &SeqState,
    prefix: &Prefix,
) -> Option<(SeqState, Health, Health)> {
    if after.prefix_n & 7 == 0 {
        // No analysable segment in the later shard: the state is the earlier one.
        return Some((*before, Health::default(), Health::default()));
    }
    let (recs, n) = prefix.of(after);
    let recs = &recs[..n];
    let (joined, add) = replay(before.analysis(), recs);
    let (alone, sub) = replay(SeqState::FRESH, recs);
    if after.prefix_bits & PREFIX_MORE == 0 {
        return Some((joined, add, sub));
    }
    // Values the shard's later segments never read before setting them again may differ;
    // where they were never set again, the joined state takes the replay's.
    let (mut a, mut b) = (joined, alone);
    let mut end = after.analysis();
    for d in 0..2 {
        if after.prefix_n & TAINT_TS[d] == 0 {
            a.nextseq_ts[d] = 0;
            b.nextseq_ts[d] = 0;
        }
        if after.prefix_n & TAINT_DUP[d] == 0 {
            a.dupacks[d] = 0;
            b.dupacks[d] = 0;
        }
        if after.prefix_bits & LIVE_TS[d] != 0 {
            end.nextseq_ts[d] = joined.nextseq_ts[d];
        }
        if after.prefix_bits & LIVE_DUP[d] != 0 {
            // Duplicate ACKs counted since the prefix, on top of the true count.
            end.dupacks[d] =
                joined.dupacks[d].saturating_add(after.dupacks[d].saturating_sub(alone.dupacks[d]));
        }
    }
    (a == b).then_some((end, add, sub))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::ACK;

    fn seg(seq: u32, ack: u32, len: u32, win: u16) -> Segment {
        Segment {
            seq,
            ack,
            len,
            captured: len,
            win,
            ok: true,
            df: false,
            opts: Default::default(),
        }
    }

    #[test]
    fn a_state_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<SeqState>(), 64);
    }

    /// Hand-computed: data, a retransmission 200 ms later, an out-of-order segment 1 ms
    /// after the highest, three duplicate ACKs and a fast retransmission, a keep-alive.
    #[test]
    fn classifies_as_tshark() {
        let mut st = SeqState::FRESH;
        let ms = 1_000_000;
        let mut go = |d, s: Segment, f, t| step(&mut st, d, &s, f, t);
        assert_eq!(go(0, seg(1000, 1, 100, 500), ACK, ms), 0);
        assert_eq!(go(0, seg(1100, 1, 100, 500), ACK, 2 * ms), 0);
        // Receiver ACKs 1100 four times (the first is new, then three duplicates).
        assert_eq!(go(1, seg(1, 1100, 0, 900), ACK, 3 * ms), 0);
        assert_eq!(go(1, seg(1, 1100, 0, 900), ACK, 4 * ms), event::DUP_ACK);
        assert_eq!(go(1, seg(1, 1100, 0, 900), ACK, 5 * ms), event::DUP_ACK);
        assert_eq!(go(1, seg(1, 1100, 0, 900), ACK, 6 * ms), event::DUP_ACK);
        assert_eq!(
            go(0, seg(1100, 1, 100, 500), ACK, 7 * ms),
            event::FAST | event::RETRANS
        );
        // Long after: a plain retransmission of the first segment.
        assert_eq!(go(0, seg(1000, 1, 100, 500), ACK, 300 * ms), event::RETRANS);
        // New data, then the segment before it 1 ms later: out of order.
        assert_eq!(go(0, seg(1300, 1, 100, 500), ACK, 400 * ms), 0);
        assert_eq!(go(0, seg(1200, 1, 100, 500), ACK, 401 * ms), event::OOO);
        // A keep-alive: one byte before the next sequence, no data or one byte.
        assert_eq!(
            go(0, seg(1399, 1, 0, 500), ACK, 900 * ms),
            event::KEEP_ALIVE
        );
        // Zero window from the receiver.
        assert_eq!(go(1, seg(1, 1400, 0, 0), ACK, 901 * ms), event::ZERO_WINDOW);
    }
}
