//! One file's pass: in place or window by window, on one thread or split into shards on
//! record boundaries (`capture::shard`) walked on threads and merged in order, so that the
//! result equals one sequential pass. Falls back to one pass when a split turns out wrong.

use super::run::run;
use super::{Analyzer, FileCounters};
use crate::capture::{shard, CaptureError, FileInfo, Reader};
use crate::source::window::{self, ReadError};
use crate::source::Windowed;

/// What stopped a pass before the end of a file.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// The capture is damaged or cut short.
    #[error(transparent)]
    Damage(#[from] CaptureError),
    /// The file could not be read (an I/O error, or it shrank while being read). Reported like
    /// damage: the report covers what was read before the failed offset.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// What a whole-file pass found besides the counters.
#[derive(Debug)]
pub struct Pass {
    /// The damage or read error that stopped the pass, if any.
    pub error: Option<PassError>,
    /// Header facts.
    pub info: FileInfo,
    /// Shards the file was read in (1 = one sequential pass).
    pub shards: usize,
}

/// [`run`] over one reader to its end: in place, or window by window from `windowed`.
fn walk<'a>(
    mut reader: Reader<'a>,
    windowed: Option<Windowed<'_>>,
    counters: &mut FileCounters,
    analyzer: &mut Analyzer,
) -> (Reader<'a>, Option<PassError>) {
    let Some(w) = windowed else {
        let damage = run(&mut reader, counters, analyzer);
        analyzer.flows.settle();
        return (reader, damage.map(PassError::Damage));
    };
    let mut damage = None;
    let (reader, read) = window::walk(reader, w.src, w.map, w.window, |r| {
        let before = counters.packets;
        // Only the last window can end in damage: the walk stops there.
        damage = run(r, counters, analyzer);
        counters.packets - before
    });
    analyzer.flows.settle();
    let error = damage.map(PassError::Damage).or(read.map(PassError::Read));
    (reader, error)
}

/// Like [`run`], on `threads` shards of one capture in parallel; the result is identical to
/// a single pass. `reader` and `data` are the whole file in memory; with `windowed`, only
/// shard boundaries are looked for in `data` and every shard reads its records through its own
/// window. Falls back to one pass when the file cannot be split or a shard boundary turns out
/// wrong.
pub fn run_parallel<'a>(
    mut reader: Reader<'a>,
    data: &'a [u8],
    windowed: Option<Windowed<'_>>,
    threads: usize,
    counters: &mut FileCounters,
    analyzer: &mut Analyzer,
) -> Pass {
    let sequential = |reader: Reader<'a>, counters: &mut FileCounters, analyzer: &mut Analyzer| {
        let (reader, error) = walk(reader, windowed, counters, analyzer);
        Pass {
            error,
            info: reader.info(),
            shards: 1,
        }
    };
    // A file on disk is sampled by reads, like its pass (see `shard::split`).
    let peek = windowed
        .map(|w| move |at: usize, buf: &mut [u8]| w.src.read_at(buf, at as u64).unwrap_or(0));
    let peek = peek.as_ref().map(|p| p as shard::Peek<'_>);
    let Some(shards) = shard::split(&reader, data, threads, peek, window::MAP_BELOW) else {
        return sequential(reader, counters, analyzer);
    };
    let starts: Vec<usize> = shards.iter().map(Reader::position).collect();
    let (inspect, health) = (analyzer.inspecting(), analyzer.health());
    // Every shard classes flows by the addresses one pass would have seen first.
    if let Ok(head) = Reader::new(data) {
        analyzer.seed_timeline(head.map_while(Result::ok));
    }
    let (width, classes) = analyzer.timeline_settings();
    let since = analyzer.timeline_since();
    // What came before this file, restored when a merge cannot be exact (only sequence
    // analysis refuses one).
    let before = health.then(|| analyzer.clone());
    let counters_before = counters.clone();
    type Done<'r> = (Reader<'r>, FileCounters, Analyzer, Option<PassError>);
    let results: Vec<Done<'a>> = std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let classes = classes.clone();
                s.spawn(move || {
                    let mut c = FileCounters::default();
                    let a = if i == 0 {
                        Analyzer::new()
                    } else {
                        Analyzer::for_later_shard()
                    };
                    let mut a = a
                        .inspecting_payloads(inspect)
                        .with_health(health)
                        .with_timeline(width, classes)
                        .timeline_seen(since);
                    // Sequence analysis starts afresh in each file (see
                    // `FlowTable::forget_sequences`): the first shard joins what came before
                    // without recording.
                    if health && i > 0 {
                        a.flows.record_prefixes();
                    }
                    let (r, e) = walk(r, windowed, &mut c, &mut a);
                    (r, c, a, e)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let n = results.len();
    let errors_only_at_end = results.iter().take(n - 1).all(|(.., e)| e.is_none());
    let (shards, results): (Vec<_>, Vec<_>) = results
        .into_iter()
        .map(|(r, c, a, e)| (r, (c, a, e)))
        .unzip();
    // A ClientHello still gathered at the end of a shard may end in the next: one pass.
    let gathering = results
        .iter()
        .take(n - 1)
        .any(|(_, a, _)| a.inspector.is_gathering());
    if !errors_only_at_end || gathering || !shard::verify(&shards, &starts) {
        return sequential(reader, counters, analyzer);
    }
    let mut error = None;
    for (c, a, e) in results {
        if !analyzer.try_merge(a, threads) {
            // TCP sequence analysis cannot be joined exactly at a cut: read it all again.
            *analyzer = before.unwrap_or_else(|| {
                Analyzer::new()
                    .inspecting_payloads(inspect)
                    .with_health(health)
                    .with_timeline(width, classes.clone())
            });
            *counters = counters_before;
            return sequential(reader, counters, analyzer);
        }
        counters.merge(&c);
        error = e;
    }
    let mut info = shard::head_info(&mut reader);
    for r in &shards {
        let i = r.info();
        info.interfaces = info.interfaces.max(i.interfaces);
        info.snaplen = info.snaplen.max(i.snaplen);
        info.skipped_blocks += i.skipped_blocks;
        // In file order: a later shard's block for an interface replaces an earlier one's.
        info.drops.extend(i.drops);
    }
    Pass {
        error,
        info,
        shards: n,
    }
}
