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
            drops: Default::default(),
            counters,
            readable: Readable::Full,
            error: None,
            warnings: vec![],
        };
        out.push((path, analyzer, facts));
    }
    out
}

/// A TCP row whose sequence analysis fields vary with `i` (all zeros, extremes, options
/// present or not), for the writers' made-up rows; its other fields are for the caller.
pub(super) fn tcp_extras(i: usize) -> super::TcpRow {
    use super::{Flags, HealthRow, Secs, SynOptionsRow};
    let mut n = xorshift(i as u64 | 1);
    let mut health = || match n() % 4 {
        // Not analysed (no `--health`).
        3 => None,
        0 => Some(HealthRow::default()),
        1 => Some(HealthRow {
            retransmissions: u32::MAX,
            retransmitted_bytes: u64::MAX,
            fast_retransmissions: 1,
            out_of_order: 22,
            duplicate_acks: 333,
            zero_windows: 4444,
            keep_alives: 55555,
            syn_retransmissions: 2,
            window_full: 7,
            df_over_mss: u32::MAX,
            ack_rtt_samples: 17,
            ack_rtt_median_s: Some(Secs(1_500_001)),
            ack_rtt_max_s: Some(Secs(-20)),
        }),
        _ => Some(HealthRow {
            retransmissions: 3,
            retransmitted_bytes: 4380,
            ..HealthRow::default()
        }),
    };
    let (health_out, health_in) = (health(), health());
    let opts = [
        None,
        Some(SynOptionsRow {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
        }),
        Some(SynOptionsRow {
            mss: None,
            window_scale: None,
            sack_permitted: false,
        }),
        Some(SynOptionsRow {
            mss: Some(u16::MAX),
            window_scale: Some(u8::MAX),
            sack_permitted: false,
        }),
    ];
    let secs = [None, Some(Secs(0)), Some(Secs(1_500_000)), Some(Secs(-7))];
    super::TcpRow {
        initiator: None,
        state: "OTH",
        flags_out: Flags(0),
        flags_in: Flags(0),
        syn_fin_rst_out: [0; 3],
        syn_fin_rst_in: [0; 3],
        syn_to_synack_s: None,
        synack_to_ack_s: None,
        handshake_rtt_s: None,
        health_out: health_out.map(Box::new),
        health_in: health_in.map(Box::new),
        first_rst_out_s: secs[i % 4],
        first_rst_in_s: secs[i / 4 % 4],
        // Analysed or not, as the health rows.
        syn_options_out: health_out.map(|_| opts[i / 3 % 4]),
        syn_options_in: health_in.map(|_| opts[i / 5 % 4]),
    }
}
