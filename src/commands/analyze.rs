//! `nwcap analyze`: read local captures, account flows, print a report.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::Context;

use crate::analysis::{Analyzer, FileCounters};
use crate::capture::write::CaptureWriter;
use crate::capture::{Format, Reader};
use crate::cli::{AnalyzeArgs, FilterArgs};
use crate::exit;
use crate::filter::{FilterSet, FilterSpec};
use crate::input::{self, Opened};
use crate::report::{self, FileFacts, OutputFormat, Readable};

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
pub fn run(args: &AnalyzeArgs) -> anyhow::Result<i32> {
    let specs = filter_specs(&args.filter)?;
    let filters = FilterSet::compile(&specs).map_err(exit::usage)?;

    // Open everything first so a typo in the last path fails before any work.
    let inputs = args
        .files
        .iter()
        .map(|p| input::open(p).map(|o| (p.clone(), o)))
        .collect::<Result<Vec<_>, _>>()?;

    let mut writer = match &args.write {
        Some(path) => Some(open_writer(path, &inputs)?),
        None => None,
    };

    let mut analyzer = Analyzer::new(filters);
    let mut files = Vec::with_capacity(inputs.len());
    let mut damaged = false;
    for (path, opened) in &inputs {
        let facts = analyze_one(path, opened, &mut analyzer, writer.as_mut())?;
        if let Some(e) = &facts.error {
            eprintln!("nwcap: {path}: {e}");
            damaged = true;
        }
        files.push(facts);
    }
    if let Some(w) = writer {
        let path = args.write.as_deref().unwrap_or(std::path::Path::new(""));
        w.finish()
            .with_context(|| format!("cannot write '{}'", path.display()))?;
    }

    let format = args.output.unwrap_or(if io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Json
    });
    let report = report::build(&analyzer, &files, args.top);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = report::write(&report, format, args.top, &mut out).and_then(|_| out.flush());
    match written {
        // `nwcap analyze x.cap | head` is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        other => other.context("cannot write the report to standard output")?,
    }
    Ok(if damaged {
        exit::DAMAGED_INPUT
    } else {
        exit::OK
    })
}

type Sink = CaptureWriter<BufWriter<File>>;

/// pcap when every input is pcap with one link type, pcapng otherwise.
fn open_writer(path: &std::path::Path, inputs: &[(String, Opened)]) -> anyhow::Result<Sink> {
    let mut linktypes = inputs.iter().map(|(_, o)| match Reader::new(&o.data) {
        Ok(Reader::Pcap(r)) => Some(r.linktype()),
        _ => None,
    });
    let first = linktypes.next().flatten();
    let single = first.filter(|lt| linktypes.all(|l| l == Some(*lt)));
    let file = File::create(path).with_context(|| format!("cannot create '{}'", path.display()))?;
    let out = BufWriter::new(file);
    let w = match single {
        Some(lt) => CaptureWriter::new_pcap(out, lt),
        None => CaptureWriter::new_pcapng(out),
    };
    w.with_context(|| format!("cannot write '{}'", path.display()))
}

fn analyze_one(
    path: &str,
    opened: &Opened,
    analyzer: &mut Analyzer,
    mut writer: Option<&mut Sink>,
) -> anyhow::Result<FileFacts> {
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
    let mut reader = match Reader::new(&opened.data) {
        Ok(r) => r,
        Err(e) => {
            facts.readable = Readable::None;
            facts.error = Some(e.to_string());
            return Ok(facts);
        }
    };
    let fmt = reader.format();
    facts.format = Some(match (fmt, opened.gzip) {
        (f, true) => format!("{f}, gzip-compressed"),
        (Format::Pcap { .. } | Format::Pcapng, false) => fmt.to_string(),
    });
    for rec in reader.by_ref() {
        match rec {
            Ok(r) => {
                facts.counters.add(&r);
                if analyzer.feed(&r) {
                    if let Some(w) = writer.as_deref_mut() {
                        w.write(&r).context("cannot write the matched packets")?;
                    }
                }
            }
            Err(e) => {
                facts.readable = if facts.counters.packets == 0 {
                    Readable::None
                } else {
                    Readable::Partial
                };
                facts.error = Some(e.to_string());
            }
        }
    }
    let info = reader.info();
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
    for (&lt, &n) in &facts.counters.linktypes {
        if crate::decode::linktype_name(lt).ends_with("(unsupported)") {
            facts.warnings.push(format!(
                "{n} packets of unsupported link type {lt} counted but not decoded"
            ));
        }
    }
    Ok(facts)
}
