//! `nwcap analyze`: read local captures, account flows, print a report.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::Context;

use super::download;
use crate::analysis::{self, Analyzer, FileCounters, Selection};
use crate::azure::blob::Observer;
use crate::capture::write::CaptureWriter;
use crate::capture::{Format, Reader};
use crate::cli::{AnalyzeArgs, FilterArgs};
use crate::decode::{self, Decoded};
use crate::exit;
use crate::filter::{FilterSet, FilterSpec};
use crate::flow::{FlowKey, Keyer};
use crate::input::{self, Opened};
use crate::report::{self, FileFacts, OutputFormat, Readable};
use crate::window;

/// Builds the filter list: each `--filter` (and `--filters-json` entry) with the single-field
/// flags added; the flags alone when there is no `--filter`.
pub fn filter_specs(args: &FilterArgs) -> anyhow::Result<Vec<FilterSpec>> {
    let flags = FilterSpec {
        protocol: args.protocol.clone(),
        local_ip_address: args.local_ip.clone(),
        remote_ip_address: args.remote_ip.clone(),
        local_port: args.local_port.clone(),
        remote_port: args.remote_port.clone(),
    };
    let mut specs = Vec::new();
    for f in &args.filters {
        specs.push(FilterSpec::parse_kv(f).map_err(exit::usage)?);
    }
    if let Some(j) = &args.filters_json {
        let text = match j.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read filters file '{path}'"))
                .map_err(exit::usage)?,
            None => j.clone(),
        };
        let list: Vec<FilterSpec> = serde_json::from_str(&text)
            .context("--filters-json: expected a JSON list of filter objects")
            .map_err(exit::usage)?;
        specs.extend(list);
    }
    if specs.is_empty() {
        if !flags.is_empty() {
            specs.push(flags);
        }
        return Ok(specs);
    }
    specs
        .into_iter()
        .map(|s| s.merge(&flags).map_err(exit::usage))
        .collect()
}

/// Runs the analysis and prints the report; returns [`exit::DAMAGED_INPUT`] when an input
/// was damaged (the report still covers what was read).
pub fn run(args: &AnalyzeArgs, verbose: u8) -> anyhow::Result<i32> {
    let specs = filter_specs(&args.filter)?;
    let filters = FilterSet::compile(&specs).map_err(exit::usage)?;

    // Open everything first so a typo in the last path fails before any work.
    let mut inputs = args
        .files
        .iter()
        .map(|p| input::open(p).map(|o| (p.clone(), o)))
        .collect::<Result<Vec<_>, _>>()?;
    inputs.extend(fetch_remote(args, verbose)?);

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
    let mut analyzer = Analyzer::new();
    let mut files = Vec::with_capacity(inputs.len());
    let mut damaged = false;
    for (path, opened) in &inputs {
        let facts = analyze_one(path, opened, threads, verbose, &mut analyzer);
        if let Some(e) = &facts.error {
            eprintln!("nwcap: {path}: {e}");
            damaged = true;
        }
        files.push(facts);
    }
    lap("pass");
    analyzer.flows.release_index();
    let selection = analyzer.select(&filters);
    lap("selection");
    if let Some(path) = &args.write {
        write_matched(path, &inputs, &selection)
            .with_context(|| format!("cannot write '{}'", path.display()))?;
    }

    let format = args.output.unwrap_or(if io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Json
    });
    let report = report::build(&analyzer, &selection, &files, args.top, threads);
    lap("report");
    let mut out = BufWriter::with_capacity(1 << 16, report_output());
    let written =
        report::write(&report, format, args.top, threads, &mut out).and_then(|_| out.flush());
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

/// The blobs of `--capture` or `--url`, fetched into memory and checked as `download` checks
/// them, each named by its URL without the query (no SAS in a report).
fn fetch_remote(args: &AnalyzeArgs, verbose: u8) -> anyhow::Result<Vec<(String, Opened)>> {
    if args.capture.is_none() && args.url.is_empty() {
        return Ok(Vec::new());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let ui = download::Ui::new(verbose, false);
        let (downloader, urls) = download::blobs(
            args.capture.as_deref(),
            &args.url,
            &args.remote,
            false,
            verbose,
            &ui,
        )
        .await?;
        let mut fetched = Vec::with_capacity(urls.len());
        for url in &urls {
            let bytes = downloader.fetch(url, &ui).await.map_err(download::coded)?;
            ui.detail(&format!("fetched {url} ({} bytes)", bytes.len()));
            fetched.push((url.location(), input::from_memory(bytes)));
        }
        Ok(fetched)
    })
}

/// Where the report goes: standard output. Flow rows come in chunks of megabytes, and the
/// standard handle is line-buffered: it would scan every chunk for its last newline before
/// passing it on. A duplicate of the descriptor takes the chunks as they are; the standard
/// handle remains where there is none (no descriptor 1, or not a Unix).
fn report_output() -> Box<dyn Write> {
    #[cfg(unix)]
    if let Ok(fd) = std::os::fd::AsFd::as_fd(&io::stdout()).try_clone_to_owned() {
        return Box::new(File::from(fd));
    }
    Box::new(io::stdout().lock())
}

/// Peak and current memory from `/proc/self/status`, file-backed (mapped captures, of which the
/// pass touches only a few pages since it reads through a window) apart from anonymous
/// (nwcap's own tables and windows), so the two are never confused.
fn print_memory() {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
            .map_or_else(
                || "?".to_string(),
                |kb| format!("{:.1} MB", kb as f64 / 1024.0),
            )
    };
    eprintln!(
        "nwcap: memory: peak RSS {} (mapped pages included); at exit anonymous {}, file-backed {}",
        field("VmHWM:"),
        field("RssAnon:"),
        field("RssFile:")
    );
}

/// Writes the packets of the selected flows (a second pass: selection needs the whole
/// capture), as pcap when every input is pcap with one link type, pcapng otherwise.
fn write_matched(
    path: &std::path::Path,
    inputs: &[(String, Opened)],
    sel: &Selection<'_>,
) -> anyhow::Result<()> {
    let mut linktypes = inputs.iter().map(|(_, o)| match Reader::new(&o.data) {
        Ok(Reader::Pcap(r)) => Some(r.linktype()),
        _ => None,
    });
    let first = linktypes.next().flatten();
    let single = first.filter(|lt| linktypes.all(|l| l == Some(*lt)));
    let out = BufWriter::new(File::create(path)?);
    let mut w = match single {
        Some(lt) => CaptureWriter::new_pcap(out, lt)?,
        None => CaptureWriter::new_pcapng(out)?,
    };
    let keys: HashSet<FlowKey> = sel.flows.iter().map(|(k, _)| k).collect();
    for (_, opened) in inputs {
        let Ok(reader) = Reader::new(&opened.data) else {
            continue;
        };
        // A fresh keyer sees the fragments in the same order as the first pass did.
        let mut keyer = Keyer::default();
        for rec in reader.map_while(Result::ok) {
            let keep = match decode::decode(rec.linktype, rec.data) {
                Decoded::Ip(p) => keys.contains(&keyer.key(&p).0),
                Decoded::NonIp(_) => sel.non_ip,
            };
            if keep {
                w.write(&rec)?;
            }
        }
    }
    w.finish()?;
    Ok(())
}

fn analyze_one(
    path: &str,
    opened: &Opened,
    threads: usize,
    verbose: u8,
    analyzer: &mut Analyzer,
) -> FileFacts {
    let mut facts = FileFacts {
        path: path.to_string(),
        format: None,
        snaplen: 0,
        interfaces: 0,
        counters: FileCounters::default(),
        readable: Readable::Full,
        error: None,
        warnings: opened.warning.iter().cloned().collect(),
    };
    let reader = match Reader::new(&opened.data) {
        Ok(r) => r,
        Err(e) => {
            facts.readable = Readable::None;
            facts.error = Some(e.to_string());
            return facts;
        }
    };
    let fmt = reader.format();
    facts.format = Some(match (fmt, opened.gzip) {
        (f, true) => format!("{f}, gzip-compressed"),
        (Format::Pcap { .. } | Format::Pcapng, false) => fmt.to_string(),
    });
    // A file on disk is read through a window; bytes already in memory are walked in place.
    let windowed = opened.on_disk().map(|(f, map)| analysis::Windowed {
        src: f,
        map: Some(map),
        window: window::WINDOW,
    });
    let pass = analysis::run_parallel(
        reader,
        &opened.data,
        windowed,
        threads,
        &mut facts.counters,
        analyzer,
    );
    if verbose > 1 {
        eprintln!("nwcap: {path}: read in {} shard(s)", pass.shards);
    }
    let info = pass.info;
    if let Some(e) = pass.error {
        facts.readable = if facts.counters.packets == 0 {
            Readable::None
        } else {
            Readable::Partial
        };
        facts.error = Some(e.to_string());
    }
    facts.snaplen = info.snaplen;
    facts.interfaces = info.interfaces;
    if info.skipped_blocks > 0 {
        facts.warnings.push(format!(
            "{} pcapng blocks of unknown or unused types skipped",
            info.skipped_blocks
        ));
    }
    if facts.counters.packets == 0 && facts.error.is_none() {
        facts.warnings.push("the capture holds no packets".into());
    }
    for (lt, n) in facts.counters.linktypes() {
        if crate::decode::linktype_name(lt).ends_with("(unsupported)") {
            facts.warnings.push(format!(
                "{n} packets of unsupported link type {lt} counted but not decoded"
            ));
        }
    }
    facts
}
