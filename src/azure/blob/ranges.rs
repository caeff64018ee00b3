//! The ranged GETs of one transfer: up to `parallel` single-range GETs at a time, each body
//! read as it arrives. The lowest open range's chunks go straight to the writer; a later
//! range's wait in memory until it becomes the lowest. What waits is bounded in bytes, not in
//! ranges: each chunk held takes permits from a [`Budget`], and a range that finds none stops
//! reading its body, so its connection waits (TCP back-pressure) until the writer catches up.
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
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

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

/// KiB the lowest range's chunks may hold, apart from the others' so that it never waits on
/// them (they are released only as it advances). A few of the network's chunks: it is read as
/// fast as the writer takes it.
const LOWEST_KIB: usize = 2 << 10;

/// KiB the chunks of the ranges after the lowest may hold together: half their length.
/// Staggered ranges arriving at one rate hold that much on average while the lowest arrives
/// (the one just behind it nearly all of its range, the last nearly nothing), so when every
/// connection is limited by its own window (a long path) they all keep receiving; when the
/// link is the limit, fewer are needed and the budget has room to spare. It does not grow
/// with the blob, and at the defaults (4 x 8 MiB / 2 = 16 MiB) it leaves the process, its
/// writer's pieces and the lowest range's chunks under the 64 MiB target with room for the
/// allocator's slack when a loaded CPU makes the writer fall behind. Larger `--parallel` or
/// `--block-size` ask for more.
fn later_kib(parallel: usize, block: u64) -> usize {
    let kib = (parallel.saturating_sub(1) as u64).saturating_mul(block) / 2 / 1024;
    usize::try_from(kib)
        .unwrap_or(usize::MAX)
        .clamp(1 << 10, Semaphore::MAX_PERMITS)
}

/// What the chunks waiting for the writer may hold, counted in KiB.
struct Budget {
    /// For the chunks of the ranges after the lowest.
    later: Arc<Semaphore>,
    /// `later`'s permits in all.
    later_kib: usize,
    /// For the lowest range's chunks.
    lowest: Arc<Semaphore>,
    /// Where the lowest open range starts: a range whose start is reached holds its chunks
    /// on `lowest`, even one that was waiting for `later`.
    head: watch::Receiver<u64>,
}

impl Budget {
    /// Waits until a chunk of `len` bytes of the range starting at `start` may be held; `None`
    /// once the transfer is over.
    async fn hold(&mut self, start: u64, len: usize) -> Option<OwnedSemaphorePermit> {
        let kib = |total: usize| u32::try_from(len.div_ceil(1024).min(total)).unwrap_or(u32::MAX);
        if *self.head.borrow() < start {
            tokio::select! {
                biased;
                head = self.head.wait_for(|&h| h >= start) => head.ok()?,
                held = self.later.clone().acquire_many_owned(kib(self.later_kib)) => return held.ok(),
            };
        }
        self.lowest
            .clone()
            .acquire_many_owned(kib(LOWEST_KIB))
            .await
            .ok()
    }
}

/// A chunk of a range, and its share of the [`Budget`], released once it is written.
type Held = (Bytes, OwnedSemaphorePermit);

/// One range being fetched: its chunks, in order, over a channel; the task stops when dropped.
struct Open {
    range: Range<u64>,
    rx: UnboundedReceiver<Result<Held, Stop>>,
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
    let (head_at, head_rx) = watch::channel(*offset);
    let later_total = later_kib(plan.parallel, plan.block);
    let later = Arc::new(Semaphore::new(later_total));
    let lowest = Arc::new(Semaphore::new(LOWEST_KIB));
    while *offset < plan.size {
        while next < plan.size
            && open.len() < max_open
            && open.iter().filter(|o| !o.task.is_finished()).count() < plan.parallel
        {
            let end = (next + plan.block).min(plan.size);
            let budget = Budget {
                later: later.clone(),
                later_kib: later_total,
                lowest: lowest.clone(),
                head: head_rx.clone(),
            };
            open.push_back(start(plan, next..end, budget));
            next = end;
        }
        let head = open.front_mut().expect("a range is open below the size");
        match head.rx.recv().await {
            Some(Ok((chunk, _held))) => {
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
                head_at.send_replace(*offset);
            }
        }
    }
    Ok(())
}

/// Starts the GET of `range` on a task of its own, its chunks sent as they arrive once
/// `budget` lets them be held. The channel is unbounded because the budget bounds it.
fn start(plan: &Plan<'_>, range: Range<u64>, mut budget: Budget) -> Open {
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
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    let _ = tx.send(Err(Stop::Sdk(e)));
                    return;
                }
            };
            let Some(held) = budget.hold(asked.start, chunk.len()).await else {
                return;
            };
            if tx.send(Ok((chunk, held))).is_err() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_later_ranges_hold_half_their_length_and_at_least_a_mib() {
        assert_eq!(later_kib(4, 8 << 20), 12 << 10);
        assert_eq!(later_kib(2, 64 << 10), 1 << 10);
        assert_eq!(later_kib(1, 8 << 20), 1 << 10);
        assert_eq!(later_kib(64, 256 << 20), 63 * (128 << 10));
    }

    #[tokio::test]
    async fn a_range_waiting_for_the_later_budget_goes_on_once_it_is_the_lowest() {
        let (head_at, head) = watch::channel(0u64);
        let later = Arc::new(Semaphore::new(1 << 10));
        let lowest = Arc::new(Semaphore::new(LOWEST_KIB));
        let mut budget = Budget {
            later: later.clone(),
            later_kib: 1 << 10,
            lowest: lowest.clone(),
            head,
        };
        // A chunk larger than the whole budget takes all of it rather than waiting forever.
        let full = budget.hold(10, 4 << 20).await.expect("held");
        assert_eq!(later.available_permits(), 0);
        let waiting = tokio::spawn(async move {
            let held = budget.hold(10, 1000).await;
            (held, budget)
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "held beyond the later ranges' budget"
        );
        head_at.send_replace(10);
        let (held, mut budget) = waiting.await.unwrap();
        assert_eq!(held.expect("held once lowest").num_permits(), 1);
        assert_eq!(later.available_permits(), 0);
        // The lowest range never waits on the later ones' budget, only on its own.
        let more = budget.hold(10, 64 << 10).await.expect("held");
        assert_eq!(more.num_permits(), 64);
        assert_eq!(lowest.available_permits(), LOWEST_KIB - 64);
        drop(full);
        assert_eq!(later.available_permits(), 1 << 10);
        // The transfer is over: a waiting range stops.
        drop(head_at);
        let _hog = later.clone().acquire_many_owned(1 << 10).await.unwrap();
        assert!(budget.hold(20, 1000).await.is_none());
    }
}
