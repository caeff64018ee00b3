//! Writing a built report: [`write()`] picks the format's writer, and [`write_rows`] renders
//! the flow rows, which can number in the hundreds of thousands, chunk by chunk on helper
//! threads and writes the chunks in order. It owns the threads, the chunks and the order of
//! the output; it never decides what a row says (that is `build`) nor how its bytes read
//! (that is `json`, `csv` and `table`).

use std::io::{self, Write};
use std::sync::mpsc;

use serde::Serialize;

use super::chunk::Chunk;
use super::model::{Count, FlowRow, Flows, Local, OutputFormat, ProtocolRow, Report, Summary};
use super::{csv, json, table};

/// How [`write()`] lays the report out.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Rows in the table's flow list and talkers.
    pub top: usize,
    /// Threads rendering flow rows.
    pub threads: usize,
    /// The table's width in characters (a terminal's); `None` for no limit.
    pub width: Option<usize>,
    /// The timeline alone, an interval per row, instead of the report (`--timeline`).
    pub timeline: bool,
}

/// Writes the report in the chosen format. Flow rows, which can number in the hundreds of
/// thousands, are rendered by `threads` threads in chunks and written in order.
pub fn write(
    report: &Report,
    format: OutputFormat,
    options: &WriteOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let WriteOptions {
        top,
        threads,
        width,
        timeline,
    } = *options;
    if timeline {
        return super::timeline_view::write(&report.timeline, format, width, out);
    }
    match format {
        OutputFormat::Table => table::write(report, top, width, out),
        OutputFormat::Json => {
            // The head is everything before `flows`; its closing brace is replaced by the
            // streamed flows and the talkers. Compact: indentation would double the size of
            // a large report (`jq .` pretty-prints).
            let mut head = serde_json::to_vec(&Head {
                schema: report.schema,
                findings: &report.findings,
                summary: &report.summary,
                matched: &report.matched,
                local: &report.local,
                protocols: &report.protocols,
                timeline: &report.timeline,
            })?;
            head.pop();
            out.write_all(&head)?;
            out.write_all(b",\"flows\":[")?;
            write_rows(&report.flows, threads, out, |i, row, buf| {
                if i > 0 {
                    buf.push(b',');
                }
                json::flow_row(row, buf)
            })?;
            out.write_all(b"],\"top_talkers\":")?;
            serde_json::to_writer(&mut *out, &report.top_talkers)?;
            out.write_all(b",\"top_ports\":")?;
            serde_json::to_writer(&mut *out, &report.top_ports)?;
            if let (Some(services), Some(dns)) = (&report.services, &report.dns) {
                out.write_all(b",\"services\":")?;
                serde_json::to_writer(&mut *out, services)?;
                out.write_all(b",\"dns\":")?;
                serde_json::to_writer(&mut *out, dns)?;
            }
            out.write_all(b"}\n")
        }
        OutputFormat::Ndjson => write_rows(&report.flows, threads, out, |_, row, buf| {
            json::flow_row(row, buf)?;
            buf.push(b'\n');
            Ok(())
        }),
        OutputFormat::Csv => {
            out.write_all(csv::header(report.services.is_some()).as_bytes())?;
            out.write_all(b"\n")?;
            write_rows(&report.flows, threads, out, |_, row, buf| {
                csv::row(row, buf, b',')
            })
        }
        OutputFormat::Tsv => write_rows(&report.flows, threads, out, |_, row, buf| {
            csv::row(row, buf, b'\t')
        }),
    }
}

/// The report's fields before `flows`, in schema order.
#[derive(Serialize)]
struct Head<'r> {
    schema: &'static str,
    findings: &'r [super::findings::Finding],
    summary: &'r Summary,
    matched: &'r Count,
    local: &'r Local,
    protocols: &'r [ProtocolRow],
    timeline: &'r super::timeline::Timeline,
}

/// Rows rendered per thread before they are written; bounds memory to threads × this many.
/// Larger chunks were no faster.
#[cfg(not(test))]
const CHUNK: usize = 1024;
/// Tiny in unit tests, so that the corpus makes many chunks.
#[cfg(test)]
const CHUNK: usize = 7;

/// A JSON row of a TCP flow takes about this many bytes (less for UDP, or CSV).
const ROW_BYTES: usize = 640;

/// Renders every flow row with `render(index, row, chunk)` on up to `threads` threads, and
/// writes the chunks in order: chunk `c` is rendered by helper `c % threads`, and this thread
/// only writes. The helpers are started once, not per round of chunks (which was slower),
/// and each renders a chunk ahead, so that writing to a pipe or a slow disk overlaps their
/// rendering. One thread renders and writes by itself.
fn write_rows(
    flows: &Flows<'_>,
    threads: usize,
    out: &mut dyn Write,
    render: impl Fn(usize, &FlowRow, &mut Chunk) -> io::Result<()> + Sync,
) -> io::Result<()> {
    let n = flows.len();
    let chunks = n.div_ceil(CHUNK);
    let threads = threads.clamp(1, chunks.max(1));
    // Each buffer belongs to one thread: `Vec` headers side by side in one array would share
    // a cache line, and every push writing its length there made two threads render no faster
    // than one.
    let render_chunk = |c: usize, buf: &mut Chunk| -> io::Result<()> {
        buf.clear();
        (c * CHUNK..n.min((c + 1) * CHUNK)).try_for_each(|i| {
            flows.prefetch(i);
            render(i, &flows.row(i), buf)
        })
    };
    // Room for a chunk of typical rows up front, rather than twenty reallocations on the
    // first chunk.
    let fresh = || Chunk::with_room(CHUNK * ROW_BYTES);
    if threads == 1 {
        let mut buf = fresh();
        return (0..chunks).try_for_each(|c| {
            render_chunk(c, &mut buf)?;
            out.write_all(buf.as_slice())
        });
    }
    std::thread::scope(|s| {
        let helpers: Vec<_> = (0..threads)
            .map(|t| {
                let (done_tx, done_rx) = mpsc::sync_channel::<io::Result<Chunk>>(1);
                let (free_tx, free_rx) = mpsc::channel::<Chunk>();
                let render_chunk = &render_chunk;
                s.spawn(move || {
                    for c in (t..chunks).step_by(threads) {
                        let mut buf = free_rx.try_recv().unwrap_or_else(|_| fresh());
                        let rendered = render_chunk(c, &mut buf).map(|()| buf);
                        // The writer stopped (an error): so do we.
                        if done_tx.send(rendered).is_err() {
                            return;
                        }
                    }
                });
                (done_rx, free_tx)
            })
            .collect();
        for c in 0..chunks {
            let (done, free) = &helpers[c % threads];
            // A helper that hung up has panicked; the scope re-raises it.
            let Ok(rendered) = done.recv() else {
                break;
            };
            let buf = rendered?;
            out.write_all(buf.as_slice())?;
            let _ = free.send(buf);
        }
        // Dropping the channels here releases helpers still waiting to send.
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    fn opts(threads: usize) -> super::WriteOptions {
        super::WriteOptions {
            top: 10,
            threads,
            width: None,
            timeline: false,
        }
    }

    /// Every format renders the same bytes on 1 to 4 threads, chunk after chunk; a writer
    /// that fails midway gets its error back (the helpers do not hang on it).
    #[test]
    fn rows_come_in_order_on_any_number_of_threads() {
        use super::{write, OutputFormat};
        use crate::filter::FilterSet;
        use crate::report::build;
        use crate::report::testing::corpus_analyses;
        use std::io::{self, Write};

        struct Failing(usize);
        impl Write for Failing {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                if self.0 < b.len() {
                    return Err(io::Error::other("disk full"));
                }
                self.0 -= b.len();
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        let mut chunks = 0;
        for (path, analyzer, facts) in corpus_analyses() {
            let filters = FilterSet::default();
            let sel = analyzer.select(&filters);
            let report = build(&analyzer, &sel, std::slice::from_ref(&facts), 10, 1);
            chunks += report.flows.len().div_ceil(super::CHUNK);
            for format in [OutputFormat::Json, OutputFormat::Ndjson, OutputFormat::Csv] {
                let mut one = Vec::new();
                write(&report, format, &opts(1), &mut one).unwrap();
                for threads in 2..=4 {
                    let mut many = Vec::new();
                    write(&report, format, &opts(threads), &mut many).unwrap();
                    assert!(one == many, "{path:?} {format:?} on {threads} threads");
                    if !one.is_empty() {
                        let cut = one.len() / 2;
                        let failed = write(&report, format, &opts(threads), &mut Failing(cut));
                        assert_eq!(failed.unwrap_err().to_string(), "disk full");
                    }
                }
            }
        }
        assert!(chunks > 100, "only {chunks} chunks");
    }
}
