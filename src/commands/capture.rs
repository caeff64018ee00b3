//! `nwcap capture`: one command from question to answer. It creates a capture (as `start`),
//! shows its progress, stops it after `--duration` or at the first Ctrl-C, waits for its file,
//! analyzes the file as it downloads (as `analyze --capture`, local addresses from the
//! target), and deletes the capture resource unless `--keep`.
//!
//! Glue only: every step is another command's or the Azure layer's. What this module owns is
//! the order, and never leaving a capture running without saying so and how to stop it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::arm_common::{capture, client, fail};
use super::remote::{self, Ui};
use super::{analyze, download, start, view};
use crate::azure::blob::{BlobError, BlobUrl};
use crate::azure::packet_capture::{PacketCapture, PacketCaptures};
use crate::azure::resource_id::CaptureId;
use crate::cli::{AnalyzeArgs, CaptureRunArgs, DownloadArgs, FilterArgs};
use crate::exit;

/// Where the run is, for what a second Ctrl-C must say.
const CREATING: u8 = 0;
const RUNNING: u8 = 1;
const STOPPING: u8 = 2;
const STOPPED: u8 = 3;
const DELETED: u8 = 4;

/// Runs the capture end to end; the exit code is the analysis's (0, or 3 for a damaged
/// file), or the failure's.
pub fn run(args: &CaptureRunArgs, verbose: u8) -> anyhow::Result<i32> {
    let arm_args = args.remote.arm();
    let id = capture(&args.capture, &arm_args)?;
    let params = start::parameters(&args.spec)?;
    if params.storage_location.storage_id.is_none() {
        return Err(exit::usage(anyhow::anyhow!(
            "capture needs --storage-account: the file is analyzed from Blob Storage (use start with --file-path for a file kept on the VM)"
        )));
    }
    let time_limit = Duration::from_secs(params.time_limit_in_seconds.unwrap_or(18_000));
    let body = PacketCapture { properties: params };
    let arm = client(&arm_args, verbose)?;
    let pcs = PacketCaptures::new(&arm);
    let rt = super::runtime()?;
    let phase = Arc::new(AtomicU8::new(CREATING));
    let interrupted = Arc::new(tokio::sync::Notify::new());
    let hint = Hint::new(&id);
    {
        let (phase, interrupted, hint) = (phase.clone(), interrupted.clone(), hint.clone());
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            interrupted.notify_one();
            eprintln!("\nnwcap: Ctrl-C: stopping the capture (Ctrl-C again aborts)");
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "nwcap: aborted: {}",
                    hint.left(phase.load(Ordering::SeqCst))
                );
                std::process::exit(130);
            }
        });
    }

    let failed_after_start = |e: anyhow::Error, phase: u8| e.context(hint.left(phase).to_string());
    let created = rt.block_on(start::create(&pcs, &id, &body, true))?;
    phase.store(RUNNING, Ordering::SeqCst);
    eprintln!(
        "nwcap: packet capture '{}' started on {}; {}",
        id.name,
        view::capture::target(&created.value.properties.parameters),
        match args.duration {
            Some(d) => format!("stopping it after {}, or at Ctrl-C", clock(d)),
            None => "Ctrl-C stops it and goes on to the analysis".to_string(),
        }
    );

    // Running: until --duration, Ctrl-C, or the capture's own limits.
    let ended = rt
        .block_on(watch(&pcs, &id, args, time_limit, &interrupted))
        .map_err(|e| failed_after_start(e, RUNNING))?;
    let ended = match ended {
        Some(state) => state,
        None => {
            phase.store(STOPPING, Ordering::SeqCst);
            rt.block_on(pcs.stop(&id))
                .map_err(fail)
                .map_err(|e| failed_after_start(e, STOPPING))?;
            rt.block_on(until_stopped(&pcs, &id, args.interval))
                .map_err(|e| failed_after_start(e, STOPPING))?
        }
    };
    phase.store(STOPPED, Ordering::SeqCst);
    if let Ended::Error(why) = ended {
        let e = exit::with_code(
            exit::FAILED,
            anyhow::anyhow!("packet capture '{}' ended in Error: {why}", id.name),
        );
        return Err(finish(&rt, &pcs, &id, args, &phase, e));
    }

    // The file: wait for it, then analyze it (from disk with --download).
    let result = analyze_file(&rt, &id, args, verbose);
    match result {
        Ok(code) => {
            if args.delete_files && code == exit::OK {
                rt.block_on(delete_files(&id, args, verbose))?;
            }
            if !args.keep {
                rt.block_on(pcs.delete(&id)).map_err(fail)?;
                phase.store(DELETED, Ordering::SeqCst);
            }
            Ok(code)
        }
        Err(e) => Err(finish(&rt, &pcs, &id, args, &phase, e)),
    }
}

/// After a failure once the capture stopped: deletes the resource unless `--keep` (its file
/// stays), and returns the failure, saying what is left.
fn finish(
    rt: &tokio::runtime::Runtime,
    pcs: &PacketCaptures<'_>,
    id: &CaptureId,
    args: &CaptureRunArgs,
    phase: &AtomicU8,
    e: anyhow::Error,
) -> anyhow::Error {
    if args.keep {
        return e;
    }
    match rt.block_on(pcs.delete(id)) {
        Ok(()) => {
            phase.store(DELETED, Ordering::SeqCst);
            e
        }
        Err(d) => e.context(format!(
            "and the capture resource could not be deleted ({d}); delete it with {}",
            Hint::new(id).delete
        )),
    }
}

/// How a capture ended.
enum Ended {
    Stopped,
    Error(String),
}

/// Watches the running capture. `Some` when it ended by itself, `None` when nwcap must stop
/// it (`--duration` reached, or Ctrl-C).
async fn watch(
    pcs: &PacketCaptures<'_>,
    id: &CaptureId,
    args: &CaptureRunArgs,
    time_limit: Duration,
    interrupted: &tokio::sync::Notify,
) -> anyhow::Result<Option<Ended>> {
    let started = Instant::now();
    let deadline = args.duration.map(|d| started + d);
    let live = std::io::stderr().is_terminal();
    let mut last = String::new();
    loop {
        let s = pcs.query_status(id).await.map_err(fail)?;
        let state = s.value.packet_capture_status.clone().unwrap_or_default();
        match ended(&s.value) {
            Some(e) => {
                if live {
                    eprintln!();
                }
                return Ok(Some(e));
            }
            None if live => eprint!(
                "\rnwcap: {}: {state}, {} of {}   ",
                id.name,
                clock(started.elapsed()),
                clock(time_limit)
            ),
            None if state != last => eprintln!("nwcap: {}: {state}", id.name),
            None => {}
        }
        last = state;
        let mut pause = args.interval;
        if let Some(d) = deadline {
            let now = Instant::now();
            if now >= d {
                if live {
                    eprintln!();
                }
                return Ok(None);
            }
            pause = pause.min(d - now);
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = interrupted.notified() => return Ok(None),
        }
    }
}

/// Stopped (complete, or with errors: its file may still be there) or Error; `None` while it
/// runs.
fn ended(s: &crate::azure::packet_capture::PacketCaptureQueryStatusResult) -> Option<Ended> {
    let errors: Vec<String> = s
        .packet_capture_error
        .iter()
        .map(|e| view::status::error_text(e))
        .collect();
    match s.packet_capture_status.as_deref() {
        Some("Error") => Some(Ended::Error(if errors.is_empty() {
            "the service gave no reason".to_string()
        } else {
            errors.join("; ")
        })),
        Some("Stopped") => {
            if !errors.is_empty() {
                eprintln!(
                    "nwcap: warning: the capture stopped with errors; its file may be incomplete: {}",
                    errors.join("; ")
                );
            }
            Some(Ended::Stopped)
        }
        _ => None,
    }
}

/// After `stop`: until the service reports the capture stopped.
async fn until_stopped(
    pcs: &PacketCaptures<'_>,
    id: &CaptureId,
    interval: Duration,
) -> anyhow::Result<Ended> {
    loop {
        let s = pcs.query_status(id).await.map_err(fail)?;
        if let Some(e) = ended(&s.value) {
            return Ok(e);
        }
        tokio::time::sleep(interval).await;
    }
}

/// Waits until the capture's file is in storage (the agent uploads it after the capture
/// stops), then analyzes it: streamed, or from `--download`'s folder.
fn analyze_file(
    rt: &tokio::runtime::Runtime,
    id: &CaptureId,
    args: &CaptureRunArgs,
    verbose: u8,
) -> anyhow::Result<i32> {
    let blobs = rt.block_on(wait_for_blobs(id, args, verbose))?;
    let full_id = id.path();
    let mut analyze_args = AnalyzeArgs {
        files: Vec::new(),
        capture: Some(full_id.clone()),
        url: Vec::new(),
        target_of: None,
        output: args.output,
        top: args.top,
        write: None,
        threads: args.threads,
        by_file: args.by_file,
        inspect: args.inspect,
        health: args.health,
        interval: args.timeline_interval,
        timeline: args.timeline,
        filter: FilterArgs::default(),
        remote: args.remote.clone(),
    };
    if let Some(dir) = &args.download {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --download folder '{}'", dir.display()))?;
        let dest = dir.join("");
        download::run(
            &DownloadArgs {
                capture: Some(full_id.clone()),
                url: Vec::new(),
                dest: Some(dest.clone()),
                output: None,
                force: false,
                quiet: verbose == 0,
                remote: args.remote.clone(),
            },
            verbose,
        )?;
        let names = download::local_names(&blobs);
        analyze_args.capture = None;
        analyze_args.target_of = Some(full_id);
        analyze_args.files = names
            .iter()
            .map(|n| dest.join(n).display().to_string())
            .collect();
    }
    analyze::run(&analyze_args, verbose)
}

/// The capture's blobs, once they exist: the agent uploads after the capture stopped, so a
/// storagePath with nothing behind it yet is asked again until `--file-timeout`.
async fn wait_for_blobs(
    id: &CaptureId,
    args: &CaptureRunArgs,
    verbose: u8,
) -> anyhow::Result<Vec<BlobUrl>> {
    let deadline = Instant::now() + args.file_timeout;
    let ui = Ui::new(verbose, true);
    loop {
        let found = remote::capture_blobs(&id.path(), &args.remote, verbose, &ui).await?;
        match found {
            Ok(urls) => return Ok(urls),
            Err(BlobError::NotFound(why)) if Instant::now() < deadline => {
                if verbose > 0 {
                    eprintln!("nwcap: waiting for the capture's file: {why}");
                }
                tokio::time::sleep(args.interval.min(Duration::from_secs(5))).await;
            }
            Err(e) => return Err(remote::coded(e)),
        }
    }
}

/// `--delete-files`: each blob the analysis read.
async fn delete_files(id: &CaptureId, args: &CaptureRunArgs, verbose: u8) -> anyhow::Result<()> {
    let ui = Ui::new(verbose, true);
    let urls = remote::capture_blobs(&id.path(), &args.remote, verbose, &ui)
        .await?
        .map_err(remote::coded)?;
    let downloader = remote::downloader(&args.remote, false, args.remote.sas.is_none())?;
    for url in &urls {
        downloader
            .delete(url)
            .await
            .map_err(remote::coded)
            .with_context(|| format!("the analysis is done, but {url} could not be deleted"))?;
        eprintln!("nwcap: deleted {url}");
    }
    Ok(())
}

/// What is left in Azure, and the commands that deal with it, by phase.
#[derive(Debug, Clone)]
struct Hint {
    name: String,
    stop: String,
    status: String,
    delete: String,
}

impl Hint {
    fn new(id: &CaptureId) -> Hint {
        let path = id.path();
        Hint {
            name: id.name.clone(),
            stop: format!("nwcap stop {path}"),
            status: format!("nwcap status {path}"),
            delete: format!("nwcap delete {path}"),
        }
    }

    fn left(&self, phase: u8) -> String {
        let n = &self.name;
        match phase {
            CREATING | RUNNING => format!(
                "packet capture '{n}' may still be running in Azure; stop it with: {}",
                self.stop
            ),
            STOPPING => format!(
                "packet capture '{n}' was being stopped; check with {} and stop it with {}",
                self.status, self.stop
            ),
            STOPPED => format!(
                "packet capture '{n}' has stopped; its resource is left (delete it with {})",
                self.delete
            ),
            _ => format!("packet capture '{n}' is stopped and deleted"),
        }
    }
}

/// `m:ss` (or `h:mm:ss`).
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}
