//! Blobs read by one pass as they download (`--capture`, `--url`): finding them, the target's
//! addresses, and streaming each into an analyzer.

use super::read;
use crate::azure::blob::{BlobDownloader, BlobUrl, Observer};
use crate::azure::stream::Streamed;
use crate::azure::vm_addresses::Machine;
use crate::cli::AnalyzeArgs;
use crate::commands::remote;
use nwcap_analysis::pass::{Analyzer, FileFacts};
use nwcap_analysis::source::{Input, Stream};

/// The blobs of `--capture` or `--url`, and what reads them.
pub(super) struct Remote {
    rt: tokio::runtime::Runtime,
    downloader: BlobDownloader,
    /// The blobs.
    pub(super) urls: Vec<BlobUrl>,
    ui: remote::Ui,
    /// The addresses of `--capture`'s target, or why they could not be read.
    pub(super) target: Option<Result<Vec<Machine>, String>>,
    /// `--inspect`.
    inspect: bool,
    /// `--health`.
    health: bool,
}

/// Pieces a blob's download may hold ready for the pass, beyond the ranges it holds itself: it
/// delivers the bytes in pieces of 1 MiB, so this bounds memory as `download` bounds it,
/// whatever the blob's size.
const AHEAD: usize = 2;

impl Remote {
    /// Resolves `--capture` (in Resource Manager, then in the storage account) or `--url`;
    /// `None` when there is neither.
    pub(super) fn find(args: &AnalyzeArgs, verbose: u8) -> anyhow::Result<Option<Remote>> {
        if args.capture.is_none() && args.url.is_empty() {
            return Ok(None);
        }
        let rt = crate::commands::runtime()?;
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
            inspect: args.inspect,
            health: args.health,
        }))
    }

    /// Streams the blob at `url` through one pass while it downloads, so that memory does not
    /// grow with its size and the two overlap. The report of a blob that fails its checks
    /// (size, Content-MD5, etag) is not returned: the error is. With `keep`, also returns the
    /// whole blob, for `--write`'s second pass; a gzip blob is inflated in memory first.
    pub(super) fn analyze(
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

    /// Streams every blob, up to `threads` at once, each into an analyzer of its own, merged
    /// in the blobs' order afterwards so that the report is the one a sequential read gives
    /// (fragments that span two blobs included: see [`Analyzer::for_later_shard`]). Memory is
    /// the download buffers of the blobs in flight, plus their flow tables. The first failure,
    /// in the blobs' order, is the error. With `per_file`, each blob is also rendered alone
    /// (its analyzer is then a fresh one, not a later shard's).
    #[allow(clippy::type_complexity)]
    pub(super) fn analyze_all(
        &self,
        keep: bool,
        threads: usize,
        verbose: u8,
        per_file: Option<&(dyn Fn(&Analyzer, &FileFacts) -> Vec<u8> + Sync)>,
        analyzer: &mut Analyzer,
    ) -> anyhow::Result<Vec<(FileFacts, Option<Input<'static>>, Option<Vec<u8>>)>> {
        type Done = anyhow::Result<(FileFacts, Option<Input<'static>>, Analyzer)>;
        let n = self.urls.len();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done: Vec<std::sync::Mutex<Option<Done>>> =
            (0..n).map(|_| std::sync::Mutex::new(None)).collect();
        let timeline = analyzer.timeline_settings();
        let timeline = &timeline;
        std::thread::scope(|s| {
            for _ in 0..threads.clamp(1, n.max(1)) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(url) = self.urls.get(i) else { break };
                    let a = if per_file.is_some() {
                        Analyzer::new()
                    } else {
                        Analyzer::for_later_shard()
                    };
                    let (width, classes) = timeline.clone();
                    let mut a = a
                        .inspecting_payloads(self.inspect)
                        .with_health(self.health)
                        .with_timeline(width, classes);
                    let r = self.analyze(url, keep, verbose, &mut a);
                    let r = r.map(|(facts, kept)| (facts, kept, a));
                    if let Ok(mut slot) = done[i].lock() {
                        *slot = Some(r);
                    }
                });
            }
        });
        let mut out = Vec::with_capacity(n);
        for slot in done {
            let r = slot
                .into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(anyhow::anyhow!("a blob's reader stopped")));
            let (facts, kept, a) = r?;
            let alone = per_file.map(|render| render(&a, &facts));
            analyzer.merge(a, threads);
            out.push((facts, kept, alone));
        }
        Ok(out)
    }
}
