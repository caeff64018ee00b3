//! `nwcap analyze`: read local captures (and blobs), account flows, print a report.

mod blobs;
mod files;
mod filters;
mod output;

pub use filters::filter_specs;

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::Context;

use super::remote;
use crate::azure::vm_addresses::Machine;
use crate::cli::AnalyzeArgs;
use crate::exit;
use blobs::Remote;
use files::{file_id, refuse_overwriting_inputs, write_atomically, FileId};
use nwcap_analysis::decode::Addr;
use nwcap_analysis::filter::FilterSet;
use nwcap_analysis::pass::{self, Analyzer, FileFacts};
use nwcap_analysis::report::{self, OutputFormat};
use nwcap_analysis::source::{self, Input};
use output::{print_memory, report_output, terminal_width};

/// Runs the analysis and prints the report; returns [`exit::DAMAGED_INPUT`] when an input
/// was damaged (the report still covers what was read).
pub fn run(args: &AnalyzeArgs, verbose: u8) -> anyhow::Result<i32> {
    let specs = filter_specs(&args.filter)?;
    let filters = FilterSet::compile(&specs).map_err(exit::usage)?;

    if let Some(out) = &args.write {
        refuse_overwriting_inputs(out, &args.files)?;
    }
    // Open everything first, so that a typo in the last path is told before any work; an input
    // that cannot be opened is reported beside the others. Blobs are found (and their access
    // checked) before any is read.
    let mut inputs = Vec::with_capacity(args.files.len());
    let mut seen: Vec<(FileId, &str)> = Vec::new();
    for p in &args.files {
        if let Some(id) = file_id(Path::new(p)).filter(|_| p != "-") {
            if let Some((_, first)) = seen.iter().find(|(s, _)| *s == id) {
                eprintln!("nwcap: warning: '{p}' is the same file as '{first}': read once");
                continue;
            }
            seen.push((id, p));
        }
        inputs.push((p.clone(), source::open(p)));
    }
    let remote = Remote::find(args, verbose)?;
    let target_of = match &args.target_of {
        Some(name) => {
            Some(super::runtime()?.block_on(remote::capture_target(name, &args.remote, verbose))?)
        }
        None => None,
    };
    if remote.is_none() && inputs.iter().all(|(_, i)| i.is_err()) {
        // Nothing to report on: each failure is told, the last as the error.
        let mut errors: Vec<_> = inputs.into_iter().filter_map(|(_, i)| i.err()).collect();
        let last = errors.pop().map(anyhow::Error::from);
        for e in errors {
            eprintln!("nwcap: {:#}", anyhow::Error::from(e));
        }
        return Err(last.unwrap_or_else(|| anyhow::anyhow!("no input given")));
    }

    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let clock = std::time::Instant::now();
    let lap = |what: &str| {
        if verbose > 1 {
            eprintln!(
                "nwcap: {what} done at {:.3} s",
                clock.elapsed().as_secs_f64()
            );
        }
    };
    let mut target_warning = None;
    let machines: &[Machine] = match remote
        .as_ref()
        .and_then(|r| r.target.as_ref())
        .or(target_of.as_ref())
    {
        Some(Ok(m)) => m,
        _ => &[],
    };
    let target: Vec<Addr> = match remote
        .as_ref()
        .and_then(|r| r.target.as_ref())
        .or(target_of.as_ref())
    {
        Some(Ok(machines)) => addresses(machines.iter()),
        Some(Err(why)) => {
            target_warning = Some(format!(
                "the capture target's addresses could not be read ({why}): the local address is inferred"
            ));
            Vec::new()
        }
        None => Vec::new(),
    };
    let format = args
        .output
        .map(OutputFormat::from)
        .unwrap_or(if io::stdout().is_terminal() {
            OutputFormat::Table
        } else {
            OutputFormat::Json
        });
    if args.by_file && !matches!(format, OutputFormat::Table | OutputFormat::Json) {
        return Err(exit::usage(anyhow::anyhow!(
            "--by-file gives one report per file: use it with -o table or -o json"
        )));
    }
    let width = terminal_width();
    // --by-file: each file's report, rendered from its own analyzer before that is merged.
    let render = |a: &Analyzer, facts: &FileFacts| -> Vec<u8> {
        // A scale-set instance's file: that instance's addresses.
        let own = instance_of(&facts.path, machines).map(|m| addresses(std::iter::once(m)));
        let sel = a.select_known(&filters, own.as_deref().unwrap_or(&target));
        let r = report::build(a, &sel, std::slice::from_ref(facts), args.top, 1);
        let mut buf = Vec::new();
        let options = report::WriteOptions {
            top: args.top,
            threads: 1,
            width,
            timeline: false,
        };
        // Writing into memory cannot fail.
        let _ = report::write(&r, format, &options, &mut buf);
        buf
    };
    let per_file = args
        .by_file
        .then_some(&render as &(dyn Fn(&Analyzer, &FileFacts) -> Vec<u8> + Sync));
    let mut by_file: Vec<Vec<u8>> = Vec::new();
    let (width_ns, classes) = (
        args.interval.map(interval_ns),
        pass::timeline_classes(&filters, &target),
    );
    let mut analyzer = Analyzer::new()
        .inspecting_payloads(args.inspect)
        .with_health(args.health)
        .with_timeline(width_ns, classes.clone());
    let mut files = Vec::with_capacity(inputs.len());
    let mut damaged = false;
    for (path, input) in &inputs {
        files.push(match input {
            Ok(input) if args.by_file => {
                let mut a = Analyzer::new()
                    .inspecting_payloads(args.inspect)
                    .with_health(args.health)
                    .with_timeline(width_ns, classes.clone());
                let facts = read(path, input, threads, verbose, &mut a);
                by_file.push(render(&a, &facts));
                analyzer.merge(a, threads);
                facts
            }
            Ok(input) => read(path, input, threads, verbose, &mut analyzer),
            Err(e) => {
                let facts = FileFacts::unreadable(path, e.cause());
                if args.by_file {
                    by_file.push(render(&Analyzer::new(), &facts));
                }
                facts
            }
        });
    }
    if let Some(remote) = &remote {
        let read = remote.analyze_all(
            args.write.is_some(),
            threads,
            verbose,
            per_file,
            &mut analyzer,
        )?;
        for ((facts, kept, report), url) in read.into_iter().zip(&remote.urls) {
            files.push(facts);
            by_file.extend(report);
            if let Some(kept) = kept {
                inputs.push((url.location(), Ok(kept)));
            }
        }
    }
    for f in &files {
        if let Some(e) = &f.error {
            eprintln!("nwcap: {}: {e}", f.path);
            damaged = true;
        }
    }
    lap("pass");
    analyzer.flows.release_index();
    analyzer.flows.release_sequences();
    let selection = analyzer.select_known(&filters, &target);
    lap("selection");
    if let Some(path) = &args.write {
        let whole: Vec<&[u8]> = inputs
            .iter()
            .filter_map(|(_, i)| i.as_ref().ok()?.whole())
            .collect();
        write_atomically(path, |f| {
            pass::write_matched(&whole, &selection, BufWriter::new(f))
        })
        .with_context(|| format!("cannot write '{}'", path.display()))?;
    }

    let mut report = report::build(&analyzer, &selection, &files, args.top, threads);
    if let Some(w) = target_warning {
        if format != OutputFormat::Table {
            eprintln!("nwcap: warning: {w}");
        }
        report.summary.warnings.insert(0, w);
    }
    lap("report");
    let mut out = BufWriter::with_capacity(1 << 16, report_output());
    let options = report::WriteOptions {
        top: args.top,
        threads,
        width,
        timeline: args.timeline,
    };
    let written = if args.by_file {
        write_with_files(&report, format, &options, &files, &by_file, &mut out)
    } else {
        report::write(&report, format, &options, &mut out)
    }
    .and_then(|_| out.flush());
    match written {
        // `nwcap analyze x.cap | head` is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        other => other.context("cannot write the report to standard output")?,
    }
    lap("output");
    if verbose > 0 {
        print_memory();
    }
    // Unmapping a multi-gigabyte capture and freeing the flow table page by page costs tens of
    // milliseconds the process exit does for free.
    std::mem::forget(report);
    std::mem::forget(selection);
    std::mem::forget(analyzer);
    std::mem::forget(inputs);
    Ok(if damaged {
        exit::DAMAGED_INPUT
    } else {
        exit::OK
    })
}

/// Every address of `machines`, once each, in order.
fn addresses<'m>(machines: impl Iterator<Item = &'m Machine>) -> Vec<Addr> {
    let mut all: Vec<Addr> = Vec::new();
    for a in machines.flat_map(|m| &m.addresses) {
        if !all.contains(&Addr::from(*a)) {
            all.push(Addr::from(*a));
        }
    }
    all
}

/// The scale-set instance a file (or blob) belongs to, from its path: the segment after
/// `virtualMachines/`, else its folder's or its own name (`…/3/x.cap`, `…/3.cap`), when that
/// names exactly one instance. Network Watcher does not document the layout of a scale-set
/// capture's files, so nothing else is guessed.
fn instance_of<'m>(path: &str, machines: &'m [Machine]) -> Option<&'m Machine> {
    let segments: Vec<&str> = path.split(['/', '\\']).collect();
    let named = |s: &str| {
        machines.iter().find(|m| {
            m.instance
                .as_deref()
                .is_some_and(|i| i.eq_ignore_ascii_case(s))
        })
    };
    if let Some(i) = segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("virtualmachines"))
    {
        if let Some(m) = segments.get(i + 1).and_then(|s| named(s)) {
            return Some(m);
        }
    }
    let file = segments.last()?;
    let stem = file.strip_suffix(".cap").unwrap_or(file);
    let folder = segments.len().checked_sub(2).and_then(|i| segments.get(i));
    match (named(stem), folder.and_then(|f| named(f))) {
        (Some(m), None) | (None, Some(m)) => Some(m),
        _ => None,
    }
}

/// The merged report followed by each file's: in JSON as the merged object with `by_file`
/// added (`[{"path": ..., "report": {...}}]`), in a table as one section per file.
fn write_with_files(
    report: &report::Report<'_>,
    format: OutputFormat,
    options: &report::WriteOptions,
    files: &[FileFacts],
    by_file: &[Vec<u8>],
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut merged = Vec::new();
    report::write(report, format, options, &mut merged)?;
    if format == OutputFormat::Json {
        // `{...}\n`: reopen the object to add the files' reports.
        let end = merged
            .iter()
            .rposition(|&b| b == b'}')
            .unwrap_or(merged.len());
        out.write_all(&merged[..end])?;
        out.write_all(b",\"by_file\":[")?;
        for (i, (f, r)) in files.iter().zip(by_file).enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(b"{\"path\":")?;
            serde_json::to_writer(&mut *out, &f.path)?;
            out.write_all(b",\"report\":")?;
            out.write_all(r.trim_ascii_end())?;
            out.write_all(b"}")?;
        }
        return out.write_all(b"]}\n");
    }
    out.write_all(&merged)?;
    for (f, r) in files.iter().zip(by_file) {
        writeln!(out, "\n=== {} ===\n", f.path)?;
        out.write_all(r)?;
    }
    Ok(())
}

/// [`pass::read_input`], saying in how many shards with `-vv`.
fn read(
    path: &str,
    input: &Input<'_>,
    threads: usize,
    verbose: u8,
    analyzer: &mut Analyzer,
) -> FileFacts {
    let (facts, shards) = pass::read_input(path, input, threads, analyzer);
    if verbose > 1 && facts.format.is_some() {
        eprintln!("nwcap: {path}: read in {shards} shard(s)");
    }
    facts
}

/// A timeline interval in nanoseconds (`--interval` is at most 3·10^7 s, well within).
fn interval_ns(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
