//! The analysis report: one versioned model ([`Report`], schema `nwcap.analysis/1`) built
//! from the analyzer's tables, and writers for tables, JSON, NDJSON and CSV. Writers take any
//! `io::Write`; nothing here opens files.
//!
//! The layers, each depending only on those before it: `digits` and `text` (how a value
//! reads), `chunk` (rows written in place) and `time`, `model` (the types), `order` (which
//! flow comes first), `build` (the figures), the renderers `json`, `csv` and `table`, and
//! `writer` (formats, threads and chunks).

pub mod apps;
mod build;
mod chunk;
mod csv;
mod digits;
pub mod findings;
mod json;
mod model;
mod order;
pub mod ports;
mod summaries;
mod table;
#[cfg(test)]
mod testing;
mod text;
pub mod time;
pub mod timeline;
mod timeline_view;
mod writer;

pub use crate::pass::{FileFacts, Readable};
pub use build::build;
pub use model::{
    Count, DirCount, DnsName, DnsSummary, Dropped, FileRow, FlowNames, FlowRow, Flows, HealthRow,
    IcmpErrorRow, InterfaceDrops, LinkTypeRow, Local, OutputFormat, ProtocolRow, Report,
    ServiceRow, Summary, SynOptionsRow, Talker, TcpRow, TimeBackwardsRow, Totals, SCHEMA,
};
pub use text::{CommunityId, Flags, IpText, Proto};
pub use time::{duration_s, rfc3339, Secs, Timestamp};
pub use writer::{write, WriteOptions};
