//! Where `download` and `analyze --capture/--url` get their blobs: a capture name resolved
//! through Resource Manager to its storage path, then to the blobs really there (or blob URLs
//! as given), with the credential that can read them; the progress display both show; and the
//! exit code a blob failure maps to.
//!
//! Glue only: the transfer is [`crate::azure::blob`]'s, and what is done with the bytes
//! (a file, an analysis) is the caller's.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::num::NonZero;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::arm_common;
use crate::azure::blob::{redact, BlobDownloader, BlobError, BlobUrl, DownloadOptions, Observer};
use crate::azure::packet_capture::{PacketCaptureResult, PacketCaptures};
use crate::azure::vm_addresses::{self, Machine};
use crate::cli::RemoteArgs;
use crate::exit::{self, Coded};

/// The blobs of `capture` (looked up in Resource Manager) or the blob `urls`, and a downloader
/// that can read them: with the SAS of `remote`, else with an Entra ID token.
pub(crate) async fn blobs(
    capture: Option<&str>,
    urls: &[String],
    remote: &RemoteArgs,
    force: bool,
    verbose: u8,
    obs: &dyn Observer,
) -> anyhow::Result<(BlobDownloader, Vec<BlobUrl>, Option<PacketCaptureResult>)> {
    let sas = remote.sas.as_deref();
    let (urls, storage_paths, found) = if urls.is_empty() {
        let name = capture.unwrap_or_default();
        let (paths, found) = capture_storage_paths(name, remote, verbose).await?;
        (Vec::new(), paths, Some(found))
    } else {
        let urls = urls
            .iter()
            .map(|u| BlobUrl::parse(u, sas))
            .collect::<Result<Vec<_>, _>>()
            .map_err(coded)?;
        (urls, Vec::new(), None)
    };
    let needs_token =
        urls.iter().any(|u| !u.has_sas()) || (!storage_paths.is_empty() && sas.is_none());
    let downloader = downloader(remote, force, needs_token)?;
    let urls = if storage_paths.is_empty() {
        urls
    } else {
        resolve_storage_paths(&downloader, &storage_paths, sas, obs)
            .await
            .map_err(coded)?
    };
    Ok((downloader, urls, found))
}

/// A downloader with the flags' settings; with an Entra ID credential when `token` (some blob
/// has no SAS).
pub(crate) fn downloader(
    remote: &RemoteArgs,
    force: bool,
    token: bool,
) -> anyhow::Result<BlobDownloader> {
    let options = DownloadOptions {
        parallel: NonZero::new(remote.parallel.max(1)).expect("at least 1"),
        block_size: NonZero::new(remote.block_size.max(1)).expect("at least 1"),
        force,
        retries: remote.retries,
        max_retries: remote
            .max_retries
            .unwrap_or(DownloadOptions::default().max_retries),
        http_timeout: remote.http_timeout,
        ..Default::default()
    };
    let credential = if token {
        Some(arm_common::credential(remote.auth.into())?)
    } else {
        None
    };
    Ok(BlobDownloader::new(credential, options))
}

/// The capture's `storageLocation.storagePath`, from Resource Manager, and the capture.
async fn capture_storage_paths(
    name: &str,
    remote: &RemoteArgs,
    verbose: u8,
) -> anyhow::Result<(Vec<String>, PacketCaptureResult)> {
    let arm = remote.arm();
    let id = arm_common::capture(name, &arm)?;
    let client = arm_common::client(&arm, verbose)?;
    let c = PacketCaptures::new(&client)
        .get(&id)
        .await
        .map_err(arm_common::fail)?;
    let loc = &c.value.properties.parameters.storage_location;
    match loc.storage_path.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(p) => Ok((vec![p.to_string()], c.value.clone())),
        None => {
            let on_vm = [&loc.file_path, &loc.local_path]
                .into_iter()
                .flatten()
                .map(|p| p.trim())
                .find(|p| !p.is_empty());
            Err(exit::with_code(
                exit::NO_BLOB,
                match on_vm {
                    Some(p) => anyhow::anyhow!(
                        "capture {name} has no file in storage: its file is on the VM at {p}; copy it from the VM"
                    ),
                    None => anyhow::anyhow!(
                        "capture {name} names no file (no storagePath, filePath or localPath)"
                    ),
                },
            ))
        }
    }
}

/// The blobs of capture `name` as they are now: `Ok(Err(NotFound))` while nothing is at its
/// storagePath yet (the agent uploads after the capture stops), for the caller to ask again.
pub(crate) async fn capture_blobs(
    name: &str,
    remote: &RemoteArgs,
    verbose: u8,
    obs: &dyn Observer,
) -> anyhow::Result<Result<Vec<BlobUrl>, BlobError>> {
    let (paths, _) = capture_storage_paths(name, remote, verbose).await?;
    let sas = remote.sas.as_deref();
    let downloader = downloader(remote, false, sas.is_none())?;
    Ok(resolve_storage_paths(&downloader, &paths, sas, obs).await)
}

/// The addresses of the target of capture `name` (looked up in Resource Manager), or why they
/// could not be read; an error only when the capture itself cannot be read.
pub(crate) async fn capture_target(
    name: &str,
    remote: &RemoteArgs,
    verbose: u8,
) -> anyhow::Result<Result<Vec<Machine>, String>> {
    let arm = remote.arm();
    let id = arm_common::capture(name, &arm)?;
    let client = arm_common::client(&arm, verbose)?;
    let c = PacketCaptures::new(&client)
        .get(&id)
        .await
        .map_err(arm_common::fail)?;
    Ok(target_machines(&c.value, remote, verbose).await)
}

/// The addresses of the capture's target (its VM's, or its scale-set instances'), or why they
/// could not be read (then the caller infers the local address, and warns).
pub(crate) async fn target_machines(
    capture: &PacketCaptureResult,
    remote: &RemoteArgs,
    verbose: u8,
) -> Result<Vec<Machine>, String> {
    let p = &capture.properties.parameters;
    let client = arm_common::client(&remote.arm(), verbose).map_err(|e| format!("{e:#}"))?;
    match vm_addresses::target_machines(&client, &p.target, p.scope.as_ref()).await {
        Ok(m) if m.iter().any(|m| !m.addresses.is_empty()) => Ok(m),
        Ok(_) => Err("the target's network interfaces have no addresses".to_string()),
        Err(e) => Err(e.to_string()),
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

/// Maps a blob failure to its exit code: 2 bad URL, 10 blob changed or failed verification,
/// 11 storage access denied, 1 anything else.
pub(crate) fn coded(e: BlobError) -> anyhow::Error {
    let code = match &e {
        BlobError::BadUrl(_) => exit::USAGE,
        BlobError::Changed(_) | BlobError::Integrity(_) => exit::BLOB_CHANGED,
        BlobError::Auth(_) => exit::STORAGE_AUTH,
        // Having no credential at all is an authentication failure, as for Resource Manager.
        BlobError::Credential(_) => exit::AUTH,
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

    /// A message shown unless `quiet`.
    pub(crate) fn info(&self, msg: &str) {
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
