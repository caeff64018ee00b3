//! Walking a capture through small windows (records straddling windows all the time, larger
//! than the window, shards reading past their end) yields exactly the records, the final
//! error, the header facts and the final position of walking the whole file in memory. The
//! pass, with its loops for each shape of file, accounts what those records fed one by one do.

use crate::craft::*;
use crate::mutation::{self, magic, mutation};
use crate::support::corpus_files;
use nwcap_analysis::capture::{CaptureError, FileInfo, Reader};
use nwcap_analysis::flow::{FlowKey, FlowStats};
use nwcap_analysis::pass::{self, Analyzer, FileCounters};
use nwcap_analysis::source::window;
use nwcap_analysis::source::Windowed;
use proptest::prelude::*;
use std::io::Write;

use memmap2::Mmap;

/// Window sizes that make records straddle windows constantly, and the production one.
const WINDOWS: [usize; 6] = [1, 7, 64, 100, 4096, window::WINDOW];

/// A record's fields, its bytes copied.
type Got = (Option<i64>, u32, u16, Vec<u8>, u64);

/// Everything a walk produces.
#[derive(Debug, PartialEq)]
struct Walk {
    records: Vec<Got>,
    error: Option<CaptureError>,
    info: FileInfo,
    position: usize,
}

fn take(r: &mut Reader<'_>, records: &mut Vec<Got>, error: &mut Option<CaptureError>) {
    while let Some(x) = r.next_record() {
        match x {
            Ok(rec) => records.push((
                rec.ts_ns,
                rec.wire_len,
                rec.linktype,
                rec.data.to_vec(),
                rec.offset,
            )),
            Err(e) => {
                assert!(error.is_none(), "a second error after {error:?}: {e}");
                *error = Some(e);
            }
        }
    }
}

/// The reference: the whole file in memory.
fn whole(data: &[u8]) -> Option<Walk> {
    let mut r = Reader::new(data).ok()?;
    let (mut records, mut error) = (Vec::new(), None);
    take(&mut r, &mut records, &mut error);
    assert_eq!(r.need(), None, "a whole-file reader never waits for more");
    Some(Walk {
        records,
        error,
        info: r.info(),
        position: r.position(),
    })
}

/// `data` written to a temporary file and mapped, as `analyze` maps a capture; the file lives
/// as long as the map is used.
fn mapped(data: &[u8]) -> (tempfile::NamedTempFile, Mmap) {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(data).unwrap();
    // SAFETY: the file is this test's own and is not changed while mapped.
    let map = unsafe { Mmap::map(f.as_file()) }.unwrap();
    (f, map)
}

/// The same file read through `window`-byte windows; every window copied, and windows of
/// small records walked in the file's map as `analyze` does: both must give the same walk.
fn windowed(data: &[u8], window: usize) -> Option<Walk> {
    let walk = |map: Option<&Mmap>| {
        let reader = Reader::new(data).ok()?;
        let (mut records, mut error) = (Vec::new(), None);
        let (r, read) = window::walk(reader, data, map, window, |r| {
            let before = records.len();
            take(r, &mut records, &mut error);
            (records.len() - before) as u64
        });
        assert!(read.is_none(), "{read:?}");
        Some(Walk {
            records,
            error,
            info: r.info(),
            position: r.position(),
        })
    };
    let copied = walk(None);
    if !data.is_empty() {
        let (_file, map) = mapped(data);
        assert_eq!(
            walk(Some(&map)),
            copied,
            "mapped and copied, window {window}"
        );
    }
    copied
}

fn assert_same(name: &str, data: &[u8], windows: &[usize]) {
    let Some(expected) = whole(data) else {
        return;
    };
    for &w in windows {
        let got = windowed(data, w).expect("the header was read");
        assert_eq!(
            got.records.len(),
            expected.records.len(),
            "{name}, window {w}"
        );
        assert_eq!(got, expected, "{name}, window {w}");
    }
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    corpus_files()
        .into_iter()
        .map(|p| {
            // Inflates the .gz one, as `analyze` does.
            let opened = nwcap_analysis::source::open(p.to_str().unwrap()).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, opened.bytes().to_vec())
        })
        .collect()
}

/// The captures `cli` and `parallel` build, intact and damaged.
fn crafted() -> Vec<(&'static str, Vec<u8>)> {
    let t0 = 1_700_000_000_000_000_000i64;
    let mut recs = Vec::new();
    for i in 0..40u16 {
        let ts = t0 + i64::from(i) * 1_000_000;
        recs.push(Rec::new(
            ts,
            tcp(
                "10.1.0.4",
                50000 + i,
                "93.184.216.34",
                443,
                ACK,
                37 * usize::from(i),
            ),
        ));
        recs.push(Rec::new(ts + 1, udp("10.1.0.4", 5353, "10.0.0.53", 53, 5)));
        recs.push(Rec::new(ts + 2, arp()));
    }
    // A record far larger than every small window, and a snapped one.
    recs.push(Rec::new(
        t0 + 999,
        tcp("10.1.0.4", 1, "10.0.0.7", 2, ACK, 9000),
    ));
    recs.push(Rec::new(t0 + 1000, tcp("10.1.0.4", 1, "10.0.0.7", 2, ACK, 1000)).snapped(34));
    let le = pcap(&recs, false, false, 65535);
    let cut = le[..le.len() - 10].to_vec();
    let mut corrupt_len = le.clone();
    let second = pcap(&recs[..2], false, false, 65535).len();
    corrupt_len[second + 8..second + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    // A huge snaplen lets a huge captured length through as not corrupt: only the file's end
    // says it is cut short.
    let mut huge = pcap(&recs[..3], false, false, u32::MAX);
    let third = pcap(&recs[..2], false, false, u32::MAX).len();
    huge[third + 8..third + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let ng = pcapng_section(&recs, false, 6, &[]);
    let mut ng_trailer = ng.clone();
    let n = ng_trailer.len();
    ng_trailer[n - 4] ^= 0x40;
    let mut two_sections = pcapng_section(&recs, false, 6, &[]);
    two_sections.extend(pcapng_section(
        &recs,
        true,
        9,
        &[(0x0000_0BAD, vec![1, 2, 3, 4, 5]), (0x99, vec![])],
    ));
    let mut ng_bad_len = ng.clone();
    // The second block (the IDB, at 28) claims a length that is not a multiple of 4.
    ng_bad_len[32] = 0x15;
    let mut cases = vec![
        ("le.pcap", le.clone()),
        ("be-ns.pcap", pcap(&recs, true, true, 65535)),
        ("cut.pcap", cut),
        (
            "cut-in-big-record.pcap",
            le[..le.len() - (9000 + 54 + 10)].to_vec(),
        ),
        ("cut-in-record-header.pcap", le[..le.len() - 43].to_vec()),
        ("corrupt-caplen.pcap", corrupt_len),
        ("huge-caplen.pcap", huge),
        ("header-only.pcap", le[..24].to_vec()),
        ("le.pcapng", ng.clone()),
        ("be.pcapng", pcapng_section(&recs, true, 9, &[])),
        ("trailer.pcapng", ng_trailer),
        ("two-sections.pcapng", two_sections.clone()),
        ("shapes.pcapng", pcapng_shapes(&recs)),
        ("bad-block-length.pcapng", ng_bad_len),
        ("shb-only.pcapng", ng[..28].to_vec()),
    ];
    // pcapng cut at every kind of place: inside a block header, inside a section header,
    // inside a block. The last block is 68 bytes long.
    for cut in [1, 13, 100, 68 - 2, 68 - 6, 68 - 10] {
        cases.push((
            "cut.pcapng",
            two_sections[..two_sections.len() - cut].to_vec(),
        ));
    }
    let second_shb = ng.len();
    for keep in [2, 6, 10, 20] {
        cases.push((
            "cut-in-shb.pcapng",
            two_sections[..second_shb + keep].to_vec(),
        ));
    }
    let mut bad_magic = two_sections.clone();
    bad_magic[second_shb + 9] ^= 0x10;
    cases.push(("bad-byte-order-magic.pcapng", bad_magic));
    cases
}

/// A file cut short after it was mapped: the walk reads its windows rather than walking them
/// in the map (which would raise SIGBUS past the new end), and stops with a read error at the
/// cut, after every whole record before it.
#[test]
fn a_mapped_file_cut_short_is_a_read_error_not_a_crash() {
    let recs: Vec<_> = (0..200_000u32)
        .map(|i| Rec::new(i64::from(i), udp("10.1.0.4", 5353, "10.0.0.53", 53, 20)))
        .collect();
    let data = pcap(&recs, false, true, 65535);
    let (file, map) = mapped(&data);
    let cut = 9_000_001;
    file.as_file().set_len(cut).unwrap();
    let mut records = 0u64;
    let (r, read) = window::walk(
        Reader::new(&map).unwrap(),
        file.as_file(),
        Some(&map),
        1 << 20,
        |r| {
            let before = records;
            while let Some(x) = r.next_record() {
                assert!(x.unwrap().offset + 16 + 62 <= cut);
                records += 1;
            }
            records - before
        },
    );
    let e = read.expect("a read error at the cut");
    assert_eq!(
        (e.offset, e.source.kind()),
        (cut, std::io::ErrorKind::UnexpectedEof)
    );
    // 16 + 62 bytes a record after the 24-byte file header.
    assert_eq!(records, (cut - 24) / 78);
    assert!(r.position() as u64 <= cut);
}

/// Tens of MiB of small records, then large ones, then small again: the walk moves between
/// the map and copied windows, and lets mapped pages behind it go, without changing a record.
#[test]
fn a_long_mapped_walk_that_lets_pages_go_reads_every_record() {
    let t0 = 1_700_000_000_000_000_000i64;
    let mut recs = Vec::new();
    for i in 0..300_000u32 {
        let big = (100_000..110_000).contains(&i);
        let payload = if big { 1400 } else { (i % 50) as usize };
        let port = (i % 60_000) as u16;
        recs.push(Rec::new(
            t0 + i64::from(i),
            tcp("10.1.0.4", port, "10.9.0.1", 443, ACK, payload),
        ));
    }
    let data = pcap(&recs, false, true, 65535);
    assert!(data.len() > 32 << 20, "{} bytes", data.len());
    let expected = whole(&data).unwrap();
    for w in [4096, window::WINDOW] {
        assert_eq!(windowed(&data, w).unwrap(), expected, "window {w}");
    }
}

#[test]
fn corpus_files_read_the_same_through_small_windows() {
    let files = corpus();
    assert!(files.len() > 40);
    for (name, data) in &files {
        assert_same(name, data, &WINDOWS);
    }
}

#[test]
fn crafted_and_damaged_captures_read_the_same_through_small_windows() {
    for (name, data) in crafted() {
        let expected = whole(&data).unwrap();
        if name.starts_with("cut") || name.contains("corrupt") || name.contains("huge") {
            assert!(expected.error.is_some(), "{name} must be damaged");
        }
        assert_same(name, &data, &WINDOWS);
    }
}

#[test]
fn a_cut_final_record_is_reported_as_today() {
    // The last record of `le.pcap` is the snapped one: a 16-byte header and 34 bytes. Cutting
    // 10 bytes leaves 40 of its 50, at every window size, with today's message.
    let all = crafted();
    let le = &all.iter().find(|(n, _)| *n == "le.pcap").unwrap().1;
    let (_, cut) = all.iter().find(|(n, _)| *n == "cut.pcap").unwrap();
    let offset = le.len() as u64 - 50;
    for w in WINDOWS {
        let e = windowed(cut, w).unwrap().error.expect("cut short");
        assert_eq!(
            e,
            CaptureError::Truncated {
                offset,
                what: "pcap record",
                need: 50,
                have: 40
            },
            "window {w}"
        );
        assert_eq!(
            e.to_string(),
            format!("file cut short at offset {offset}: pcap record needs 50 bytes, only 40 left")
        );
    }
}

/// Flows, sorted, for comparing two passes.
fn flows(a: &Analyzer) -> Vec<(FlowKey, FlowStats)> {
    let mut v: Vec<_> = a.flows.iter().map(|(k, s)| (k, *s)).collect();
    v.sort_by_key(|x| x.0);
    v
}

/// ~1.2 MB of TCP over 500 flows: enough for 4 shards of at least 256 KiB.
fn sharded_recs() -> Vec<Rec> {
    let mut recs = Vec::new();
    for i in 0..6000u32 {
        let peer = format!("10.0.{}.{}", i % 50, i % 200);
        let data = tcp(
            "10.1.0.4",
            30000 + (i % 500) as u16,
            &peer,
            443,
            ACK,
            (i % 300) as usize,
        );
        recs.push(Rec::new(1_700_000_000_000_000_000 + i64::from(i), data));
    }
    recs
}

#[test]
fn shards_read_through_windows_like_one_pass_in_memory() {
    let recs = sharded_recs();
    let pc = pcap(&recs, false, false, 65535);
    let ng = pcapng_section(&recs, false, 9, &[]);
    let cut = pc[..pc.len() - 7].to_vec();
    for (name, bytes) in [("pcap", pc), ("pcapng", ng), ("cut pcap", cut)] {
        let (mut c0, mut a0) = (FileCounters::default(), Analyzer::new());
        let one = pass::run_parallel(
            Reader::new(&bytes).unwrap(),
            &bytes,
            None,
            1,
            &mut c0,
            &mut a0,
        );
        let (_file, map_of_bytes) = mapped(&bytes);
        let runs = [(1, 1), (1, 333), (4, 1), (4, 333), (4, window::WINDOW)];
        // Through windows, copied or mapped; and in memory (stdin, a gzip file), split as a
        // file on disk is.
        let cases = runs
            .into_iter()
            .flat_map(|r| [(r, Some(false)), (r, Some(true))])
            .chain([((4, 0), None)]);
        for ((threads, window), map) in cases {
            let (mut c, mut a) = (FileCounters::default(), Analyzer::new());
            let src: &[u8] = &bytes;
            let windowed = map.map(|map| Windowed {
                src: &src,
                map: map.then_some(&map_of_bytes),
                window,
            });
            let pass = pass::run_parallel(
                Reader::new(&bytes).unwrap(),
                &bytes,
                windowed,
                threads,
                &mut c,
                &mut a,
            );
            let what = match map {
                Some(map) => format!("{name}, {threads} threads, window {window}, mapped {map}"),
                None => format!("{name}, {threads} threads, in memory"),
            };
            assert_eq!(pass.shards, threads, "{what}: the split must really happen");
            assert_eq!(c, c0, "{what}");
            assert_eq!(flows(&a), flows(&a0), "{what}");
            assert_eq!(pass.info, one.info, "{what}");
            assert_eq!(
                pass.error.map(|e| e.to_string()),
                one.error.as_ref().map(|e| e.to_string()),
                "{what}"
            );
        }
    }
}

/// What a pass accounts: counters, flows, and the damage that stopped it.
type Accounted = (FileCounters, Vec<(FlowKey, FlowStats)>, Option<String>);

/// The reference for a pass: every record of the general walk fed to the analyzer one by one.
fn one_by_one(data: &[u8]) -> Option<Accounted> {
    let reader = Reader::new(data).ok()?;
    let (mut c, mut a, mut error) = (FileCounters::default(), Analyzer::new(), None);
    for x in reader {
        match x {
            Ok(r) => {
                c.add(&r);
                a.feed(&r);
            }
            Err(e) => error = Some(e.to_string()),
        }
    }
    a.flows.settle();
    Some((c, flows(&a), error))
}

/// The pass over the file in memory and through a small window: the walks it spells out for
/// each shape of file or section, and the general one it falls back to, must account exactly
/// what [`one_by_one`] does.
fn assert_pass_like_one_by_one(name: &str, data: &[u8]) {
    let Some(expected) = one_by_one(data) else {
        return;
    };
    for window in [None, Some(100)] {
        let (mut c, mut a) = (FileCounters::default(), Analyzer::new());
        let src: &[u8] = data;
        let windowed = window.map(|window| Windowed {
            src: &src,
            map: None,
            window,
        });
        let pass = pass::run_parallel(
            Reader::new(data).unwrap(),
            data,
            windowed,
            1,
            &mut c,
            &mut a,
        );
        let got = (c, flows(&a), pass.error.map(|e| e.to_string()));
        assert_eq!(got, expected, "{name}, window {window:?}");
    }
}

#[test]
fn the_pass_accounts_like_records_fed_one_by_one() {
    let crafted = crafted().into_iter().map(|(n, d)| (n.to_string(), d));
    for (name, data) in corpus().into_iter().chain(crafted) {
        assert_pass_like_one_by_one(&name, &data);
    }
}

/// A file whose bytes from `bad` on cannot be read (EIO).
struct Faulty {
    data: Vec<u8>,
    bad: u64,
}

impl window::ReadAt for Faulty {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        if offset >= self.bad {
            return Err(std::io::Error::from_raw_os_error(5));
        }
        let n = buf.len().min((self.bad - offset) as usize);
        self.data[..].read_at(&mut buf[..n], offset)
    }
}

#[test]
fn a_failed_read_stops_the_pass_with_its_offset_after_every_record_before_it() {
    let data = pcap(&sharded_recs(), false, false, 65535);
    let ends: Vec<u64> = Reader::new(&data)
        .unwrap()
        .map(|r| r.unwrap())
        .map(|r| r.offset + 16 + r.data.len() as u64)
        .collect();
    // In the middle (a shard that is not the last fails: the pass falls back to one), and
    // near the end (the last shard fails: its error is the pass's).
    for (bad, threads, shards) in [
        (data.len() as u64 / 2 + 3, 1, 1),
        (data.len() as u64 / 2 + 3, 4, 1),
        (data.len() as u64 - 1000, 4, 4),
    ] {
        let src = Faulty {
            data: data.clone(),
            bad,
        };
        let (mut c, mut a) = (FileCounters::default(), Analyzer::new());
        let pass = pass::run_parallel(
            Reader::new(&data).unwrap(),
            &data,
            Some(Windowed {
                src: &src,
                map: None,
                window: 4096,
            }),
            threads,
            &mut c,
            &mut a,
        );
        let what = format!("bad {bad}, {threads} threads");
        assert_eq!(pass.shards, shards, "{what}");
        let Some(pass::PassError::Read(e)) = &pass.error else {
            panic!("{what}: {:?}", pass.error);
        };
        assert_eq!(e.offset, bad, "{what}");
        assert_eq!(
            pass.error.unwrap().to_string(),
            format!(
                "cannot read the file at offset {bad}: {}",
                std::io::Error::from_raw_os_error(5)
            )
        );
        let complete = ends.iter().filter(|&&e| e <= bad).count() as u64;
        assert_eq!(c.packets, complete, "{what}");
    }
}

/// Read once: every proptest case picks one.
fn small_captures() -> &'static [Vec<u8>] {
    static FILES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        corpus()
            .into_iter()
            .map(|(_, d)| d)
            .filter(|d| d.len() < 60_000)
            .chain(crafted().into_iter().map(|(_, d)| d))
            .collect()
    })
}

proptest! {
    #![proptest_config(crate::support::proptest_config(512))]

    #[test]
    fn mutated_captures_read_the_same_through_random_windows(
        pick in any::<prop::sample::Index>(),
        muts in proptest::collection::vec(mutation(), 0..8),
        windows in proptest::collection::vec(1usize..3000, 1..4),
    ) {
        let mut data = pick.get(small_captures()).clone();
        mutation::apply(&mut data, muts);
        if let Some(expected) = whole(&data) {
            for w in windows {
                let got = windowed(&data, w);
                prop_assert_eq!(got.as_ref(), Some(&expected), "window {}", w);
            }
        }
    }

    #[test]
    fn mutated_captures_pass_like_records_fed_one_by_one(
        pick in any::<prop::sample::Index>(),
        muts in proptest::collection::vec(mutation(), 0..8),
    ) {
        let mut data = pick.get(small_captures()).clone();
        mutation::apply(&mut data, muts);
        assert_pass_like_one_by_one("mutated", &data);
    }

    #[test]
    fn arbitrary_bytes_behind_valid_magics_read_the_same_through_random_windows(
        magic in magic(),
        rest in proptest::collection::vec(any::<u8>(), 0..4096),
        window in 1usize..600,
    ) {
        let mut data = magic;
        data.extend(rest);
        if let Some(expected) = whole(&data) {
            prop_assert_eq!(windowed(&data, window), Some(expected));
        }
    }
}
