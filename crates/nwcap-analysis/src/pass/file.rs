//! One input read to its end: the format detected, the pass run on it, and what the report
//! says of the file (format, header facts, how far it was read, the damage and remarks).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{run_parallel, Analyzer, FileCounters};
use crate::capture::linktype;
use crate::capture::{Format, IsbDrops, Reader};
use crate::source::Input;

/// How far an input could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Readable {
    /// Read to its end.
    Full,
    /// Damaged after some records.
    Partial,
    /// Nothing could be read.
    None,
}

/// What the pass learnt about one input besides its flows.
#[derive(Debug, Clone)]
pub struct FileFacts {
    /// Path as given (`-` for standard input).
    pub path: String,
    /// Detected format, if any.
    pub format: Option<String>,
    /// Snap length (0 = none).
    pub snaplen: u32,
    /// Interfaces described.
    pub interfaces: u32,
    /// What pcapng interface statistics say each interface dropped (see
    /// [`crate::capture::FileInfo::drops`]).
    pub drops: BTreeMap<u32, IsbDrops>,
    /// Record counters.
    pub counters: FileCounters,
    /// How far it was read.
    pub readable: Readable,
    /// The damage that stopped reading, with its offset.
    pub error: Option<String>,
    /// Other remarks.
    pub warnings: Vec<String>,
}

impl FileFacts {
    /// The facts of an input not read yet.
    pub fn new(path: &str) -> FileFacts {
        FileFacts {
            path: path.to_string(),
            format: None,
            snaplen: 0,
            interfaces: 0,
            drops: BTreeMap::new(),
            counters: FileCounters::default(),
            readable: Readable::Full,
            error: None,
            warnings: Vec::new(),
        }
    }
}

impl FileFacts {
    /// The facts of an input that could not be opened: `cause` says why.
    pub fn unreadable(path: &str, cause: String) -> FileFacts {
        FileFacts {
            readable: Readable::None,
            error: Some(cause),
            ..FileFacts::new(path)
        }
    }
}

/// Reads `input` (named `path` in the report) to its end on up to `threads` threads,
/// accounting its packets in `analyzer`; returns its facts and how many shards it was read in.
pub fn read_input(
    path: &str,
    input: &Input<'_>,
    threads: usize,
    analyzer: &mut Analyzer,
) -> (FileFacts, usize) {
    let mut facts = FileFacts::new(path);
    analyzer.flows.forget_sequences();
    facts.warnings.extend(input.warning().map(str::to_string));
    let data = input.bytes();
    let reader = match Reader::new(data) {
        Ok(r) => match input.streamed_len() {
            Some(len) => r.with_len(usize::try_from(len).unwrap_or(usize::MAX)),
            None => r,
        },
        Err(e) => {
            facts.readable = Readable::None;
            facts.error = Some(e.to_string());
            return (facts, 0);
        }
    };
    let fmt = reader.format();
    facts.format = Some(match (fmt, input.gzip()) {
        (f, true) => format!("{f}, gzip-compressed"),
        (Format::Pcap { .. } | Format::Pcapng, false) => fmt.to_string(),
    });
    let pass = run_parallel(
        reader,
        data,
        input.windowed(),
        threads,
        &mut facts.counters,
        analyzer,
    );
    let mut info = pass.info;
    if let Some(e) = pass.error {
        facts.readable = if facts.counters.packets == 0 {
            Readable::None
        } else {
            Readable::Partial
        };
        facts.error = Some(e.to_string());
    }
    facts.snaplen = info.snaplen;
    facts.interfaces = info.interfaces;
    facts.drops = std::mem::take(&mut info.drops);
    if info.skipped_blocks > 0 {
        facts.warnings.push(format!(
            "{} pcapng blocks of unknown or unused types skipped",
            info.skipped_blocks
        ));
    }
    if facts.counters.packets == 0 && facts.error.is_none() {
        facts.warnings.push("the capture holds no packets".into());
    }
    for (lt, n) in facts.counters.linktypes() {
        if !linktype::decoded(lt) {
            facts.warnings.push(format!(
                "{n} packets of unsupported link type {lt} counted but not decoded"
            ));
        }
    }
    (facts, pass.shards)
}
