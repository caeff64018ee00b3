//! The ranged GETs of one transfer: up to `parallel` single-range GETs at a time, each body
//! read as it arrives. The lowest open range's chunks go straight to the writer; a later
//! range's wait in memory until it becomes the lowest, and hold at most its own length, so
//! what is held is bounded by the ranges open (`parallel` + 1 of `block` bytes), not by
//! whole partitions re-ordered behind them.
//!
//! Owns the scheduling and the per-range length checks. It never retries (the caller resumes
//! from the offset reached, see [`super::download`]) and never maps errors to messages.

use std::collections::VecDeque;
use std::num::NonZero;
use std::ops::Range;
use std::sync::Arc;

use azure_core::http::Etag;
use azure_storage_blob::models::BlobClientDownloadOptions;
use azure_storage_blob::BlobClient;
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::download::Observer;
use super::writer::Writer;
use super::BlobError;

/// Why [`fetch`] stopped before the end.
pub(super) enum Stop {
    /// A request or its body failed; the caller decides whether to resume.
    Sdk(azure_core::Error),
    /// A range's body ended before its last byte (worth resuming).
    Short,
    /// Not worth resuming: the writer failed, or the service sent more than asked for.
    Fatal(BlobError),
}

/// What one transfer fetches, and how.
pub(super) struct Plan<'a> {
    pub client: &'a Arc<BlobClient>,
    pub etag: &'a Etag,
    /// The blob's size: the end of the last range.
    pub size: u64,
    /// Concurrent GETs.
    pub parallel: usize,
    /// Bytes per GET.
    pub block: u64,
}

/// One range being fetched: its chunks, in order, over a channel; the task stops when dropped.
struct Open {
    range: Range<u64>,
    rx: UnboundedReceiver<Result<Bytes, Stop>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Fetches bytes `*offset..plan.size` into `writer`, advancing `*offset` by what was written,
/// so that after a [`Stop`] the caller resumes exactly there.
pub(super) async fn fetch(
    plan: &Plan<'_>,
    offset: &mut u64,
    writer: &mut Writer,
    obs: &dyn Observer,
) -> Result<(), Stop> {
    let mut open: VecDeque<Open> = VecDeque::new();
    let mut next = *offset;
    // One range more than there are GETs, so that a connection whose range finished before
    // the lowest one goes on to the next while the lowest is still arriving.
    let max_open = plan.parallel + 1;
    while *offset < plan.size {
        while next < plan.size
            && open.len() < max_open
            && open.iter().filter(|o| !o.task.is_finished()).count() < plan.parallel
        {
            let end = (next + plan.block).min(plan.size);
            open.push_back(start(plan, next..end));
            next = end;
        }
        let head = open.front_mut().expect("a range is open below the size");
        match head.rx.recv().await {
            Some(Ok(chunk)) => {
                let n = chunk.len() as u64;
                if *offset + n > head.range.end {
                    return Err(Stop::Fatal(BlobError::Integrity(format!(
                        "the service sent more than the {} bytes asked for at byte {}",
                        head.range.end - head.range.start,
                        head.range.start
                    ))));
                }
                writer.write(chunk).await.map_err(Stop::Fatal)?;
                *offset += n;
                obs.advance(n);
            }
            Some(Err(stop)) => return Err(stop),
            None if *offset < head.range.end => return Err(Stop::Short),
            None => {
                open.pop_front();
            }
        }
    }
    Ok(())
}

/// Starts the GET of `range` on a task of its own, its chunks sent as they arrive. The
/// channel is unbounded because the range's length bounds it.
fn start(plan: &Plan<'_>, range: Range<u64>) -> Open {
    let (tx, rx) = unbounded_channel();
    let client = plan.client.clone();
    let len = usize::try_from(range.end - range.start).unwrap_or(usize::MAX);
    let options = BlobClientDownloadOptions {
        range: Some(range.clone().into()),
        if_match: Some(plan.etag.clone()),
        // One GET, its body handed over as it comes: the SDK buffers nothing when the
        // partition covers the whole range.
        parallel: NonZero::new(1),
        partition_size: NonZero::new(len),
        ..Default::default()
    };
    let (asked, size) = (range.clone(), plan.size);
    let task = tokio::spawn(async move {
        let mut rsp = match client.download(Some(options)).await {
            Ok(rsp) => rsp,
            Err(e) => {
                let _ = tx.send(Err(Stop::Sdk(e)));
                return;
            }
        };
        // A range answered short would make the SDK fetch the rest itself and pad its first
        // buffer with zeros to the length asked for (azure_storage_blob 1.1): refuse it here.
        let answered = rsp.headers.get_optional_str(&"content-range".into());
        if let Some(why) = answered.and_then(|a| wrong_range(a, &asked, size)) {
            let _ = tx.send(Err(Stop::Fatal(BlobError::Integrity(why))));
            return;
        }
        while let Some(chunk) = rsp.body.next().await {
            let failed = chunk.is_err();
            if tx.send(chunk.map_err(Stop::Sdk)).is_err() || failed {
                return;
            }
        }
    });
    Open { range, rx, task }
}

/// Why a `Content-Range` answer does not cover exactly `asked` of a blob of `size` bytes.
fn wrong_range(answered: &str, asked: &Range<u64>, size: u64) -> Option<String> {
    let want = format!("bytes {}-{}/{size}", asked.start, asked.end - 1);
    (answered.trim() != want).then(|| {
        format!(
            "the service answered {answered} when asked for {} of the announced {size} bytes",
            &want[..want.len() - size.to_string().len() - 1]
        )
    })
}
