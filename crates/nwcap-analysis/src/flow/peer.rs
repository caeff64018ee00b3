//! What a TCP flow's sides announced of themselves, for the `--health` counts that need it:
//! [`PeerState`] (each direction's window scale and MSS from its SYN, and whether its first
//! ACK is still to come), [`step`], which counts window-full segments (tshark's
//! `tcp.analysis.window_full`) and Don't-Fragment segments larger than the peer's MSS, and
//! [`join`], which joins a later shard's state to the state before it as `health::join` does.
//!
//! It reads the sequence state `health::step` keeps (the peer's last acknowledgement and
//! window) and never changes it; it never looks a flow up or reads packet bytes. Its array
//! exists beside the sequence states only with `--health`.

use super::health::{self, Health, Prefix, Recorded, SeqState, PREFIX_MORE};
use crate::decode::tcp::Segment;
use crate::decode::tcp_flags::{ACK, FIN, RST, SYN};

/// [`PeerState::ws`]: no SYN told (tshark's -1): a segment is never window-full against it.
pub const WS_UNKNOWN: i8 = -1;
/// [`PeerState::ws`]: the handshake did not agree on scaling (tshark's -2): windows are as sent.
pub const WS_NONE: i8 = -2;
/// The largest shift RFC 7323 allows; a larger one is taken as this (as tshark does).
const WS_MAX: u8 = 14;

/// Event bits [`step`] returns.
pub mod event {
    /// The segment filled the peer's advertised window.
    pub const WINDOW_FULL: u8 = 1;
    /// Don't-Fragment (or IPv6) and more payload than the MSS the peer announced.
    pub const DF_OVER_MSS: u8 = 2;
}

/// Per flow, 12 bytes: each direction's window scale and MSS, and (in a later shard of a
/// parallel pass) what its segments after the recorded prefix read of the state before the
/// shard (see [`join`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerState {
    /// Window scale shift per direction: [`WS_UNKNOWN`], [`WS_NONE`] or 0..=14.
    pub ws: [i8; 2],
    /// The MSS of each direction's latest SYN that had one (0 = none).
    pub mss: [u16; 2],
    /// [`FIRST_ACK`] per direction, and the later-shard bits [`LIVE_WS`], [`LIVE_FA`],
    /// [`LIVE_MSS`].
    pub bits: u8,
    /// Later shard: [`TAINT_WF`] per direction.
    pub taint: u8,
    /// Later shard: the largest DF payload each direction sent while the peer's MSS was
    /// still what the prefix left (0 = none).
    pub df_live: [u16; 2],
}

/// [`PeerState::bits`]: direction `d` sent a SYN and no ACK without SYN since (tshark's
/// `is_first_ack`: its window is not scaled yet).
const FIRST_ACK: [u8; 2] = [1, 2];
/// [`PeerState::bits`]: since the recorded prefix, `ws[d]` was not set again.
const LIVE_WS: [u8; 2] = [4, 8];
/// [`PeerState::bits`]: since the recorded prefix, `d`'s first-ACK bit was not set again.
const LIVE_FA: [u8; 2] = [16, 32];
/// [`PeerState::bits`]: since the recorded prefix, `mss[d]` was not set again.
const LIVE_MSS: [u8; 2] = [64, 128];
/// [`PeerState::taint`]: a segment after the prefix could have filled `d`'s window with the
/// scale the prefix left, which the merge must find equal.
const TAINT_WF: [u8; 2] = [1, 2];

impl PeerState {
    /// Nothing seen.
    pub const FRESH: PeerState = PeerState {
        ws: [WS_UNKNOWN; 2],
        mss: [0; 2],
        bits: 0,
        taint: 0,
        df_live: [0; 2],
    };

    /// The analysis part alone (later-shard bookkeeping zeroed).
    fn analysis(&self) -> PeerState {
        PeerState {
            bits: self.bits & (FIRST_ACK[0] | FIRST_ACK[1]),
            taint: 0,
            df_live: [0; 2],
            ..*self
        }
    }

    /// The shift a window direction `d` advertises is scaled by, `None` when unknown.
    fn shift(&self, d: usize) -> Option<u32> {
        match self.ws[d] {
            WS_UNKNOWN => None,
            _ if self.bits & FIRST_ACK[d] != 0 => Some(0),
            s => Some(s.max(0) as u32),
        }
    }

    /// A later shard's first segment after its recorded prefix: from here on, note which
    /// values the prefix left are read before they are set again.
    pub fn start_live(&mut self) {
        self.bits |= LIVE_WS[0] | LIVE_WS[1] | LIVE_FA[0] | LIVE_FA[1] | LIVE_MSS[0] | LIVE_MSS[1];
    }
}

/// Classifies segment `s` with `flags` in direction `d`, whose sequence analysis events were
/// `seq_ev` and which left the sequence state `st` (the peer's last acknowledgement and
/// window are as before it), and updates the state as tshark 4.0 does; returns [`event`]
/// bits.
#[inline]
pub fn step(p: &mut PeerState, st: &SeqState, d: usize, s: &Segment, flags: u8, seq_ev: u8) -> u8 {
    const LIVE: u8 = LIVE_WS[0] | LIVE_WS[1] | LIVE_FA[0] | LIVE_FA[1] | LIVE_MSS[0] | LIVE_MSS[1];
    // A SYN, or a later shard's segment after its prefix: the whole way, out of line.
    if flags & SYN != 0 || p.bits & LIVE != 0 {
        return step_all(p, st, d, s, flags, seq_ev);
    }
    let (f, r) = (d & 1, (d & 1) ^ 1);
    let mut ev = 0;
    if s.len > 0 {
        // Window-full: data up to the peer's last acknowledgement plus its window, scaled
        // unless the peer's first ACK is still to come; never a FIN/RST or a zero-window
        // probe, nor against an unknown scale.
        if let Some(shift) = p.shift(r) {
            let plain = flags & (FIN | RST) == 0 && seq_ev & health::event::ZERO_WINDOW_PROBE == 0;
            let edge = st.lastack[r].wrapping_add(st.window_of(r) << shift);
            if plain && s.seq.wrapping_add(s.len) == edge {
                ev |= event::WINDOW_FULL;
            }
        }
        if s.df && p.mss[r] != 0 && s.len > u32::from(p.mss[r]) {
            ev |= event::DF_OVER_MSS;
        }
    }
    if flags & ACK != 0 {
        p.bits &= !FIRST_ACK[f];
    }
    ev
}

/// [`step`] for any segment, with a later shard's bookkeeping.
#[cold]
#[inline(never)]
fn step_all(p: &mut PeerState, st: &SeqState, d: usize, s: &Segment, flags: u8, seq_ev: u8) -> u8 {
    let (f, r) = (d & 1, (d & 1) ^ 1);
    let mut ev = 0;
    let plain = s.len > 0
        && flags & (SYN | FIN | RST) == 0
        && seq_ev & health::event::ZERO_WINDOW_PROBE == 0;
    if plain {
        let end = s.seq.wrapping_add(s.len);
        let win = st.window_of(r);
        let edge = |shift: u32| st.lastack[r].wrapping_add(win << shift);
        if let Some(shift) = p.shift(r) {
            if end == edge(shift) {
                ev |= event::WINDOW_FULL;
            }
        }
        if p.bits & (LIVE_WS[r] | LIVE_FA[r]) != 0
            && (0..=u32::from(WS_MAX)).any(|k| end == edge(k))
        {
            p.taint |= TAINT_WF[r];
        }
    }
    if s.df && s.len > 0 {
        let mss = u32::from(p.mss[r]);
        if mss != 0 && s.len > mss {
            ev |= event::DF_OVER_MSS;
        }
        if p.bits & LIVE_MSS[r] != 0 {
            p.df_live[f] = p.df_live[f].max(s.len.min(u32::from(u16::MAX)) as u16);
        }
    }
    if flags & SYN != 0 {
        let o = s.opts;
        if let Some(w) = o.window_scale() {
            p.ws[f] = w.min(WS_MAX) as i8;
            p.bits &= !LIVE_WS[f];
        }
        // tshark's `verify_tcp_window_scaling`: scaling is on only if both SYNs asked.
        if p.ws[f] == WS_UNKNOWN {
            p.ws = [WS_NONE; 2];
            p.bits &= !(LIVE_WS[0] | LIVE_WS[1]);
        } else if flags & ACK != 0 && p.ws[r] == WS_NONE {
            p.ws[f] = WS_NONE;
            p.bits &= !LIVE_WS[f];
        }
        if let Some(m) = o.mss() {
            p.mss[f] = m;
            p.bits &= !LIVE_MSS[f];
        }
        p.bits = (p.bits | FIRST_ACK[f]) & !LIVE_FA[f];
    } else if flags & ACK != 0 {
        p.bits &= !(FIRST_ACK[f] | LIVE_FA[f]);
    }
    ev
}

/// The sequence and peer states and all counts of `recs` replayed from `(st, p)`.
pub fn replay(
    mut st: SeqState,
    mut p: PeerState,
    recs: &[Recorded],
) -> (SeqState, PeerState, Health) {
    let mut h = Health::default();
    for r in recs {
        let d = usize::from(r.dir & 1);
        let s = r.segment();
        let ev = health::step(&mut st, d, &s, r.flags, r.ts);
        h.count(d, ev & health::event::COUNTED, r.len);
        h.count_peer(d, step(&mut p, &st, d, &s, r.flags, ev));
    }
    (st, p, h)
}

/// How a later shard's flow, whose sequence and peer states are `after` and `after_p`, joins
/// the same flow before it (`before`, `before_p`): the peer state to keep and the correction
/// to the window-full and DF counts (to add, to subtract), or `None` when the later
/// shard's counts cannot be trusted. (The sequence state's own join is `health::join`.)
pub fn join(
    before: &SeqState,
    before_p: &PeerState,
    after: &SeqState,
    after_p: &PeerState,
    prefix: &Prefix,
) -> Option<(PeerState, Health, Health)> {
    if after.prefix_n & 7 == 0 {
        return Some((*before_p, Health::default(), Health::default()));
    }
    let (recs, n) = prefix.of(after);
    let recs = &recs[..n];
    let (_, joined, add) = replay(before.analysis(), before_p.analysis(), recs);
    let (_, alone, sub) = replay(SeqState::FRESH, PeerState::FRESH, recs);
    let (add, sub) = (add.peer_part(), sub.peer_part());
    if after.prefix_bits & PREFIX_MORE == 0 {
        return Some((joined, add, sub));
    }
    let mut end = after_p.analysis();
    for d in 0..2 {
        let r = d ^ 1;
        // The later segments' window-full answers used the scale the prefix left alone.
        if after_p.taint & TAINT_WF[d] != 0 && joined.shift(d) != alone.shift(d) {
            return None;
        }
        // DF segments of `d` sent while `r`'s MSS was the prefix's: none was over it alone;
        // none may be over the true one.
        let big = after_p.df_live[d];
        if big != 0 && joined.mss[r] != alone.mss[r] && joined.mss[r] != 0 && big > joined.mss[r] {
            return None;
        }
        if after_p.bits & LIVE_WS[d] != 0 {
            end.ws[d] = joined.ws[d];
        }
        if after_p.bits & LIVE_FA[d] != 0 {
            end.bits = (end.bits & !FIRST_ACK[d]) | (joined.bits & FIRST_ACK[d]);
        }
        if after_p.bits & LIVE_MSS[d] != 0 {
            end.mss[d] = joined.mss[d];
        }
    }
    Some((end, add, sub))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp::SynOptions;

    fn seg(seq: u32, ack: u32, len: u32, win: u16, df: bool, opts: SynOptions) -> Segment {
        Segment {
            seq,
            ack,
            len,
            captured: len,
            win,
            ok: true,
            df,
            opts,
        }
    }

    /// Options: MSS `mss`, window scale `ws`.
    fn opts(mss: u16, ws: u8) -> SynOptions {
        let [a, b] = mss.to_be_bytes();
        SynOptions::parse(&[2, 4, a, b, 3, 3, ws])
    }

    /// Hand-computed: client (0) scale 2 MSS 1460, server (1) scale 7 MSS 1400; the server
    /// acknowledges 1000 with window 4 (× 128 = 512 bytes): the client's segment ending at
    /// 1512 fills it, the one ending at 1511 does not; before the server's first ACK its
    /// window is taken unscaled. A DF segment of 1401 bytes is over the server's MSS, 1400 not.
    #[test]
    fn window_full_and_df_over_mss() {
        let (mut st, mut p) = (SeqState::FRESH, PeerState::FRESH);
        let mut go = |d: usize, s: Segment, flags: u8| {
            let ev = health::step(&mut st, d, &s, flags, 1);
            step(&mut p, &st, d, &s, flags, ev)
        };
        let none = SynOptions::default();
        assert_eq!(go(0, seg(999, 0, 0, 100, true, opts(1460, 2)), SYN), 0);
        // SYN-ACK, window 600 unscaled: 1000 + 600 = 1600 fills it before the server's ACK.
        assert_eq!(
            go(1, seg(4999, 1000, 0, 600, true, opts(1400, 7)), SYN | ACK),
            0
        );
        assert_eq!(
            go(0, seg(1000, 5000, 600, 100, false, none), ACK),
            event::WINDOW_FULL
        );
        // The server's first ACK: window 4, scaled by 128.
        assert_eq!(go(1, seg(5000, 1000, 0, 4, false, none), ACK), 0);
        assert_eq!(go(0, seg(1000, 5000, 511, 100, false, none), ACK), 0);
        assert_eq!(
            go(0, seg(1000, 5000, 512, 100, false, none), ACK),
            event::WINDOW_FULL
        );
        assert_eq!(go(0, seg(1512, 5000, 1400, 100, true, none), ACK), 0);
        assert_eq!(
            go(0, seg(2912, 5000, 1401, 100, true, none), ACK),
            event::DF_OVER_MSS
        );
        // Without DF, no count; the server sending 1461 bytes is over the client's MSS.
        assert_eq!(go(0, seg(4313, 5000, 1401, 100, false, none), ACK), 0);
        assert_eq!(
            go(1, seg(5000, 1000, 1461, 4, true, none), ACK),
            event::DF_OVER_MSS
        );
    }

    /// A SYN without the option turns scaling off both ways, whatever the SYN-ACK says.
    #[test]
    fn scaling_needs_both_syns() {
        let (mut st, mut p) = (SeqState::FRESH, PeerState::FRESH);
        let s = seg(1, 0, 0, 10, false, SynOptions::parse(&[2, 4, 5, 0xb4]));
        let ev = health::step(&mut st, 0, &s, SYN, 1);
        step(&mut p, &st, 0, &s, SYN, ev);
        assert_eq!(p.ws, [WS_NONE; 2]);
        let s = seg(1, 2, 0, 10, false, opts(1460, 7));
        let ev = health::step(&mut st, 1, &s, SYN | ACK, 2);
        step(&mut p, &st, 1, &s, SYN | ACK, ev);
        assert_eq!(p.ws, [WS_NONE; 2]);
    }
}
