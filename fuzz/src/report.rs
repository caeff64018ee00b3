//! Any capture bytes, analyzed and written: the JSON report parses and equals what serde
//! makes of the same model (head, every flow row with what inspection found, talkers, services
//! and DNS); every NDJSON line equals its
//! row's serde JSON; the CSV has a header and one line per flow; the table writes.

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
    let mut out = Vec::new();
    let options = WriteOptions {
        top: 10,
        threads,
        width: Some(100),
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
}
