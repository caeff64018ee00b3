//! Helpers shared by the report's unit tests: a deterministic generator, and every corpus
//! capture run through an analyzer. Compiled for tests only; nothing the report does lives
//! here.

use crate::pass::{Analyzer, FileCounters};
use crate::pass::{FileFacts, Readable};

/// A tiny deterministic generator (xorshift64) for the report's tests, so failures replay.
pub(super) fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
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
pub(super) fn corpus_analyses() -> Vec<(std::path::PathBuf, Analyzer, FileFacts)> {
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
