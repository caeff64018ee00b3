//! Findings: what went wrong, read off the selected flows after the pass. Each kind names a
//! problem (connection attempts without an answer, refusals, resets, retransmission storms,
//! zero-window stalls, slow handshakes, path MTU trouble, capture quality: snap lengths,
//! drops, times going back), with a severity, one sentence, its counts and the endpoints
//! most involved. It owns the kinds, their thresholds and their order, and tallies a flow at
//! a time ([`FlowTallies`]); it never reads packets, and never sweeps the flows itself but
//! for the slow handshakes' outliers (the report's build feeds it, beside the top ports).

use std::collections::HashMap;

use serde::Serialize;

use super::time::Secs;
use crate::decode::{proto, Addr};
use crate::filter::Side;
use crate::flow::health::Health;
#[cfg(test)]
use crate::flow::IcmpFacts;
use crate::flow::{FlowKey, FlowList, FlowStats};
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

    /// Adds another tally's counts (of other flows).
    fn merge(&mut self, o: Tally) {
        self.count += o.count;
        self.flows += o.flows;
        for (e, n) in o.by {
            *self.by.entry(e).or_default() += n;
        }
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

/// ICMP errors by the flow they quote: type, code, count.
pub(super) type IcmpErrors = HashMap<FlowKey, Vec<(u8, u8, u64)>>;

/// The findings of the selected flows, most severe first: [`FlowTallies`] over every flow,
/// then [`FlowTallies::finish`] (the report's build sweeps the flows itself).
#[cfg(test)]
pub(super) fn find(
    flows: &FlowList<'_>,
    local: &LocalSet<'_>,
    icmp: &IcmpFacts,
    files: &[FileFacts],
) -> Vec<Finding> {
    let errors = icmp.by_flow();
    let mut t = FlowTallies::new(local, &errors, flows.len());
    for i in 0..flows.len() {
        t.see(i, &flows.key(i), flows.stats(i), flows.health(i));
    }
    t.finish(flows, files)
}

/// What the findings count, flow by flow: fed one flow at a time by whoever sweeps the flows
/// (the report's build feeds the top ports from the same read), so that each flow's counters
/// are read once. Each kind's test of a flow is a method of its own.
pub(super) struct FlowTallies<'a> {
    local: &'a LocalSet<'a>,
    /// ICMP errors by the flow they quote ([`IcmpFacts::by_flow`]).
    errors: &'a IcmpErrors,
    no_answer: Tally,
    refused: Tally,
    reset: Tally,
    /// Resets by the local side (or both), by the remote side.
    reset_by: [u64; 2],
    retrans: Tally,
    zero: Tally,
    mtu: Tally,
    /// Of `mtu`'s count, Don't-Fragment segments over the peer's MSS (`--health`).
    df_over_mss: u64,
    /// Handshake RTTs with their flows' indexes, for the median and its outliers (see
    /// `slow`).
    handshakes: Vec<(i64, u32)>,
}

impl<'a> FlowTallies<'a> {
    /// Tallies for up to `flows` flows (room reserved, not touched, for their handshakes).
    pub(super) fn new(local: &'a LocalSet<'a>, errors: &'a IcmpErrors, flows: usize) -> Self {
        FlowTallies {
            local,
            errors,
            no_answer: Tally::default(),
            refused: Tally::default(),
            reset: Tally::default(),
            reset_by: [0; 2],
            retrans: Tally::default(),
            zero: Tally::default(),
            mtu: Tally::default(),
            df_over_mss: 0,
            handshakes: Vec::with_capacity(flows),
        }
    }

    /// Counts flow `i`: its key, counters and sequence analysis (if any).
    #[inline]
    pub(super) fn see(&mut self, i: usize, k: &FlowKey, s: &FlowStats, h: Option<&Health>) {
        if !self.errors.is_empty() {
            self.icmp_errors(k, s);
        }
        if k.proto != proto::TCP {
            return;
        }
        self.tcp_state(k, s);
        if let (Some(syn), _, Some(ack)) = s.tcp.handshake() {
            self.handshakes.push((ack.saturating_sub(syn), i as u32));
        }
        if let Some(h) = h {
            self.health(k, s, h);
        }
    }

    /// `refused` and `path_mtu`: the ICMP errors that quote the flow.
    fn icmp_errors(&mut self, k: &FlowKey, s: &FlowStats) {
        let Some(es) = self.errors.get(k) else {
            return;
        };
        for &(t, c, n) in es {
            let remote = remote_side(k, self.local, s);
            match icmp_kind(k.lo.0.v6, t, c) {
                Some("refused") => self.refused.add(endpoint(k, remote), n),
                Some(_) => self.mtu.add(endpoint(k, remote), n),
                None => {}
            }
        }
    }

    /// `no_answer`, `refused` and `reset`: what the TCP connection state says.
    fn tcp_state(&mut self, k: &FlowKey, s: &FlowStats) {
        let t = &s.tcp;
        let responder = t.syn_dir.map_or(1, |o| 1 - usize::from(o));
        match s.conn_state() {
            "S0" => {
                let o = 1 - responder;
                self.no_answer
                    .add(endpoint(k, responder), u64::from(t.syn[o].max(1)));
            }
            "REJ" => self.refused.add(endpoint(k, responder), 1),
            "RSTO" | "RSTR" => {
                let remote = remote_side(k, self.local, s);
                let by = if t.rst[remote] > 0 && t.rst[1 - remote] == 0 {
                    1
                } else {
                    0
                };
                self.reset_by[by] += 1;
                self.reset.add(endpoint(k, remote), 1);
            }
            _ => {}
        }
    }

    /// `retransmissions` and `zero_window`: what the sequence analysis counted.
    fn health(&mut self, k: &FlowKey, s: &FlowStats, h: &Health) {
        for d in 0..2 {
            let share = f64::from(h.retrans[d]) / s.packets[d].max(1) as f64;
            if h.retrans[d] >= RETRANS_MIN && share >= RETRANS_SHARE {
                self.retrans.add(
                    endpoint(k, remote_side(k, self.local, s)),
                    u64::from(h.retrans[d]),
                );
            }
        }
        let z = h.zero_windows[0] + h.zero_windows[1];
        if z > 0 {
            self.zero
                .add(endpoint(k, remote_side(k, self.local, s)), u64::from(z));
        }
        let df = u64::from(h.df_over_mss[0]) + u64::from(h.df_over_mss[1]);
        if df > 0 {
            self.mtu.add(endpoint(k, remote_side(k, self.local, s)), df);
            self.df_over_mss += df;
        }
    }

    /// Adds the tallies of other flows (another part of the same sweep).
    pub(super) fn merge(&mut self, o: FlowTallies<'_>) {
        self.no_answer.merge(o.no_answer);
        self.refused.merge(o.refused);
        self.reset.merge(o.reset);
        self.retrans.merge(o.retrans);
        self.zero.merge(o.zero);
        self.mtu.merge(o.mtu);
        self.df_over_mss += o.df_over_mss;
        for (a, b) in self.reset_by.iter_mut().zip(o.reset_by) {
            *a += b;
        }
        self.handshakes.extend(o.handshakes);
    }

    /// The findings, most severe first, once every flow of `flows` was seen; the files give
    /// the capture's own. Out of line, as `slow`: called once, and seen apart in profiles.
    #[inline(never)]
    pub(super) fn finish(self, flows: &FlowList<'_>, files: &[FileFacts]) -> Vec<Finding> {
        let FlowTallies {
            no_answer,
            refused,
            reset,
            reset_by,
            retrans,
            zero,
            mtu,
            df_over_mss,
            handshakes,
            ..
        } = self;
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
}

/// The side of flow `k` that is remote (0 = `lo`), the responder's when neither is local.
fn remote_side(k: &FlowKey, local: &LocalSet<'_>, s: &FlowStats) -> usize {
    match local.side(&k.lo.0, &k.hi.0) {
        Side::A => 1,
        Side::B => 0,
        Side::Either => s.tcp.syn_dir.map_or(1, |o| 1 - usize::from(o)),
    }
}

/// Handshakes far slower than the capture's median. `rtts` are the handshakes' RTTs with
/// their flows' indexes: the outliers are looked up among them, not found again by a second
/// read of every flow's counters, which cost as much as the sweep that gathered them.
#[inline(never)]
fn slow(mut rtts: Vec<(i64, u32)>, flows: &FlowList<'_>) -> Option<Finding> {
    if rtts.len() < SLOW_MIN_HANDSHAKES {
        return None;
    }
    let mid = rtts.len() / 2;
    let median = i128::from(rtts.select_nth_unstable_by_key(mid, |r| r.0).1 .0);
    let bound = (median * SLOW_FACTOR).max(SLOW_MIN_NS);
    // Above the median's place: every outlier is there. In flow order, as the tally lists.
    let mut outliers: Vec<(u32, i64)> = rtts[mid..]
        .iter()
        .filter(|r| i128::from(r.0) > bound)
        .map(|&(rtt, i)| (i, rtt))
        .collect();
    drop(rtts);
    outliers.sort_unstable();
    let mut t = Tally::default();
    let mut worst = 0;
    for (i, rtt) in outliers {
        let i = i as usize;
        let responder = flows.stats(i).tcp.syn_dir.map_or(1, |o| 1 - usize::from(o));
        t.add(endpoint(&flows.key(i), responder), 1);
        worst = worst.max(i128::from(rtt));
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

/// What the capture itself hides: packets cut before their ports, packets it says it dropped
/// (pcapng interface statistics), and times that go back.
fn capture_quality(files: &[FileFacts]) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in files {
        if f.counters.truncated_packets > 0 && f.snaplen > 0 && f.snaplen < 64 {
            out.push(capture_finding(
                "info",
                format!(
                    "{}: a snap length of {} bytes cut {} packets, which may hide ports and TCP flags",
                    f.path, f.snaplen, f.counters.truncated_packets
                ),
                f.counters.truncated_packets,
            ));
        }
        if let Some(d) = super::build::dropped(f).filter(|d| d.packets > 0) {
            let per: Vec<String> = d
                .interfaces
                .iter()
                .filter(|i| i.ifdrop.unwrap_or(0) > 0 || i.osdrop.unwrap_or(0) > 0)
                .map(|i| {
                    let mut by = Vec::new();
                    if let Some(n) = i.ifdrop.filter(|&n| n > 0) {
                        by.push(format!("{n} by the interface"));
                    }
                    if let Some(n) = i.osdrop.filter(|&n| n > 0) {
                        by.push(format!("{n} by the operating system"));
                    }
                    format!("interface {}: {}", i.interface, by.join(" and "))
                })
                .collect();
            out.push(capture_finding(
                "low",
                format!(
                    "{}: the capture dropped {} packets ({}), as its interface statistics say: \
                     the flows and findings miss them",
                    f.path,
                    d.packets,
                    per.join("; ")
                ),
                d.packets,
            ));
        }
        if let Some(b) = f.counters.time_backwards() {
            out.push(capture_finding(
                "info",
                format!(
                    "{}: {} packets are timestamped earlier than the packet before them (by up \
                     to {} s; the first is packet {}): durations and RTTs across them may be \
                     wrong",
                    f.path,
                    b.steps,
                    Secs(b.largest_ns.into()),
                    b.first_packet
                ),
                b.steps,
            ));
        }
    }
    out
}

/// A finding of kind `capture`.
fn capture_finding(severity: &'static str, summary: String, count: u64) -> Finding {
    Finding {
        kind: "capture",
        severity,
        summary,
        count,
        flows: 0,
        endpoints: Vec::new(),
    }
}
