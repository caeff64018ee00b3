//! The timeline as people and scripts read it: the sparklines of the table's "Traffic over
//! time" section, and the `--timeline` view, one row per interval in every format. It owns
//! how intervals read; it never computes one (that is `timeline`).

use std::io::{self, Write};

use serde::Serialize;

use super::model::OutputFormat;
use super::table::{col, human_bytes, table, Column};
use super::time::{Secs, Timestamp};
use super::timeline::{Interval, Timeline};

/// Eighths of a block, lowest first: an interval's share of the busiest one.
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Characters a sparkline takes at most without a terminal width.
const SPARK_WIDTH: usize = 100;

/// The table's section: a sparkline of bytes out, bytes in and new flows (bytes alone when
/// out and in are left out), each with its busiest interval, within `width` characters.
/// Nothing for a report without intervals.
pub(super) fn sparklines(
    t: &Timeline,
    width: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let (Some(first), Some(last)) = (t.intervals.first(), t.intervals.last()) else {
        return Ok(());
    };
    // Label, gaps and the peak's text ("  peak 105.4 kB at 17:04:02.3") take about 50.
    let room = width.map_or(SPARK_WIDTH, |w| w.saturating_sub(50).clamp(8, SPARK_WIDTH));
    let per = t.intervals.len().div_ceil(room);
    writeln!(out)?;
    let step = if per > 1 {
        format!(", {} s a character", Secs(t.interval_s.0 * per as i128))
    } else {
        String::new()
    };
    writeln!(
        out,
        "Traffic over time, {} s intervals{step}:",
        t.interval_s
    )?;
    writeln!(
        out,
        "  from {} to {}",
        first.start,
        Timestamp(last.start.0.saturating_add(t.interval_s.0 as i64))
    )?;
    if t.direction.is_some() {
        writeln!(out, "  (out and in unknown: pass --local-ip)")?;
    }
    type Line = (&'static str, fn(&Interval) -> u64, bool);
    let total: Line = ("bytes", |i| i.bytes, true);
    let sent: Line = ("out", |i| i.out.map_or(0, |c| c.bytes), true);
    let inbound: Line = ("in", |i| i.inbound.map_or(0, |c| c.bytes), true);
    let flows: Line = ("new flows", |i| i.new_flows, false);
    let lines = if t.direction.is_some() {
        vec![total, flows]
    } else {
        vec![sent, inbound, flows]
    };
    for (label, value, bytes) in lines {
        let (line, peak) = spark(&t.intervals, per, value);
        let Some(peak) = peak else {
            writeln!(out, "  {label:<9}  -")?;
            continue;
        };
        let v = value(peak);
        let amount = if bytes { human_bytes(v) } else { v.to_string() };
        writeln!(
            out,
            "  {label:<9}  {line}  peak {amount} at {}",
            clock(peak.start)
        )?;
    }
    Ok(())
}

/// The time of day of `t` (UTC), its fraction without trailing zeros: `17:04:02.3`.
fn clock(t: Timestamp) -> String {
    let text = t.to_string();
    let time = text.get(11..text.len() - 1).unwrap_or(&text);
    time.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A sparkline of `value` over `intervals`, `per` intervals a character (their sum), and the
/// busiest interval (`None` when every value is 0). An empty stretch is a space, so that a
/// silence shows.
fn spark(
    intervals: &[Interval],
    per: usize,
    value: fn(&Interval) -> u64,
) -> (String, Option<&Interval>) {
    let sums: Vec<u64> = intervals
        .chunks(per.max(1))
        .map(|c| c.iter().map(value).sum())
        .collect();
    let top = sums.iter().copied().max().unwrap_or(0);
    let peak = intervals
        .iter()
        .filter(|i| value(i) > 0)
        .max_by(|a, b| value(a).cmp(&value(b)).then(b.start.0.cmp(&a.start.0)));
    let line = sums
        .iter()
        .map(|&v| match v {
            0 => ' ',
            v => {
                let level = (u128::from(v) * 8).div_ceil(u128::from(top.max(1)));
                LEVELS[(level as usize).clamp(1, 8) - 1]
            }
        })
        .collect();
    (line, peak)
}

/// One interval as a flat row: the `--timeline` view's columns (out and in `null` where the
/// timeline leaves them out).
#[derive(Serialize)]
struct Row {
    start: Timestamp,
    interval_s: Secs,
    packets: u64,
    bytes: u64,
    out_packets: Option<u64>,
    out_bytes: Option<u64>,
    in_packets: Option<u64>,
    in_bytes: Option<u64>,
    new_flows: u64,
}

/// The `--timeline` view's CSV header.
const HEADER: &str =
    "start,interval_s,packets,bytes,out_packets,out_bytes,in_packets,in_bytes,new_flows";

const COLUMNS: [Column; 6] = [
    col("START", false, 0, 0),
    col("PKTS", true, 0, 0),
    col("BYTES", true, 0, 0),
    col("OUT", true, 0, 0),
    col("IN", true, 0, 0),
    col("NEW FLOWS", true, 0, 0),
];

/// The `--timeline` view: the timeline alone, one interval per row (JSON: the report's
/// `timeline` object).
pub(super) fn write(
    t: &Timeline,
    format: OutputFormat,
    width: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rows = t.intervals.iter().map(|i| Row {
        start: i.start,
        interval_s: t.interval_s,
        packets: i.packets,
        bytes: i.bytes,
        out_packets: i.out.map(|c| c.packets),
        out_bytes: i.out.map(|c| c.bytes),
        in_packets: i.inbound.map(|c| c.packets),
        in_bytes: i.inbound.map(|c| c.bytes),
        new_flows: i.new_flows,
    });
    match format {
        OutputFormat::Json => {
            serde_json::to_writer(&mut *out, t)?;
            out.write_all(b"\n")
        }
        OutputFormat::Ndjson => rows.into_iter().try_for_each(|r| {
            serde_json::to_writer(&mut *out, &r)?;
            out.write_all(b"\n")
        }),
        OutputFormat::Csv | OutputFormat::Tsv => {
            let sep = if format == OutputFormat::Csv {
                ","
            } else {
                "\t"
            };
            if format == OutputFormat::Csv {
                writeln!(out, "{HEADER}")?;
            }
            let opt = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
            for r in rows {
                writeln!(
                    out,
                    "{}{sep}{}{sep}{}{sep}{}{sep}{}{sep}{}{sep}{}{sep}{}{sep}{}",
                    r.start,
                    r.interval_s,
                    r.packets,
                    r.bytes,
                    opt(r.out_packets),
                    opt(r.out_bytes),
                    opt(r.in_packets),
                    opt(r.in_bytes),
                    r.new_flows
                )?;
            }
            Ok(())
        }
        OutputFormat::Table => {
            for w in t.widened.iter().map(String::as_str).chain(t.direction) {
                writeln!(out, "warning: timeline: {w}")?;
            }
            writeln!(
                out,
                "Traffic per {} s (out = local -> remote)",
                t.interval_s
            )?;
            let cells: Vec<Vec<String>> = rows
                .map(|r| {
                    vec![
                        r.start.to_string(),
                        r.packets.to_string(),
                        human_bytes(r.bytes),
                        r.out_bytes.map_or("-".into(), human_bytes),
                        r.in_bytes.map_or("-".into(), human_bytes),
                        r.new_flows.to_string(),
                    ]
                })
                .collect();
            table(out, &COLUMNS, &cells, width)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Count;

    fn iv(start: i64, out: u64, inbound: u64, new_flows: u64) -> Interval {
        Interval {
            start: Timestamp(start),
            packets: 2,
            bytes: out + inbound,
            out: Some(Count {
                packets: 1,
                bytes: out,
            }),
            inbound: Some(Count {
                packets: 1,
                bytes: inbound,
            }),
            new_flows,
        }
    }

    #[test]
    fn clocks_drop_trailing_zeros() {
        assert_eq!(clock(Timestamp(1_389_719_042_300_000_000)), "17:04:02.3");
        assert_eq!(clock(Timestamp(60_000_000_000)), "00:01:00");
    }

    #[test]
    fn a_sparkline_scales_to_the_busiest_and_leaves_silence_blank() {
        let ivs = [
            iv(0, 800, 0, 1),
            iv(1, 0, 0, 0),
            iv(2, 100, 0, 0),
            iv(3, 400, 0, 0),
        ];
        let (line, peak) = spark(&ivs, 1, |i| i.out.unwrap().bytes);
        assert_eq!(line, "█ ▁▄");
        assert_eq!(peak.unwrap().start, Timestamp(0));
        // Two intervals a character: 800 and 500.
        let (line, _) = spark(&ivs, 2, |i| i.out.unwrap().bytes);
        assert_eq!(line, "█▅");
        let (line, peak) = spark(&ivs, 1, |i| i.inbound.unwrap().bytes);
        assert_eq!((line.trim_end(), peak), ("", None));
    }

    #[test]
    fn the_view_writes_one_row_per_interval() {
        let t = Timeline {
            interval_s: Secs(1_000_000_000),
            intervals: vec![iv(0, 10, 20, 1), iv(1_000_000_000, 0, 5, 0)],
            widened: None,
            direction: None,
        };
        let mut csv = Vec::new();
        write(&t, OutputFormat::Csv, None, &mut csv).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            format!(
                "{HEADER}\n1970-01-01T00:00:00.000000000Z,1,2,30,1,10,1,20,1\n\
                 1970-01-01T00:00:01.000000000Z,1,2,5,1,0,1,5,0\n"
            )
        );
        let mut nd = Vec::new();
        write(&t, OutputFormat::Ndjson, None, &mut nd).unwrap();
        let first: serde_json::Value =
            serde_json::from_slice(nd.split(|&b| b == b'\n').next().unwrap()).unwrap();
        assert_eq!(first["out_bytes"], 10);
        assert_eq!(first["interval_s"], 1.0);
    }
}
