//! Any capture bytes, analyzed and written: the JSON report parses and equals what serde
//! makes of the same model (head, every flow row with what inspection found, talkers, services
//! and DNS); every NDJSON line equals its
//! row's serde JSON; the CSV has a header and one line per flow; the table writes. The
//! timeline holds no more than the flows' packets, out and in no more than its totals, each
//! flow is new in one interval within the flows' time, and its view writes a row per
//! interval.

use nwcap_analysis::capture::Reader;
use nwcap_analysis::filter::FilterSet;
use nwcap_analysis::pass::Analyzer;
use nwcap_analysis::report::{self, OutputFormat, Report, WriteOptions};
use serde_json::{json, Value};

/// Reads `data` (what the reader yields before any error) into an analyzer.
pub fn analyze(data: &[u8]) -> Option<Analyzer> {
    let reader = Reader::new(data).ok()?;
    // With inspection and sequence analysis: every writer's every field.
    let mut a = Analyzer::new().inspecting_payloads(true).with_health(true);
    for r in reader.map_while(Result::ok).take(20_000) {
        a.feed(&r);
    }
    Some(a)
}

/// The analyzer's JSON report, unfiltered: every figure of every flow.
pub fn json(a: &Analyzer) -> String {
    let filters = FilterSet::default();
    let sel = a.select(&filters);
    let r = report::build(a, &sel, &[], 10, 1);
    String::from_utf8(write(&r, OutputFormat::Json, 1)).expect("UTF-8 JSON")
}

fn write(r: &Report<'_>, format: OutputFormat, threads: usize) -> Vec<u8> {
    write_view(r, format, threads, false)
}

fn write_view(r: &Report<'_>, format: OutputFormat, threads: usize, timeline: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let options = WriteOptions {
        top: 10,
        threads,
        width: Some(100),
        timeline,
    };
    report::write(r, format, &options, &mut out).expect("writing to memory");
    out
}

pub fn run(data: &[u8]) {
    let Some(a) = analyze(data) else { return };
    let filters = FilterSet::default();
    let sel = a.select(&filters);
    let r = report::build(&a, &sel, &[], 10, 1);
    let rows: Vec<Value> = r
        .flows
        .rows()
        .map(|row| serde_json::to_value(row).unwrap())
        .collect();
    let serde = json!({
        "schema": r.schema,
        "findings": r.findings,
        "summary": r.summary,
        "matched": r.matched,
        "local": r.local,
        "protocols": r.protocols,
        "timeline": r.timeline,
        "flows": rows,
        "top_talkers": r.top_talkers,
        "top_ports": r.top_ports,
    });
    let mut serde = serde;
    if let (Some(s), Some(d)) = (&r.services, &r.dns) {
        serde["services"] = serde_json::to_value(s).unwrap();
        serde["dns"] = serde_json::to_value(d).unwrap();
    }
    // Both sides go through text and one parser: serde_json's default float parsing is not
    // always correctly rounded, so a float is compared as the text serde writes for it.
    let reparse = |v: &Value| -> Value { serde_json::from_str(&v.to_string()).unwrap() };
    let serde = reparse(&serde);
    let rows: Vec<Value> = rows.iter().map(reparse).collect();
    for threads in [1, 3] {
        let out = write(&r, OutputFormat::Json, threads);
        let written: Value = serde_json::from_slice(&out).expect("the JSON report parses");
        assert_eq!(written, serde, "JSON report, {threads} thread(s)");

        let out = String::from_utf8(write(&r, OutputFormat::Ndjson, threads)).unwrap();
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).expect("an NDJSON line parses"))
            .collect();
        assert_eq!(lines, rows, "NDJSON, {threads} thread(s)");

        let out = String::from_utf8(write(&r, OutputFormat::Csv, threads)).unwrap();
        assert_eq!(out.lines().count(), rows.len() + 1, "CSV lines:\n{out}");
    }
    let table = write(&r, OutputFormat::Table, 2);
    assert!(std::str::from_utf8(&table).is_ok());
    timeline(&r);
}

/// The timeline's invariants: its packets and bytes are no more than the flows' (packets
/// without a timestamp are in none), out and in no more than them, each flow is new in one
/// interval within the flows' time; its view writes a row per interval.
fn timeline(r: &Report<'_>) {
    let t = &r.timeline;
    let (mut packets, mut bytes, mut flows) = (0u64, 0u64, 0u64);
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for row in r.flows.rows() {
        if let (Some(f), Some(l)) = (row.first_ts, row.last_ts) {
            packets += row.out.packets + row.inbound.packets;
            bytes += row.out.bytes + row.inbound.bytes;
            flows += 1;
            first = first.min(f.0);
            last = last.max(l.0);
        }
    }
    let sum = |f: fn(&report::timeline::Interval) -> u64| t.intervals.iter().map(f).sum::<u64>();
    // Packets without a timestamp (pcapng's simple packet blocks) are in no interval.
    assert!(sum(|i| i.packets) <= packets, "timeline packets");
    assert!(sum(|i| i.bytes) <= bytes, "timeline bytes");
    assert_eq!(sum(|i| i.new_flows), flows, "timeline new flows");
    for i in &t.intervals {
        // Traffic between two local or two remote addresses is in neither.
        if let (Some(o), Some(n)) = (i.out, i.inbound) {
            assert!(o.packets + n.packets <= i.packets);
            assert!(o.bytes + n.bytes <= i.bytes);
        } else {
            assert!(i.out.is_none() && i.inbound.is_none() && t.direction.is_some());
        }
    }
    if let (Some(a), Some(b)) = (t.intervals.first(), t.intervals.last()) {
        let w = t.interval_s.0 as i64;
        assert!(a.start.0 <= first && first < a.start.0.saturating_add(w));
        assert!(b.start.0 <= last && last < b.start.0.saturating_add(w));
        assert!(t.intervals.len() <= 200 || t.widened.is_some());
    }
    let csv = String::from_utf8(write_view(r, OutputFormat::Csv, 1, true)).unwrap();
    assert_eq!(
        csv.lines().count(),
        t.intervals.len() + 1,
        "timeline CSV:\n{csv}"
    );
}
