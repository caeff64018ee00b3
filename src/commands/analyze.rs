//! `nwcap analyze`: read local captures, account flows, print a report.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::Context;

use super::remote;
use crate::azure::blob::{BlobDownloader, BlobUrl, Observer};
use crate::azure::stream::Streamed;
use crate::azure::vm_addresses::Machine;
use crate::cli::{AnalyzeArgs, FilterArgs};
use crate::exit;
use nwcap_analysis::decode::Addr;
use nwcap_analysis::filter::{FilterError, FilterSet, FilterSpec};
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
    for (flag, field, value) in flag_fields(&flags) {
        if value.trim().is_empty() {
            return Err(exit::usage(anyhow::anyhow!(
                "{flag}: empty value for {field} (leave the flag out to match any)"
            )));
        }
    }
    // Each filter with where it came from, for messages.
    let mut specs = Vec::new();
    for f in &args.filters {
        let spec = FilterSpec::parse_kv(f)
            .with_context(|| format!("--filter '{f}'"))
            .map_err(exit::usage)?;
        specs.push((format!("--filter '{f}'"), spec));
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
        specs.extend(
            (1..)
                .zip(list)
                .map(|(i, f)| (format!("--filters-json entry {i}"), f)),
        );
    }
    if specs.is_empty() {
        if !flags.is_empty() {
            return Ok(vec![flags]);
        }
        return Ok(Vec::new());
    }
    specs
        .into_iter()
        .map(|(origin, s)| {
            s.merge(&flags).map_err(|e| match e {
                FilterError::Duplicate(field) => {
                    let (flag, value) = flag_fields(&flags)
                        .find(|(_, f, _)| *f == field)
                        .map_or(("a flag", ""), |(flag, _, v)| (flag, v));
                    exit::usage(anyhow::anyhow!(
                        "{field} given twice: {flag} {value} and {origin} both set it (a \
                         single-field flag adds its field to every filter)"
                    ))
                }
                e => exit::usage(e),
            })
        })
        .collect()
}

/// The single-field flags that are set: flag name, field name, value.
fn flag_fields(flags: &FilterSpec) -> impl Iterator<Item = (&'static str, &'static str, &str)> {
    [
        ("--protocol", "protocol", &flags.protocol),
        ("--local-ip", "localIPAddress", &flags.local_ip_address),
        ("--remote-ip", "remoteIPAddress", &flags.remote_ip_address),
        ("--local-port", "localPort", &flags.local_port),
        ("--remote-port", "remotePort", &flags.remote_port),
    ]
    .into_iter()
    .filter_map(|(flag, field, v)| Some((flag, field, v.as_deref()?)))
}

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
    let mut analyzer = Analyzer::new();
    let mut files = Vec::with_capacity(inputs.len());
    let mut damaged = false;
    for (path, input) in &inputs {
        files.push(match input {
            Ok(input) => read(path, input, threads, verbose, &mut analyzer),
            Err(e) => FileFacts::unreadable(path, e.cause()),
        });
    }
    if let Some(remote) = &remote {
        for url in &remote.urls {
            let (facts, kept) =
                remote.analyze(url, args.write.is_some(), verbose, &mut analyzer)?;
            files.push(facts);
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
    let mut target_warning = None;
    let target: Vec<Addr> = match remote
        .as_ref()
        .and_then(|r| r.target.as_ref())
        .or(target_of.as_ref())
    {
        Some(Ok(machines)) => {
            let mut all: Vec<Addr> = Vec::new();
            for a in machines.iter().flat_map(|m| &m.addresses) {
                if !all.contains(&Addr::from(*a)) {
                    all.push(Addr::from(*a));
                }
            }
            all
        }
        Some(Err(why)) => {
            target_warning = Some(format!(
                "the capture target's addresses could not be read ({why}): the local address is inferred"
            ));
            Vec::new()
        }
        None => Vec::new(),
    };
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

    let format = args
        .output
        .map(OutputFormat::from)
        .unwrap_or(if io::stdout().is_terminal() {
            OutputFormat::Table
        } else {
            OutputFormat::Json
        });
    let mut report = report::build(&analyzer, &selection, &files, args.top, threads);
    if let Some(w) = target_warning {
        if format != OutputFormat::Table {
            eprintln!("nwcap: warning: {w}");
        }
        report.summary.warnings.insert(0, w);
    }
    lap("report");
    let mut out = BufWriter::with_capacity(1 << 16, report_output());
    let written = report::write(
        &report,
        format,
        &report::WriteOptions {
            top: args.top,
            threads,
            width: terminal_width(),
        },
        &mut out,
    )
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

/// The blobs of `--capture` or `--url`, and what reads them.
struct Remote {
    rt: tokio::runtime::Runtime,
    downloader: BlobDownloader,
    urls: Vec<BlobUrl>,
    ui: remote::Ui,
    /// The addresses of `--capture`'s target, or why they could not be read.
    target: Option<Result<Vec<Machine>, String>>,
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
        let rt = super::runtime()?;
        let ui = remote::Ui::new(verbose, false);
        let (downloader, urls, capture) = rt.block_on(remote::blobs(
            args.capture.as_deref(),
            &args.url,
            &args.remote,
            false,
            verbose,
            &ui,
        ))?;
        let target =
            capture.map(|c| rt.block_on(remote::target_machines(&c, &args.remote, verbose)));
        Ok(Some(Remote {
            rt,
            downloader,
            urls,
            ui,
            target,
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
            .map_err(remote::coded)?;
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
        fetched.map_err(remote::coded)?;
        self.ui
            .detail(&format!("fetched {url} ({} bytes)", props.size));
        Ok((facts, kept))
    }
}

/// The width the table must fit: `COLUMNS` when set, else the terminal's when standard output
/// is one; `None` (no limit) for a pipe or a file.
fn terminal_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
    {
        return Some(n).filter(|&n| n > 0);
    }
    if !io::stdout().is_terminal() {
        return None;
    }
    #[cfg(unix)]
    {
        // SAFETY: TIOCGWINSZ fills the `winsize` it is given and nothing else.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
        if ok && ws.ws_col > 0 {
            return Some(usize::from(ws.ws_col));
        }
    }
    None
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

/// A file's identity (device, inode), links resolved; `None` where it cannot be had (no such
/// file, or not a Unix).
type FileId = (u64, u64);

fn file_id(path: &Path) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Refuses `--write` to a file that is one of the inputs (through any link): writing it would
/// destroy the capture being read.
fn refuse_overwriting_inputs(out: &Path, inputs: &[String]) -> anyhow::Result<()> {
    let Some(id) = file_id(out) else {
        return Ok(());
    };
    match inputs
        .iter()
        .find(|p| *p != "-" && file_id(Path::new(p)) == Some(id))
    {
        Some(p) => Err(exit::usage(anyhow::anyhow!(
            "--write '{}' is the input '{p}' (the same file): nwcap never overwrites an input",
            out.display()
        ))),
        None => Ok(()),
    }
}

/// Writes `path` through `write` into a new file beside it, renamed into place only once
/// complete: a failure leaves `path` as it was.
fn write_atomically(path: &Path, write: impl FnOnce(&File) -> io::Result<()>) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new();
    temp.prefix(".nwcap-").suffix(".part");
    // The mode a plain create gives (0666 less the umask), not the temporary file's 0600.
    #[cfg(unix)]
    temp.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let temp = temp.tempfile_in(dir)?;
    write(temp.as_file())?;
    temp.persist(path).map_err(|e| e.error)?;
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
