//! Findings: what went wrong, read off the selected flows after the pass. Each kind names a
//! problem (connection attempts without an answer, refusals, resets, retransmission storms,
//! zero-window stalls, slow handshakes, path MTU trouble, capture quality), with a severity,
//! one sentence, its counts and the endpoints most involved. It owns the kinds, their
//! thresholds and their order; it never reads packets.

use std::collections::HashMap;

use serde::Serialize;

use super::time::Secs;
use crate::decode::{proto, Addr};
use crate::filter::Side;
use crate::flow::{FlowKey, FlowList, FlowStats, IcmpFacts};
use crate::pass::{FileFacts, LocalSet};

/// A retransmission storm: at least this share of a direction's packets retransmitted...
pub const RETRANS_SHARE: f64 = 0.05;
/// ... and at least this many.
pub const RETRANS_MIN: u32 = 3;
/// A slow handshake: more than this many times the capture's median handshake RTT...
pub const SLOW_FACTOR: i128 = 4;
/// ... and more than this (ns), among at least [`SLOW_MIN_HANDSHAKES`] handshakes.
pub const SLOW_MIN_NS: i128 = 10_000_000;
/// Handshakes a capture needs before one can be called slow.
pub const SLOW_MIN_HANDSHAKES: usize = 5;
/// Endpoints a finding names at most.
pub const MAX_ENDPOINTS: usize = 5;

/// One problem found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// `no_answer`, `refused`, `reset`, `retransmissions`, `zero_window`,
    /// `slow_handshake`, `path_mtu` or `capture`.
    pub kind: &'static str,
    /// `high`, `medium`, `low` or `info`.
    pub severity: &'static str,
    /// One sentence.
    pub summary: String,
    /// How many times it happened (its unit is in the sentence).
    pub count: u64,
    /// Flows involved.
    pub flows: u64,
    /// The endpoints most involved (`address:port` of the remote side, or of the responder),
    /// with their counts, most first.
    pub endpoints: Vec<String>,
}

const SEVERITIES: [&str; 4] = ["high", "medium", "low", "info"];

/// Counts per endpoint, named in order of count, then name. Endpoints are kept as a flow's
/// side and formatted only when named: a capture may hold many thousands of failed attempts.
#[derive(Default)]
struct Tally {
    count: u64,
    flows: u64,
    by: HashMap<Endpoint, u64, foldhash::fast::FixedState>,
}

/// An address and its port, when the flow's ports were captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Endpoint(Addr, Option<u16>);

impl Tally {
    fn add(&mut self, endpoint: Endpoint, n: u64) {
        self.count += n;
        self.flows += 1;
        *self.by.entry(endpoint).or_default() += n;
    }

    fn finding(self, kind: &'static str, severity: &'static str, summary: String) -> Finding {
        // Most counted first, then in address order; only those named are formatted (a
        // capture may hold many thousands of failed attempts).
        let mut by: Vec<(Endpoint, u64)> = self.by.into_iter().collect();
        let order = |a: &(Endpoint, u64), b: &(Endpoint, u64)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        if by.len() > MAX_ENDPOINTS {
            by.select_nth_unstable_by(MAX_ENDPOINTS - 1, order);
            by.truncate(MAX_ENDPOINTS);
        }
        by.sort_by(order);
        Finding {
            kind,
            severity,
            summary,
            count: self.count,
            flows: self.flows,
            endpoints: by
                .into_iter()
                .take(MAX_ENDPOINTS)
                .map(|(e, n)| format!("{e} ({n})"))
                .collect(),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.1, self.0.v6) {
            (Some(p), true) => write!(f, "[{}]:{p}", self.0),
            (Some(p), false) => write!(f, "{}:{p}", self.0),
            (None, _) => write!(f, "{}", self.0),
        }
    }
}

fn endpoint(k: &FlowKey, side: usize) -> Endpoint {
    let (a, p) = if side == 0 { k.lo } else { k.hi };
    Endpoint(a, k.ports_known.then_some(p))
}

/// ICMP types and codes that refuse: port or host unreachable (IPv4 3/1, 3/3; ICMPv6 1/3,
/// 1/4), and those that tell of path MTU trouble (IPv4 3/4, ICMPv6 2).
fn icmp_kind(v6: bool, t: u8, c: u8) -> Option<&'static str> {
    match (v6, t, c) {
        (false, 3, 1 | 3) | (true, 1, 3 | 4) => Some("refused"),
        (false, 3, 4) | (true, 2, _) => Some("path_mtu"),
        _ => None,
    }
}

/// The findings of the selected flows, most severe first.
pub fn find(
    flows: &FlowList<'_>,
    local: &LocalSet<'_>,
    icmp: &IcmpFacts,
    files: &[FileFacts],
) -> Vec<Finding> {
    let (mut no_answer, mut refused, mut reset, mut retrans, mut zero, mut mtu) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    let mut reset_by = [0u64; 2];
    // Of `mtu`'s count, Don't-Fragment segments over the peer's MSS (`--health`).
    let mut df_over_mss = 0u64;
    // Handshake RTTs, for their median (see `slow`).
    let mut handshakes: Vec<i64> = Vec::new();
    let errors = icmp.by_flow();
    for i in 0..flows.len() {
        let k = flows.key(i);
        if let Some(es) = (!errors.is_empty()).then(|| errors.get(&k)).flatten() {
            for &(t, c, n) in es {
                let remote = remote_side(&k, local, flows.stats(i));
                match icmp_kind(k.lo.0.v6, t, c) {
                    Some("refused") => refused.add(endpoint(&k, remote), n),
                    Some(_) => mtu.add(endpoint(&k, remote), n),
                    None => {}
                }
            }
        }
        if k.proto != proto::TCP {
            continue;
        }
        let s = flows.stats(i);
        let t = &s.tcp;
        let responder = t.syn_dir.map_or(1, |o| 1 - usize::from(o));
        match s.conn_state() {
            "S0" => {
                let o = 1 - responder;
                no_answer.add(endpoint(&k, responder), u64::from(t.syn[o].max(1)));
            }
            "REJ" => refused.add(endpoint(&k, responder), 1),
            "RSTO" | "RSTR" => {
                let remote = remote_side(&k, local, s);
                let by = if t.rst[remote] > 0 && t.rst[1 - remote] == 0 {
                    1
                } else {
                    0
                };
                reset_by[by] += 1;
                reset.add(endpoint(&k, remote), 1);
            }
            _ => {}
        }
        if let (Some(syn), _, Some(ack)) = t.handshake() {
            handshakes.push(ack.saturating_sub(syn));
        }
        if let Some(h) = flows.health(i) {
            for d in 0..2 {
                let share = f64::from(h.retrans[d]) / s.packets[d].max(1) as f64;
                if h.retrans[d] >= RETRANS_MIN && share >= RETRANS_SHARE {
                    retrans.add(
                        endpoint(&k, remote_side(&k, local, s)),
                        u64::from(h.retrans[d]),
                    );
                }
            }
            let z = h.zero_windows[0] + h.zero_windows[1];
            if z > 0 {
                zero.add(endpoint(&k, remote_side(&k, local, s)), u64::from(z));
            }
            let df = u64::from(h.df_over_mss[0]) + u64::from(h.df_over_mss[1]);
            if df > 0 {
                mtu.add(endpoint(&k, remote_side(&k, local, s)), df);
                df_over_mss += df;
            }
        }
    }
    let mut out = Vec::new();
    let n = |t: &Tally| t.count;
    if n(&no_answer) > 0 {
        let f = no_answer.flows;
        let c = no_answer.count;
        out.push(no_answer.finding(
            "no_answer",
            "high",
            format!("{f} TCP connection attempts got no answer ({c} SYNs sent): blocked by a firewall or NSG, or nothing listening"),
        ));
    }
    if n(&refused) > 0 {
        let c = refused.count;
        out.push(refused.finding(
            "refused",
            "high",
            format!("{c} connections refused (RST in answer to a SYN, or ICMP port or host unreachable)"),
        ));
    }
    if n(&reset) > 0 {
        let [local_side, remote_side] = reset_by;
        out.push(reset.finding(
            "reset",
            "medium",
            format!("{} connections reset after they were established ({remote_side} by the remote side, {local_side} by the local side or both)", local_side + remote_side),
        ));
    }
    if n(&retrans) > 0 {
        let c = retrans.count;
        let f = retrans.flows;
        out.push(retrans.finding(
            "retransmissions",
            "medium",
            format!("{c} retransmissions in {f} flow directions that retransmitted 5 % or more of their packets"),
        ));
    }
    if n(&zero) > 0 {
        let c = zero.count;
        out.push(zero.finding(
            "zero_window",
            "medium",
            format!("{c} zero-window advertisements: a receiver could not keep up"),
        ));
    }
    if n(&mtu) > 0 {
        let c = mtu.count - df_over_mss;
        let summary = match (c, df_over_mss) {
            (c, 0) => format!("{c} ICMP packet-too-big or fragmentation-needed messages: path MTU trouble"),
            (0, d) => format!("{d} Don't-Fragment segments larger than the MSS their receiver announced: path MTU trouble"),
            (c, d) => format!("{c} ICMP packet-too-big or fragmentation-needed messages and {d} Don't-Fragment segments larger than the MSS their receiver announced: path MTU trouble"),
        };
        out.push(mtu.finding("path_mtu", "medium", summary));
    }
    if let Some(f) = slow(handshakes, flows) {
        out.push(f);
    }
    out.extend(capture_quality(files));
    out.sort_by_key(|f| SEVERITIES.iter().position(|&s| s == f.severity));
    out
}

/// The side of flow `k` that is remote (0 = `lo`), the responder's when neither is local.
fn remote_side(k: &FlowKey, local: &LocalSet<'_>, s: &FlowStats) -> usize {
    match local.side(&k.lo.0, &k.hi.0) {
        Side::A => 1,
        Side::B => 0,
        Side::Either => s.tcp.syn_dir.map_or(1, |o| 1 - usize::from(o)),
    }
}

/// Handshakes far slower than the capture's median.
fn slow(mut rtts: Vec<i64>, flows: &FlowList<'_>) -> Option<Finding> {
    if rtts.len() < SLOW_MIN_HANDSHAKES {
        return None;
    }
    let mid = rtts.len() / 2;
    let median = i128::from(*rtts.select_nth_unstable(mid).1);
    drop(rtts);
    let bound = (median * SLOW_FACTOR).max(SLOW_MIN_NS);
    let mut t = Tally::default();
    let mut worst = 0;
    // The outliers are found again rather than remembered: a capture may hold hundreds of
    // thousands of handshakes, and only their RTTs were needed for the median.
    for i in 0..flows.len() {
        let s = flows.stats(i);
        let (Some(syn), _, Some(ack)) = s.tcp.handshake() else {
            continue;
        };
        let rtt = i128::from(ack.saturating_sub(syn));
        if rtt > bound {
            let responder = s.tcp.syn_dir.map_or(1, |o| 1 - usize::from(o));
            t.add(endpoint(&flows.key(i), responder), 1);
            worst = worst.max(rtt);
        }
    }
    (t.count > 0).then(|| {
        let c = t.count;
        t.finding(
            "slow_handshake",
            "low",
            format!(
                "{c} handshakes took more than {}x the median of {} s (up to {} s)",
                SLOW_FACTOR,
                Secs(median),
                Secs(worst)
            ),
        )
    })
}

/// What the capture itself hides: packets cut before their ports.
fn capture_quality(files: &[FileFacts]) -> Vec<Finding> {
    files
        .iter()
        .filter(|f| f.counters.truncated_packets > 0 && f.snaplen > 0 && f.snaplen < 64)
        .map(|f| Finding {
            kind: "capture",
            severity: "info",
            summary: format!(
                "{}: a snap length of {} bytes cut {} packets, which may hide ports and TCP flags",
                f.path, f.snaplen, f.counters.truncated_packets
            ),
            count: f.counters.truncated_packets,
            flows: 0,
            endpoints: Vec::new(),
        })
        .collect()
}
