//! Property tests: no input makes the readers, the decoder or the analyzer panic, and what
//! `--write` emits reads back unchanged. Runs in seconds; `fuzz/` has the open-ended version.

use crate::mutation::{self, magic, mutation};
use crate::support::corpus_files;
use nwcap_analysis::capture::write::CaptureWriter;
use nwcap_analysis::capture::{Reader, Record};
use nwcap_analysis::filter::FilterSet;
use nwcap_analysis::pass::Analyzer;
use nwcap_analysis::report::OutputFormat;
use proptest::prelude::*;

/// Reads everything, decoding and accounting each record, as `analyze` does.
fn run_pipeline(data: &[u8]) {
    let Ok(reader) = Reader::new(data) else {
        return;
    };
    let mut a = Analyzer::new();
    for rec in reader.take(10_000) {
        match rec {
            Ok(r) => {
                assert!(r.offset < data.len() as u64);
                a.feed(&r);
            }
            Err(e) => assert!(e.offset() <= data.len() as u64),
        }
    }
    let filters = FilterSet::default();
    let sel = a.select(&filters);
    let r = nwcap_analysis::report::build(&a, &sel, &[], 10, 1);
    // The writers too: flow rows are written by hand, and whatever the flows hold must not
    // panic them.
    for format in [
        OutputFormat::Table,
        OutputFormat::Json,
        OutputFormat::Ndjson,
        OutputFormat::Csv,
    ] {
        let mut out = Vec::new();
        let options = nwcap_analysis::report::WriteOptions {
            top: 10,
            threads: 2,
            width: None,
        };
        nwcap_analysis::report::write(&r, format, &options, &mut out).unwrap();
        assert!(format == OutputFormat::Table || out.is_ascii());
    }
}

fn corpus() -> Vec<Vec<u8>> {
    corpus_files()
        .into_iter()
        .filter(|p| std::fs::metadata(p).unwrap().len() < 60_000)
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(crate::support::proptest_config(512))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        run_pipeline(&data);
    }

    #[test]
    fn arbitrary_bytes_behind_valid_magics_never_panic(
        magic in magic(),
        rest in proptest::collection::vec(any::<u8>(), 0..4096),
    ) {
        let mut data = magic;
        data.extend(rest);
        run_pipeline(&data);
    }

    #[test]
    fn mutated_corpus_files_never_panic(
        pick in any::<prop::sample::Index>(),
        muts in proptest::collection::vec(mutation(), 1..8),
    ) {
        let files = corpus();
        let mut data = pick.get(&files).clone();
        mutation::apply(&mut data, muts);
        run_pipeline(&data);
    }

    #[test]
    fn arbitrary_packets_decode_without_panic(
        linktype in prop_oneof![Just(0u16), Just(1), Just(12), Just(101), Just(108), Just(113), Just(228), Just(229), Just(276), any::<u16>()],
        data in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let _ = nwcap_analysis::decode::decode(linktype, &data);
    }

    #[test]
    fn written_pcap_reads_back_unchanged(
        recs in proptest::collection::vec(
            (0i64..4_000_000_000_000_000_000, proptest::collection::vec(any::<u8>(), 0..300), 0u32..2000),
            0..20,
        ),
        ng in any::<bool>(),
    ) {
        let recs: Vec<Record<'_>> = recs
            .iter()
            .map(|(ts, data, extra)| Record {
                ts_ns: Some(*ts),
                wire_len: data.len() as u32 + extra,
                linktype: 1,
                data,
                offset: 0,
            })
            .collect();
        let mut w = if ng {
            CaptureWriter::new_pcapng(Vec::new()).unwrap()
        } else {
            CaptureWriter::new_pcap(Vec::new(), 1).unwrap()
        };
        for r in &recs {
            w.write(r).unwrap();
        }
        let bytes = w.finish().unwrap();
        let back: Vec<Record<'_>> = Reader::new(&bytes).unwrap().map(|r| r.unwrap()).collect();
        prop_assert_eq!(back.len(), recs.len());
        for (a, b) in back.iter().zip(&recs) {
            prop_assert_eq!((a.ts_ns, a.wire_len, a.linktype, a.data), (b.ts_ns, b.wire_len, b.linktype, b.data));
        }
    }
}
