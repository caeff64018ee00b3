//! The report's model: the versioned types that [`write()`](super::write()) writes, whose
//! `Serialize` derives define the JSON schema `nwcap.analysis/1`, and the facts the command
//! layer hands in about each input. It owns the report's shape and the order of its fields;
//! it never computes a figure (that is `build` and `order`) nor renders one by hand (that is
//! the writers).

use serde::Serialize;

use super::apps::{AppRow, Names};
use super::text::{CommunityId, Flags, IpText, Proto};
use super::time::{duration_s, Secs, Timestamp};
use crate::flow::FlowList;
use crate::inspect::Inspector;
use crate::pass::{FileCounters, LocalSet, Readable};

/// JSON schema identifier; bump on incompatible changes.
pub const SCHEMA: &str = "nwcap.analysis/2";

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
    /// One flow per row, tab-separated, no header (the CSV columns; as `az -o tsv`).
    Tsv,
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

/// The whole report; written by [`write()`](super::write()) (JSON fields in this order).
#[derive(Debug)]
pub struct Report<'a> {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// What went wrong, most severe first (see `findings.rs`).
    pub findings: Vec<super::findings::Finding>,
    /// Totals over every packet read.
    pub summary: Summary,
    /// Totals over the packets that passed the filters.
    pub matched: Count,
    /// Which addresses count as local.
    pub local: Local,
    /// Per protocol, over matched packets.
    pub protocols: Vec<ProtocolRow>,
    /// Traffic of the matched flows over time.
    pub timeline: super::timeline::Timeline,
    /// Flows of matched packets, largest first.
    pub flows: Flows<'a>,
    /// Addresses by bytes, largest first.
    pub top_talkers: Vec<Talker>,
    /// Server ports by bytes and by flows.
    pub top_ports: super::ports::TopPorts,
    /// Flows and bytes per service, with the names seen (`--inspect`).
    pub services: Option<Vec<ServiceRow>>,
    /// DNS questions, answers and failures (`--inspect`).
    pub dns: Option<DnsSummary>,
}

/// One service's totals over the selected flows.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRow {
    /// As in the flows.
    pub service: &'static str,
    /// Whether the port alone named it.
    pub by_port: bool,
    /// Flows.
    pub flows: u64,
    /// Wire bytes, both ways.
    pub bytes: u64,
    /// Remote names, most flows first (at most 10).
    pub names: Vec<String>,
}

/// DNS over the selected flows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DnsSummary {
    /// Queries and responses sent.
    pub queries: u64,
    /// Responses.
    pub responses: u64,
    /// Names asked, most asked first (at most 100).
    pub names: Vec<DnsName>,
    /// Names whose answer was not NOERROR, or that got none.
    pub failures: Vec<DnsName>,
}

/// One name asked.
#[derive(Debug, Clone, Serialize)]
pub struct DnsName {
    /// The name.
    pub name: String,
    /// The question type.
    #[serde(rename = "type")]
    pub qtype: String,
    /// Times asked (in the examined queries).
    pub queries: u64,
    /// Responses per rcode.
    pub rcodes: std::collections::BTreeMap<&'static str, u64>,
    /// Queries that got no response.
    pub unanswered: u64,
    /// Addresses and canonical names answered (at most 8).
    pub answers: Vec<String>,
}

/// The selected flows, largest first; each [`FlowRow`] is built as it is written, so a
/// report of a million flows does not hold a million rows. Its rows are built in `build.rs`
/// ([`Flows::rows`]).
#[derive(Debug)]
pub struct Flows<'a> {
    /// The selection's flows, in its order.
    pub(super) flows: &'a FlowList<'a>,
    /// Indexes into `flows`, largest flow first.
    pub(super) order: Vec<usize>,
    /// Which side of each flow is local.
    pub(super) local: LocalSet<'a>,
    /// What the flows' payloads said.
    pub(super) inspector: &'a Inspector,
    /// Names of remote addresses; `None` without inspection.
    pub(super) names: Option<Names>,
    /// ICMP types of the flows, and errors by the flow they quote.
    pub(super) icmp: &'a crate::flow::IcmpFacts,
    /// [`crate::flow::IcmpFacts::by_flow`].
    pub(super) icmp_errors: std::collections::HashMap<crate::flow::FlowKey, Vec<(u8, u8, u64)>>,
    /// Whether TCP sequence analysis ran (`--health`).
    pub(super) health: bool,
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
}

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
    /// What the capture says it dropped (pcapng interface statistics); `None` when it does
    /// not say.
    pub dropped: Option<Dropped>,
    /// Packets timestamped earlier than the packet before them; `None` when none were.
    pub time_backwards: Option<TimeBackwardsRow>,
}

/// The packets a capture says it dropped: the last Interface Statistics Block of each
/// interface that gave a count.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Dropped {
    /// Every interface's `ifdrop` and `osdrop` summed.
    pub packets: u64,
    /// Per interface, in order.
    pub interfaces: Vec<InterfaceDrops>,
}

/// One interface's drop counts.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InterfaceDrops {
    /// The interface's number in the file (from 0, across sections, as tshark's).
    pub interface: u32,
    /// `isb_ifdrop`: dropped by the interface for lack of resources.
    pub ifdrop: Option<u64>,
    /// `isb_osdrop`: dropped by the operating system.
    pub osdrop: Option<u64>,
}

/// Packets whose time went back, in file order.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimeBackwardsRow {
    /// Packets timestamped earlier than the previous packet with a timestamp.
    pub packets: u64,
    /// The largest step back, in seconds.
    pub largest_s: Secs,
    /// The first such packet's number (from 1, as tshark's `frame.number`).
    pub first_packet: u64,
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
    /// Where the addresses came from: `filter` (localIPAddress), `target` (the capture
    /// target's network interfaces) or `inferred`.
    pub source: &'static str,
}

/// One protocol's totals.
#[derive(Debug, Clone, Serialize)]
pub struct ProtocolRow {
    /// The protocol's name (the IANA keyword; `ICMPv6` for 58), its number as text when it has
    /// none, or `non-IP`.
    pub protocol: String,
    /// The IP protocol number; null for non-IP.
    pub protocol_number: Option<u8>,
    /// Packets.
    pub packets: u64,
    /// Wire bytes.
    pub bytes: u64,
    /// Flows (0 for non-IP).
    pub flows: u64,
}

/// One flow, oriented local → remote.
#[derive(Debug, Clone, Serialize)]
pub struct FlowRow {
    /// The protocol's name (the IANA keyword; `ICMPv6` for 58), or its number as text when it
    /// has none.
    pub protocol: Proto,
    /// The IP protocol number.
    pub protocol_number: u8,
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
    /// Community ID v1 (seed 0), null for ICMP and for flows whose ports were not captured.
    pub community_id: Option<CommunityId>,
    /// An ICMP/ICMPv6 flow's first type, null for other protocols.
    pub icmp_type: Option<u8>,
    /// Its code.
    pub icmp_code: Option<u8>,
    /// ICMP errors (unreachable, time exceeded, packet too big) that quote this flow's
    /// packets: all of them.
    pub icmp_error_count: u64,
    /// The first [`MAX_ICMP_ERRORS`] (type, code) kinds of them, in type and code order, with
    /// their counts.
    pub icmp_errors: Vec<IcmpErrorRow>,
    /// What the payload says, with `--inspect` (its fields inline; absent without).
    #[serde(flatten)]
    pub names: Option<FlowNames>,
}

/// ICMP error kinds a flow row lists at most (their total is `icmp_error_count`).
pub const MAX_ICMP_ERRORS: usize = 4;

/// ICMP errors of one type and code quoting a flow.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct IcmpErrorRow {
    /// ICMP (or ICMPv6, for an IPv6 flow) type.
    #[serde(rename = "type")]
    pub kind: u8,
    /// Code.
    pub code: u8,
    /// How many.
    pub count: u64,
}

/// A flow's service, remote name and payload details (`--inspect`).
#[derive(Debug, Clone, Serialize)]
pub struct FlowNames {
    /// What the flow is: `dns`, `tls`, `quic`, `http`, `ssh`, `rdp` from its payload, or a
    /// name from its server's port (then `service_by_port` is true); null when neither.
    pub service: Option<&'static str>,
    /// Whether `service` comes from the port alone; null without a service.
    pub service_by_port: Option<bool>,
    /// The remote address's name, where the capture shows one (or a well-known Azure
    /// platform address).
    pub remote_name: Option<Box<str>>,
    /// `sni`, `http`, `dns` or `azure`.
    pub remote_name_source: Option<&'static str>,
    /// What the payload said: a key per protocol seen (`tls`, `quic`, `http`, `dns`, `ssh`,
    /// `rdp`); null when nothing was read.
    pub app: Option<AppRow>,
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
    /// Sequence analysis local → remote (see the README's "TCP health"); absent without
    /// `--health`, as are the SYN options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_out: Option<Box<HealthRow>>,
    /// Sequence analysis remote → local.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_in: Option<Box<HealthRow>>,
    /// The first RST local → remote, seconds after the flow's first packet.
    pub first_rst_out_s: Option<Secs>,
    /// The first RST remote → local, seconds after the flow's first packet.
    pub first_rst_in_s: Option<Secs>,
    /// Options of the local side's first SYN (null when no SYN's options were captured;
    /// absent without `--health`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syn_options_out: Option<Option<SynOptionsRow>>,
    /// Options of the remote side's first SYN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syn_options_in: Option<Option<SynOptionsRow>>,
}

/// What sequence analysis counted in one direction of a TCP flow.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct HealthRow {
    /// Retransmitted segments (fast, spurious and SYN ones included).
    pub retransmissions: u32,
    /// Their payload bytes.
    pub retransmitted_bytes: u64,
    /// Fast retransmissions (after two or more duplicate ACKs).
    pub fast_retransmissions: u32,
    /// Out-of-order segments.
    pub out_of_order: u32,
    /// Duplicate ACKs.
    pub duplicate_acks: u32,
    /// Zero-window advertisements.
    pub zero_windows: u32,
    /// Keep-alives.
    pub keep_alives: u32,
    /// Retransmitted SYNs.
    pub syn_retransmissions: u32,
    /// Segments that filled the peer's advertised window (tshark's `window_full`).
    pub window_full: u32,
    /// Don't-Fragment (or IPv6) segments with more payload than the peer's MSS.
    pub df_over_mss: u32,
    /// Data→ACK RTT samples of this direction's segments (tshark's `ack_rtt`).
    pub ack_rtt_samples: u32,
    /// Their lower median (exact up to 16 samples, else from a bounded histogram: within
    /// 1/32 for RTTs within a factor of 4, twice that for each halving of its resolution).
    pub ack_rtt_median_s: Option<Secs>,
    /// Their maximum.
    pub ack_rtt_max_s: Option<Secs>,
}

/// A SYN's options.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct SynOptionsRow {
    /// Maximum segment size, if given.
    pub mss: Option<u16>,
    /// Window scale shift, if given.
    pub window_scale: Option<u8>,
    /// Whether SACK was permitted.
    pub sack_permitted: bool,
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
    /// Its name, where the capture shows one.
    pub name: Option<String>,
}
