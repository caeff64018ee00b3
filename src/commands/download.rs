//! `nwcap download`: turn a capture (or blob URLs) into blob URLs, download each to a local
//! file, and show progress. The transfer itself lives in [`crate::azure::blob`].

use std::collections::HashSet;
use std::io::IsTerminal;
use std::num::NonZero;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::arm_common;
use crate::azure::blob::{
    redact, BlobDownloader, BlobError, BlobUrl, DownloadOptions, Observer, Outcome,
};
use crate::azure::packet_capture::PacketCaptures;
use crate::cli::{DownloadArgs, RemoteArgs};
use crate::exit::{self, Coded};

/// Downloads every blob of the capture (or the `--url`s); stops at the first failure, whose
/// kind decides the exit code.
pub fn run(args: &DownloadArgs, verbose: u8) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(download(args, verbose))
}

async fn download(args: &DownloadArgs, verbose: u8) -> anyhow::Result<i32> {
    let ui = Ui::new(verbose, args.quiet);
    let (downloader, urls) = blobs(
        args.capture.as_deref(),
        &args.url,
        &args.remote,
        args.force,
        verbose,
        &ui,
    )
    .await?;
    for (url, dest) in plan_destinations(&urls, args.output.as_deref())? {
        match downloader.download(&url, &dest, &ui).await {
            Ok(Outcome::Downloaded {
                bytes,
                resumed_from,
                md5_checked,
            }) => {
                let how = match (resumed_from, md5_checked) {
                    (0, true) => "size and MD5 verified".to_string(),
                    (0, false) => "size verified".to_string(),
                    (r, true) => format!("resumed at byte {r}; size and MD5 verified"),
                    (r, false) => format!("resumed at byte {r}; size verified"),
                };
                ui.info(&format!("saved {} ({bytes} bytes, {how})", dest.display()));
            }
            Ok(Outcome::Skipped { bytes }) => ui.info(&format!(
                "{} is already complete ({bytes} bytes, same etag); skipped (--force replaces it)",
                dest.display()
            )),
            Err(e) => return Err(coded(e)),
        }
    }
    Ok(exit::OK)
}

/// The blobs of `capture` (looked up in Resource Manager) or the blob `urls`, and a downloader
/// that can read them: with the SAS of `remote`, else with an Entra ID token.
pub(crate) async fn blobs(
    capture: Option<&str>,
    urls: &[String],
    remote: &RemoteArgs,
    force: bool,
    verbose: u8,
    obs: &dyn Observer,
) -> anyhow::Result<(BlobDownloader, Vec<BlobUrl>)> {
    let options = DownloadOptions {
        parallel: NonZero::new(remote.parallel.max(1)).expect("at least 1"),
        block_size: NonZero::new(remote.block_size.max(1)).expect("at least 1"),
        force,
        retries: remote.retries,
        ..Default::default()
    };
    let sas = remote.sas.as_deref();
    let (urls, storage_paths) = if urls.is_empty() {
        let name = capture.unwrap_or_default();
        (
            Vec::new(),
            capture_storage_paths(name, remote, verbose).await?,
        )
    } else {
        let urls = urls
            .iter()
            .map(|u| BlobUrl::parse(u, sas))
            .collect::<Result<Vec<_>, _>>()
            .map_err(coded)?;
        (urls, Vec::new())
    };
    let needs_token =
        urls.iter().any(|u| !u.has_sas()) || (!storage_paths.is_empty() && sas.is_none());
    let credential = if needs_token {
        Some(arm_common::credential(remote.auth.into())?)
    } else {
        None
    };
    let downloader = BlobDownloader::new(credential, options);
    let urls = if storage_paths.is_empty() {
        urls
    } else {
        resolve_storage_paths(&downloader, &storage_paths, sas, obs)
            .await
            .map_err(coded)?
    };
    Ok((downloader, urls))
}

/// The capture's `storageLocation.storagePath`, from Resource Manager.
async fn capture_storage_paths(
    name: &str,
    remote: &RemoteArgs,
    verbose: u8,
) -> anyhow::Result<Vec<String>> {
    let arm = remote.arm();
    let id = arm_common::capture(name, &arm)?;
    let client = arm_common::client(&arm, verbose)?;
    let c = PacketCaptures::new(&client)
        .get(&id)
        .await
        .map_err(arm_common::fail)?;
    let loc = &c.value.properties.parameters.storage_location;
    match loc.storage_path.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(p) => Ok(vec![p.to_string()]),
        None => Err(exit::usage(anyhow::anyhow!(
            "capture {name} has no storagePath: it writes to the VM's disk ({}); copy the file from the VM",
            loc.file_path
                .as_deref()
                .or(loc.local_path.as_deref())
                .unwrap_or("no file path either")
        ))),
    }
}

/// Turns `storagePath` values into the blob URLs to download. A path naming an existing blob is
/// that blob; otherwise (scale-set instances, ring-buffer files, a folder path ending in `/`) the
/// container is listed by the path as prefix, then by the path without `.cap`.
pub async fn resolve_storage_paths(
    downloader: &BlobDownloader,
    storage_paths: &[String],
    sas: Option<&str>,
    obs: &dyn Observer,
) -> Result<Vec<BlobUrl>, BlobError> {
    let mut out = Vec::new();
    for path in storage_paths {
        let url = BlobUrl::parse(path, sas)?;
        let name = url.blob_name();
        if !name.ends_with('/') && downloader.exists(&url).await? {
            out.push(url);
            continue;
        }
        let mut prefixes = vec![name.clone()];
        if let Some(stem) = name.strip_suffix(".cap") {
            prefixes.push(stem.to_owned());
        }
        let mut found = Vec::new();
        for prefix in &prefixes {
            found = downloader.list(&url, prefix).await?;
            if !found.is_empty() {
                obs.detail(&format!(
                    "{url}: no blob with exactly that name; {} blob(s) start with '{prefix}'",
                    found.len()
                ));
                break;
            }
        }
        if found.is_empty() {
            return Err(BlobError::NotFound(format!(
                "{url}: no blob at the capture's storagePath, nor any blob whose name starts \
                 with it (is the capture still running, or was the file deleted?)"
            )));
        }
        out.extend(found);
    }
    let mut seen = HashSet::new();
    out.retain(|u| seen.insert(u.expose().clone()));
    Ok(out)
}

/// Where each blob goes. `-o` is a folder when it is an existing directory, ends in `/`, or
/// there are several blobs; otherwise the file name for the single blob.
pub fn plan_destinations(
    urls: &[BlobUrl],
    output: Option<&Path>,
) -> anyhow::Result<Vec<(BlobUrl, PathBuf)>> {
    let folder_like = |p: &Path| {
        p.is_dir() || {
            let s = p.as_os_str().to_string_lossy();
            s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR)
        }
    };
    if let (Some(out), [url]) = (output, urls) {
        if !folder_like(out) {
            return Ok(vec![(url.clone(), out.to_owned())]);
        }
    }
    let dir = output
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."));
    if urls.len() > 1 && dir.is_file() {
        return Err(exit::usage(anyhow::anyhow!(
            "-o {}: there are {} blobs, so -o must be a folder",
            dir.display(),
            urls.len()
        )));
    }
    Ok(urls
        .iter()
        .cloned()
        .zip(local_names(urls))
        .map(|(u, n)| (u, dir.join(n)))
        .collect())
}

/// Safe, distinct local names: the blob's last path segment, or when those collide (one
/// file per scale-set instance), the path below the blobs' common folder joined with `_`.
pub fn local_names(urls: &[BlobUrl]) -> Vec<String> {
    let base: Vec<String> = urls.iter().map(BlobUrl::file_name).collect();
    let unique = base.iter().collect::<HashSet<_>>().len() == base.len();
    let names = if unique {
        base
    } else {
        let full: Vec<String> = urls.iter().map(BlobUrl::blob_name).collect();
        let common = common_folder(&full);
        full.iter()
            .map(|n| {
                let rel = &n[common.len()..];
                crate::azure::blob::safe_file_name(&rel.replace('/', "_"))
            })
            .collect()
    };
    // Whatever is left over (names differing only in unsafe characters) gets a counter.
    let mut seen = HashSet::new();
    names
        .into_iter()
        .map(|n| {
            let mut candidate = n.clone();
            let mut i = 2;
            while !seen.insert(candidate.clone()) {
                candidate = match n.rsplit_once('.') {
                    Some((stem, ext)) => format!("{stem}-{i}.{ext}"),
                    None => format!("{n}-{i}"),
                };
                i += 1;
            }
            candidate
        })
        .collect()
}

fn common_folder(names: &[String]) -> String {
    let Some(first) = names.first() else {
        return String::new();
    };
    let mut len = first.len();
    for n in &names[1..] {
        len = first
            .bytes()
            .zip(n.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    first[..len]
        .rfind('/')
        .map_or(String::new(), |i| first[..=i].to_owned())
}

/// Maps a blob failure to its exit code: 2 bad URL, 10 blob changed or failed verification,
/// 11 storage access denied, 1 anything else.
pub(crate) fn coded(e: BlobError) -> anyhow::Error {
    let code = match &e {
        BlobError::BadUrl(_) => exit::USAGE,
        BlobError::Changed(_) | BlobError::Integrity(_) => exit::BLOB_CHANGED,
        BlobError::Auth(_) => exit::STORAGE_AUTH,
        _ => exit::RUNTIME,
    };
    Coded {
        code,
        inner: anyhow::anyhow!(redact(&e.to_string())),
    }
    .into()
}

/// Terminal output: a progress bar on a terminal stderr, messages by verbosity. Everything
/// printed goes through [`redact`].
pub(crate) struct Ui {
    verbose: u8,
    quiet: bool,
    bars: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Ui {
    /// Progress and messages by `verbose`; only errors and warnings when `quiet`.
    pub(crate) fn new(verbose: u8, quiet: bool) -> Self {
        Self {
            verbose,
            quiet,
            bars: !quiet && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    fn print(&self, msg: &str) {
        let line = format!("nwcap: {}", redact(msg));
        match self.bar.lock().ok().as_ref().and_then(|b| b.as_ref()) {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn info(&self, msg: &str) {
        if !self.quiet {
            self.print(msg);
        }
    }
}

impl Observer for Ui {
    fn start(&self, name: &str, total: u64, done: u64) {
        if !self.bars {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar.set_message(redact(name));
        bar.set_position(done);
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(bar);
        }
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.bar.lock().ok().as_ref().and_then(|b| b.as_ref()) {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().ok().and_then(|mut b| b.take()) {
            bar.finish_and_clear();
        }
    }

    fn detail(&self, msg: &str) {
        if self.verbose > 0 {
            self.print(msg);
        }
    }

    fn warn(&self, msg: &str) {
        self.print(msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(name: &str) -> BlobUrl {
        BlobUrl::parse(&format!("https://a.blob.core.windows.net/c/{name}"), None).unwrap()
    }

    #[test]
    fn names_are_basenames_unless_they_collide() {
        let urls = [u("x/2026/a.cap"), u("x/2026/b.cap")];
        assert_eq!(local_names(&urls), ["a.cap", "b.cap"]);
        let urls = [
            u("x/vmss/0/p.cap"),
            u("x/vmss/1/p.cap"),
            u("x/vmss/10/p.cap"),
        ];
        assert_eq!(local_names(&urls), ["0_p.cap", "1_p.cap", "10_p.cap"]);
        let urls = [u("x/a:b.cap"), u("x/a_b.cap")];
        assert_eq!(local_names(&urls), ["a_b.cap", "a_b-2.cap"]);
    }

    #[test]
    fn output_is_a_file_only_for_one_blob() {
        let one = [u("x/a.cap")];
        let p = plan_destinations(&one, Some(Path::new("out.cap"))).unwrap();
        assert_eq!(p[0].1, Path::new("out.cap"));
        let p = plan_destinations(&one, Some(Path::new("dir/"))).unwrap();
        assert_eq!(p[0].1, Path::new("dir/a.cap"));
        let p = plan_destinations(&one, None).unwrap();
        assert_eq!(p[0].1, Path::new("./a.cap"));
        let two = [u("x/a.cap"), u("x/b.cap")];
        let p = plan_destinations(&two, Some(Path::new("d"))).unwrap();
        assert_eq!(p[1].1, Path::new("d/b.cap"));
    }
}
