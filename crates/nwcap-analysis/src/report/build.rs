//! Building the report from the analyzer and its selection: the totals, per-protocol rows,
//! top talkers and the guess of the local address, and each flow's row as it is written
//! ([`Flows::rows`]). It owns what every figure of the report is made of; it never orders
//! the flows itself (that is `order`) and never writes a byte (that is the writers).

use super::apps::{self, Names};
use super::findings::{Finding, FlowTallies, IcmpErrors};
use super::model::{
    Count, DirCount, Dropped, FileRow, FlowNames, FlowRow, Flows, HealthRow, IcmpErrorRow,
    InterfaceDrops, LinkTypeRow, Local, ProtocolRow, Report, Summary, SynOptionsRow, Talker,
    TcpRow, TimeBackwardsRow, MAX_ICMP_ERRORS, SCHEMA,
};
use super::order::size_order;
use super::ports::{PortTally, TopPorts};
use super::summaries;
use super::text::{CommunityId, Flags, IpText, Proto};
use super::time::{Secs, Timestamp};
use super::timeline::Spans;
use crate::decode::tcp::SynOptions;
use crate::decode::{linktype_name, proto_name, Addr};
use crate::filter::Side;
use crate::flow::ack_rtt::FlowRtt;
use crate::flow::addr_sums::{self, AddrSums, Sums};
use crate::flow::health::Health;
use crate::flow::{FlowKey, FlowList, FlowStats, Ts};
use crate::pass::{Analyzer, FileCounters, FileFacts, LocalSet, Selection};

/// Builds the report from the analyzer and its selection. `top` bounds the talkers list. With
/// `threads` > 1, the traffic per address (the talkers, and the local address when the
/// selection left it to be guessed) is summed on a thread of its own while the flows are
/// ordered.
pub fn build<'a>(
    analyzer: &'a Analyzer,
    sel: &'a Selection<'a>,
    files: &[FileFacts],
    top: usize,
    threads: usize,
) -> Report<'a> {
    let mut total = FileCounters::default();
    let mut warnings = Vec::new();
    for f in files {
        total.merge(&f.counters);
        if let Some(e) = &f.error {
            warnings.push(format!("{}: {e}", f.path));
        }
        warnings.extend(f.warnings.iter().map(|w| format!("{}: {w}", f.path)));
    }
    for (reason, c) in &analyzer.non_ip {
        warnings.push(format!(
            "{} packets not attributed to a flow: {reason}",
            c.packets
        ));
    }
    if sel.flows.is_empty() && !analyzer.flows.is_empty() {
        warnings.push(format!(
            "no flow matched the filters ({} flows read)",
            analyzer.flows.len()
        ));
    }

    let (sums, (order, mut matched, per_proto)) = if threads > 1 {
        std::thread::scope(|s| {
            let sums = s.spawn(|| AddrSums::over(&sel.flows));
            let sized = size_order(&sel.flows);
            let sums = sums.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (sums, sized)
        })
    } else {
        (AddrSums::over(&sel.flows), size_order(&sel.flows))
    };
    let (mut top_talkers, guess) = talkers_and_busiest(&sums, top);
    let names = analyzer
        .inspecting()
        .then(|| Names::of(&analyzer.inspector));
    for t in &mut top_talkers {
        if let (Some(names), Ok(ip)) = (&names, t.address.parse::<std::net::IpAddr>()) {
            t.name = names.get(&Addr::from(ip)).map(|(n, _)| n.to_owned());
        }
    }
    // Without a local address from the selection, every flow is selected: its sums are the
    // guess's.
    let local = sel.local_set(|| guess.busiest.map(|(a, _)| a));
    if local.inferred() {
        warnings.extend(guess.doubt());
    }

    let mut protocols: Vec<ProtocolRow> = (0..=255u8)
        .zip(per_proto)
        .filter(|(_, (_, flows))| *flows > 0)
        .map(|(p, (c, flows))| ProtocolRow {
            protocol: proto_name(p).into_owned(),
            protocol_number: Some(p),
            packets: c.packets,
            bytes: c.bytes,
            flows,
        })
        .collect();
    if sel.non_ip {
        let mut c = Count::default();
        for n in analyzer.non_ip.values() {
            c.packets += n.packets;
            c.bytes += n.bytes;
        }
        if c.packets > 0 {
            matched.packets += c.packets;
            matched.bytes += c.bytes;
            protocols.push(ProtocolRow {
                protocol: "non-IP".into(),
                protocol_number: None,
                packets: c.packets,
                bytes: c.bytes,
                flows: 0,
            });
        }
    }
    protocols.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(b.packets.cmp(&a.packets)));
    let (services, dns) = match &names {
        Some(names) => {
            let (s, d) = summaries::of(&sel.flows, &analyzer.inspector, names, &local);
            (Some(s), Some(d))
        }
        None => (None, None),
    };

    let icmp_errors = analyzer.icmp.by_flow();
    let halves = threads > 1 && sel.flows.len() >= SPLIT_SWEEP_ABOVE;
    let (top_ports, findings, spans) = sweep(&sel.flows, &local, &icmp_errors, files, top, halves);
    let timeline = super::timeline::timeline(&sel.flows, &local, spans);
    if let Some(w) = &timeline.widened {
        warnings.push(format!("timeline: {w}"));
    }
    Report {
        schema: SCHEMA,
        findings,
        summary: Summary {
            totals: (&total).into(),
            files: files.iter().map(file_row).collect(),
            warnings,
        },
        matched,
        local: Local {
            addresses: local.names(),
            inferred: local.inferred(),
            source: local.source(),
        },
        protocols,
        timeline,
        flows: Flows {
            flows: &sel.flows,
            order,
            local,
            inspector: &analyzer.inspector,
            names,
            icmp: &analyzer.icmp,
            icmp_errors,
            health: analyzer.health(),
        },
        top_talkers,
        top_ports,
        services,
        dns,
    }
}

/// The top server ports, the findings and the timeline's flow times, from one sweep over
/// every flow's counters (each read once for all), in two halves on two threads with
/// `halves`: before, each swept them all, side by side, and the report's build took half as
/// long again.
fn sweep(
    flows: &FlowList<'_>,
    local: &LocalSet<'_>,
    errors: &IcmpErrors,
    files: &[FileFacts],
    top: usize,
    halves: bool,
) -> (TopPorts, Vec<Finding>, Spans) {
    let part = |range: std::ops::Range<usize>| {
        let mut ports = PortTally::default();
        let mut found = FlowTallies::new(local, errors, range.len());
        let mut spans = Spans::with_room(range.len());
        for i in range {
            let (k, s) = (flows.key(i), flows.stats(i));
            ports.see(&k, s, local);
            found.see(i, &k, s, flows.health(i));
            spans.see(s);
        }
        (ports, found, spans)
    };
    let n = flows.len();
    let (ports, found, spans) = if halves {
        std::thread::scope(|s| {
            let later = s.spawn(|| part(n / 2..n));
            let (mut ports, mut found, mut spans) = part(0..n / 2);
            let (p, f, t) = later
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            ports.merge(p);
            found.merge(f);
            spans.merge(t);
            (ports, found, spans)
        })
    } else {
        part(0..n)
    };
    (ports.finish(top), found.finish(flows, files), spans)
}

/// Flows below which [`sweep`] stays on one thread: a thread costs tens of microseconds.
const SPLIT_SWEEP_ABOVE: usize = 1 << 14;

/// The `top` addresses that moved the most bytes (ties to the lower address), with what each
/// sent and received, and the address present in the most packets ([`AddrSums::busiest`]'s
/// pick), from one walk over the sums that keeps the best `top` so far in a heap. Picking the
/// talkers among references to every address cost a cache miss per comparison, and the
/// busiest address a walk of its own.
fn talkers_and_busiest(sums: &AddrSums, top: usize) -> (Vec<Talker>, Guess) {
    /// An address ordered by what it moved, most first: the heap's greatest is the one to
    /// drop.
    struct Ranked<'s>(&'s (Addr, Sums));
    impl Ord for Ranked<'_> {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            let (a, b) = (self.0, o.0);
            b.1.bytes().cmp(&a.1.bytes()).then(a.0.cmp(&b.0))
        }
    }
    impl PartialOrd for Ranked<'_> {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl PartialEq for Ranked<'_> {
        fn eq(&self, o: &Self) -> bool {
            self.cmp(o).is_eq()
        }
    }
    impl Eq for Ranked<'_> {}

    let entries = sums.entries();
    let mut kept = std::collections::BinaryHeap::with_capacity(top.min(entries.len()));
    let mut guess = Guess::default();
    for e in entries {
        guess.see(e);
        if kept.len() < top {
            kept.push(Ranked(e));
        } else if let Some(mut worst) = kept.peek_mut() {
            if Ranked(e) < *worst {
                *worst = Ranked(e);
            }
        }
    }
    let talkers = kept
        .into_sorted_vec()
        .into_iter()
        .map(|Ranked((a, t))| Talker {
            address: a.to_string(),
            packets_sent: t.packets_sent,
            bytes_sent: t.bytes_sent,
            packets_received: t.packets_received,
            bytes_received: t.bytes_received,
            flows: t.flows,
            name: None,
        })
        .collect();
    (talkers, guess)
}

/// The local-address guess and how clearly it leads: the busiest address (in the most
/// packets), the next busiest, and how many others are in exactly as many packets.
#[derive(Debug, Default)]
struct Guess {
    busiest: Option<(Addr, u64)>,
    runner_up: Option<(Addr, u64)>,
    /// Other addresses in as many packets as the busiest.
    tied: usize,
}

impl Guess {
    fn see(&mut self, e: &(Addr, Sums)) {
        let packets = e.1.packets();
        match self.busiest {
            Some((a, p)) if !addr_sums::busier(e, &(a, sums_of(p))).is_gt() => {
                if self
                    .runner_up
                    .is_none_or(|(ra, rp)| addr_sums::busier(e, &(ra, sums_of(rp))).is_gt())
                {
                    self.runner_up = Some((e.0, packets));
                }
                if packets == p {
                    self.tied += 1;
                }
            }
            old => {
                if old.is_some_and(|(_, p)| p == packets) {
                    self.tied += 1;
                } else {
                    self.tied = 0;
                }
                self.runner_up = old;
                self.busiest = Some((e.0, packets));
            }
        }
    }

    /// A warning when the busiest address does not clearly lead: tied with others, or the
    /// next one in at least 90 % as many packets. A VM's own address is in every packet of its
    /// capture, so a close second means the capture does not show which address is the VM's.
    fn doubt(&self) -> Option<String> {
        let ((a, p), (r, rp)) = (self.busiest?, self.runner_up?);
        if self.tied == 1 {
            return Some(format!(
                "local address {a} is a guess: {r} is in as many packets ({p}); pass --local-ip \
                 to choose"
            ));
        }
        if self.tied > 1 {
            return Some(format!(
                "local address {a} is a guess: {} other addresses are in as many packets ({p}), \
                 {r} among them; pass --local-ip to choose",
                self.tied
            ));
        }
        if rp.saturating_mul(10) >= p.saturating_mul(9) {
            return Some(format!(
                "local address {a} is a guess by a small margin: it is in {p} packets, {r} in \
                 {rp} ({:.1} % fewer); pass --local-ip to choose",
                (p - rp) as f64 * 100.0 / p as f64
            ));
        }
        None
    }
}

/// Sums with `packets` packets, to compare a remembered address with [`addr_sums::busier`].
fn sums_of(packets: u64) -> Sums {
    Sums {
        packets_sent: packets,
        ..Sums::default()
    }
}

fn file_row(f: &FileFacts) -> FileRow {
    let c = &f.counters;
    FileRow {
        path: f.path.clone(),
        format: f.format.clone(),
        link_types: c
            .linktypes()
            .into_iter()
            .map(|(lt, n)| LinkTypeRow {
                linktype: lt,
                name: linktype_name(lt),
                packets: n,
            })
            .collect(),
        snaplen: f.snaplen,
        interfaces: f.interfaces,
        totals: c.into(),
        readable: f.readable,
        error: f.error.clone(),
        warnings: f.warnings.clone(),
        dropped: dropped(f),
        time_backwards: c.time_backwards().map(|b| TimeBackwardsRow {
            packets: b.steps,
            largest_s: Secs(b.largest_ns.into()),
            first_packet: b.first_packet,
        }),
    }
}

/// The drop counts of the interfaces whose last statistics block gave one.
pub(super) fn dropped(f: &FileFacts) -> Option<Dropped> {
    let interfaces: Vec<InterfaceDrops> = f
        .drops
        .iter()
        .filter(|(_, d)| d.ifdrop.is_some() || d.osdrop.is_some())
        .map(|(&interface, d)| InterfaceDrops {
            interface,
            ifdrop: d.ifdrop,
            osdrop: d.osdrop,
        })
        .collect();
    (!interfaces.is_empty()).then(|| Dropped {
        packets: interfaces
            .iter()
            .map(|i| i.ifdrop.unwrap_or(0).saturating_add(i.osdrop.unwrap_or(0)))
            .fold(0, u64::saturating_add),
        interfaces,
    })
}

impl<'a> Flows<'a> {
    /// The rows, largest flow first.
    pub fn rows(&self) -> impl Iterator<Item = FlowRow> + '_ {
        (0..self.len()).map(|i| self.row(i))
    }

    /// The row at `i` (0 = largest).
    pub fn row(&self, i: usize) -> FlowRow {
        let j = self.order[i];
        let k = self.flows.key(j);
        let s = self.flows.stats(j);
        let (local, initiator) = orient(&k, s, &self.local);
        let view = self.names.as_ref().map(|names| {
            let apps = apps::apps_of(self.inspector, &k);
            apps::view(&k, apps, names, local, initiator)
        });
        // Looked up only where they can be: most captures have few ICMP packets.
        let icmp = matches!(
            k.proto,
            crate::decode::proto::ICMP | crate::decode::proto::ICMPV6
        );
        let mut cells = Icmp {
            first: icmp.then(|| self.icmp.first.get(&k).copied()).flatten(),
            ..Icmp::default()
        };
        let errors = (!self.icmp_errors.is_empty())
            .then(|| self.icmp_errors.get(&k))
            .flatten();
        if let Some(errors) = errors {
            cells.error_count = errors.iter().map(|e| e.2).sum();
            cells.errors = errors
                .iter()
                .take(MAX_ICMP_ERRORS)
                .map(|&(kind, code, count)| IcmpErrorRow { kind, code, count })
                .collect();
        }
        // Built as the value returned: a row assembled and then changed was copied out whole.
        let health = self.health.then(|| {
            (
                self.flows.health(j),
                self.flows.rtt(j),
                self.flows.syn_options(j),
            )
        });
        // Kept aside by the table, and looked up only for the flows that have any.
        let rsts = if s.tcp.rst != [0, 0] {
            self.flows.first_rsts(j)
        } else {
            [Ts::NONE; 2]
        };
        flow_row(&k, s, health, (local, initiator), rsts, view, cells)
    }

    /// Starts loading what the row [`ROW_AHEAD`] rows after `i` will read: in size order,
    /// flows are at random places in tables of tens of megabytes, and waiting for each in turn
    /// took nearly half the time of writing them.
    pub(super) fn prefetch(&self, i: usize) {
        if let Some(&j) = self.order.get(i + ROW_AHEAD) {
            self.flows.prefetch(j);
        }
    }
}

/// How many rows ahead [`Flows::prefetch`] reaches (a row costs a few thousand
/// instructions).
const ROW_AHEAD: usize = 4;

/// The local side's index in the key's (lo, hi) order, and the TCP initiator's.
pub(super) fn orient(
    k: &FlowKey,
    s: &FlowStats,
    local_set: &LocalSet<'_>,
) -> (usize, Option<usize>) {
    let first = if s.first_dir_lo { 0 } else { 1 };
    let initiator = s.tcp.syn_dir.map(usize::from);
    let local = match local_set.side(&k.lo.0, &k.hi.0) {
        Side::A => 0,
        Side::B => 1,
        Side::Either => initiator.unwrap_or(first),
    };
    (local, initiator)
}

/// A flow's ICMP type and code, and the errors that quote it.
#[derive(Default)]
struct Icmp {
    first: Option<(u8, u8)>,
    error_count: u64,
    errors: Vec<IcmpErrorRow>,
}

/// A flow's sequence analysis: its counts and its RTT state, if any, and its SYN options.
type FlowHealth<'a> = (Option<&'a Health>, Option<&'a FlowRtt>, [SynOptions; 2]);

/// `health`: `None` without sequence analysis, else the flow's counts (if any).
fn flow_row(
    k: &FlowKey,
    s: &FlowStats,
    health: Option<FlowHealth<'_>>,
    (local, initiator): (usize, Option<usize>),
    rsts: [Ts; 2],
    view: Option<apps::AppView>,
    icmp: Icmp,
) -> FlowRow {
    let remote = 1 - local;
    let ends = [k.lo, k.hi];
    let port = |i: usize| k.ports_known.then_some(ends[i].1);
    let dir = |from: usize| DirCount {
        packets: s.packets[from],
        bytes: s.bytes[from],
        captured_bytes: s.captured(from),
    };
    FlowRow {
        protocol: Proto(k.proto),
        protocol_number: k.proto,
        local_ip: IpText(ends[local].0),
        local_port: port(local),
        remote_ip: IpText(ends[remote].0),
        remote_port: port(remote),
        icmp_id: k.icmp_id,
        out: dir(local),
        inbound: dir(remote),
        first_ts: s.first_ts().map(Timestamp),
        last_ts: s.last_ts().map(Timestamp),
        duration_s: Secs::between(s.first_ts(), s.last_ts()),
        tcp: (k.proto == crate::decode::proto::TCP)
            .then(|| tcp_row(s, health, local, initiator, rsts)),
        community_id: crate::flow::community_id::community_id(k).map(CommunityId),
        icmp_type: icmp.first.map(|f| f.0),
        icmp_code: icmp.first.map(|f| f.1),
        icmp_error_count: icmp.error_count,
        icmp_errors: icmp.errors,
        names: view.map(|v| FlowNames {
            service: v.service,
            service_by_port: v.service_by_port,
            remote_name: v.remote_name,
            remote_name_source: v.remote_name_source,
            app: v.app,
        }),
    }
}

fn health_row((h, rtt, _): FlowHealth<'_>, d: usize) -> HealthRow {
    let rtt = rtt.map(|r| &r.stats[d]).filter(|s| s.n > 0);
    let rtt_row = |mut row: HealthRow| {
        if let Some(s) = rtt {
            row.ack_rtt_samples = s.n;
            row.ack_rtt_median_s = s.median().map(|m| Secs(m.into()));
            row.ack_rtt_max_s = Some(Secs(s.max.into()));
        }
        row
    };
    let Some(h) = h else {
        return rtt_row(HealthRow::default());
    };
    rtt_row(HealthRow {
        retransmissions: h.retrans[d],
        retransmitted_bytes: h.retrans_bytes[d],
        fast_retransmissions: h.fast_retrans[d],
        out_of_order: h.out_of_order[d],
        duplicate_acks: h.dup_acks[d],
        zero_windows: h.zero_windows[d],
        keep_alives: h.keep_alives[d],
        syn_retransmissions: h.syn_retrans[d],
        window_full: h.window_full[d],
        df_over_mss: h.df_over_mss[d],
        ..HealthRow::default()
    })
}

fn syn_options(o: SynOptions) -> Option<SynOptionsRow> {
    o.is_read().then(|| SynOptionsRow {
        mss: o.mss(),
        window_scale: o.window_scale(),
        sack_permitted: o.sack_permitted() == Some(true),
    })
}

/// `health`: as in [`flow_row`].
fn tcp_row(
    s: &FlowStats,
    health: Option<FlowHealth<'_>>,
    local: usize,
    initiator: Option<usize>,
    rsts: [Ts; 2],
) -> TcpRow {
    let t = &s.tcp;
    let remote = 1 - local;
    let (syn, synack, ack) = t.handshake();
    TcpRow {
        initiator: initiator.map(|i| if i == local { "local" } else { "remote" }),
        state: s.conn_state(),
        flags_out: Flags(t.flags[local]),
        flags_in: Flags(t.flags[remote]),
        syn_fin_rst_out: [t.syn[local], t.fin[local], t.rst[local]],
        syn_fin_rst_in: [t.syn[remote], t.fin[remote], t.rst[remote]],
        syn_to_synack_s: Secs::between(syn, synack),
        synack_to_ack_s: Secs::between(synack, ack),
        handshake_rtt_s: Secs::between(syn, ack),
        // Boxed: every row is moved a few times, and most reports have no health.
        health_out: health.map(|h| Box::new(health_row(h, local))),
        health_in: health.map(|h| Box::new(health_row(h, remote))),
        first_rst_out_s: Secs::between(s.first_ts(), rsts[local].get()),
        first_rst_in_s: Secs::between(s.first_ts(), rsts[remote].get()),
        syn_options_out: health.map(|(.., o)| syn_options(o[local])),
        syn_options_in: health.map(|(.., o)| syn_options(o[remote])),
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::Addr;

    /// Every ICMP error of every corpus capture is tied to the flow tshark says it quotes
    /// (`testdata/oracle/tcp/*.json`, `icmp_errors`, by `scripts/oracle-tcp`), with its type,
    /// code and count, whether that flow is in the capture or not.
    #[test]
    fn icmp_errors_quote_the_flows_tshark_says() {
        use crate::report::testing::corpus_analyses;
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/oracle/tcp");
        let mut seen = 0;
        for (path, analyzer, _) in corpus_analyses() {
            let name = path.file_name().unwrap().to_str().unwrap();
            let Ok(text) = std::fs::read_to_string(dir.join(format!("{name}.json"))) else {
                continue;
            };
            let oracle: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut want: Vec<String> = oracle["icmp_errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let end =
                        |x: &serde_json::Value| format!("{}:{}", x[0].as_str().unwrap(), x[1]);
                    format!(
                        "{} {} {} {}/{} x{}",
                        e["protocol_number"],
                        end(&e["lo"]),
                        end(&e["hi"]),
                        e["type"],
                        e["code"],
                        e["count"]
                    )
                })
                .collect();
            let mut got: Vec<String> = analyzer
                .icmp
                .errors
                .iter()
                .map(|((k, t, c), n)| {
                    let port = |p: u16| {
                        if k.ports_known {
                            p.to_string()
                        } else {
                            "null".into()
                        }
                    };
                    format!(
                        "{} {}:{} {}:{} {t}/{c} x{n}",
                        k.proto,
                        k.lo.0,
                        port(k.lo.1),
                        k.hi.0,
                        port(k.hi.1)
                    )
                })
                .collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{name}");
            seen += want.len();
        }
        assert!(seen >= 2, "only {seen} ICMP errors in the corpus");
    }

    /// Without filters the selection leaves the local address to the report; the report's
    /// guess, with one thread or two, is the one a selection that needs it (a remote-address
    /// filter) makes over all flows, and so are the top talkers' figures.
    #[test]
    fn the_report_guesses_the_local_address_as_a_filtered_selection_does() {
        use super::build;
        use crate::filter::{FilterSet, FilterSpec};
        use crate::report::testing::corpus_analyses;

        let wide = FilterSet::compile(&[FilterSpec {
            remote_ip_address: Some(
                "0.0.0.0-255.255.255.255;::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".into(),
            ),
            ..FilterSpec::default()
        }])
        .unwrap();
        let none = FilterSet::default();
        let mut guessed = 0;
        for (path, analyzer, _) in corpus_analyses() {
            let all = analyzer.select(&none);
            assert!(all.local.is_none(), "{path:?}");
            let filtered = analyzer.select(&wide);
            let expected = filtered.local.as_ref().unwrap().names();
            guessed += expected.len();
            for threads in [1, 2] {
                let report = build(&analyzer, &all, &[], 10, threads);
                assert_eq!(report.local.addresses, expected, "{path:?}");
                assert!(report.local.inferred);
            }
        }
        assert!(guessed > 10, "only {guessed} corpus files with IP traffic");
    }

    /// The one sweep, whole or in halves, gives the top ports and findings of a sweep for
    /// each, and the same timeline, on every corpus capture, with and without sequence
    /// analysis.
    #[test]
    fn one_sweep_equals_a_sweep_each() {
        use crate::filter::FilterSet;
        use crate::report::findings::find;
        use crate::report::ports::top_ports;
        use crate::report::testing::corpus_analyses;
        let mut found = 0;
        let analyses = corpus_analyses().into_iter().flat_map(|(path, plain, _)| {
            // The same capture with sequence analysis.
            let opened = crate::source::open(path.to_str().unwrap()).unwrap();
            let reader = crate::capture::Reader::new(opened.bytes()).unwrap();
            let mut health = crate::pass::Analyzer::new().with_health(true);
            for r in reader.map_while(Result::ok) {
                health.feed(&r);
            }
            health.flows.settle();
            [(path.clone(), plain), (path, health)]
        });
        for (path, analyzer) in analyses {
            let none = FilterSet::default();
            let sel = analyzer.select(&none);
            let local = sel.local_set(|| super::AddrSums::over(&sel.flows).busiest());
            let errors = analyzer.icmp.by_flow();
            let ports = top_ports(&sel.flows, &local, 10);
            let findings = find(&sel.flows, &local, &analyzer.icmp, &[]);
            found += findings.len();
            let mut timelines = Vec::new();
            for halves in [false, true] {
                let (p, f, t) = super::sweep(&sel.flows, &local, &errors, &[], 10, halves);
                assert_eq!(p, ports, "{path:?}");
                assert_eq!(f, findings, "{path:?} halves {halves}");
                timelines.push(crate::report::timeline::timeline(&sel.flows, &local, t));
            }
            assert_eq!(timelines[0], timelines[1], "{path:?}");
        }
        assert!(found > 5, "only {found} findings in the corpus");
    }

    /// The talkers and the busiest address from one walk equal those of sorting every
    /// address, for every corpus capture and lists from none to more than all; some cut
    /// falls between addresses that moved as many bytes.
    #[test]
    fn talkers_equal_a_full_sort() {
        use super::{talkers_and_busiest, AddrSums, Sums};
        use crate::filter::FilterSet;
        use crate::report::testing::corpus_analyses;
        let mut tied_cuts = 0;
        for (path, analyzer, _) in corpus_analyses() {
            let filters = FilterSet::default();
            let sel = analyzer.select(&filters);
            let sums = AddrSums::over(&sel.flows);
            let mut all: Vec<&(Addr, Sums)> = sums.entries().iter().collect();
            all.sort_by(|a, b| b.1.bytes().cmp(&a.1.bytes()).then(a.0.cmp(&b.0)));
            let n = all.len();
            for top in [0, 1, 2, 3, 10, n.saturating_sub(1), n, n + 1] {
                let (talkers, guess) = talkers_and_busiest(&sums, top);
                let expect: Vec<String> = all.iter().take(top).map(|e| e.0.to_string()).collect();
                let got: Vec<String> = talkers.iter().map(|t| t.address.clone()).collect();
                assert_eq!(got, expect, "{} top {top}", path.display());
                assert_eq!(
                    guess.busiest.map(|b| b.0),
                    sums.busiest(),
                    "{}",
                    path.display()
                );
                // The runner-up and the ties, against a full sort by packets.
                let mut by_packets = all.clone();
                by_packets.sort_by(|a, b| crate::flow::addr_sums::busier(b, a));
                let second = by_packets.get(1).map(|e| (e.0, e.1.packets()));
                assert_eq!(guess.runner_up, second, "{}", path.display());
                let tied = by_packets
                    .iter()
                    .skip(1)
                    .filter(|e| Some(e.1.packets()) == guess.busiest.map(|b| b.1))
                    .count();
                assert_eq!(guess.tied, tied, "{}", path.display());
                if (1..n).contains(&top) && all[top - 1].1.bytes() == all[top].1.bytes() {
                    tied_cuts += 1;
                }
            }
        }
        assert!(tied_cuts > 0, "no cut between equal talkers");
    }
}
