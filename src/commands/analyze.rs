//! `nwcap analyze`: read local captures, account flows, print a report.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::Context;

use super::download;
use crate::azure::blob::{BlobDownloader, BlobUrl, Observer};
use crate::azure::stream::Streamed;
use crate::cli::{AnalyzeArgs, FilterArgs};
use crate::exit;
use nwcap_analysis::filter::{FilterSet, FilterSpec};
use nwcap_analysis::pass::{self, Analyzer, FileFacts};
use nwcap_analysis::report::{self, OutputFormat};
use nwcap_analysis::source::{self, Input, Stream};

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

    // Open everything first so a typo in the last path fails before any work; blobs are
    // found (and their access checked) before any is read.
    let mut inputs = args
        .files
        .iter()
        .map(|p| source::open(p).map(|o| (p.clone(), o)))
        .collect::<Result<Vec<_>, _>>()?;
    let remote = Remote::find(args, verbose)?;

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
    for (path, input) in &inputs {
        files.push(read(path, input, threads, verbose, &mut analyzer));
    }
    if let Some(remote) = &remote {
        for url in &remote.urls {
            let (facts, kept) =
                remote.analyze(url, args.write.is_some(), verbose, &mut analyzer)?;
            files.push(facts);
            if let Some(kept) = kept {
                inputs.push((url.location(), kept));
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
    let selection = analyzer.select(&filters);
    lap("selection");
    if let Some(path) = &args.write {
        let whole: Vec<&[u8]> = inputs.iter().filter_map(|(_, i)| i.whole()).collect();
        File::create(path)
            .and_then(|f| pass::write_matched(&whole, &selection, BufWriter::new(f)))
            .with_context(|| format!("cannot write '{}'", path.display()))?;
    }

    let format = args
        .output
        .map(OutputFormat::from)
        .unwrap_or(if io::stdout().is_terminal() {
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

/// The blobs of `--capture` or `--url`, and what reads them.
struct Remote {
    rt: tokio::runtime::Runtime,
    downloader: BlobDownloader,
    urls: Vec<BlobUrl>,
    ui: download::Ui,
}

/// Chunks a blob's download may hold ready for the pass, beyond the ranges the SDK buffers
/// itself: it delivers each range (`--block-size`, 16 MiB by default) as one chunk, so this
/// bounds memory as `download` bounds it, whatever the blob's size.
const AHEAD: usize = 2;

impl Remote {
    /// Resolves `--capture` (in Resource Manager, then in the storage account) or `--url`;
    /// `None` when there is neither.
    fn find(args: &AnalyzeArgs, verbose: u8) -> anyhow::Result<Option<Remote>> {
        if args.capture.is_none() && args.url.is_empty() {
            return Ok(None);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let ui = download::Ui::new(verbose, false);
        let (downloader, urls) = rt.block_on(download::blobs(
            args.capture.as_deref(),
            &args.url,
            &args.remote,
            false,
            verbose,
            &ui,
        ))?;
        Ok(Some(Remote {
            rt,
            downloader,
            urls,
            ui,
        }))
    }

    /// Streams the blob at `url` through one pass while it downloads, so that memory does not
    /// grow with its size and the two overlap. The report of a blob that fails its checks
    /// (size, Content-MD5, etag) is not returned: the error is. With `keep`, also returns the
    /// whole blob, for `--write`'s second pass; a gzip blob is inflated in memory first.
    fn analyze(
        &self,
        url: &BlobUrl,
        keep: bool,
        verbose: u8,
        analyzer: &mut Analyzer,
    ) -> anyhow::Result<(FileFacts, Option<Input<'static>>)> {
        let props = self
            .rt
            .block_on(self.downloader.properties(url))
            .map_err(download::coded)?;
        let (tx, rx) = tokio::sync::mpsc::channel(AHEAD);
        let path = url.location();
        let (fetched, (facts, kept)) = std::thread::scope(|s| {
            let pass = s.spawn(|| {
                let mut stream = Streamed::open(rx, props.size);
                // A gzip blob cannot be walked as it arrives: it is inflated whole first.
                if stream.head().starts_with(&[0x1f, 0x8b]) {
                    stream.keep();
                    let all = Input::from_memory(stream.finish().unwrap_or_default());
                    let facts = read(&path, &all, 1, verbose, analyzer);
                    return (facts, keep.then_some(all));
                }
                if keep {
                    stream.keep();
                }
                let facts = read(&path, &Input::streamed(&stream), 1, verbose, analyzer);
                (facts, stream.finish().map(Input::from_memory))
            });
            let fetched = self
                .rt
                .block_on(self.downloader.stream(url, &props, tx, &self.ui));
            let done = pass.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (fetched, done)
        });
        fetched.map_err(download::coded)?;
        self.ui
            .detail(&format!("fetched {url} ({} bytes)", props.size));
        Ok((facts, kept))
    }
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
