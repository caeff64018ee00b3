//! Property tests. The readers, given valid captures built here with one header field
//! damaged, return exactly the records before the damage and no error before it; the decoder,
//! on any bytes, reports only fields that sit in the packet where its format puts them, and the
//! same flow on its fast and general paths; what `--write` emits reads back unchanged through
//! an independent reader (`pcap-parser`). Nothing panics. Runs in seconds; `fuzz/` has the
//! open-ended versions.

use crate::craft::{self, Rec};
use crate::mutation::{self, magic, mutation};
use crate::support::corpus_files;
use nwcap_analysis::capture::write::CaptureWriter;
use nwcap_analysis::capture::{IsbDrops, Reader, Record};
use nwcap_analysis::decode::{decode, Decoded, Fragment};
use nwcap_analysis::filter::FilterSet;
use nwcap_analysis::pass::Analyzer;
use nwcap_analysis::report::OutputFormat;
use proptest::prelude::*;

/// Reads everything, decoding and accounting each record, as `analyze` does; every record
/// must lie within `data`, and an error must be the last item.
fn run_pipeline(data: &[u8]) {
    let Ok(reader) = Reader::new(data) else {
        return;
    };
    let mut a = Analyzer::new();
    let mut failed = false;
    for rec in reader.take(10_000) {
        assert!(!failed, "a record after the error");
        match rec {
            Ok(r) => {
                assert!(within(data, r.data), "record data outside the input");
                assert!(r.offset < data.len() as u64);
                a.feed(&r);
            }
            Err(e) => {
                assert!(e.offset() <= data.len() as u64);
                failed = true;
            }
        }
    }
    let filters = FilterSet::default();
    let sel = a.select(&filters);
    let r = nwcap_analysis::report::build(&a, &sel, &[], 10, 1);
    // The writers too: flow rows are written by hand, and whatever the flows hold must not
    // panic them; JSON must parse.
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
            timeline: false,
        };
        nwcap_analysis::report::write(&r, format, &options, &mut out).unwrap();
        assert!(format == OutputFormat::Table || out.is_ascii());
        if format == OutputFormat::Json {
            serde_json::from_slice::<serde_json::Value>(&out).expect("JSON report parses");
        }
    }
}

/// Whether `part` is a slice of `whole` (the readers borrow, never copy).
fn within(whole: &[u8], part: &[u8]) -> bool {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    part.is_empty() || (p >= w && p + part.len() <= w + whole.len())
}

fn corpus() -> Vec<Vec<u8>> {
    corpus_files()
        .into_iter()
        .filter(|p| std::fs::metadata(p).unwrap().len() < 60_000)
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// A capture built here, record by record, with where each record starts.
#[derive(Debug, Clone)]
struct Built {
    bytes: Vec<u8>,
    recs: Vec<Rec>,
    starts: Vec<usize>,
    big_endian: bool,
}

/// Records of random bytes (µs timestamps, so every format and resolution holds them
/// exactly), in pcap (either byte order, µs or ns) or pcapng (µs or ns).
fn built() -> impl Strategy<Value = Built> {
    (
        proptest::collection::vec(
            (
                0u64..4_000_000_000_000_000,
                proptest::collection::vec(any::<u8>(), 0..120),
                0u32..3,
            ),
            1..12,
        ),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(raw, ng, be, nanos)| {
            let recs: Vec<Rec> = raw
                .into_iter()
                .map(|(us, data, extra)| {
                    let mut r = Rec::new(us as i64 * 1000, data);
                    r.wire_len += extra;
                    r
                })
                .collect();
            let file = |recs: &[Rec]| {
                if ng {
                    craft::pcapng_section(recs, be, if nanos { 9 } else { 6 }, &[])
                } else {
                    craft::pcap(recs, be, nanos, 65535)
                }
            };
            // A record starts where the file of the records before it ends.
            let starts = (0..recs.len()).map(|i| file(&recs[..i]).len()).collect();
            Built {
                bytes: file(&recs),
                recs,
                starts,
                big_endian: be,
            }
        })
}

/// A 32-bit header field's new value: the edges a reader must check, or anything.
fn field_value() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(3),
        Just(0xffff_ffff),
        Just(0x8000_0000),
        Just(65_536),
        0u32..300,
        any::<u32>(),
    ]
}

/// Sets the 32-bit field at `at`, in the file's byte order.
fn set_u32(b: &mut [u8], at: usize, v: u32, be: bool) {
    if let Some(f) = b.get_mut(at..at + 4) {
        f.copy_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
    }
}

/// Reads `damaged` and holds it to `b`, the capture it was made from, damaged in the record
/// (or header) that starts at byte `from`: each record that ends before `from` comes back
/// exactly (time, lengths, bytes), no error is reported before `from`, records lie within the
/// input, and an error ends the read.
fn check_damaged(b: &Built, damaged: &[u8], from: usize) -> Result<(), TestCaseError> {
    let ends: Vec<usize> = b.starts[1..]
        .iter()
        .copied()
        .chain([b.bytes.len()])
        .collect();
    let intact = ends.iter().take_while(|&&e| e <= from).count();
    let reader = match Reader::new(damaged) {
        Ok(r) => r,
        Err(e) => {
            prop_assert!(from == 0, "refused ({e}) for damage at {from}");
            return Ok(());
        }
    };
    let mut got = 0;
    let mut failed = false;
    for item in reader.take(100) {
        prop_assert!(!failed, "a record after the error");
        match item {
            Ok(r) => {
                prop_assert!(within(damaged, r.data));
                if got < intact {
                    let want = &b.recs[got];
                    prop_assert_eq!(
                        (r.ts_ns, r.wire_len, r.data, r.offset as usize),
                        (
                            Some(want.ts_ns),
                            want.wire_len,
                            &want.data[..],
                            b.starts[got]
                        ),
                        "record {}",
                        got
                    );
                }
                got += 1;
            }
            Err(e) => {
                prop_assert!(
                    e.offset() as usize >= from,
                    "error at {} before the damage at {from}: {e}",
                    e.offset()
                );
                prop_assert!(e.offset() as usize <= damaged.len());
                failed = true;
            }
        }
    }
    prop_assert!(got >= intact, "{got} records read, {intact} intact");
    run_pipeline(damaged);
    Ok(())
}

/// A packet built here: Ethernet (with up to two VLAN tags), IPv4 or IPv6, TCP, UDP or ICMP
/// echo, with its addresses, ports, flags and ICMP id.
#[derive(Debug, Clone)]
struct Packet {
    bytes: Vec<u8>,
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    proto: u8,
    ports: Option<(u16, u16)>,
    flags: Option<u8>,
    echo_id: Option<u16>,
}

fn packet() -> impl Strategy<Value = Packet> {
    (
        any::<bool>(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        0u8..3,
        any::<(u16, u16, u8)>(),
        0usize..40,
        0usize..3,
    )
        .prop_map(|(v6, s, d, kind, (sp, dp, flags), payload, tags)| {
            let (src, dst): (std::net::IpAddr, std::net::IpAddr) = if v6 {
                (s.into(), d.into())
            } else {
                (
                    [s[0], s[1], s[2], s[3]].into(),
                    [d[0], d[1], d[2], d[3]].into(),
                )
            };
            let (ss, ds) = (src.to_string(), dst.to_string());
            let mut p = Packet {
                bytes: vec![],
                src,
                dst,
                proto: 6,
                ports: Some((sp, dp)),
                flags: Some(flags),
                echo_id: None,
            };
            match kind {
                0 => p.bytes = craft::tcp(&ss, sp, &ds, dp, flags, payload),
                1 => {
                    p.bytes = craft::udp(&ss, sp, &ds, dp, payload);
                    (p.proto, p.flags) = (17, None);
                }
                _ if !v6 => {
                    p.bytes = craft::icmp_echo(&ss, &ds, flags & 1 == 1, sp);
                    (p.proto, p.ports, p.flags, p.echo_id) = (1, None, None, Some(sp));
                }
                _ => p.bytes = craft::tcp(&ss, sp, &ds, dp, flags, payload),
            }
            for t in 0..tags {
                p.bytes.splice(12..12, [0x81, 0x00, 0, t as u8]);
            }
            p
        })
}

/// What the decoder says of any bytes must be where the format puts it: both addresses side
/// by side in the packet, ports after them, TCP flags 13 bytes after the ports, ICMP type and
/// code after the addresses; a later fragment has no transport fields; flags only for TCP,
/// ports only for TCP and UDP, an echo id only for an echo. The fast path, where it takes
/// the packet, must give the general path's flow.
fn check_decoded(linktype: u16, data: &[u8]) -> Result<(), String> {
    crate::differential::compare_fast(linktype, data)?;
    let Decoded::Ip(p) = decode(linktype, data) else {
        return Ok(());
    };
    let fail = |what: &str| Err(format!("{what}: {p:?}"));
    if p.src.v6 != p.dst.v6 {
        return fail("mixed families");
    }
    let n = if p.src.v6 { 16 } else { 4 };
    if p.src.bytes[n..]
        .iter()
        .chain(&p.dst.bytes[n..])
        .any(|&b| b != 0)
    {
        return fail("IPv4 address with bytes beyond its four");
    }
    let pair = [&p.src.bytes[..n], &p.dst.bytes[..n]].concat();
    let Some(at) = find(data, &pair, 0) else {
        return fail("addresses not in the packet");
    };
    let after = at + 2 * n;
    if let Fragment::Later { .. } = p.fragment {
        if p.ports.is_some() || p.tcp_flags.is_some() || p.icmp.is_some() {
            return fail("transport fields in a later fragment");
        }
    }
    if let Some((s, d)) = p.ports {
        if p.proto != 6 && p.proto != 17 {
            return fail("ports for neither TCP nor UDP");
        }
        let ports = [s.to_be_bytes(), d.to_be_bytes()].concat();
        let mut from = after;
        let mut found = false;
        while let Some(i) = find(data, &ports, from) {
            found |= p.tcp_flags.is_none_or(|f| data.get(i + 13) == Some(&f));
            from = i + 1;
        }
        if !found {
            return fail("ports (and TCP flags 13 bytes on) not after the addresses");
        }
    }
    if p.tcp_flags.is_some() && (p.proto != 6 || p.ports.is_none()) {
        return fail("TCP flags without TCP ports");
    }
    if let Some((t, c)) = p.icmp {
        if p.proto != 1 && p.proto != 58 {
            return fail("ICMP fields for another protocol");
        }
        if find(data, &[t, c], after).is_none() {
            return fail("ICMP type and code not after the addresses");
        }
        let echo = matches!((p.proto, t), (1, 0 | 8) | (58, 128 | 129));
        if p.icmp_echo_id.is_some() && !echo {
            return fail("echo id on an ICMP message that is no echo");
        }
    } else if p.icmp_echo_id.is_some() {
        return fail("echo id without ICMP");
    }
    Ok(())
}

/// Where `needle` first occurs in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Link types to decode arbitrary bytes as.
fn linktype() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(0u16),
        Just(1),
        Just(12),
        Just(101),
        Just(108),
        Just(113),
        Just(228),
        Just(229),
        Just(276),
        any::<u16>()
    ]
}

/// What goes into a pcapng section for
/// `interface_statistics_keep_the_last_block_of_each_interface`.
#[derive(Debug, Clone)]
enum IsbOp {
    Packet,
    /// A statistics block of an interface (perhaps one the section did not describe).
    Stats(u32, Option<u64>, Option<u64>),
    /// A statistics block whose body cannot hold its interface and timestamp.
    Short(Vec<u8>),
}

fn isb_op() -> impl Strategy<Value = IsbOp> {
    let count = || proptest::option::of(prop_oneof![Just(0u64), any::<u64>()]);
    prop_oneof![
        Just(IsbOp::Packet),
        (0u32..5, count(), count()).prop_map(|(i, d, o)| IsbOp::Stats(i, d, o)),
        // Padded to at most 8 bytes: short of the 12 of the header.
        proptest::collection::vec(any::<u8>(), 0..9).prop_map(IsbOp::Short),
    ]
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

    /// A capture built here reads back exactly, and with one 32-bit field of a record's
    /// header (or of the file's header) set to anything, every record before it still does.
    #[test]
    fn damaged_record_fields_spare_the_records_before(
        b in built(),
        which in any::<prop::sample::Index>(),
        field in 0usize..8,
        value in field_value(),
    ) {
        check_damaged(&b, &b.bytes, b.bytes.len())?;
        // The record (or, one past the last, the file header) and the field to damage: a
        // record header's 32-bit words, and for pcapng the trailing length too.
        let i = which.index(b.recs.len() + 1);
        let (start, end) = if i == b.recs.len() {
            (0, b.starts[0])
        } else {
            (b.starts[i], b.starts.get(i + 1).copied().unwrap_or(b.bytes.len()))
        };
        let at = if field == 7 { end - 4 } else { start + 4 * field };
        let at = at.min(end - 4);
        let mut damaged = b.bytes.clone();
        set_u32(&mut damaged, at, value, b.big_endian);
        check_damaged(&b, &damaged, start)?;
    }

    /// Any bytes, as any link type: fields where the format puts them, the fast path's flow
    /// equal to the general path's.
    #[test]
    fn arbitrary_packets_decode_to_fields_found_in_them(
        linktype in linktype(),
        data in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        prop_assert_eq!(check_decoded(linktype, &data), Ok(()));
    }

    /// A packet built here decodes to exactly its fields; damaged or cut, it still decodes to
    /// fields found in it.
    #[test]
    fn built_packets_decode_exactly_and_damaged_ones_consistently(
        p in packet(),
        muts in proptest::collection::vec(mutation(), 0..4),
    ) {
        let Decoded::Ip(d) = decode(1, &p.bytes) else {
            return Err(TestCaseError::fail(format!("not IP: {p:?}")));
        };
        prop_assert_eq!(
            (d.src.to_ip(), d.dst.to_ip(), d.proto, d.ports, d.tcp_flags, d.icmp_echo_id),
            (p.src, p.dst, p.proto, p.ports, p.flags, p.echo_id)
        );
        prop_assert_eq!(check_decoded(1, &p.bytes), Ok(()));
        let mut damaged = p.bytes.clone();
        mutation::apply(&mut damaged, muts);
        prop_assert_eq!(check_decoded(1, &damaged), Ok(()));
    }

    /// pcapng files of one or two sections (either byte order) whose Interface Statistics
    /// Blocks, among packets, give any drop counts, name interfaces their section does not
    /// describe, or are too short for their header: the drops read are the last block's of
    /// each interface the file described, numbered across sections, and nothing panics.
    #[test]
    fn interface_statistics_keep_the_last_block_of_each_interface(
        sections in proptest::collection::vec(
            (any::<bool>(), 1u32..4, proptest::collection::vec(isb_op(), 0..10)),
            1..3,
        ),
    ) {
        let rec = Rec::new(1_700_000_000_000_000_000, craft::udp("10.0.0.1", 1, "10.0.0.2", 53, 8));
        let mut ng = craft::Ng::new();
        let mut want = std::collections::BTreeMap::new();
        let mut first = 0;
        for (be, interfaces, ops) in &sections {
            ng.section(*be);
            for _ in 0..*interfaces {
                ng.interface(1, 6);
            }
            for op in ops {
                match op {
                    IsbOp::Packet => {
                        ng.packet(0, &rec, None);
                    }
                    IsbOp::Stats(i, ifdrop, osdrop) => {
                        ng.statistics(*i, *ifdrop, *osdrop);
                        if *i < *interfaces {
                            want.insert(first + i, IsbDrops { ifdrop: *ifdrop, osdrop: *osdrop });
                        }
                    }
                    IsbOp::Short(body) => {
                        ng.block(5, body);
                    }
                }
            }
            first += interfaces;
        }
        let mut reader = Reader::new(&ng.f).unwrap();
        let mut packets = 0;
        for r in reader.by_ref() {
            prop_assert!(r.is_ok(), "{:?}", r);
            packets += 1;
        }
        let count = sections.iter().flat_map(|s| &s.2).filter(|o| matches!(o, IsbOp::Packet)).count();
        prop_assert_eq!(packets, count);
        prop_assert_eq!(reader.info().drops, want);
        run_pipeline(&ng.f);
    }

    /// nwcap's writer, read back by pcap-parser: the same records, times, lengths and bytes.
    #[test]
    fn written_captures_read_back_unchanged_by_pcap_parser(
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
        let back = crate::independent::read(&bytes).map_err(TestCaseError::fail)?;
        prop_assert_eq!(back.len(), recs.len());
        for (a, b) in back.iter().zip(&recs) {
            prop_assert_eq!(
                (a.ts_ns, a.wire_len, a.linktype, &a.data[..]),
                (b.ts_ns.unwrap(), b.wire_len, 1, b.data)
            );
        }
        // And nwcap's own reader agrees.
        let ours: Vec<Record<'_>> = Reader::new(&bytes).unwrap().map(|r| r.unwrap()).collect();
        prop_assert_eq!(ours.len(), recs.len());
    }
}
