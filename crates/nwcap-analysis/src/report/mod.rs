//! The analysis report: one versioned model ([`Report`], schema `nwcap.analysis/1`) built
//! from the analyzer's tables, and writers for tables, JSON, NDJSON and CSV. Writers take any
//! `io::Write`; nothing here opens files.

mod chunk;
mod csv;
mod json;
mod table;
pub mod time;

use std::io::{self, Write};
use std::sync::mpsc;

use serde::Serialize;

use chunk::Chunk;

use crate::decode::{linktype_name, proto_name, tcp_flags, Addr};
use crate::filter::Side;
use crate::flow::addr_sums::{self, AddrSums, Sums};
use crate::flow::{FlowKey, FlowList, FlowStats};
use crate::hint::prefault;
use crate::pass::{Analyzer, FileCounters, LocalSet, Selection};
pub use crate::pass::{FileFacts, Readable};

pub use time::{duration_s, rfc3339, Secs, Timestamp};

/// JSON schema identifier; bump on incompatible changes.
pub const SCHEMA: &str = "nwcap.analysis/1";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable tables.
    Table,
    /// One JSON object.
    Json,
    /// One JSON flow per line.
    Ndjson,
    /// One flow per row, with a header.
    Csv,
}

/// Packets and bytes.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Count {
    /// Packets.
    pub packets: u64,
    /// Wire bytes.
    pub bytes: u64,
}

/// Per-direction counts of a flow.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct DirCount {
    /// Packets.
    pub packets: u64,
    /// Wire bytes (original lengths).
    pub bytes: u64,
    /// Captured bytes.
    pub captured_bytes: u64,
}

/// The whole report; written by [`write()`] (JSON fields in this order).
#[derive(Debug)]
pub struct Report<'a> {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// Totals over every packet read.
    pub summary: Summary,
    /// Totals over the packets that passed the filters.
    pub matched: Count,
    /// Which addresses count as local.
    pub local: Local,
    /// Per protocol, over matched packets.
    pub protocols: Vec<ProtocolRow>,
    /// Flows of matched packets, largest first.
    pub flows: Flows<'a>,
    /// Addresses by bytes, largest first.
    pub top_talkers: Vec<Talker>,
}

/// The selected flows, largest first; each [`FlowRow`] is built as it is written, so a
/// report of a million flows does not hold a million rows.
#[derive(Debug)]
pub struct Flows<'a> {
    /// The selection's flows, in its order.
    flows: &'a FlowList<'a>,
    /// Indexes into `flows`, largest flow first.
    order: Vec<usize>,
    local: LocalSet<'a>,
}

impl<'a> Flows<'a> {
    /// Number of flows.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// `true` when there is none.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The rows, largest flow first.
    pub fn rows(&self) -> impl Iterator<Item = FlowRow> + '_ {
        (0..self.len()).map(|i| self.row(i))
    }

    /// The row at `i` (0 = largest).
    pub fn row(&self, i: usize) -> FlowRow {
        let j = self.order[i];
        flow_row(&self.flows.key(j), self.flows.stats(j), &self.local)
    }

    /// Starts loading what the row [`ROW_AHEAD`] rows after `i` will read: in size order,
    /// flows are at random places in tables of tens of megabytes, and waiting for each in turn
    /// took nearly half the time of writing them.
    fn prefetch(&self, i: usize) {
        if let Some(&j) = self.order.get(i + ROW_AHEAD) {
            self.flows.prefetch(j);
        }
    }
}

/// How many rows ahead [`Flows::prefetch`] reaches (a row costs a few thousand
/// instructions).
const ROW_AHEAD: usize = 4;

/// capinfos-like totals, for the whole report and for each input.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    /// Packets read.
    pub packets: u64,
    /// Sum of wire lengths.
    pub bytes: u64,
    /// Sum of captured lengths.
    pub captured_bytes: u64,
    /// Packets cut by the snap length.
    pub truncated_packets: u64,
    /// Earliest timestamp, RFC 3339 UTC with nanoseconds.
    pub first_ts: Option<Timestamp>,
    /// Latest timestamp.
    pub last_ts: Option<Timestamp>,
    /// `last_ts - first_ts` in seconds.
    pub duration_s: Option<f64>,
}

impl From<&FileCounters> for Totals {
    fn from(c: &FileCounters) -> Self {
        Totals {
            packets: c.packets,
            bytes: c.bytes,
            captured_bytes: c.captured_bytes,
            truncated_packets: c.truncated_packets,
            first_ts: c.first_ts().map(Timestamp),
            last_ts: c.last_ts().map(Timestamp),
            duration_s: duration_s(c.first_ts(), c.last_ts()),
        }
    }
}

/// Totals over every packet read.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Packets, bytes, times.
    #[serde(flatten)]
    pub totals: Totals,
    /// Per input.
    pub files: Vec<FileRow>,
    /// Everything the reader should know.
    pub warnings: Vec<String>,
}

/// One input in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct FileRow {
    /// Path as given.
    pub path: String,
    /// Detected format.
    pub format: Option<String>,
    /// Link types with their packet counts.
    pub link_types: Vec<LinkTypeRow>,
    /// Snap length (0 = none given).
    pub snaplen: u32,
    /// Interfaces described.
    pub interfaces: u32,
    /// Packets, bytes, times.
    #[serde(flatten)]
    pub totals: Totals,
    /// `full`, `partial` or `none`.
    pub readable: Readable,
    /// What stopped the reader.
    pub error: Option<String>,
    /// Remarks.
    pub warnings: Vec<String>,
}

/// A link type and how many packets had it.
#[derive(Debug, Clone, Serialize)]
pub struct LinkTypeRow {
    /// LINKTYPE_* value.
    pub linktype: u16,
    /// Its name.
    pub name: String,
    /// Packets.
    pub packets: u64,
}

/// Local addresses.
#[derive(Debug, Clone, Serialize)]
pub struct Local {
    /// As given by filters, or the inferred address.
    pub addresses: Vec<String>,
    /// `true` when nwcap guessed (the address seen in the most packets).
    pub inferred: bool,
}

/// One protocol's totals.
#[derive(Debug, Clone, Serialize)]
pub struct ProtocolRow {
    /// `TCP`, `UDP`, `ICMP`, `ICMPv6`, the IP protocol number, or `non-IP`.
    pub protocol: serde_json::Value,
    /// Packets.
    pub packets: u64,
    /// Wire bytes.
    pub bytes: u64,
    /// Flows (0 for non-IP).
    pub flows: u64,
}

/// An address that serializes as text without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpText(pub Addr);

impl std::fmt::Display for IpText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl IpText {
    /// Longest text of an address (eight groups of four hex digits and seven colons).
    pub const MAX_LEN: usize = 39;

    /// Writes the address into `buf` exactly as [`std::net::IpAddr`] displays it, without the
    /// formatting machinery: most report rows hold two addresses, and the formatter was the
    /// slow part of a row.
    pub fn render(self, buf: &mut [u8; Self::MAX_LEN]) -> &str {
        let n = self.render_ascii(buf);
        std::str::from_utf8(&buf[..n]).unwrap_or_default()
    }

    /// Like [`IpText::render`], as ASCII bytes: the report writers copy them straight into
    /// their output. Returns the length.
    pub(crate) fn render_ascii(self, buf: &mut [u8; Self::MAX_LEN]) -> usize {
        let a = self.0;
        if !a.v6 {
            put_v4(buf, 0, [a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]])
        } else {
            let groups: [u16; 8] =
                std::array::from_fn(|i| u16::from_be_bytes([a.bytes[2 * i], a.bytes[2 * i + 1]]));
            if groups[..6] == [0, 0, 0, 0, 0, 0xffff] {
                // IPv4-mapped addresses keep their dotted quad, as std writes them.
                buf[..7].copy_from_slice(b"::ffff:");
                put_v4(buf, 7, [a.bytes[12], a.bytes[13], a.bytes[14], a.bytes[15]])
            } else {
                // The first longest run of at least two zero groups becomes `::` (RFC 5952).
                let zeros = (0..8).fold(0u8, |m, i| m | u8::from(groups[i] == 0) << i);
                let (start, len) = ZERO_RUNS[usize::from(zeros)];
                let (start, len) = (usize::from(start), usize::from(len));
                if len > 1 {
                    let n = put_groups(buf, 0, &groups[..start]);
                    buf[n..n + 2].copy_from_slice(b"::");
                    put_groups(buf, n + 2, &groups[start + len..])
                } else {
                    put_groups(buf, 0, &groups)
                }
            }
        }
    }
}

/// For each set of zero groups (bit `i` for group `i`), where the first longest run of them
/// starts and how long it is: the run is found without a branch per group, which varies from
/// one address to the next.
const ZERO_RUNS: [(u8, u8); 256] = {
    let mut t = [(0u8, 0u8); 256];
    let mut zeros = 0;
    while zeros < 256 {
        let (mut run, mut best) = ((0u8, 0u8), (0u8, 0u8));
        let mut i = 0;
        while i < 8 {
            if zeros >> i & 1 == 0 {
                run = (i as u8 + 1, 0);
            } else {
                run.1 += 1;
                if run.1 > best.1 {
                    best = run;
                }
            }
            i += 1;
        }
        t[zeros] = best;
        zeros += 1;
    }
    t
};

/// Each octet's decimal digits followed by a dot, as the bytes of a little-endian `u32`, and
/// how many digits: a dotted quad is written without a branch on each octet's length, which
/// varies from one address to the next.
const OCTETS: [(u32, u8); 256] = {
    let mut t = [(0u32, 0u8); 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if i >= 100 {
            (
                digit(i / 100)
                    | digit(i / 10 % 10) << 8
                    | digit(i % 10) << 16
                    | (b'.' as u32) << 24,
                3,
            )
        } else if i >= 10 {
            (digit(i / 10) | digit(i % 10) << 8 | (b'.' as u32) << 16, 2)
        } else {
            (digit(i) | (b'.' as u32) << 8, 1)
        };
        i += 1;
    }
    t
};

/// The ASCII digit `v` (0–9) as a `u32`.
const fn digit(v: usize) -> u32 {
    b'0' as u32 + v as u32
}

/// Writes a dotted quad at `at`, and up to three bytes past it, which `buf` must have room
/// for; returns where it ends.
fn put_v4(buf: &mut [u8], mut at: usize, octets: [u8; 4]) -> usize {
    for o in octets {
        let (text, len) = OCTETS[usize::from(o)];
        buf[at..at + 4].copy_from_slice(&text.to_le_bytes());
        at += usize::from(len) + 1;
    }
    // Without the last octet's dot.
    at - 1
}

/// Writes IPv6 groups in lowercase hex without leading zeros, colon-separated, at `at`, and
/// up to three bytes past their end, which `buf` must have room for; returns where they end.
/// Each group's four digits are made at once and shifted past its leading zeros: a branch per
/// digit varied from group to group.
fn put_groups(buf: &mut [u8], mut at: usize, groups: &[u16]) -> usize {
    for (i, &g) in groups.iter().enumerate() {
        // The first group's colon is written over by its digits.
        buf[at] = b':';
        at += usize::from(i > 0);
        let g = u32::from(g);
        // One nibble a byte, the most significant first (in memory order).
        let x = (g >> 12) | (g >> 8 & 0xf) << 8 | (g >> 4 & 0xf) << 16 | (g & 0xf) << 24;
        // Bytes of 10 and more carry into their bit 4 when 6 is added: those become letters.
        let letters = (x + 0x0606_0606) >> 4 & 0x0101_0101;
        let text = x + 0x3030_3030 + letters * (u32::from(b'a') - u32::from(b'0') - 10);
        let digits = (32 - g.leading_zeros() as usize).div_ceil(4).max(1);
        buf[at..at + 4].copy_from_slice(&(text >> (8 * (4 - digits))).to_le_bytes());
        at += digits;
    }
    at
}

impl Serialize for IpText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; IpText::MAX_LEN];
        s.serialize_str(self.render(&mut buf))
    }
}

/// An IP protocol: its name (`TCP`, `UDP`, `ICMP`, `ICMPv6`) or, serialized, its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proto(pub u8);

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&proto_name(self.0))
    }
}

impl Serialize for Proto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match proto_name(self.0) {
            std::borrow::Cow::Borrowed(name) => s.serialize_str(name),
            std::borrow::Cow::Owned(_) => s.serialize_u8(self.0),
        }
    }
}

/// TCP flags as letters `FSRPAUEC` (FIN first), without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub u8);

impl std::fmt::Display for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const L: [char; 8] = ['F', 'S', 'R', 'P', 'A', 'U', 'E', 'C'];
        for (i, c) in L.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                std::fmt::Write::write_char(f, *c)?;
            }
        }
        Ok(())
    }
}

impl Flags {
    /// The letters of the flags set, in `FSRPAUEC` order, at the start of eight bytes, and
    /// how many there are: from a table, for the writers that copy all eight and keep the
    /// letters (writing each letter and keeping those of set flags cost ~70 instructions).
    pub(crate) fn letters(self) -> (&'static [u8; 8], usize) {
        let text = &FLAG_LETTERS[usize::from(self.0)];
        (text, self.0.count_ones() as usize)
    }
}

/// [`Flags::letters`] of each flags byte, zeros after them.
static FLAG_LETTERS: [[u8; 8]; 256] = {
    let mut t = [[0; 8]; 256];
    let mut f = 0;
    while f < 256 {
        let (mut n, mut i) = (0, 0);
        while i < 8 {
            if f >> i & 1 != 0 {
                t[f][n] = b"FSRPAUEC"[i];
                n += 1;
            }
            i += 1;
        }
        f += 1;
    }
    t
};

impl Serialize for Flags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One flow, oriented local → remote.
#[derive(Debug, Clone, Serialize)]
pub struct FlowRow {
    /// `TCP`, `UDP`, `ICMP`, `ICMPv6` or the IP protocol number.
    pub protocol: Proto,
    /// Local address.
    pub local_ip: IpText,
    /// Local port (null when not applicable or not captured).
    pub local_port: Option<u16>,
    /// Remote address.
    pub remote_ip: IpText,
    /// Remote port.
    pub remote_port: Option<u16>,
    /// ICMP echo identifier.
    pub icmp_id: Option<u16>,
    /// Local → remote.
    pub out: DirCount,
    /// Remote → local.
    #[serde(rename = "in")]
    pub inbound: DirCount,
    /// First packet time.
    pub first_ts: Option<Timestamp>,
    /// Last packet time.
    pub last_ts: Option<Timestamp>,
    /// Seconds between them.
    pub duration_s: Option<Secs>,
    /// TCP details, null for other protocols.
    pub tcp: Option<TcpRow>,
}

/// TCP details of a flow.
#[derive(Debug, Clone, Serialize)]
pub struct TcpRow {
    /// `local`, `remote`, or null when no SYN was seen.
    pub initiator: Option<&'static str>,
    /// Zeek-like connection state (`S0`, `S1`, `SF`, `REJ`, `S2`, `S3`, `RSTO`, `RSTR`,
    /// `RSTOS0`, `RSTRH`, `SH`, `SHR`, `OTH`).
    pub state: &'static str,
    /// Flags seen local → remote, as letters `FSRPAUEC`.
    pub flags_out: Flags,
    /// Flags seen remote → local.
    pub flags_in: Flags,
    /// SYN, FIN, RST counts local → remote.
    pub syn_fin_rst_out: [u32; 3],
    /// SYN, FIN, RST counts remote → local.
    pub syn_fin_rst_in: [u32; 3],
    /// SYN to SYN-ACK, seconds.
    pub syn_to_synack_s: Option<Secs>,
    /// SYN-ACK to the initiator's ACK, seconds.
    pub synack_to_ack_s: Option<Secs>,
    /// SYN to the handshake's final ACK, seconds.
    pub handshake_rtt_s: Option<Secs>,
}

/// Traffic of one address.
#[derive(Debug, Clone, Serialize)]
pub struct Talker {
    /// Address.
    pub address: String,
    /// Packets it sent.
    pub packets_sent: u64,
    /// Bytes it sent.
    pub bytes_sent: u64,
    /// Packets it received.
    pub packets_received: u64,
    /// Bytes it received.
    pub bytes_received: u64,
    /// Flows it is part of.
    pub flows: u64,
}

/// Builds the report from the analyzer and its selection. `top` bounds the talkers list. With
/// `threads` > 1, the traffic per address (the talkers, and the local address when the
/// selection left it to be guessed) is summed on a thread of its own while the flows are
/// ordered.
pub fn build<'a>(
    analyzer: &Analyzer,
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
    let (top_talkers, busiest) = talkers_and_busiest(&sums, top);
    // Without a local address from the selection, every flow is selected: its sums are the
    // guess's.
    let local = sel.local_set(|| busiest);

    let mut protocols: Vec<ProtocolRow> = (0..=255u8)
        .zip(per_proto)
        .filter(|(_, (_, flows))| *flows > 0)
        .map(|(p, (c, flows))| ProtocolRow {
            protocol: proto_value(p),
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
                packets: c.packets,
                bytes: c.bytes,
                flows: 0,
            });
        }
    }
    protocols.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(b.packets.cmp(&a.packets)));

    Report {
        schema: SCHEMA,
        summary: Summary {
            totals: (&total).into(),
            files: files.iter().map(file_row).collect(),
            warnings,
        },
        matched,
        local: Local {
            addresses: local.names(),
            inferred: local.inferred(),
        },
        protocols,
        flows: Flows {
            flows: &sel.flows,
            order,
            local,
        },
        top_talkers,
    }
}

/// Traffic per protocol: totals, and how many flows.
type PerProto = [(Count, u64); 256];

/// Indexes of `flows`, largest first (bytes, then packets, then key), with the totals of all
/// of them and per protocol.
fn size_order(flows: &FlowList<'_>) -> (Vec<usize>, Count, PerProto) {
    let mut matched = Count::default();
    let mut per_proto = [(Count::default(), 0u64); 256];
    // The flows are sorted as (figures, index) pairs, not as flows: their stats sit in a
    // table of tens of megabytes, and comparing them there cost two cache misses per
    // comparison. The list is in table order, so this loop reads the stats sequentially,
    // once. Both figures fit one word, complemented so that ascending words are descending
    // figures, unless a flow has 2^40 bytes or 2^24 packets (a 16-byte pair sorts faster than
    // the 24-byte triple it was).
    let mut order: Vec<(u64, u32)> = Vec::with_capacity(flows.len());
    prefault(&order);
    let mut fits = true;
    for (i, (k, s)) in flows.iter().enumerate() {
        let (packets, bytes) = (s.total_packets(), s.total_bytes());
        fits &= bytes < 1 << 40 && packets < 1 << 24;
        // A table holds fewer than 2^32 flows (see `FlowTable`'s slots).
        order.push((!(bytes << 24 | packets), i as u32));
        matched.packets += packets;
        matched.bytes += bytes;
        let p = &mut per_proto[usize::from(k.proto)];
        p.0.packets += packets;
        p.0.bytes += bytes;
        p.1 += 1;
    }
    if fits {
        radix_sort(&mut order);
    } else {
        order = ranked_by_size(flows);
    }
    // Ties go to the key order, which makes the order total and independent of the table's.
    // Most flows of a small-packet capture share their figures with others, so ties are
    // settled afterwards, run by run, on ranks that compare in a few instructions: comparing
    // keys field by field, inside the sort above or in the runs, cost over twice as much.
    let mut ranked: Vec<([u128; 3], u32)> = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let figures = order[start].0;
        let end = order[start..]
            .iter()
            .position(|e| e.0 != figures)
            .map_or(order.len(), |n| start + n);
        if end - start > 1 {
            ranked.clear();
            for p in start..end {
                // In this order the keys are at random places in the table: loading
                // them ahead lets the cache misses overlap instead of queueing.
                if let Some(ahead) = order.get(p + RANK_AHEAD) {
                    flows.prefetch_key(ahead.1 as usize);
                }
                let i = order[p].1;
                ranked.push((key_rank(&flows.key(i as usize)), i));
            }
            ranked.sort_unstable();
            for (slot, &(_, i)) in order[start..end].iter_mut().zip(&ranked) {
                slot.1 = i;
            }
        }
        start = end;
    }
    let order = order.into_iter().map(|(_, i)| i as usize).collect();
    (order, matched, per_proto)
}

/// The flows as `size_order` pairs when their figures do not fit one word: sorted by
/// comparison, equal figures sharing one rank in place of the word.
#[cold]
fn ranked_by_size(flows: &FlowList<'_>) -> Vec<(u64, u32)> {
    let mut wide: Vec<(u64, u64, u32)> = flows
        .iter()
        .enumerate()
        .map(|(i, (_, s))| (s.total_bytes(), s.total_packets(), i as u32))
        .collect();
    wide.sort_unstable_by_key(|t| std::cmp::Reverse((t.0, t.1)));
    let mut rank = 0;
    wide.iter()
        .enumerate()
        .map(|(n, t)| {
            rank += u64::from(n > 0 && (t.0, t.1) != (wide[n - 1].0, wide[n - 1].1));
            (rank, t.2)
        })
        .collect()
}

/// The `top` addresses that moved the most bytes (ties to the lower address), with what each
/// sent and received, and the address present in the most packets ([`AddrSums::busiest`]'s
/// pick), from one walk over the sums that keeps the best `top` so far in a heap. Picking the
/// talkers among references to every address cost a cache miss per comparison, and the
/// busiest address a walk of its own (2.7 and 1.7 ms for 190 k addresses).
fn talkers_and_busiest(sums: &AddrSums, top: usize) -> (Vec<Talker>, Option<Addr>) {
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
    let mut busiest: Option<&(Addr, Sums)> = None;
    for e in entries {
        if busiest.is_none_or(|b| addr_sums::busier(e, b).is_gt()) {
            busiest = Some(e);
        }
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
        })
        .collect();
    (talkers, busiest.map(|&(a, _)| a))
}

/// How many flows ahead [`build`] starts loading the keys it ranks (a rank costs ~100
/// instructions, a miss several hundred cycles).
const RANK_AHEAD: usize = 16;

/// Sorts (word, index) pairs whose indexes ascend by word, then index: a stable radix sort, a
/// byte of the word per pass from the lowest, skipping the passes where every pair has the
/// same byte (the high bytes of small figures). On 190 k flows the comparison sort took
/// 11 ms, this one 5 over 24-byte (bytes, packets, index) triples, and 2 ms less over these
/// pairs.
fn radix_sort(order: &mut Vec<(u64, u32)>) {
    let digit = |t: &(u64, u32), pass: usize| (t.0 >> (8 * pass)) as u8 as usize;
    let mut counts = vec![[0usize; 256]; 8];
    for t in order.iter() {
        for (pass, c) in counts.iter_mut().enumerate() {
            c[digit(t, pass)] += 1;
        }
    }
    let mut spare = Vec::with_capacity(order.len());
    prefault(&spare);
    spare.resize(order.len(), (0, 0));
    for (pass, c) in counts.iter_mut().enumerate() {
        if c.contains(&order.len()) {
            continue;
        }
        let mut at = 0;
        for n in c.iter_mut() {
            (*n, at) = (at, at + *n);
        }
        for t in order.iter() {
            let d = digit(t, pass);
            spare[c[d]] = *t;
            c[d] += 1;
        }
        std::mem::swap(order, &mut spare);
    }
}

/// A flow key as integers that order exactly as [`FlowKey`]'s `Ord` (field by field, each
/// field big-endian, booleans and `Option` tags as 0 and 1): an injective, order-preserving
/// encoding, so sorting by it sorts by the key.
fn key_rank(k: &FlowKey) -> [u128; 3] {
    let mut b = [0u8; 48];
    b[0] = k.proto;
    b[1] = u8::from(k.ports_known);
    for (at, (addr, port)) in [(2, k.lo), (21, k.hi)] {
        b[at] = u8::from(addr.v6);
        b[at + 1..at + 17].copy_from_slice(&addr.bytes);
        b[at + 17..at + 19].copy_from_slice(&port.to_be_bytes());
    }
    if let Some(id) = k.icmp_id {
        b[40] = 1;
        b[41..43].copy_from_slice(&id.to_be_bytes());
    }
    let word = |i: usize| {
        let mut w = [0u8; 16];
        w.copy_from_slice(&b[16 * i..16 * i + 16]);
        u128::from_be_bytes(w)
    };
    [word(0), word(1), word(2)]
}

fn proto_value(p: u8) -> serde_json::Value {
    match proto_name(p) {
        std::borrow::Cow::Borrowed(s) => s.into(),
        std::borrow::Cow::Owned(_) => p.into(),
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
    }
}

fn flow_row(k: &FlowKey, s: &FlowStats, local_set: &LocalSet<'_>) -> FlowRow {
    // Index of the local side in the key's (lo, hi) order.
    let first = if s.first_dir_lo { 0 } else { 1 };
    let initiator = s.tcp.syn_dir.map(usize::from);
    let local = match local_set.side(&k.lo.0, &k.hi.0) {
        Side::A => 0,
        Side::B => 1,
        Side::Either => initiator.unwrap_or(first),
    };
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
        tcp: (k.proto == crate::decode::proto::TCP).then(|| tcp_row(s, local, initiator)),
    }
}

fn tcp_row(s: &FlowStats, local: usize, initiator: Option<usize>) -> TcpRow {
    let t = &s.tcp;
    let remote = 1 - local;
    let (syn, synack, ack) = t.handshake();
    TcpRow {
        initiator: initiator.map(|i| if i == local { "local" } else { "remote" }),
        state: conn_state(s),
        flags_out: Flags(t.flags[local]),
        flags_in: Flags(t.flags[remote]),
        syn_fin_rst_out: [t.syn[local], t.fin[local], t.rst[local]],
        syn_fin_rst_in: [t.syn[remote], t.fin[remote], t.rst[remote]],
        syn_to_synack_s: Secs::between(syn, synack),
        synack_to_ack_s: Secs::between(synack, ack),
        handshake_rtt_s: Secs::between(syn, ack),
    }
}

/// A Zeek-like summary of how a TCP connection went, seen from its originator.
fn conn_state(s: &FlowStats) -> &'static str {
    let t = &s.tcp;
    let Some(o) = t.syn_dir.map(usize::from) else {
        // No SYN from anyone: either a SYN-ACK seen from the responder only, or midstream.
        return match t.synack_dir.map(usize::from) {
            Some(r) if t.rst[r] > 0 => "RSTRH",
            Some(r) if t.fin[r] > 0 => "SHR",
            _ => "OTH",
        };
    };
    let r = 1 - o;
    let established = t.handshake().1.is_some() || t.flags[r] & tcp_flags::SYN != 0;
    if !established {
        return if t.rst[r] > 0 {
            "REJ"
        } else if t.rst[o] > 0 {
            "RSTOS0"
        } else if t.fin[o] > 0 {
            "SH"
        } else if s.packets[r] == 0 {
            "S0"
        } else {
            "OTH"
        };
    }
    if t.rst[o] > 0 {
        return "RSTO";
    }
    if t.rst[r] > 0 {
        return "RSTR";
    }
    match (t.fin[o] > 0, t.fin[r] > 0) {
        (true, true) => "SF",
        (true, false) => "S2",
        (false, true) => "S3",
        (false, false) => "S1",
    }
}

/// Writes the report in the chosen format. Flow rows, which can number in the hundreds of
/// thousands, are rendered by `threads` threads in chunks and written in order.
pub fn write(
    report: &Report,
    format: OutputFormat,
    top: usize,
    threads: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        OutputFormat::Table => table::write(report, top, out),
        OutputFormat::Json => {
            // The head is everything before `flows`; its closing brace is replaced by the
            // streamed flows and the talkers. Compact: indentation would double the size of
            // a large report (`jq .` pretty-prints).
            let mut head = serde_json::to_vec(&Head {
                schema: report.schema,
                summary: &report.summary,
                matched: &report.matched,
                local: &report.local,
                protocols: &report.protocols,
            })?;
            head.pop();
            out.write_all(&head)?;
            out.write_all(b",\"flows\":[")?;
            write_rows(&report.flows, threads, out, |i, row, buf| {
                if i > 0 {
                    buf.push(b',');
                }
                json::flow_row(row, buf)
            })?;
            out.write_all(b"],\"top_talkers\":")?;
            serde_json::to_writer(&mut *out, &report.top_talkers)?;
            out.write_all(b"}\n")
        }
        OutputFormat::Ndjson => write_rows(&report.flows, threads, out, |_, row, buf| {
            json::flow_row(row, buf)?;
            buf.push(b'\n');
            Ok(())
        }),
        OutputFormat::Csv => {
            out.write_all(csv::HEADER.as_bytes())?;
            out.write_all(b"\n")?;
            write_rows(&report.flows, threads, out, |_, row, buf| {
                csv::row(row, buf)
            })
        }
    }
}

/// The report's fields before `flows`, in schema order.
#[derive(Serialize)]
struct Head<'r> {
    schema: &'static str,
    summary: &'r Summary,
    matched: &'r Count,
    local: &'r Local,
    protocols: &'r [ProtocolRow],
}

/// A tiny deterministic generator (xorshift64) for the report's tests, so failures replay.
#[cfg(test)]
fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Every corpus capture that reads as pcap or pcapng, fed record by record through an
/// analyzer: its path, the analyzer and the file's facts (its counters, read in full). For the
/// report's tests.
#[cfg(test)]
fn corpus_analyses() -> Vec<(std::path::PathBuf, Analyzer, FileFacts)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let Ok(opened) = crate::source::open(path.to_str().unwrap()) else {
            continue;
        };
        let Ok(reader) = crate::capture::Reader::new(opened.bytes()) else {
            continue;
        };
        let mut analyzer = Analyzer::new();
        let mut counters = FileCounters::default();
        for r in reader.map_while(Result::ok) {
            counters.add(&r);
            analyzer.feed(&r);
        }
        let facts = FileFacts {
            path: path.display().to_string(),
            format: None,
            snaplen: 0,
            interfaces: 0,
            counters,
            readable: Readable::Full,
            error: None,
            warnings: vec![],
        };
        out.push((path, analyzer, facts));
    }
    out
}

/// Rows rendered per thread before they are written; bounds memory to threads × this many.
/// With two threads, 190 k rows were written in 19.9 ms in chunks of 1024 and 21.1 ms in
/// chunks of 4096 (means of 25; one thread took as long with both).
#[cfg(not(test))]
const CHUNK: usize = 1024;
/// Tiny in unit tests, so that the corpus makes many chunks.
#[cfg(test)]
const CHUNK: usize = 7;

/// A JSON row of a TCP flow takes about this many bytes (less for UDP, or CSV).
const ROW_BYTES: usize = 640;

/// Renders every flow row with `render(index, row, chunk)` on up to `threads` threads, and
/// writes the chunks in order: chunk `c` is rendered by helper `c % threads`, and this thread
/// only writes. The helpers are started once, not per round of chunks as they were (one
/// round per thread started on the development VM, ~2 ms faster on 62 k rows with 2 threads),
/// and each renders a chunk ahead, so that writing to a pipe or a slow disk overlaps their
/// rendering. One thread renders and writes by itself.
fn write_rows(
    flows: &Flows<'_>,
    threads: usize,
    out: &mut dyn Write,
    render: impl Fn(usize, &FlowRow, &mut Chunk) -> io::Result<()> + Sync,
) -> io::Result<()> {
    let n = flows.len();
    let chunks = n.div_ceil(CHUNK);
    let threads = threads.clamp(1, chunks.max(1));
    // Each buffer belongs to one thread: `Vec` headers side by side in one array would share
    // a cache line, and every push writing its length there made two threads render no faster
    // than one.
    let render_chunk = |c: usize, buf: &mut Chunk| -> io::Result<()> {
        buf.clear();
        (c * CHUNK..n.min((c + 1) * CHUNK)).try_for_each(|i| {
            flows.prefetch(i);
            render(i, &flows.row(i), buf)
        })
    };
    // Room for a chunk of typical rows up front, rather than twenty reallocations on the
    // first chunk.
    let fresh = || Chunk::with_room(CHUNK * ROW_BYTES);
    if threads == 1 {
        let mut buf = fresh();
        return (0..chunks).try_for_each(|c| {
            render_chunk(c, &mut buf)?;
            out.write_all(buf.as_slice())
        });
    }
    std::thread::scope(|s| {
        let helpers: Vec<_> = (0..threads)
            .map(|t| {
                let (done_tx, done_rx) = mpsc::sync_channel::<io::Result<Chunk>>(1);
                let (free_tx, free_rx) = mpsc::channel::<Chunk>();
                let render_chunk = &render_chunk;
                s.spawn(move || {
                    for c in (t..chunks).step_by(threads) {
                        let mut buf = free_rx.try_recv().unwrap_or_else(|_| fresh());
                        let rendered = render_chunk(c, &mut buf).map(|()| buf);
                        // The writer stopped (an error): so do we.
                        if done_tx.send(rendered).is_err() {
                            return;
                        }
                    }
                });
                (done_rx, free_tx)
            })
            .collect();
        for c in 0..chunks {
            let (done, free) = &helpers[c % threads];
            // A helper that hung up has panicked; the scope re-raises it.
            let Ok(rendered) = done.recv() else {
                break;
            };
            let buf = rendered?;
            out.write_all(buf.as_slice())?;
            let _ = free.send(buf);
        }
        // Dropping the channels here releases helpers still waiting to send.
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::IpText;
    use crate::decode::Addr;

    /// Without filters the selection leaves the local address to the report; the report's
    /// guess, with one thread or two, is the one a selection that needs it (a remote-address
    /// filter) makes over all flows, and so are the top talkers' figures.
    #[test]
    fn the_report_guesses_the_local_address_as_a_filtered_selection_does() {
        use super::{build, corpus_analyses};
        use crate::filter::{FilterSet, FilterSpec};

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

    /// Every format renders the same bytes on 1 to 4 threads, chunk after chunk; a writer
    /// that fails midway gets its error back (the helpers do not hang on it).
    #[test]
    fn rows_come_in_order_on_any_number_of_threads() {
        use super::{build, corpus_analyses, write, OutputFormat};
        use crate::filter::FilterSet;
        use std::io::{self, Write};

        struct Failing(usize);
        impl Write for Failing {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                if self.0 < b.len() {
                    return Err(io::Error::other("disk full"));
                }
                self.0 -= b.len();
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        let mut chunks = 0;
        for (path, analyzer, facts) in corpus_analyses() {
            let filters = FilterSet::default();
            let sel = analyzer.select(&filters);
            let report = build(&analyzer, &sel, std::slice::from_ref(&facts), 10, 1);
            chunks += report.flows.len().div_ceil(super::CHUNK);
            for format in [OutputFormat::Json, OutputFormat::Ndjson, OutputFormat::Csv] {
                let mut one = Vec::new();
                write(&report, format, 10, 1, &mut one).unwrap();
                for threads in 2..=4 {
                    let mut many = Vec::new();
                    write(&report, format, 10, threads, &mut many).unwrap();
                    assert!(one == many, "{path:?} {format:?} on {threads} threads");
                    if !one.is_empty() {
                        let cut = one.len() / 2;
                        let failed = write(&report, format, 10, threads, &mut Failing(cut));
                        assert_eq!(failed.unwrap_err().to_string(), "disk full");
                    }
                }
            }
        }
        assert!(chunks > 100, "only {chunks} chunks");
    }

    #[test]
    fn ipv4_text_matches_display() {
        for a in [
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            [10, 1, 0, 4],
            [192, 168, 100, 9],
            [1, 20, 200, 99],
        ] {
            let ip = IpText(Addr::v4(a));
            assert_eq!(serde_json::to_string(&ip).unwrap(), format!("\"{ip}\""));
        }
        let v6 = IpText(Addr::v6([
            0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        ]));
        assert_eq!(serde_json::to_string(&v6).unwrap(), "\"2001:db8::1\"");
    }

    /// The radix sort orders as a stable comparison sort: words drawn from narrow ranges
    /// (many ties), wide ones and the extremes, at several lengths.
    #[test]
    fn words_sort_as_the_comparison_does() {
        let mut next = super::xorshift(0x2545_F491_4F6C_DD1D);
        for (n, spread) in [
            (0, 1),
            (1, 1),
            (2, 3),
            (1000, 4),
            (5000, 1 << 20),
            (5000, u64::MAX),
        ] {
            let mut order: Vec<(u64, u32)> = (0..n)
                .map(|i| {
                    let r = next();
                    let word = match r % 16 {
                        0 => 0,
                        1 => u64::MAX,
                        _ => (r >> 4) % spread.max(1),
                    };
                    (word, i)
                })
                .collect();
            let mut expect = order.clone();
            expect.sort_by_key(|t| t.0);
            super::radix_sort(&mut order);
            assert!(order == expect, "{n} pairs within {spread}");
        }
    }

    /// Flows come largest first, by bytes, then packets, then key, whether their figures fit
    /// one word or not (2^40 bytes, 2^24 packets), with many ties: as a comparison sort of
    /// the flows orders them.
    #[test]
    fn size_order_equals_a_comparison_sort() {
        use crate::flow::FlowKey;
        let (_, analyzer, _) = super::corpus_analyses()
            .into_iter()
            .find(|(_, a, _)| !a.flows.is_empty())
            .unwrap();
        let base = *analyzer.flows.iter().next().unwrap().1;
        let mut next = super::xorshift(0x9E37_79B9_7F4A_7C15);
        for (n, wide) in [(3000, false), (3000, true), (1, true), (0, false)] {
            let stats: Vec<_> = (0..n)
                .map(|_| {
                    let mut s = base;
                    let mut pick = |narrow: u64, huge: u64| {
                        let r = next();
                        if wide && r.is_multiple_of(8) {
                            huge + (r >> 8) % 3
                        } else {
                            (r >> 8) % narrow
                        }
                    };
                    s.packets = [pick(4, 1 << 24), pick(4, 1 << 30)];
                    s.bytes = [pick(300, 1 << 40), pick(300, 1 << 50)];
                    s
                })
                .collect();
            let flows: Vec<(FlowKey, _)> = stats
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let b = (next() as u32 % 50 + i as u32 % 3).to_be_bytes();
                    let key = FlowKey {
                        proto: 6,
                        ports_known: true,
                        lo: (Addr::v4(b), (i % 7) as u16),
                        // Distinct keys, as a table holds, that often differ only here.
                        hi: (Addr::v4([10, 0, 0, 1]), (i / 7) as u16),
                        icmp_id: None,
                    };
                    (key, *s)
                })
                .collect();
            let table = crate::flow::FlowTable::of_flows(flows.iter().copied());
            let (order, matched, _) = super::size_order(&table.list());
            let mut expect: Vec<usize> = (0..flows.len()).collect();
            expect.sort_by(|&a, &b| {
                let (fa, fb) = (&flows[a].1, &flows[b].1);
                (fb.total_bytes(), fb.total_packets())
                    .cmp(&(fa.total_bytes(), fa.total_packets()))
                    .then(flows[a].0.cmp(&flows[b].0))
            });
            assert!(order == expect, "{n} flows, wide {wide}");
            let packets: u64 = flows.iter().map(|(_, s)| s.total_packets()).sum();
            assert_eq!(matched.packets, packets);
        }
    }

    /// `key_rank` orders keys exactly as `FlowKey`'s `Ord`: keys that differ in one field
    /// at a time, at both ends of each field's range, and random keys, compared pairwise.
    #[test]
    fn key_rank_orders_like_flow_keys() {
        use crate::flow::FlowKey;
        let mut next = super::xorshift(0x9E37_79B9_7F4A_7C15);
        let addr = |r: u64, v6: bool| {
            let mut bytes = [0u8; 16];
            let n = if v6 { 16 } else { 4 };
            for (i, b) in bytes[..n].iter_mut().enumerate() {
                // Few distinct values per byte, so that keys often share long prefixes.
                *b = [0, 1, 0x7f, 0x80, 0xff][(r >> (3 * i)) as usize % 5];
            }
            Addr { v6, bytes }
        };
        let mut keys = Vec::new();
        for _ in 0..3000 {
            let r = [next(), next(), next()];
            keys.push(FlowKey {
                proto: [0, 1, 6, 17, 58, 255][r[0] as usize % 6],
                ports_known: r[0] >> 8 & 1 == 1,
                lo: (
                    addr(r[1], r[0] >> 9 & 1 == 1),
                    [0, 1, 255, 256, 65535][(r[0] >> 10) as usize % 5],
                ),
                hi: (
                    addr(r[2], r[0] >> 13 & 1 == 1),
                    [0, 1, 255, 256, 65535][(r[0] >> 14) as usize % 5],
                ),
                icmp_id: [None, Some(0), Some(1), Some(256), Some(65535)]
                    [(r[0] >> 17) as usize % 5],
            });
        }
        let mut checked = [0usize; 3];
        for a in &keys {
            for b in keys.iter().step_by(7) {
                let want = a.cmp(b);
                assert_eq!(
                    super::key_rank(a).cmp(&super::key_rank(b)),
                    want,
                    "{a:?} {b:?}"
                );
                checked[(want as i8 + 1) as usize] += 1;
            }
        }
        assert!(checked.iter().all(|&n| n > 100), "{checked:?}");
    }

    /// The talkers and the busiest address from one walk equal those of sorting every
    /// address, for every corpus capture and lists from none to more than all; some cut
    /// falls between addresses that moved as many bytes.
    #[test]
    fn talkers_equal_a_full_sort() {
        use super::{corpus_analyses, talkers_and_busiest, AddrSums, Sums};
        use crate::filter::FilterSet;
        let mut tied_cuts = 0;
        for (path, analyzer, _) in corpus_analyses() {
            let filters = FilterSet::default();
            let sel = analyzer.select(&filters);
            let sums = AddrSums::over(&sel.flows);
            let mut all: Vec<&(Addr, Sums)> = sums.entries().iter().collect();
            all.sort_by(|a, b| b.1.bytes().cmp(&a.1.bytes()).then(a.0.cmp(&b.0)));
            let n = all.len();
            for top in [0, 1, 2, 3, 10, n.saturating_sub(1), n, n + 1] {
                let (talkers, busiest) = talkers_and_busiest(&sums, top);
                let expect: Vec<String> = all.iter().take(top).map(|e| e.0.to_string()).collect();
                let got: Vec<String> = talkers.iter().map(|t| t.address.clone()).collect();
                assert_eq!(got, expect, "{} top {top}", path.display());
                assert_eq!(busiest, sums.busiest(), "{}", path.display());
                if (1..n).contains(&top) && all[top - 1].1.bytes() == all[top].1.bytes() {
                    tied_cuts += 1;
                }
            }
        }
        assert!(tied_cuts > 0, "no cut between equal talkers");
    }

    /// The hand-written text of every kind of address equals std's: zero runs of every
    /// length and position (ties go to the first), IPv4-mapped and -compatible forms, and
    /// random addresses.
    #[test]
    fn rendering_matches_std() {
        let check = |a: Addr| {
            let mut buf = [0u8; IpText::MAX_LEN];
            assert_eq!(IpText(a).render(&mut buf), a.to_ip().to_string(), "{a:?}");
        };
        // Every pattern of zero and non-zero groups, with non-zero values of every width.
        for mask in 0..256u32 {
            for v in [1u16, 0xa, 0xff, 0x100, 0xabc, 0x1000, 0xffff] {
                let mut bytes = [0u8; 16];
                for g in 0..8 {
                    if mask & (1 << g) != 0 {
                        bytes[2 * g..2 * g + 2]
                            .copy_from_slice(&v.wrapping_add(g as u16).to_be_bytes());
                    }
                }
                check(Addr::v6(bytes));
            }
        }
        let mut next = super::xorshift(0x2545_F491_4F6C_DD1D);
        for _ in 0..100_000 {
            let x = next();
            let b = x.to_be_bytes();
            check(Addr::v4([b[0], b[1], b[2], b[3]]));
            let mut bytes = [0u8; 16];
            bytes[8..].copy_from_slice(&b);
            check(Addr::v6(bytes));
            bytes[..8].copy_from_slice(&x.rotate_left(17).to_le_bytes());
            check(Addr::v6(bytes));
            let mut mapped = [
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, b[0], b[1], b[2], b[3],
            ];
            check(Addr::v6(mapped));
            mapped[10] = 0;
            check(Addr::v6(mapped));
            mapped[11] = 0;
            check(Addr::v6(mapped));
        }
    }
}
